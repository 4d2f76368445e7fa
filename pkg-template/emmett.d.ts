// evstore/emmett (hand-written types): Emmett's EventStore over an evstore store.
import type {
  AppendToStreamOptions,
  AppendToStreamResultWithGlobalPosition,
  DefaultEventStoreOptions,
  Event,
  EventStore as EmmettEventStore,
  ReadEventMetadataWithGlobalPosition,
} from "@event-driven-io/emmett";
import type { EventStore, RecordedEvent } from "./index.js";

export { ExpectedVersionConflictError, NO_CONCURRENCY_CHECK, STREAM_DOES_NOT_EXIST, STREAM_EXISTS } from "@event-driven-io/emmett";

/**
 * The event a new one was caused by: an evstore recorded event, or an Emmett read event (from this
 * adapter's reads or a handler; its id is `metadata.messageId`).
 */
export type EmmettCause = RecordedEvent | { metadata: { messageId: string; correlationId?: unknown } };

/** Emmett's append options, plus `causedBy` (the store's: sets `causationId` and `correlationId` of the new events). */
export type EvstoreAppendToStreamOptions<EventType extends Event = Event, EventPayloadType extends Event = EventType> = AppendToStreamOptions<
  bigint,
  EventType,
  EventPayloadType
> & { causedBy?: EmmettCause };

/** Emmett's `EventStore`, with bigint stream versions and global positions, and `causedBy` on appends. */
export type EvstoreEmmettEventStore = Omit<EmmettEventStore<ReadEventMetadataWithGlobalPosition>, "appendToStream"> & {
  appendToStream<EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    events: EventType[],
    options?: EvstoreAppendToStreamOptions<EventType, EventPayloadType>,
  ): Promise<AppendToStreamResultWithGlobalPosition>;
};

export interface EmmettEventStoreOptions {
  /**
   * `1` (default): versions as Emmett's in-memory and PostgreSQL stores (first event 1n, no stream 0n);
   * `0`: as its EventStoreDB store (first event 0n, no stream -1n). Global positions follow the same base.
   */
  versionBase?: 0 | 1;
  /** `onAfterCommit(events)`: after each successful append; what it throws is logged, the append stands. */
  hooks?: DefaultEventStoreOptions<EmmettEventStore<ReadEventMetadataWithGlobalPosition>>["hooks"];
}

/**
 * Emmett's `EventStore` (appendToStream, readStream, aggregateStream, streamExists) over `store`.
 * Reads deliver the events upcast by the store's `schema` (then by Emmett's `schema.versioning`);
 * `aggregateStream` rejects with `SCHEMA_TOO_NEW` on an event of a newer schema version.
 */
export declare function getEmmettEventStore(store: EventStore<any>, options?: EmmettEventStoreOptions): EvstoreEmmettEventStore;
