// evstore/react (hand-written types).
import type { AggregateOptions, CurrentRevision, EventShape, EventStore } from "./index.js";

export interface AggregateView<S> {
  /** `initialState()` until the stream has been folded, then the live state. */
  state: S;
  /** `"no_stream"` or the stream's current revision; `undefined` while loading (do not append then). */
  expectedRevision: CurrentRevision | undefined;
  /** True until the stream has been folded once. */
  loading: boolean;
  /**
   * What stopped the watch (`evolve` threw, a storage failure, `SCHEMA_TOO_NEW`: an event of a newer app's schema
   * version, `UPCAST_FAILED`); `state` and `expectedRevision` stay those last fully folded (still `loading` if none).
   * Or an `EventStoreError` with code `STREAM_DELETED` when the stream was tombstoned (then `state` is
   * `initialState()` and `expectedRevision` `"no_stream"`).
   */
  error: Error | undefined;
}

/**
 * The live state of one stream, re-rendered after new events (from this tab, another one on
 * IndexedDB, or sync): once per batch of events delivered together, through `watchAggregate`.
 * `store` may be null/undefined while it is being opened.
 */
export declare function useAggregate<E extends EventShape, S>(
  store: EventStore<E> | null | undefined,
  streamId: string,
  options: AggregateOptions<E, S>,
): AggregateView<S>;
