// evstore/react: React bindings over `store.watchAggregate`.
import { useEffect, useRef, useState } from "react";

/**
 * The live state of one stream: `{ state, expectedRevision, loading, error }`. Re-renders after
 * new events of the stream, also when another tab or worker appended it (IndexedDB) or sync
 * brought it: once per batch (`watchAggregate` coalesces), not once per event.
 * `store` may be null/undefined while it is being opened. Until the stream has been folded,
 * `loading` is true, `state` is `initialState()` and `expectedRevision` is undefined. The latest
 * `initialState` and `evolve` are used; the watch restarts when `store` or `streamId` changes.
 * A tombstoned stream (`tombstoneStream`) gives `{ state: initialState(), expectedRevision:
 * "no_stream", loading: false, error }` with `error.code` `STREAM_DELETED`. Any other error stops
 * the watch and keeps the last fully folded state: an event written by a newer app version than the
 * store's `schema` gives `error.code` `SCHEMA_TOO_NEW` (still `loading` when nothing was folded
 * before it), never a state folded by code that does not know that event's shape.
 */
export function useAggregate(store, streamId, options) {
  const latest = useRef(options);
  latest.current = options;
  const [snapshot, setSnapshot] = useState(null);

  useEffect(() => {
    if (!store) return undefined;
    let active = true;
    let watch;
    try {
      watch = store.watchAggregate(
        streamId,
        {
          initialState: () => latest.current.initialState(),
          evolve: (state, event) => latest.current.evolve(state, event),
          onError: (error) => {
            if (!active) return;
            if (error?.code === "STREAM_DELETED") {
              // Tombstoned: nothing of the stream is left, and nothing can be appended to it.
              setSnapshot({ store, streamId, state: latest.current.initialState(), expectedRevision: "no_stream", error });
            } else {
              setSnapshot((s) => (s?.store === store && s.streamId === streamId ? { ...s, error } : { store, streamId, error }));
            }
          },
        },
        (state, { expectedRevision }) => {
          if (active) setSnapshot({ store, streamId, state, expectedRevision });
        },
      );
    } catch (error) {
      setSnapshot({ store, streamId, error }); // e.g. an invalid stream id
      return undefined;
    }
    return () => {
      active = false;
      watch.unsubscribe();
    };
  }, [store, streamId]);

  const current = snapshot?.store === store && snapshot.streamId === streamId ? snapshot : undefined;
  if (current && "state" in current) {
    return { state: current.state, expectedRevision: current.expectedRevision, loading: false, error: current.error };
  }
  return { state: options.initialState(), expectedRevision: undefined, loading: true, error: current?.error };
}
