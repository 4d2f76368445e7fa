// The TypeScript contract of evstore (hand-written; checked by tests/js/usage.ts).

/** The shape of an application's events: a union of `{ type, data }` members. */
export interface EventShape {
  type: string;
  data?: unknown;
}

/** Event metadata: a plain object (by convention with `correlationId` and `causationId`). */
export type Metadata = Record<string, unknown> & { correlationId?: string; causationId?: string };

/** An event to append. `id` (a hyphenated UUID) makes retries idempotent; by default one is generated. */
export type EventData<E extends EventShape = EventShape> = E extends unknown
  ? { type: E["type"]; data?: E["data"]; metadata?: Metadata; id?: string }
  : never;

/** A missing `data` is stored as `null`. */
type Stored<D> = undefined extends D ? Exclude<D, undefined> | null : D;

/** An event as stored. Each read returns fresh objects: mutating them never changes the store. */
export type RecordedEvent<E extends EventShape = EventShape> = E extends unknown
  ? {
      /** The event id, a lowercase UUID. */
      id: string;
      streamId: string;
      type: E["type"];
      /** 0-based index in its stream. */
      revision: number;
      /** 0-based index in the global log. */
      position: number;
      data: Stored<E["data"]>;
      metadata: Metadata;
      createdAt: Date;
    }
  : never;

/** `"any"`: no check; `"no_stream"`: no events yet; `"stream_exists"`: at least one; `n`: current revision is `n`. */
export type ExpectedRevision = "any" | "no_stream" | "stream_exists" | number;

export interface OpenOptions {
  /** `"memory"` (default) or `"indexeddb"` (browsers). */
  storage?: "memory" | "indexeddb";
  /** IndexedDB database name (default `"evstore"`). */
  name?: string;
  /** IndexedDB commit durability (default: the browser's, relaxed in Chromium). */
  durability?: "strict" | "relaxed" | "default";
  /** Size limit of one event's `data` + `metadata` as JSON, in bytes (default 1 MiB). */
  maxEventBytes?: number;
}

export interface AppendOptions {
  /** Default `"any"`. */
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event written: pass it as the next `expectedRevision`. */
  nextExpectedRevision: number;
  /** The global position of the last event written. */
  position: number;
}

export type Direction = "forwards" | "backwards";

export interface ReadStreamOptions {
  /** Inclusive. Default `"start"` forwards, `"end"` backwards. */
  fromRevision?: number | "start" | "end";
  direction?: Direction;
  /** Default unlimited. */
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Inclusive. Default `"start"` forwards, `"end"` backwards. */
  fromPosition?: number | "start" | "end";
  direction?: Direction;
  /** Default unlimited. */
  maxCount?: number;
}

export type ErrorCode =
  | "WRONG_EXPECTED_REVISION"
  | "DUPLICATE_EVENT_ID"
  | "INVALID_ARGUMENT"
  | "EVENT_TOO_LARGE"
  | "QUOTA_EXCEEDED"
  | "STORAGE_ERROR"
  | "CLOSED";

/** Every failure rejects with an `Error` of this shape. A call that fails changes nothing. */
export interface EventStoreError extends Error {
  name: "EventStoreError";
  code: ErrorCode;
  /** `WRONG_EXPECTED_REVISION` */
  streamId?: string;
  /** `WRONG_EXPECTED_REVISION` */
  expectedRevision?: ExpectedRevision;
  /** `WRONG_EXPECTED_REVISION`: the stream's revision, or `"no_stream"`. */
  actualRevision?: number | "no_stream";
  /** `DUPLICATE_EVENT_ID` */
  eventId?: string;
  /** `EVENT_TOO_LARGE`: the index of the event in the call. */
  eventIndex?: number;
  /** `STORAGE_ERROR`: what the storage reported. */
  cause?: unknown;
}

export interface SubscribeOptions<E extends EventShape = EventShape> {
  /** Start after this position (exclusive), or `"end"` for live events only. Default: from the start. */
  after?: number | "end";
  /** Only events of this stream. */
  streamId?: string;
  /** Only events of streams of this category (the part of the stream id before its first `-`). */
  category?: string;
  /** Only events of these types. */
  eventTypes?: ReadonlyArray<E["type"]>;
  /** Called once, when the backlog has been delivered. */
  onCaughtUp?: () => void;
  /** Called when the handler throws or rejects (which stops this subscription only), or delivery fails. */
  onError?: (error: unknown) => void;
  /**
   * A name under which the store records the position of each event whose handler completed; a later
   * subscription with the same name resumes after it (and ignores `after`). At-least-once: an event whose
   * handler completed just before the page died may be delivered again.
   */
  checkpoint?: string;
}

export interface Subscription {
  /** Stops delivery at once and releases the subscription. */
  unsubscribe(): void;
}

export interface AggregateOptions<E extends EventShape, S> {
  initialState: () => S;
  evolve: (state: S, event: RecordedEvent<E>) => S | Promise<S>;
}

/** An event store. `E` is the union of the application's event shapes. */
export declare class EventStore<E extends EventShape = EventShape> {
  private constructor();
  /** Opens a store; no separate `init()` is needed. */
  static open<E extends EventShape = EventShape>(options?: OpenOptions): Promise<EventStore<E>>;
  /** Appends events atomically (all or none, contiguous revisions). */
  append(streamId: string, events: ReadonlyArray<EventData<E>>, options?: AppendOptions): Promise<AppendResult>;
  /** Reads one stream (`[]` when it has no events). */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent<E>[]>;
  /** Reads the global log. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent<E>[]>;
  /** The stream's current revision, or `null` when it has no events. */
  streamRevision(streamId: string): Promise<number | null>;
  /**
   * Delivers the stored events (after `after`, or the checkpoint), then new ones as they are committed — also
   * those appended by other tabs and workers on the same IndexedDB database — in position order, with no gap
   * and no duplicate. A returned Promise is awaited before the next event.
   */
  subscribe(handler: (event: RecordedEvent<E>) => void | Promise<void>, options?: SubscribeOptions<E>): Subscription;
  /** Folds a stream; `revision` (the stream's current revision, `null` when empty) feeds the next `expectedRevision`. */
  aggregateStream<S>(streamId: string, options: AggregateOptions<E, S>): Promise<{ state: S; revision: number | null }>;
  /** Asks the browser to keep this origin's data (`navigator.storage.persist()`); `false` if refused or unavailable. */
  persistStorage(): Promise<boolean>;
  /** The origin's storage usage and quota in bytes (zeros where the runtime cannot tell). */
  storageEstimate(): Promise<{ usage: number; quota: number }>;
  /** Releases the store; later calls reject with `CLOSED`. */
  close(): Promise<void>;
}
