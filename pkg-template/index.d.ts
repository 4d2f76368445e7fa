// The TypeScript contract of evstore (hand-written; checked by tests/js/usage.ts and tests/js/dx/*.ts).
/// <reference lib="esnext.disposable" />

/** The shape of an application's events: a union of `{ type, data }` members. */
export interface EventShape {
  type: string;
  data?: unknown;
}

/** Event metadata: a plain object (by convention with `correlationId` and `causationId`). */
export type Metadata = Record<string, unknown> & { correlationId?: string; causationId?: string };

/** Whether an event type may be appended without `data` (its data admits `null` or `undefined`). */
type DataOptional<D> = undefined extends D ? true : null extends D ? true : false;

/**
 * An event to append. `data` is required exactly when the event type's data admits neither `null`
 * nor `undefined` (a missing `data` is stored as `null`). `id` (a hyphenated UUID) makes retries
 * idempotent; by default one is generated.
 */
export type EventData<E extends EventShape = EventShape> = E extends unknown
  ? DataOptional<E["data"]> extends true
    ? { type: E["type"]; data?: E["data"]; metadata?: Metadata; id?: string }
    : { type: E["type"]; data: E["data"]; metadata?: Metadata; id?: string }
  : never;

/** A missing `data` is stored as `null`. */
type Stored<D> = undefined extends D ? Exclude<D, undefined> | null : D;

/**
 * An event as stored. Each read returns fresh objects: mutating them never changes the store.
 *
 * `readAll` and subscriptions also deliver the store's lifecycle events: `$metadata` (stream `$$<streamId>`, `data`
 * the new metadata; a soft delete included) and `$streamDeleted` (stream `<streamId>`, a tombstone). `readStream`
 * never returns them. Positions of removed events stay empty: a read may show holes.
 */
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

/** The members of the event union `E` whose type is in `T`. */
export type EventOfType<E extends EventShape, T extends E["type"]> = E extends unknown ? (E["type"] extends T ? E : never) : never;

/** No check. */
export declare const ANY: "any";
/** The stream must have no events. */
export declare const NO_STREAM: "no_stream";
/** The stream must have at least one event. */
export declare const STREAM_EXISTS: "stream_exists";
/** Reads: from the first event (the default forwards). */
export declare const START: "start";
/** Reads: from the last event (the default backwards); subscriptions: `after: END` for live events only. */
export declare const END: "end";

/** `"any"`: no check; `"no_stream"`: no events yet; `"stream_exists"`: at least one; `n`: current revision is `n`. */
export type ExpectedRevision = typeof ANY | typeof NO_STREAM | typeof STREAM_EXISTS | number;

/** The expected revision that holds right now for a stream: `"no_stream"` or its current revision. */
export type CurrentRevision = typeof NO_STREAM | number;

/**
 * Where the wasm module comes from, for `open({ wasm })` (a CDN, a CSP that needs a known URL, a
 * service-worker precache): a URL, a `Request`, a `Response` (or its promise), the bytes, or a
 * compiled `WebAssembly.Module`. By default it is loaded next to the package's `index.js`.
 */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | PromiseLike<Response>
  | ArrayBuffer
  | ArrayBufferView
  | (WebAssembly.Module & object);

/** The `ctx.storage` of a Cloudflare Durable Object with SQLite storage (the parts evstore uses). */
export interface DurableObjectStorageLike {
  readonly sql: object;
  transactionSync<T>(closure: () => T): T;
}

/**
 * A step of `schema[type].upcast`: `upcast[v]` turns version `v` data into version `v + 1` data (it must return it,
 * synchronously). `event` is the event as stored (read it, do not change it). A step that throws, returns
 * `undefined` or returns a promise fails the read with `UPCAST_FAILED`.
 */
export type Upcaster = (data: any, event: RecordedEvent) => unknown;

/** One event type's entry in `schema`. */
export interface SchemaEntry {
  /** The current version of the type's data: an integer from 1; appended events are stored with it. */
  version: number;
  /** One step per older version, `1` … `version - 1` (each is required). */
  upcast?: { readonly [from: number]: Upcaster };
}

/**
 * `schema` of `EventStore.open`: per event type of `E`, its current version and the steps that upcast older data.
 * Appended events of a listed type are stored with `metadata.$schemaVersion`; every read delivers older events
 * upcast to the current version, and events of a newer app as stored (folding them is `SCHEMA_TOO_NEW`).
 */
export type Schema<E extends EventShape = EventShape> = { readonly [T in E["type"]]?: SchemaEntry };

interface CommonOpenOptions<E extends EventShape = EventShape> {
  /** Size limit of one event's `data` + `metadata` as JSON, in bytes (default 1 MiB). */
  maxEventBytes?: number;
  /**
   * Schema evolution: the event types whose data changed shape, with their current version and upcasters. Checked at
   * open (`INVALID_ARGUMENT` naming the type and key); this store's reads upcast, stored events never change.
   */
  schema?: Schema<E>;
  /** Where to load the wasm module from (browsers; ignored once it is loaded). */
  wasm?: WasmSource;
}

/** `sync` of `EventStore.open`: the store syncs with the edge service (CONTRACT.md "Sync (v1)"). */
export interface SyncOptions {
  /** The tenant's base URL on the edge service, e.g. `"https://edge.example.com/t/acme"`. */
  url: string;
  /**
   * Returns the JWT (claims `tid`, `sub`, `exp`; scopes `read`, `append` and, to push deletes, `delete`; an optional
   * `streams` claim limits it to matching streams, like `streams` below); called again on reconnects and before
   * expiry. Throw an `EventStoreError` with code `UNAUTHENTICATED` or `FORBIDDEN` for an auth failure; anything else
   * thrown (a network failure), or no answer within 10 s, is reported as offline (`STORAGE_ERROR`, with the cause).
   */
  token: () => string | Promise<string>;
  /**
   * The streams this device holds (default `["*"]`: the whole tenant). Each pattern is an exact stream id
   * (`"List-7"`) or a prefix ending in `*` (`"Item-7-*"`; `"*"` is every stream); a stream's `$$` metadata
   * stream follows it. The device pulls and receives only the matching streams' events that its token also
   * allows (the token's `streams` claim), with the server's positions: its local log has holes where other
   * streams' events are. A local append or lifecycle call on a stream outside the selection fails at once with
   * `INVALID_ARGUMENT` (naming the selection) and writes nothing. Reopening with a wider selection fetches the
   * newly selected streams' history (`onRebase`); a narrower one removes what is no longer selected.
   */
  streams?: readonly string[];
  /** The WebSocket class to use (default `globalThis.WebSocket`; in Node 20, the "ws" package's when installed). */
  WebSocket?: new (url: string, protocols?: string | string[]) => unknown;
}

export interface MemoryOpenOptions<E extends EventShape = EventShape> extends CommonOpenOptions<E> {
  /** In memory (the default): gone when the page or process ends. */
  storage?: "memory";
  /** Sync with the edge service. */
  sync?: SyncOptions;
}

export interface IndexedDbOpenOptions<E extends EventShape = EventShape> extends CommonOpenOptions<E> {
  /** IndexedDB (browsers, workers): durable, shared by the tabs and workers of an origin. */
  storage: "indexeddb";
  /** IndexedDB database name (default `"evstore"`). */
  name?: string;
  /** IndexedDB commit durability (default: the browser's, relaxed in Chromium). */
  durability?: "strict" | "relaxed" | "default";
  /** Sync with the edge service (one tab of the origin syncs at a time; the others follow). */
  sync?: SyncOptions;
}

export interface DurableObjectOpenOptions<E extends EventShape = EventShape> extends CommonOpenOptions<E> {
  /** The SQLite storage of a Cloudflare Durable Object (the package's workerd entry). */
  storage: "durable-object";
  /** The object's `ctx.storage` (SQLite-backed: `enableSql` / `new_sqlite_classes`). */
  durableObjectStorage: DurableObjectStorageLike;
}

/**
 * The small query interface the PostgreSQL storage runs on (the server's `server/db.js` makes one from a node-postgres
 * `pg.Pool` or a PGlite). Rows are plain objects by column name, with int8 (bigint) values as numbers.
 */
export interface PostgresDatabase {
  /** Runs one statement outside a transaction. */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs `fn` in one transaction: commits when it resolves; rolls back and rejects with what it threw when it throws. */
  transaction<T>(fn: (query: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T>;
}

export interface PostgresOpenOptions<E extends EventShape = EventShape> extends CommonOpenOptions<E> {
  /**
   * PostgreSQL (the package's server build: Node.js): one tenant's log in a database that every tenant, and every
   * server process, shares. Creates or upgrades evstore's tables (`evstore_*`) at open.
   */
  storage: "postgres";
  /** The database's query interface (the store does not close it). */
  database: PostgresDatabase;
  /** The tenant whose log this store is (a non-empty string). */
  tenant: string;
}

export type OpenOptions<E extends EventShape = EventShape> =
  | MemoryOpenOptions<E>
  | IndexedDbOpenOptions<E>
  | DurableObjectOpenOptions<E>
  | PostgresOpenOptions<E>;

export interface AppendOptions {
  /** Default `"any"`. */
  expectedRevision?: ExpectedRevision;
  /**
   * The event that caused these: each new event's `metadata.causationId` becomes its id and
   * `metadata.correlationId` its `correlationId` (or its id when it has none), unless the new event sets them.
   */
  causedBy?: RecordedEvent;
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
  fromRevision?: number | typeof START | typeof END;
  direction?: Direction;
  /** Default unlimited. */
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Inclusive. Default `"start"` forwards, `"end"` backwards. */
  fromPosition?: number | typeof START | typeof END;
  direction?: Direction;
  /** Default unlimited; with `streams`, counts only the matching events. */
  maxCount?: number;
  /**
   * Only these streams' events (default: every stream), at their positions in the whole log. Each pattern is
   * an exact stream id (`"List-7"`) or a prefix ending in `*` (`"Item-7-*"`; `"*"` is every stream); a stream's
   * `$$` metadata events follow it. An empty pattern or a `*` elsewhere than at the end is `INVALID_ARGUMENT`.
   */
  streams?: readonly string[];
}

export type ErrorCode = EventStoreError["code"];

interface ErrorBase<C extends string> extends Error {
  name: "EventStoreError";
  code: C;
}

/** The expected revision did not hold. */
export interface WrongExpectedRevisionError extends ErrorBase<"WRONG_EXPECTED_REVISION"> {
  streamId: string;
  expectedRevision: ExpectedRevision;
  /** The stream's revision, or `"no_stream"`. */
  actualRevision: CurrentRevision;
}
/** An event id of the call is already stored (not as this same call), or appears twice in it. */
export interface DuplicateEventIdError extends ErrorBase<"DUPLICATE_EVENT_ID"> {
  eventId: string;
}
/** A bad stream id, event or option; `message` says what and where. */
export interface InvalidArgumentError extends ErrorBase<"INVALID_ARGUMENT"> {}
/** An event's `data` + `metadata` is over `maxEventBytes`. */
export interface EventTooLargeError extends ErrorBase<"EVENT_TOO_LARGE"> {
  /** The index of the event in the call. */
  eventIndex: number;
  /** Its size in bytes. */
  size?: number;
  maxEventBytes?: number;
}
/** The browser refused the write for lack of storage. */
export interface QuotaExceededError extends ErrorBase<"QUOTA_EXCEEDED"> {}
/** Any other storage failure, or the wasm module could not be loaded. */
export interface StorageError extends ErrorBase<"STORAGE_ERROR"> {
  /** What the storage (or the loader) reported: the original error object. */
  cause: unknown;
}
/** The store was closed. */
export interface ClosedError extends ErrorBase<"CLOSED"> {}
/** Edge service / sync: no token, or a malformed, badly signed or expired one. */
export interface UnauthenticatedError extends ErrorBase<"UNAUTHENTICATED"> {}
/** Edge service / sync: a valid token for another tenant, or without the needed scope. */
export interface ForbiddenError extends ErrorBase<"FORBIDDEN"> {}
/**
 * A folding read (`aggregateStream`, `watchAggregate`, `useAggregate`) met an event written by a newer app: its
 * stored schema version is above this store's `schema`. Update the app to fold it; reads deliver it as stored.
 */
export interface SchemaTooNewError extends ErrorBase<"SCHEMA_TOO_NEW"> {
  /** The stream being folded. */
  streamId: string;
  /** The event's type. */
  type: string;
  /** The event's stored version. */
  version: number;
}
/** An upcaster of `schema` failed (threw, or returned `undefined` or a promise): the read fails. */
export interface UpcastFailedError extends ErrorBase<"UPCAST_FAILED"> {
  /** The event being upcast. */
  eventId: string;
  /** Its type. */
  type: string;
  /** The version the failing step starts from (`upcast[version]`). */
  version: number;
  /** What the upcaster threw, itself (a `TypeError` for a bad return value). */
  cause: unknown;
}
/**
 * The stream was hard-deleted (`tombstoneStream`): every later append to it, read of it, metadata change or
 * delete fails with this error, forever.
 */
export interface StreamDeletedError extends ErrorBase<"STREAM_DELETED"> {
  /** The tombstoned stream. */
  streamId: string;
}

/**
 * Every failure rejects with an `EventStoreError` (`err instanceof EventStoreError`); switch on
 * `code` for the fields of each kind. A call that fails changes nothing.
 */
export type EventStoreError =
  | WrongExpectedRevisionError
  | DuplicateEventIdError
  | InvalidArgumentError
  | EventTooLargeError
  | QuotaExceededError
  | StorageError
  | ClosedError
  | UnauthenticatedError
  | ForbiddenError
  | StreamDeletedError
  | SchemaTooNewError
  | UpcastFailedError;

/** The runtime class of every evstore error: `err instanceof EventStoreError`. */
export declare const EventStoreError: {
  /** For fakes in tests: evstore's own errors come with the fields of their code. */
  new (message: string, code: ErrorCode, fields?: Record<string, unknown>): EventStoreError;
  readonly prototype: EventStoreError;
  [Symbol.hasInstance](value: unknown): value is EventStoreError;
};

/** What `subscribe` and `events` select. */
export interface SubscriptionFilter<E extends EventShape = EventShape, T extends E["type"] = E["type"]> {
  /** Start after this position (exclusive), or `"end"` for live events only. Default: from the start. */
  after?: number | typeof END;
  /** Only events of this stream. */
  streamId?: string;
  /** Only events of streams of this category (the part of the stream id before its first `-`). */
  category?: string;
  /** Only events of these types (the handler's event type is narrowed to them). */
  eventTypes?: ReadonlyArray<T>;
  /**
   * A name under which the store records the position of each event whose handler completed; a later
   * subscription with the same name resumes after it (and ignores `after`). At-least-once: an event whose
   * handler completed just before the page died may be delivered again.
   */
  checkpoint?: string;
  /** Called once, when the backlog has been delivered. */
  onCaughtUp?: () => void;
}

export interface SubscribeOptions<E extends EventShape = EventShape, T extends E["type"] = E["type"]> extends SubscriptionFilter<E, T> {
  /** Called with an `Error` when the handler throws or rejects (which stops this subscription only), or delivery fails. */
  onError?: (error: Error) => void;
  /**
   * Synced stores only: sync rewrote the log after `after` (`null`: all of it) — pending events were confirmed at
   * other positions, rebased or discarded — and some of those events were delivered. Undo what they did (e.g. reset
   * the read model to its state at `after`); they are then delivered again as they are now. Awaited if it returns a Promise.
   */
  onRebase?: (rebase: { after: number | null }) => void | Promise<void>;
}

/** What `store.sync.status()` reports. */
export interface SyncStatus {
  /** `"offline"`: the network or the service is unreachable; `"connecting"`; `"online"`: connected. */
  state: "offline" | "connecting" | "online";
  /** Queued local appends not yet confirmed, held ones included. */
  pending: number;
  /** Streams held by a conflict. */
  conflicts: number;
  /** The last confirmed position (`null` before the first). */
  confirmedPosition: number | null;
  /** Why syncing is stopped or failing (`UNAUTHENTICATED`, `FORBIDDEN`, …), else `null`. */
  lastError: EventStoreError | null;
}

/** A stream held because the server refused one of its queued appends. */
export interface SyncConflict<E extends EventShape = EventShape> {
  streamId: string;
  /** The expected revision of the refused append. */
  expectedRevision: ExpectedRevision;
  /**
   * The server's revision of the stream, or `"no_stream"` when the server has none of its events (as in
   * `WRONG_EXPECTED_REVISION`): pass it to `retry` as `expectedRevision` to decide against the server's stream.
   */
  actualRevision: CurrentRevision;
  /**
   * Every held local event of the stream, oldest first (still visible locally), upcast like every read: drop
   * `$` metadata keys (`$schemaVersion`) before passing their metadata to `retry`.
   */
  pending: RecordedEvent<E>[];
  /**
   * The server's events of the stream after `expectedRevision` (capped in size: the rest arrives with the pulled
   * log), upcast.
   */
  theirs: RecordedEvent<E>[];
  /** `true` when the server withheld `theirs`: the token lacks the `read` scope. */
  theirsWithheld?: true;
  /**
   * Set when the server refused the append for another reason than its revision (e.g. `DUPLICATE_EVENT_ID`, or
   * `STREAM_DELETED`: the stream was tombstoned; `discard()` drops the held events, `retry()` fails).
   */
  error?: { code: string; message: string };
  /** Drops the held events: the stream becomes the server's. */
  discard(): Promise<void>;
  /**
   * Replaces the held events with `events`, appended locally under `expectedRevision` and queued. `null` is
   * refused (`INVALID_ARGUMENT`): it never means "any" here.
   */
  retry(events: ReadonlyArray<EventData<E>>, options: { expectedRevision: ExpectedRevision; causedBy?: RecordedEvent }): Promise<AppendResult>;
}

/** `store.sync` of a store opened with `sync`. */
export interface Sync<E extends EventShape = EventShape> {
  status(): SyncStatus;
  /** Calls `listener` on every change of the status. */
  onStatus(listener: (status: SyncStatus) => void): { unsubscribe(): void };
  /** Resolves once nothing pushable is queued: all confirmed or held as conflicts. Waits through offline and auth failures. */
  flush(): Promise<void>;
  conflicts(): Promise<SyncConflict<E>[]>;
  /** Calls `listener` for each stream that becomes held. */
  onConflict(listener: (conflict: SyncConflict<E>) => void): { unsubscribe(): void };
}

interface PushedBase {
  seq: number;
  streamId: string;
  /** Milliseconds since the Unix epoch: the time of the original local call. */
  createdAt: number;
}

/**
 * A pushed append of sync protocol v4 (edge/PROTOCOL.md), as `acceptPush` takes it: events (`kind` `"events"`,
 * the default), or a lifecycle call with the id of its event (`"metadata"`: `setStreamMetadata`, whose
 * `expectedRevision` is the expected metadata revision; `"delete"`: `deleteStream`; `"tombstone"`: `tombstoneStream`).
 */
export type PushedAppend =
  | (PushedBase & {
      kind?: "events";
      expectedRevision: ExpectedRevision;
      events: ReadonlyArray<{ id: string; type: string; data?: unknown; metadata?: Record<string, unknown> }>;
    })
  | (PushedBase & { kind: "metadata"; expectedRevision: ExpectedMetadataRevision; id: string; metadata: StreamMetadata })
  | (PushedBase & { kind: "delete" | "tombstone"; expectedRevision: ExpectedRevision; id: string });

/** Why a conflict's `theirs` stops short: capped in size, or withheld (the pusher may not read). */
export type TheirsCut = "capped" | "withheld";

/** What `acceptPush` allows the pusher. */
export interface PushPolicy {
  /** Whether conflicts may carry the stream's events (the pusher's token has `read`); default true. */
  revealTheirs?: boolean;
  /** The most events one pushed append may hold (more: `rejected`, `INVALID_ARGUMENT`); default 1000. */
  maxAppendEvents?: number;
  /** Whether pushed deletes and tombstones are allowed (the pusher's token has `delete`); default true. Else `rejected`, `FORBIDDEN`. */
  mayDelete?: boolean;
}

/**
 * How the server decided one pushed append (the wire form of protocol v4: `actualRevision` is `null` when the
 * stream has no events; a client's `SyncConflict` turns that into `"no_stream"`).
 */
export type PushOutcome =
  | { result: "ok" | "already"; nextExpectedRevision: number; position: number }
  | { result: "conflict"; actualRevision: number | null; theirs: RecordedEvent[]; theirsCut?: TheirsCut }
  | { result: "rejected"; actualRevision: number | null; theirs: RecordedEvent[]; theirsCut?: TheirsCut; error: { code: string; message: string } }
  | { result: "blocked" }
  | { result: "failed"; error: { code: string; message: string } };

/**
 * The state of one sync socket, kept by the host between messages (the edge service keeps it in the
 * WebSocket's attachment, with fields of its own). `serve` and `nextFrame` update `cursor` and `live` in place.
 */
export interface SyncSocketState {
  /** The position of the last event sent on the socket; `-1` or absent: nothing sent yet. */
  cursor?: number;
  /** Whether the socket's feed is live (caught up: it gets new events as they are committed). */
  live?: boolean;
  /** The scopes of the socket's token: `"read"` allows pulls, `"append"` pushes, `"delete"` pushed deletes and tombstones. */
  scopes: ReadonlyArray<string>;
  /** The stream patterns of the socket's token (its `streams` claim); `null` or absent: every stream. */
  streams?: ReadonlyArray<string> | null;
  /** The streams the socket's feed serves: its pull's selection within `streams` (normalized patterns). */
  selected?: ReadonlyArray<string>;
  /**
   * Present (any value) when `nextFrame(state)` is called: set by it, `false` once a live feed's
   * frame reached the log's head (the next call would give `null`), so a host may stop there. Not
   * part of what a host stores.
   */
  more?: boolean;
}

/**
 * What the host does after `SyncServer.serve` (every `frame` is the text to send as it is):
 * - `reply`: send `frame` (an answer or a refusal); the socket stays open;
 * - `pull`: the socket's feed restarted: send `nextFrame(state)` until it resolves to `null`;
 * - `pushed`: the push was decided: first send every live socket its `nextFrame`s (this one's included), then
 *   send `frame` (the `pushResult`) on this socket;
 * - `auth`: a token renewal: verify `token` (`null`: none was sent) and, if it holds, take its claims into the
 *   socket's state and send `SyncServer.authenticated(exp)`;
 * - `close`: send `frame` (an error), then close the socket with `code` and `reason`.
 */
export type ServedAction =
  | { action: "reply"; frame: string }
  | { action: "pull" }
  | { action: "pushed"; frame: string }
  | { action: "auth"; token: string | null }
  | { action: "close"; frame: string; code: number; reason: string };

/**
 * One client message, read by `SyncServer.decode`, to serve once. Server build only (the workerd, Node.js and
 * Deno entries): the browser build exports a stand-in under this name, and no message can be read there.
 */
export declare class SyncMessage {
  private constructor();
  /** Whether the message is a `pull` (a host that keeps one pull per socket in flight counts them). */
  readonly isPull: boolean;
  /** Releases the message's wasm memory (also `using message = SyncServer.decode(data)`). */
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * The server half of sync protocol v4 (edge/PROTOCOL.md) over one store, sans I/O: the host moves text
 * between its sockets and this object, and never reads or writes a sync message. Made by
 * `store.syncServer(epoch, maxAppendEvents)`.
 *
 * A host per message: `SyncServer.decode(data)`, then `serve(message, state, expired)`, then what the
 * `ServedAction` says — `nextFrame(state)` until `null` after a pull, and for every live socket after a push
 * (and after any other append to the store). Server build only (the workerd, Node.js and Deno entries): in the
 * browser build this export is a stand-in whose static methods throw an `INVALID_ARGUMENT` when called.
 */
export declare class SyncServer {
  private constructor();
  /** Reads one WebSocket message (a string; a binary one is refused when it is served). */
  static decode(data: string | ArrayBuffer | ArrayBufferView): SyncMessage;
  /**
   * Serves `message` (once) on the socket `state` (its `cursor` and `live` updated in place). `expired`: the
   * socket's token has expired. Resolves to what the host does next.
   */
  serve(message: SyncMessage, state: SyncSocketState, expired: boolean): Promise<ServedAction>;
  /**
   * The socket's next frame (its `cursor` and `live` updated in place), or `null` when there is nothing to send:
   * the events after its cursor, then — while catching up — `caughtUp`. A live socket whose token lost the
   * `read` scope gets a `FORBIDDEN` frame and stops being live.
   */
  nextFrame(state: SyncSocketState): Promise<string | null>;
  /** The answer to an accepted token renewal (`exp`: the new token's expiry, in seconds since the epoch). */
  static authenticated(exp: number): string;
  /** An error frame of the host's own: `{"type":"error","error":{code,message,limit?}}`. */
  static errorFrame(code: ErrorCode, message: string, limit?: number): string;
  /** The message of the `STORAGE_ERROR` frame a host sends when serving a message failed. */
  static readonly FAILED: string;
  /** Releases the server's wasm memory. */
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * A parsed, normalized list of stream patterns — the package's one matcher of tokens' `streams` claims and sync
 * selections, for hosts that check streams themselves (the edge service checks each route's stream with it). A
 * pattern is an exact stream id (`"List-7"`) or a prefix ending in `*` (`"Item-7-*"`; `"*"` is every stream); a
 * stream's `$$` metadata stream follows it. Server build only (the workerd, Node.js and Deno entries): in the
 * browser build this export is a stand-in whose static methods throw an `INVALID_ARGUMENT` when called.
 */
export declare class StreamSelection {
  private constructor();
  /** Reads patterns: `INVALID_ARGUMENT` for anything but an array of non-empty strings whose only `*` ends them. */
  static parse(patterns: readonly string[]): StreamSelection;
  /** Whether a pattern matches `streamId`, or `streamId` is the `$$` stream of one it matches. */
  matches(streamId: string): boolean;
  /** The patterns, normalized: sorted, without duplicates or patterns another one covers. */
  readonly patterns: string[];
  /** Releases the selection's wasm memory (also `using selection = StreamSelection.parse(...)`). */
  free(): void;
  [Symbol.dispose](): void;
}

export interface Subscription {
  /** Stops delivery at once and releases the subscription. */
  unsubscribe(): void;
  /** `using sub = store.subscribe(...)`: unsubscribes. */
  [Symbol.dispose](): void;
}

/** The events of `store.events()`, pulled by `for await`; `break` or `return` releases the subscription. */
export interface EventIterator<E extends EventShape> extends AsyncIterableIterator<RecordedEvent<E>> {
  next(): Promise<IteratorResult<RecordedEvent<E>, undefined>>;
  return(value?: unknown): Promise<IteratorResult<RecordedEvent<E>, undefined>>;
  [Symbol.asyncIterator](): EventIterator<E>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface AggregateOptions<E extends EventShape, S> {
  initialState: () => S;
  evolve: (state: S, event: RecordedEvent<E>) => S | Promise<S>;
}

export interface AggregateResult<S> {
  state: S;
  /** The stream's current revision, `null` when it has no events. */
  revision: number | null;
  /** Ready for the next append: `"no_stream"` or the revision. */
  expectedRevision: CurrentRevision;
}

export interface WatchAggregateOptions<E extends EventShape, S> extends AggregateOptions<E, S> {
  /**
   * What `evolve` or the callback threw, a storage failure, an `EventStoreError` with code `STREAM_DELETED` when
   * the stream is tombstoned, or `SCHEMA_TOO_NEW` for an event of a newer app (no `onChange` of the state before
   * it); the watch then stops.
   */
  onError?: (error: Error) => void;
}

export interface AggregateChange {
  /** `"no_stream"` or the stream's current revision: pass it to `append` as `expectedRevision`. */
  expectedRevision: CurrentRevision;
  revision: number | null;
}

export interface Watch {
  /** Stops the watch. */
  unsubscribe(): void;
  [Symbol.dispose](): void;
}

/**
 * A stream's metadata (`setStreamMetadata` replaces all of it). Events that fall outside `maxCount`, `maxAge` or
 * `truncateBefore` are never returned again by any read and are deleted from storage: at once for
 * `truncateBefore`, at the latest by the next append to the stream or the next open of the store for the others.
 */
export interface StreamMetadata {
  /** Keep only the newest `maxCount` events (an integer >= 1). */
  maxCount?: number;
  /** Keep only the events created less than `maxAge` seconds ago (an integer >= 1). */
  maxAge?: number;
  /** Remove the events below this revision (an integer >= 0). */
  truncateBefore?: number;
  /** The application's own metadata: a plain JSON object. */
  custom?: Record<string, unknown>;
}

/** `"any"` (the default): no check; `"no_stream"`: the metadata was never set; `n`: its current revision is `n`. */
export type ExpectedMetadataRevision = typeof ANY | typeof NO_STREAM | number;

export interface SetStreamMetadataOptions {
  /** Default `"any"`. */
  expectedMetadataRevision?: ExpectedMetadataRevision;
}

export interface SetStreamMetadataResult {
  /** The revision of the new metadata (the `$metadata` event's revision in stream `$$<streamId>`). */
  metadataRevision: number;
  /** The global position of the `$metadata` event. */
  position: number;
}

export interface StreamMetadataResult {
  /** `{}` when never set. */
  metadata: StreamMetadata;
  /** `null` when never set. */
  metadataRevision: number | null;
}

export interface DeleteStreamOptions {
  /** Checked as in `append`; default `"any"`. */
  expectedRevision?: ExpectedRevision;
}

export interface DeleteResult {
  /** The global position of the lifecycle event (`$metadata` for a soft delete, `$streamDeleted` for a tombstone). */
  position: number;
}

/** An event store. `E` is the union of the application's event shapes. */
export declare class EventStore<E extends EventShape = EventShape> {
  private constructor();
  /** Opens a store; no separate `init()` is needed. Every failure, loading the wasm included, is an `EventStoreError`. */
  static open<E extends EventShape = EventShape>(options: IndexedDbOpenOptions<NoInfer<E>> & { sync: SyncOptions }): Promise<IndexedDbEventStore<E> & SyncedEventStore<E>>;
  static open<E extends EventShape = EventShape>(options: MemoryOpenOptions<NoInfer<E>> & { sync: SyncOptions }): Promise<SyncedEventStore<E>>;
  static open<E extends EventShape = EventShape>(options: IndexedDbOpenOptions<NoInfer<E>>): Promise<IndexedDbEventStore<E>>;
  static open<E extends EventShape = EventShape>(options?: MemoryOpenOptions<NoInfer<E>> | DurableObjectOpenOptions<NoInfer<E>> | PostgresOpenOptions<NoInfer<E>>): Promise<EventStore<E>>;
  static open<E extends EventShape = EventShape>(options?: OpenOptions<NoInfer<E>>): Promise<EventStore<E> | IndexedDbEventStore<E>>;
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
   * and no duplicate.
   *
   * A Promise returned by `handler` is awaited before the next event is delivered: `e => refresh()` runs one
   * refresh per event. To re-render a stream use `watchAggregate` (one call per batch of events); otherwise
   * return nothing and coalesce.
   */
  subscribe<T extends E["type"] = E["type"]>(
    /** May return anything (`e => list.push(e)`); a returned Promise (thenable) is awaited before the next event. */
    handler: (event: RecordedEvent<EventOfType<E, T>>) => unknown,
    options?: SubscribeOptions<E, T>,
  ): Subscription;
  /**
   * `for await (const event of store.events({ category: "Order" }))`: `subscribe` as an async iterator, with
   * the same filters. The loop pulls: the next event is delivered when the body asked for it.
   */
  events<T extends E["type"] = E["type"]>(options?: SubscriptionFilter<E, T>): EventIterator<EventOfType<E, T>>;
  /**
   * Folds a stream; `expectedRevision` feeds the next append. With a `schema`, an event of a newer app rejects with
   * `SCHEMA_TOO_NEW` before `evolve` sees it.
   */
  aggregateStream<S>(streamId: string, options: AggregateOptions<E, S>): Promise<AggregateResult<S>>;
  /**
   * A live aggregate: `onChange` after the initial fold, then after new events of the stream. Coalesced: the
   * events delivered together (an append, a page of a read, a synced batch) are folded first, then `onChange`
   * is called once, in a microtask — a device catching up on thousands of events calls it a handful of times.
   * A `$metadata` event about the stream (retention, a soft delete) folds it again from its first kept event;
   * `evolve` never sees lifecycle events.
   */
  watchAggregate<S>(
    streamId: string,
    options: WatchAggregateOptions<E, S>,
    onChange: (state: S, change: AggregateChange) => void,
  ): Watch;
  /**
   * Replaces the stream's metadata (retention: `maxCount`, `maxAge`, `truncateBefore`; and `custom`). Recorded as a
   * `$metadata` event in stream `$$<streamId>`, whose `data` is the new metadata. `STREAM_DELETED` on a tombstoned
   * stream; `WRONG_EXPECTED_REVISION` when `expectedMetadataRevision` does not hold.
   */
  setStreamMetadata(streamId: string, metadata: StreamMetadata, options?: SetStreamMetadataOptions): Promise<SetStreamMetadataResult>;
  /** The stream's metadata: `{ metadata: {}, metadataRevision: null }` when never set. */
  getStreamMetadata(streamId: string): Promise<StreamMetadataResult>;
  /**
   * Soft delete: removes the stream's events (from storage, at once); the stream then reads as having none, and a
   * later append recreates it with revisions continuing after the old last one. A `$metadata` event
   * (`truncateBefore` = revision + 1).
   */
  deleteStream(streamId: string, options?: DeleteStreamOptions): Promise<DeleteResult>;
  /**
   * Hard delete: removes the stream's events (from storage, at once) and keeps a tombstone forever: every later call
   * on the stream fails with `STREAM_DELETED`. A `$streamDeleted` event in the stream.
   */
  tombstoneStream(streamId: string, options?: DeleteStreamOptions): Promise<DeleteResult>;
  /** Releases the store (and stops syncing); later calls reject with `CLOSED`. */
  close(): Promise<void>;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
  /** Sync, for a store opened with `sync`; `undefined` otherwise. */
  readonly sync: Sync<E> | undefined;
  /**
   * The server half of sync over this store, whose log is `epoch` (the log's identity, sent with each pull); a
   * pushed append holds at most `maxAppendEvents` events. The edge service makes one per Durable Object and
   * drives it with text (see `SyncServer`). Only in the server build (the workerd, Node.js and Deno entries): in
   * the browser build it throws an `INVALID_ARGUMENT`.
   */
  syncServer(epoch: string, maxAppendEvents: number): SyncServer;
  /**
   * The lower-level call under a push (what `SyncServer` does with a `push` message's appends): decides the
   * appends in order, one transaction each, with their original expected revisions, ids and `createdAt`, and
   * resolves to one outcome per append. A malformed append is `rejected`, never the whole push. Only in the
   * server build (the workerd, Node.js and Deno entries): in the browser build it rejects with an
   * `INVALID_ARGUMENT`.
   */
  acceptPush(appends: ReadonlyArray<PushedAppend>, policy?: PushPolicy): Promise<PushOutcome[]>;
}

/** A store opened with `sync`. */
export interface SyncedEventStore<E extends EventShape = EventShape> extends EventStore<E> {
  readonly sync: Sync<E>;
}

/** A store on IndexedDB: also asks the browser to keep its data. */
export interface IndexedDbEventStore<E extends EventShape = EventShape> extends EventStore<E> {
  /** Asks the browser to keep this origin's data (`navigator.storage.persist()`); `false` if refused or unavailable. */
  persistStorage(): Promise<boolean>;
  /** The origin's storage usage and quota in bytes (zeros where the runtime cannot tell). */
  storageEstimate(): Promise<{ usage: number; quota: number }>;
}
