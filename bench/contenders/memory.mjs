// The in-memory contenders behind one interface, used by the Node benchmarks.
import { EventStore } from "evstore";
import { getInMemoryEventStore, STREAM_DOES_NOT_EXIST } from "@event-driven-io/emmett";
import { ReferenceStore } from "./reference.mjs";

export const memoryContenders = {
  "plain JS reference": {
    open: async () => new ReferenceStore(),
    append: (s, id, events, rev) => s.append(id, events, { expectedRevision: rev ?? "no_stream" }).then((r) => r.nextExpectedRevision),
    readStream: (s, id) => s.readStream(id),
    readAllPage: (s, from, max) => s.readAll({ fromPosition: from, maxCount: max }),
    aggregate: async (s, id, evolve, init) => (await s.readStream(id)).reduce(evolve, init()),
  },
  "evstore memory": {
    open: () => EventStore.open({ storage: "memory" }),
    append: (s, id, events, rev) => s.append(id, events, { expectedRevision: rev ?? "no_stream" }).then((r) => r.nextExpectedRevision),
    readStream: (s, id) => s.readStream(id),
    readAllPage: (s, from, max) => s.readAll({ fromPosition: from, maxCount: max }),
    close: (s) => s.close(),
    aggregate: async (s, id, evolve, init) =>
      typeof s.aggregateStream === "function"
        ? (await s.aggregateStream(id, { initialState: init, evolve })).state
        : (await s.readStream(id)).reduce(evolve, init()),
  },
  "Emmett in-memory": {
    open: async () => getInMemoryEventStore(),
    append: (s, id, events, rev) =>
      s
        .appendToStream(id, events, { expectedStreamVersion: rev == null ? STREAM_DOES_NOT_EXIST : BigInt(rev + 1) })
        .then((r) => Number(r.nextExpectedStreamVersion) - 1),
    readStream: async (s, id) => (await s.readStream(id)).events,
    readAllPage: null, // Emmett's in-memory store has no global-log read
    aggregate: async (s, id, evolve, init) => (await s.aggregateStream(id, { evolve, initialState: init })).state,
  },
};
