// evstore/emmett (hand-written types): Emmett's EventStore over an evstore store.
import type { DefaultEventStoreOptions, EventStore as EmmettEventStore, ReadEventMetadataWithGlobalPosition } from "@event-driven-io/emmett";
import type { EventStore } from "./index.js";

export { ExpectedVersionConflictError, NO_CONCURRENCY_CHECK, STREAM_DOES_NOT_EXIST, STREAM_EXISTS } from "@event-driven-io/emmett";

/** Emmett's `EventStore`, with bigint stream versions and global positions. */
export type EvstoreEmmettEventStore = EmmettEventStore<ReadEventMetadataWithGlobalPosition>;

export interface EmmettEventStoreOptions {
  /**
   * `1` (default): versions as Emmett's in-memory and PostgreSQL stores (first event 1n, no stream 0n);
   * `0`: as its EventStoreDB store (first event 0n, no stream -1n). Global positions follow the same base.
   */
  versionBase?: 0 | 1;
  /** `onAfterCommit(events)`: after each successful append; what it throws is logged, the append stands. */
  hooks?: DefaultEventStoreOptions<EvstoreEmmettEventStore>["hooks"];
}

/** Emmett's `EventStore` (appendToStream, readStream, aggregateStream, streamExists) over `store`. */
export declare function getEmmettEventStore(store: EventStore<any>, options?: EmmettEventStoreOptions): EvstoreEmmettEventStore;
