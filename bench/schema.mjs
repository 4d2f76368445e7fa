// Reads with a schema (issue 22), Node, memory: what upcasting costs a read. 10,000 `ItemAdded`
// events are written at v1 by a store opened without `schema`; the same stored events (same ids,
// times, data and metadata) are then taken into three stores through `acceptPush`, which stores
// events as pushed: one opened without `schema`, and two with `ItemAdded` at version 4 and three
// steps, so every event read runs three upcasters. The goal's schema adds one field per step to
// the data it is given (each read builds fresh data, so a step may change it in place); the
// other's steps each copy the data with a spread, as apps often write them. Each store reads the
// whole stream (`readStream`) and the whole log in pages of 1,000 (`readAll`), interleaved,
// `rounds` × 3 rounds; medians. Goal (bench/goals.mjs, `schema-reads`): with ÷ without ≤ 1.3x.
// A fourth side reads without a schema and runs the spread steps itself (what an app upcasting by
// hand pays): spread ÷ that side is what the store's upcasting adds beyond the steps' own work.
// Run alone: `node --expose-gc bench/schema.mjs [--smoke]`; bench/run.mjs runs it too.
import { fileURLToPath } from "node:url";
import { EventStore } from "evstore";
import { summarise, textTable } from "./stats.mjs";
import { SCHEMA_BY_HAND as BY_HAND, SCHEMA_SPREAD as SPREAD, SCHEMA_WITH as WITH, SCHEMA_WITHOUT as WITHOUT } from "./goals.mjs";

const STREAM = "Item-big";
const PAGE = 1000;

/** The schema of the goal's side: `ItemAdded` at version 4, a step from each of 1, 2 and 3. */
export const SCHEMA = {
  ItemAdded: {
    version: 4,
    upcast: {
      1: (data) => {
        data.quantity = 1;
        return data;
      },
      2: (data) => {
        data.unit = "piece";
        return data;
      },
      3: (data) => {
        data.note = "";
        return data;
      },
    },
  },
};

/** The same steps written as copies: each spreads the data into a new object. */
export const SPREAD_SCHEMA = {
  ItemAdded: {
    version: 4,
    upcast: {
      1: (data) => ({ ...data, quantity: 1 }),
      2: (data) => ({ ...data, unit: "piece" }),
      3: (data) => ({ ...data, note: "" }),
    },
  },
};

/** What the "by hand" side does to each event it read without a schema: the spread steps. */
function byHand(events) {
  const steps = SPREAD_SCHEMA.ItemAdded.upcast;
  for (const event of events) {
    if (event.type !== "ItemAdded") continue;
    let data = event.data;
    for (let k = 1; k < 4; k++) data = steps[k](data, event);
    event.data = data;
    event.metadata.$schemaVersion = 4;
  }
  return events;
}

/** `n` v1 events as stored by a store without a schema: the pushed appends that copy them. */
async function v1Appends(n) {
  const writer = await EventStore.open({ storage: "memory" });
  try {
    let revision = null;
    for (let b = 0; b < n / 100; b++) {
      const events = Array.from({ length: 100 }, (_, j) => ({ type: "ItemAdded", data: { name: `item ${b * 100 + j}` }, metadata: { device: "bench", correlationId: `c-${b}` } }));
      revision = (await writer.append(STREAM, events, { expectedRevision: revision ?? "no_stream" })).nextExpectedRevision;
    }
    const stored = await writer.readStream(STREAM);
    if (stored.some((e) => "$schemaVersion" in e.metadata)) throw new Error("the writer stamped a version: it must have no schema");
    const appends = [];
    for (let at = 0; at < stored.length; at += 100) {
      const slice = stored.slice(at, at + 100);
      appends.push({
        seq: appends.length + 1,
        streamId: STREAM,
        expectedRevision: at === 0 ? "no_stream" : at - 1,
        createdAt: slice[0].createdAt.getTime(),
        events: slice.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
      });
    }
    return appends;
  } finally {
    await writer.close();
  }
}

/** A store (with `schema` or without) holding `appends` as stored. */
async function storeOf(appends, schema) {
  const store = await EventStore.open(schema ? { storage: "memory", schema } : { storage: "memory" });
  const outcomes = await store.acceptPush(appends);
  const bad = outcomes.find((o) => o.result !== "ok");
  if (bad) throw new Error(`acceptPush: ${JSON.stringify(bad)}`);
  return store;
}

/** Checks what each side reads: v1 as stored without a schema, v4 (three fields more) with it. */
async function check(stores, n) {
  const [plain] = await stores[WITHOUT].readStream(STREAM, { maxCount: 1 });
  if (JSON.stringify(plain.data) !== JSON.stringify({ name: "item 0" }) || "$schemaVersion" in plain.metadata) throw new Error(`without a schema the event reads as stored: ${JSON.stringify(plain)}`);
  for (const side of [WITH, SPREAD]) {
    const [upcast] = await stores[side].readStream(STREAM, { maxCount: 1 });
    if (JSON.stringify(upcast.data) !== JSON.stringify({ name: "item 0", quantity: 1, unit: "piece", note: "" }) || upcast.metadata.$schemaVersion !== 4) {
      throw new Error(`with a schema the event reads upcast to v4: ${JSON.stringify(upcast)}`);
    }
  }
  for (const store of Object.values(stores)) if ((await store.readAll({ maxCount: n + 1 })).length !== n) throw new Error("a store does not hold every event");
}

const scenarios = (n) => [
  {
    key: "schemaReadStream",
    title: `Read one ${n}-event stream of v1 ItemAdded events, with a schema (v4, 3 steps) and without`,
    run: async (store, upcast) => {
      const t = performance.now();
      const events = upcast(await store.readStream(STREAM));
      const ms = performance.now() - t;
      if (events.length !== n) throw new Error(`read ${events.length}`);
      return ms;
    },
  },
  {
    key: "schemaReadAll",
    title: `Read the whole log (${n} v1 ItemAdded events) in pages of ${PAGE.toLocaleString("en")}, with a schema (v4, 3 steps) and without`,
    run: async (store, upcast) => {
      const t = performance.now();
      let read = 0;
      for (let from = 0; ; from += PAGE) {
        const page = upcast(await store.readAll({ fromPosition: from, maxCount: PAGE }));
        read += page.length;
        if (page.length < PAGE) break;
      }
      const ms = performance.now() - t;
      if (read !== n) throw new Error(`read ${read}`);
      return ms;
    },
  },
];

/**
 * Runs both read scenarios, the three sides interleaved (which goes first rotates) in each of
 * `rounds` × 3 rounds (reads are short: one GC pause swings a round); `size` scales the 10,000
 * events. Returns scenarios shaped like bench/memory.mjs's (`where: "Node"`).
 */
export async function runSchema({ size = 1, rounds = 5, log = () => {} } = {}) {
  const n = Math.max(100, Math.round((10_000 * size) / 100) * 100);
  const appends = await v1Appends(n);
  const stores = { [WITHOUT]: await storeOf(appends), [WITH]: await storeOf(appends, SCHEMA), [SPREAD]: await storeOf(appends, SPREAD_SCHEMA) };
  const same = (events) => events;
  const sides = { [WITHOUT]: [stores[WITHOUT], same], [WITH]: [stores[WITH], same], [SPREAD]: [stores[SPREAD], same], [BY_HAND]: [stores[WITHOUT], byHand] };
  const names = Object.keys(sides);
  const out = [];
  try {
    await check(stores, n);
    for (const sc of scenarios(n)) {
      const samples = Object.fromEntries(names.map((k) => [k, []]));
      for (const name of names) await sc.run(...sides[name]); // warm-up, not counted
      for (let r = 0; r < rounds * 3; r++) {
        for (let j = 0; j < names.length; j++) {
          const name = names[(r + j) % names.length];
          globalThis.gc?.(); // (node --expose-gc) no side pays for another's garbage
          samples[name].push(await sc.run(...sides[name]));
        }
      }
      const results = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, summarise(xs, n)]));
      out.push({ key: sc.key, title: sc.title, reference: WITHOUT, events: n, results, where: "Node" });
      log(out.at(-1));
    }
  } finally {
    for (const store of Object.values(stores)) await store.close();
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes("--smoke");
  const scenarios_ = await runSchema({ size: smoke ? 0.02 : 1, rounds: smoke ? 1 : 5, log: (s) => console.log(`${textTable(s)}\n`) });
  const ratio = (s, a, b) => `${s.key} ${(s.results[a].median / s.results[b].median).toFixed(2)}x`;
  console.log(`with schema ÷ without (goal ≤ 1.3x): ${scenarios_.map((s) => ratio(s, WITH, WITHOUT)).join(", ")}`);
  console.log(`spread steps ÷ without: ${scenarios_.map((s) => ratio(s, SPREAD, WITHOUT)).join(", ")}`);
  console.log(`spread steps ÷ the same steps run by hand: ${scenarios_.map((s) => ratio(s, SPREAD, BY_HAND)).join(", ")}`);
}
