// Runs evstore/emmett's cases on IndexedDB (a fresh database per case); `?tab=` runs one side of
// the two-tab conflict case instead.
import { EventStore } from "evstore";
import { getEmmettEventStore } from "evstore/emmett";
import { CommandHandler, isExpectedVersionConflictError } from "@event-driven-io/emmett";
import { emmettCases } from "../emmett-cases.mjs";

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let n = 0;
window.runCases = async () => {
  const results = {};
  const stores = [];
  const open = async () => {
    const store = await EventStore.open({ storage: "indexeddb", name: `emmett-${run}-${n++}` });
    stores.push(store);
    return store;
  };
  for (const [name, test] of Object.entries(emmettCases(open))) {
    try {
      await test();
      results[name] = null;
    } catch (e) {
      results[name] = String(e?.stack ?? e);
    }
  }
  for (const s of stores) await s.close();
  return results;
};

// One tab's share of commands on a database shared with another tab: each command increments
// the counter once, retried on conflicts; returns how many decisions it took.
window.runCommands = async (name, count) => {
  const store = await EventStore.open({ storage: "indexeddb", name });
  const es = getEmmettEventStore(store);
  let decisions = 0;
  const handle = CommandHandler({
    evolve: (s, e) => s + e.data.by,
    initialState: () => 0,
    retry: { onVersionConflict: { retries: 200, minTimeout: 1, maxTimeout: 15, randomize: true, shouldRetryError: isExpectedVersionConflictError } },
  });
  await Promise.all(
    Array.from({ length: count }, () =>
      handle(es, "Counter-1", (seen) => {
        decisions++;
        return { type: "Incremented", data: { by: 1, seen } };
      }),
    ),
  );
  const read = await es.readStream("Counter-1");
  await store.close();
  return { decisions, seen: read.events.map((e) => e.data.seen), version: String(read.currentStreamVersion) };
};
document.body.dataset.ready = "true";
