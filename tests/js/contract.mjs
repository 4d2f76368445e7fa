// The contract suite of the built package, runtime-neutral (Node's test runner and browser pages
// both run it). `cases(open)` takes `open(options)` → a fresh, empty store.

export class AssertionError extends Error {}

function show(v) {
  try {
    return JSON.stringify(v, (_, x) => (x instanceof Date ? `Date(${x.toISOString()})` : x));
  } catch {
    return String(v);
  }
}
export function eq(actual, expected, what = "value") {
  if (show(actual) !== show(expected)) {
    throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}
export function ok(cond, what) {
  if (!cond) throw new AssertionError(what);
}
/** Awaits `promise`, which must reject with an EventStoreError of `code` and the given `fields`. */
export async function rejects(promise, code, fields = {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  ok(err !== undefined, `expected a rejection with ${code}, but the call succeeded`);
  ok(err instanceof Error, `rejection must be an Error, got ${show(err)}`);
  eq(err.name, "EventStoreError", "error.name");
  eq(err.code, code, `error.code (${err.message})`);
  ok(typeof err.message === "string" && err.message.length > 0, "error.message must say what happened");
  for (const [k, v] of Object.entries(fields)) eq(err[k], v, `error.${k}`);
  return err;
}

/** Resolves when `cond()` holds (polling), or rejects after `ms`. */
export async function until(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new AssertionError(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ID = (n) => `0190a8e4-7b3c-7d2e-8f00-${String(n).padStart(12, "0")}`;
const ev = (type, data, extra = {}) => ({ type, data, ...extra });
const brief = (events) => events.map((e) => [e.streamId, e.revision, e.position]);

export function cases(open) {
  return {
    async "append to a new stream returns its revision and position"() {
      const s = await open();
      eq(await s.append("Order-1", [ev("OrderPlaced", { total: 10 })], { expectedRevision: "no_stream" }),
        { nextExpectedRevision: 0, position: 0 });
      const [e] = await s.readStream("Order-1");
      eq(Object.keys(e), ["id", "streamId", "type", "revision", "position", "data", "metadata", "createdAt"], "recorded event keys");
      eq([e.streamId, e.type, e.revision, e.position, e.data, e.metadata], ["Order-1", "OrderPlaced", 0, 0, { total: 10 }, {}]);
      ok(e.createdAt instanceof Date && Math.abs(e.createdAt - Date.now()) < 60_000, "createdAt is a recent Date");
      ok(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(e.id), `generated id is a UUID v7: ${e.id}`);
    },

    async "expected revision: any, no_stream, stream_exists, exact"() {
      const s = await open();
      const a = (expectedRevision) => s.append("Cart-1", [ev("E", 1)], expectedRevision === undefined ? undefined : { expectedRevision });
      await rejects(a("stream_exists"), "WRONG_EXPECTED_REVISION", { streamId: "Cart-1", expectedRevision: "stream_exists", actualRevision: "no_stream" });
      await rejects(a(0), "WRONG_EXPECTED_REVISION", { expectedRevision: 0, actualRevision: "no_stream" });
      eq((await a("no_stream")).nextExpectedRevision, 0);
      await rejects(a("no_stream"), "WRONG_EXPECTED_REVISION", { expectedRevision: "no_stream", actualRevision: 0 });
      eq((await a("stream_exists")).nextExpectedRevision, 1);
      eq((await a(1)).nextExpectedRevision, 2);
      await rejects(a(1), "WRONG_EXPECTED_REVISION", { streamId: "Cart-1", expectedRevision: 1, actualRevision: 2 });
      eq((await a("any")).nextExpectedRevision, 3);
      eq((await a()).nextExpectedRevision, 4, "default is any");
      eq(await s.streamRevision("Cart-1"), 4);
    },

    async "batches are atomic, contiguous, and positions dense across streams"() {
      const s = await open();
      eq(await s.append("a", [ev("E", 0), ev("E", 1), ev("E", 2)]), { nextExpectedRevision: 2, position: 2 });
      eq(await s.append("b", [ev("E", 3), ev("E", 4)]), { nextExpectedRevision: 1, position: 4 });
      eq(await s.append("a", [ev("E", 5)], { expectedRevision: 2 }), { nextExpectedRevision: 3, position: 5 });
      eq(brief(await s.readAll()), [["a", 0, 0], ["a", 1, 1], ["a", 2, 2], ["b", 0, 3], ["b", 1, 4], ["a", 3, 5]]);
      eq((await s.readAll()).map((e) => e.data), [0, 1, 2, 3, 4, 5]);
    },

    async "a failed append changes nothing"() {
      const s = await open({ maxEventBytes: 64 });
      await s.append("s", [ev("E", 1, { id: ID(1) })]);
      const before = await s.readAll();
      const failing = [
        [[ev("E", 2, { id: ID(2) }), ev("E", 3, { id: ID(3) })], { expectedRevision: "no_stream" }, "WRONG_EXPECTED_REVISION"],
        [[ev("E", 4, { id: ID(4) }), ev("E", 1, { id: ID(1) })], {}, "DUPLICATE_EVENT_ID"],
        [[ev("E", 5, { id: ID(5) }), ev("E", "x".repeat(100))], {}, "EVENT_TOO_LARGE"],
        [[ev("E", 6, { id: ID(6) }), { data: 1 }], {}, "INVALID_ARGUMENT"],
        [[ev("E", 7, { id: ID(7) }), ev("E", () => 1)], {}, "INVALID_ARGUMENT"],
        [[ev("E", 8, { id: ID(8) }), ev("E", 1, { id: "nope" })], {}, "INVALID_ARGUMENT"],
      ];
      for (const [events, options, code] of failing) await rejects(s.append("s", events, options), code);
      eq(await s.readAll(), before, "log after failures");
      eq(await s.streamRevision("s"), 0);
      eq(await s.append("s", [ev("E", 2, { id: ID(2) }), ev("E", 4, { id: ID(4) })], { expectedRevision: 0 }),
        { nextExpectedRevision: 2, position: 2 }, "ids of failed calls are still free");
    },

    async "idempotent retry, even after other writers moved the stream on"() {
      const s = await open();
      await s.append("other", [ev("E", 0)]);
      const call = () => [ev("E", 1, { id: ID(1) }), ev("E", 2, { id: ID(2) })];
      const first = await s.append("s", call(), { expectedRevision: "no_stream" });
      eq(first, { nextExpectedRevision: 1, position: 2 });
      eq(await s.append("s", call(), { expectedRevision: "no_stream" }), first, "plain retry");
      await s.append("s", [ev("E", 3, { id: ID(3) })], { expectedRevision: 1 });
      await s.append("other", [ev("E", 4)]);
      for (const expectedRevision of ["no_stream", 99, "any", "stream_exists"]) {
        eq(await s.append("s", call(), { expectedRevision }), first, `retry with ${expectedRevision}`);
      }
      eq(await s.append("s", [ev("E", 3, { id: ID(3).toUpperCase() })], { expectedRevision: "no_stream" }),
        { nextExpectedRevision: 2, position: 3 }, "retry with an upper-case id");
      eq((await s.readAll()).length, 5, "retries wrote nothing");
    },

    async "duplicate event ids are rejected with the offending id"() {
      const s = await open();
      await s.append("s", [ev("E", 1, { id: ID(1) }), ev("E", 2, { id: ID(2) }), ev("E", 3, { id: ID(3) })]);
      await s.append("t", [ev("E", 9, { id: ID(9) })]);
      const dup = (ids) => s.append("s", ids.map((n) => ev("E", n, { id: ID(n) })));
      await rejects(dup([1, 4]), "DUPLICATE_EVENT_ID", { eventId: ID(1) });
      await rejects(dup([4, 2]), "DUPLICATE_EVENT_ID", { eventId: ID(2) });
      await rejects(dup([2, 1]), "DUPLICATE_EVENT_ID", { eventId: ID(2) });
      await rejects(dup([1, 3]), "DUPLICATE_EVENT_ID", { eventId: ID(1) });
      await rejects(dup([9]), "DUPLICATE_EVENT_ID", { eventId: ID(9) });
      await rejects(dup([5, 6, 5]), "DUPLICATE_EVENT_ID", { eventId: ID(5) });
      await rejects(s.append("s", [ev("E", 0, { id: ID(7) }), ev("E", 0, { id: ID(7).toUpperCase() })]), "DUPLICATE_EVENT_ID", { eventId: ID(7) });
      eq((await s.readAll()).length, 4);
    },

    async "supplied ids are returned in lowercase"() {
      const s = await open();
      const id = "0190A8E4-7B3C-7D2E-8F00-0000000000AB";
      await s.append("s", [ev("E", 1, { id })]);
      eq((await s.readStream("s"))[0].id, id.toLowerCase());
      for (const bad of ["0190a8e47b3c7d2e8f000000000000ab", "{0190a8e4-7b3c-7d2e-8f00-0000000000ab}", "x", "", 42]) {
        await rejects(s.append("s", [ev("E", 1, { id: bad })]), "INVALID_ARGUMENT");
      }
    },

    async "invalid stream ids are rejected by every call"() {
      const s = await open();
      for (const bad of ["", "$all", "$ce-Order", "a".repeat(257), 42, null, undefined, {}]) {
        await rejects(s.append(bad, [ev("E", 1)]), "INVALID_ARGUMENT");
        await rejects(s.readStream(bad), "INVALID_ARGUMENT");
        await rejects(s.streamRevision(bad), "INVALID_ARGUMENT");
      }
      await s.append("é".repeat(256), [ev("E", 1)]);
      await s.append("a$b", [ev("E", 1)]);
      eq((await s.readAll()).length, 2);
    },

    async "invalid events are rejected with where they are"() {
      const s = await open();
      const cyclic = {};
      cyclic.self = cyclic;
      const bad = [
        [[], "empty"],
        ["not an array", "array"],
        [undefined, "array"],
        [[null], "events[0]"],
        [[ev("E", 1), "str"], "events[1]"],
        [[{ data: 1 }], "events[0].type"],
        [[ev("", 1)], "events[0].type"],
        [[ev(42, 1)], "events[0].type"],
        [[ev("E", 1), ev("E", () => 1)], "events[1]"],
        [[ev("E", { f() {} })], "events[0]"],
        [[ev("E", Symbol("s"))], "events[0]"],
        [[ev("E", 10n)], "events[0]"],
        [[ev("E", cyclic)], "events[0]"],
        [[ev("E", NaN)], "events[0]"],
        [[ev("E", { x: Infinity })], "events[0]"],
        [[ev("E", 1, { metadata: "m" })], "events[0].metadata"],
        [[ev("E", 1, { metadata: [1] })], "events[0].metadata"],
        [[ev("E", 1, { metadata: 5 })], "events[0].metadata"],
      ];
      for (const [events, where] of bad) {
        const err = await rejects(s.append("s", events), "INVALID_ARGUMENT");
        ok(err.message.includes(where), `message "${err.message}" should mention ${where}`);
      }
      eq(await s.readAll(), [], "nothing written");
      // null stands for "not given", like undefined
      await s.append("s", [ev("E", 1, { metadata: null, id: null })]);
      eq((await s.readAll())[0].metadata, {});
    },

    async "bad option values are INVALID_ARGUMENT"() {
      const s = await open();
      await s.append("s", [ev("E", 1)]);
      for (const expectedRevision of [-1, 1.5, "latest", NaN, true, {}, 2 ** 53]) {
        await rejects(s.append("s", [ev("E", 1)], { expectedRevision }), "INVALID_ARGUMENT");
      }
      await rejects(s.append("s", [ev("E", 1)], "any"), "INVALID_ARGUMENT");
      for (const o of [{ direction: "up" }, { fromRevision: -1 }, { fromRevision: "middle" }, { maxCount: -1 }, { maxCount: 1.5 }, { maxCount: "10" }, 5]) {
        await rejects(s.readStream("s", o), "INVALID_ARGUMENT");
      }
      for (const o of [{ direction: 1 }, { fromPosition: 0.5 }, { fromPosition: "last" }, { maxCount: NaN }]) {
        await rejects(s.readAll(o), "INVALID_ARGUMENT");
      }
      eq((await s.readAll()).length, 1);
    },

    async "events over maxEventBytes are EVENT_TOO_LARGE with their index"() {
      const s = await open({ maxEventBytes: 20 });
      // data "123456789012345678" is 20 bytes as JSON, + metadata {} = 22
      await rejects(s.append("s", [ev("E", 1), ev("E", "123456789012345678")]), "EVENT_TOO_LARGE", { eventIndex: 1 });
      await rejects(s.append("s", [ev("E", 1, { metadata: { k: "0123456789abcdef" } })]), "EVENT_TOO_LARGE", { eventIndex: 0 });
      await s.append("s", [ev("E", "1234567890123456")]); // 18 + 2 = 20
    },

    async "a misspelt event field and an over-long type are INVALID_ARGUMENT naming them, and write nothing"() {
      const s = await open();
      const typo = await rejects(s.append("S-1", [{ type: "E", dat: { n: 1 } }]), "INVALID_ARGUMENT");
      ok(/unknown field "dat"/.test(typo.message), typo.message);
      const long = await rejects(s.append("S-1", [{ type: "T".repeat(257) }]), "INVALID_ARGUMENT");
      ok(/type is longer than 256 characters/.test(long.message), long.message);
      await rejects(s.append("S-1", [{ type: "x".repeat(2 * 1024 * 1024) }]), "INVALID_ARGUMENT");
      eq(await s.readAll(), []);
      await s.append("S-1", [{ type: "T".repeat(256), data: 1, metadata: {}, id: ID(1) }]);
      eq((await s.readAll()).length, 1);
    },

    async "the default event size limit is 1 MiB"() {
      const big = await open();
      await big.append("s", [ev("E", "x".repeat(1024 * 1024 - 10))]);
      await rejects(big.append("s", [ev("E", "x".repeat(1024 * 1024))]), "EVENT_TOO_LARGE", { eventIndex: 0 });
    },

    async "open rejects bad options"() {
      const bad = [
        { storage: "sqlite" }, { storage: 1 }, { maxEventBytes: 0 }, { maxEventBytes: -5 }, { maxEventBytes: 1.5 },
        { maxEventBytes: "1" }, "memory", { storage: "indexeddb", name: 5 }, { storage: "indexeddb", name: {} },
        { storage: "indexeddb", name: "" }, { storage: "indexeddb", durability: "fast" },
      ];
      for (const o of bad) {
        let err;
        try { await open(o); } catch (e) { err = e; }
        ok(err && err.name === "EventStoreError" && err.code === "INVALID_ARGUMENT", `open(${show(o)}) must be INVALID_ARGUMENT, got ${err && err.code}`);
      }
    },

    async "reads forwards and backwards, from and maxCount inclusive"() {
      const s = await open();
      eq(await s.readStream("s"), []);
      eq(await s.readStream("s", { direction: "backwards" }), []);
      await s.append("x", [ev("E", -1)]);
      await s.append("s", [0, 1, 2, 3, 4].map((i) => ev("E", i)));
      const revs = async (o) => (await s.readStream("s", o)).map((e) => e.revision);
      eq(await revs(), [0, 1, 2, 3, 4]);
      eq(await revs({ fromRevision: 2 }), [2, 3, 4]);
      eq(await revs({ fromRevision: 2, maxCount: 2 }), [2, 3]);
      eq(await revs({ fromRevision: "start", maxCount: 1 }), [0]);
      eq(await revs({ fromRevision: 5 }), []);
      eq(await revs({ fromRevision: "end" }), []);
      eq(await revs({ maxCount: 0 }), []);
      eq(await revs({ direction: "backwards" }), [4, 3, 2, 1, 0]);
      eq(await revs({ direction: "backwards", maxCount: 2 }), [4, 3]);
      eq(await revs({ direction: "backwards", fromRevision: 2 }), [2, 1, 0]);
      eq(await revs({ direction: "backwards", fromRevision: "end", maxCount: 1 }), [4]);
      eq(await revs({ direction: "backwards", fromRevision: 99, maxCount: 1 }), [4]);
      eq(await revs({ direction: "forwards", fromRevision: 1, maxCount: Infinity }), [1, 2, 3, 4]);
      eq((await s.readStream("s", { maxCount: 2 })).map((e) => e.position), [1, 2]);
    },

    async "readAll forwards and backwards over the global log"() {
      const s = await open();
      eq(await s.readAll(), []);
      for (const [i, id] of ["a", "b", "a", "c", "b"].entries()) await s.append(id, [ev("E", i)]);
      const pos = async (o) => (await s.readAll(o)).map((e) => e.position);
      eq(await pos(), [0, 1, 2, 3, 4]);
      eq(await pos({ fromPosition: 3 }), [3, 4]);
      eq(await pos({ fromPosition: 1, maxCount: 2 }), [1, 2]);
      eq(await pos({ fromPosition: "end" }), []);
      eq(await pos({ direction: "backwards" }), [4, 3, 2, 1, 0]);
      eq(await pos({ direction: "backwards", fromPosition: 2, maxCount: 2 }), [2, 1]);
      eq(brief(await s.readAll()), [["a", 0, 0], ["b", 0, 1], ["a", 1, 2], ["c", 0, 3], ["b", 1, 4]]);
    },

    async "payloads round-trip; missing data is null, missing metadata {}"() {
      const s = await open();
      const data = { s: 'ünïcödé "q" \\ \n \u2028 😀', n: [1, 2.5, -3, 0], o: { deep: [null, true, false] }, empty: {} };
      const metadata = { correlationId: "c-1", causationId: "c-0", nested: { a: [1] } };
      await s.append("s", [ev("Typed \"q\"", data, { metadata }), { type: "NoData" }, ev("Str", "plain"), ev("Arr", [1, "2"])]);
      const [a, b, c, d] = await s.readStream("s");
      eq([a.type, a.data, a.metadata], ['Typed "q"', data, metadata]);
      eq([b.data, b.metadata], [null, {}]);
      eq([c.data, d.data], ["plain", [1, "2"]]);
    },

    async "stored events are immutable: mutating inputs or results never changes the store"() {
      const s = await open();
      const data = { items: [{ sku: "a", qty: 1 }] };
      const metadata = { correlationId: "c" };
      const events = [{ type: "E", data, metadata }];
      const appending = s.append("s", events);
      data.items[0].qty = 99; // mutated before the append even resolved
      metadata.correlationId = "changed";
      events[0].type = "Changed";
      events.push({ type: "Extra" });
      await appending;
      const [first] = await s.readStream("s");
      eq([first.type, first.data, first.metadata], ["E", { items: [{ sku: "a", qty: 1 }] }, { correlationId: "c" }]);
      first.data.items[0].qty = 5;
      first.metadata.correlationId = "x";
      first.type = "Y";
      first.createdAt.setFullYear(1999);
      const [again] = await s.readStream("s");
      eq([again.type, again.data, again.metadata], ["E", { items: [{ sku: "a", qty: 1 }] }, { correlationId: "c" }]);
      ok(again.createdAt.getFullYear() !== 1999, "createdAt is a fresh Date");
      const [viaAll] = await s.readAll();
      ok(viaAll !== again && viaAll.data !== again.data, "each read returns fresh objects");
      eq((await s.readAll()).length, 1);
    },

    async "streamRevision is null for an empty stream, then the last revision"() {
      const s = await open();
      eq(await s.streamRevision("Order-1"), null);
      await s.append("Order-1", [ev("E", 1), ev("E", 2)]);
      eq(await s.streamRevision("Order-1"), 1);
      eq(await s.streamRevision("Order-2"), null);
    },

    async "concurrent un-awaited calls are safe and lose nothing"() {
      const s = await open();
      const n = 200;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => s.append(`s-${i % 7}`, [ev("E", i)]).then((r) => r.position)),
      );
      eq([...results].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), "dense unique positions");
      const racers = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => s.append("race", [ev("E", i)], { expectedRevision: "no_stream" })),
      );
      eq(racers.filter((r) => r.status === "fulfilled").length, 1, "exactly one no_stream append wins");
      ok(racers.filter((r) => r.status === "rejected").every((r) => r.reason.code === "WRONG_EXPECTED_REVISION"), "the others conflict");
      const mixed = await Promise.all([s.readAll(), s.append("m", [ev("E", 1)]), s.streamRevision("m"), s.readStream("m")]);
      eq(mixed[1].position, n + 1);
      eq((await s.readAll()).length, n + 2);
    },

    async "subscribe: catch-up, onCaughtUp once, then live, in order, no gap, no duplicate"() {
      const s = await open();
      for (let i = 0; i < 5; i++) await s.append(`Order-${i % 2}`, [ev("E", i)]);
      const seen = [];
      let caughtUpAt = -1;
      let caughtUps = 0;
      const sub = s.subscribe((e) => { seen.push(e.position); }, { onCaughtUp: () => { caughtUps++; caughtUpAt = seen.length; } });
      ok(typeof sub.unsubscribe === "function", "subscribe returns an object with unsubscribe()");
      eq(seen, [], "no handler runs inside subscribe()");
      await until(() => caughtUps === 1, "onCaughtUp");
      eq(caughtUpAt, 5, "onCaughtUp after the backlog");
      const writes = [];
      for (let i = 5; i < 40; i++) writes.push(s.append(`Order-${i % 3}`, [ev("E", i), ev("E", i)]));
      await Promise.all(writes);
      await until(() => seen.length === 75, "live events");
      eq(seen, Array.from({ length: 75 }, (_, i) => i), "positions delivered in order, once each");
      const [first] = await s.readAll({ maxCount: 1 });
      eq(caughtUps, 1, "onCaughtUp is called once");
      sub.unsubscribe();
      eq(typeof first.createdAt.getTime(), "number");
    },

    async "subscribe: handlers get the recorded event shape"() {
      const s = await open();
      await s.append("Order-1", [ev("Placed", { total: 10 }, { metadata: { correlationId: "c" } })]);
      let got;
      const sub = s.subscribe((e) => { got = e; });
      await until(() => got, "an event");
      sub.unsubscribe();
      eq(Object.keys(got), ["id", "streamId", "type", "revision", "position", "data", "metadata", "createdAt"]);
      eq([got.streamId, got.type, got.revision, got.position, got.data, got.metadata], ["Order-1", "Placed", 0, 0, { total: 10 }, { correlationId: "c" }]);
      ok(got.createdAt instanceof Date, "createdAt is a Date");
      got.data.total = 99;
      eq((await s.readStream("Order-1"))[0].data, { total: 10 }, "mutating a delivered event changes nothing");
    },

    async "subscribe: after a position, 'end', and filters"() {
      const s = await open();
      const streams = ["Order-1", "Cart-1", "Order-2", "Order-1", "Orders"];
      const types = ["Placed", "Added", "Placed", "Shipped", "Placed"];
      for (let i = 0; i < 5; i++) await s.append(streams[i], [{ type: types[i] }]);
      const collect = async (options, extra = () => {}) => {
        const seen = [];
        let caught = false;
        const sub = s.subscribe((e) => { seen.push(e.position); }, { ...options, onCaughtUp: () => { caught = true; } });
        await until(() => caught, "onCaughtUp");
        await extra(seen);
        sub.unsubscribe();
        return seen;
      };
      eq(await collect({ after: 2 }), [3, 4], "after is exclusive");
      eq(await collect({ after: 99 }), []);
      eq(await collect({ streamId: "Order-1" }), [0, 3]);
      eq(await collect({ category: "Order" }), [0, 2, 3]);
      eq(await collect({ eventTypes: ["Placed"] }), [0, 2, 4]);
      eq(await collect({ category: "Order", eventTypes: ["Placed", "Added"] }), [0, 2]);
      eq(await collect({ after: "end" }, async (seen) => {
        await s.append("Order-9", [{ type: "Live" }]);
        await until(() => seen.length === 1, "the live event");
      }), [5], "'end' delivers only what is appended after subscribe");
      // "end" is resolved inside subscribe(): an append right after it is never missed.
      const live = [];
      const sub = s.subscribe((e) => { live.push(e.position); }, { after: "end" });
      await s.append("Order-9", [{ type: "Right-after" }]);
      await until(() => live.length === 1, "the event appended right after subscribe");
      eq(live, [6]);
      sub.unsubscribe();
    },

    async "subscribe: a handler's promise is awaited, calls never overlap; slow subscribers never block writers"() {
      const s = await open();
      let active = 0, maxActive = 0;
      const seen = [];
      const sub = s.subscribe(async (e) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(10);
        seen.push(e.position);
        active--;
      });
      for (let i = 0; i < 30; i++) await s.append("S", [ev("E", i)]);
      // Every append has completed while the slow subscriber is still behind: writers never
      // waited for it.
      ok(seen.length < 30, `the subscriber fell behind (it had handled ${seen.length} of 30)`);
      await until(() => seen.length === 30, "the slow subscriber to catch up");
      eq(maxActive, 1, "handler calls never overlap");
      eq(seen, Array.from({ length: 30 }, (_, i) => i));
      sub.unsubscribe();
    },

    async "subscribe: handlers may append and read on the same store"() {
      const s = await open();
      const seen = [];
      const sub = s.subscribe(async (e) => {
        seen.push(e.position);
        if (e.type === "Command") {
          const rev = await s.streamRevision(e.streamId);
          await s.append(e.streamId, [{ type: "Reaction", data: { to: e.position } }], { expectedRevision: rev });
          (await s.readStream(e.streamId)).length;
        }
      });
      await s.append("Flow-1", [{ type: "Command" }]);
      await s.append("Flow-2", [{ type: "Command" }]);
      await until(() => seen.length === 4, "commands and their reactions");
      eq(seen, [0, 1, 2, 3]);
      eq((await s.readAll()).map((e) => e.type).sort(), ["Command", "Command", "Reaction", "Reaction"]);
      sub.unsubscribe();
    },

    async "subscribe: a throwing or rejecting handler stops only its own subscription, reported to onError"() {
      const s = await open();
      const errors = [];
      const healthy = [];
      const throwsSeen = [];
      const rejectsSeen = [];
      s.subscribe((e) => { throwsSeen.push(e.position); if (e.position === 1) throw new Error("boom"); }, { onError: (err) => errors.push(["throws", err.message]) });
      s.subscribe(async (e) => { rejectsSeen.push(e.position); if (e.position === 2) throw new TypeError("async boom"); }, { onError: (err) => errors.push(["rejects", err.message]) });
      const sub = s.subscribe((e) => { healthy.push(e.position); });
      for (let i = 0; i < 5; i++) await s.append("S", [ev("E", i)]);
      await until(() => healthy.length === 5 && errors.length === 2, "the healthy subscriber and both errors");
      eq(errors.sort(), [["rejects", "async boom"], ["throws", "boom"]]);
      eq(throwsSeen, [0, 1], "the throwing subscription stopped after its error");
      eq(rejectsSeen, [0, 1, 2], "the rejecting subscription stopped after its error");
      await s.append("S", [ev("E", 5)]);
      await until(() => healthy.length === 6, "the healthy subscriber goes on");
      eq((await s.readAll()).length, 6, "the store goes on");
      sub.unsubscribe();
    },

    async "subscribe: unsubscribe stops delivery at once"() {
      const s = await open();
      for (let i = 0; i < 50; i++) await s.append("S", [ev("E", i)]);
      const seen = [];
      let sub;
      sub = s.subscribe((e) => {
        seen.push(e.position);
        if (e.position === 9) sub.unsubscribe();
      });
      await until(() => seen.length >= 10, "ten events");
      // A sentinel subscription, woken by the same appends, is the sync point: once it has the
      // later events, an active subscription would have had them too.
      const sentinel = [];
      const never = [];
      const early = s.subscribe((e) => { never.push(e); });
      early.unsubscribe();
      const watch = s.subscribe((e) => { sentinel.push(e.position); }, { after: 49 });
      await s.append("S", [ev("E", 50)]);
      await until(() => sentinel.includes(50), "the sentinel to see the later event");
      await s.append("S", [ev("E", 51)]);
      await until(() => sentinel.includes(51), "the sentinel to see one more");
      eq(seen, Array.from({ length: 10 }, (_, i) => i), "nothing after unsubscribe, even from the same batch");
      eq(never.length, 0, "unsubscribed before the first delivery");
      watch.unsubscribe();
      sub.unsubscribe();
    },

    async "subscribe: a checkpoint resumes after the last handled event"() {
      const s = await open();
      for (let i = 0; i < 6; i++) await s.append("S", [ev("E", i)]);
      const first = [];
      let sub = s.subscribe(async (e) => { first.push(e.position); }, { checkpoint: "projection-x", after: 1 });
      await until(() => first.length === 4, "the first run");
      sub.unsubscribe();
      eq(first, [2, 3, 4, 5], "`after` applies while nothing is recorded");
      await s.append("S", [ev("E", 6), ev("E", 7)]);
      const second = [];
      sub = s.subscribe((e) => { second.push(e.position); }, { checkpoint: "projection-x", after: 0 });
      await until(() => second.length === 2, "the resumed run");
      await s.append("S", [ev("E", 8)]);
      await until(() => second.includes(8), "a later event: everything before it has been delivered");
      eq(second, [6, 7, 8], "resumes after the recorded position; `after` is ignored");
      sub.unsubscribe();
      const other = [];
      sub = s.subscribe((e) => { other.push(e.position); }, { checkpoint: "other" });
      await until(() => other.length === 9, "an independent name");
      sub.unsubscribe();
    },

    async "subscribe: bad arguments throw INVALID_ARGUMENT; a closed store throws CLOSED"() {
      const s = await open();
      const throws = (f, code) => {
        let err;
        try { f(); } catch (e) { err = e; }
        ok(err && err.name === "EventStoreError" && err.code === code, `expected ${code}, got ${err && (err.code ?? err)}`);
      };
      for (const o of [{ after: -1 }, { after: "start" }, { after: 1.5 }, { streamId: "" }, { streamId: "$all" }, { category: "" }, { category: 5 },
        { eventTypes: [] }, { eventTypes: "E" }, { eventTypes: [1] }, { onCaughtUp: 5 }, { onError: "x" }, { checkpoint: "" }, { checkpoint: 5 }, "opts"]) {
        throws(() => s.subscribe(() => {}, o), "INVALID_ARGUMENT");
      }
      throws(() => s.subscribe("not a function"), "INVALID_ARGUMENT");
      throws(() => s.subscribe(), "INVALID_ARGUMENT");
      await s.close();
      throws(() => s.subscribe(() => {}), "CLOSED");
    },

    async "aggregateStream folds a stream into { state, revision }"() {
      const s = await open();
      const options = { initialState: () => ({ total: 0 }), evolve: (state, e) => ({ total: state.total + e.data.total }) };
      eq(await s.aggregateStream("Order-1", options), { state: { total: 0 }, revision: null, expectedRevision: "no_stream" });
      await s.append("Order-1", [ev("Added", { total: 10 }), ev("Added", { total: 20 })]);
      await s.append("Order-2", [ev("Added", { total: 1000 })]);
      await s.append("Order-1", [ev("Added", { total: 12 })]);
      const { state, revision } = await s.aggregateStream("Order-1", options);
      eq([state, revision], [{ total: 42 }, 2]);
      eq((await s.append("Order-1", [ev("Added", { total: 1 })], { expectedRevision: revision })).nextExpectedRevision, 3);
      const seenTypes = [];
      const asyncFold = await s.aggregateStream("Order-1", { initialState: () => 0, evolve: async (n, e) => { seenTypes.push(e.type); return n + 1; } });
      eq(asyncFold, { state: 4, revision: 3, expectedRevision: 3 });
      await rejects(s.aggregateStream("Order-1", { initialState: () => 0 }), "INVALID_ARGUMENT");
      await rejects(s.aggregateStream("Order-1", { evolve: (x) => x, initialState: 0 }), "INVALID_ARGUMENT");
      await rejects(s.aggregateStream("", options), "INVALID_ARGUMENT");
      let thrown;
      try { await s.aggregateStream("Order-1", { initialState: () => 0, evolve: () => { throw new RangeError("mine"); } }); } catch (e) { thrown = e; }
      ok(thrown instanceof RangeError && thrown.message === "mine", "an error thrown by evolve rejects the call as it is");
    },

    async "unknown option keys are INVALID_ARGUMENT naming the key (a typo never switches a check off)"() {
      const s = await open();
      await s.append("S-1", [ev("E", 1)]);
      const named = async (promise, key, hint) => {
        const err = await rejects(promise, "INVALID_ARGUMENT");
        ok(err.message.includes(`"${key}"`), `the message names "${key}": ${err.message}`);
        if (hint) ok(err.message.includes(`did you mean "${hint}"`), `the message suggests "${hint}": ${err.message}`);
      };
      await named(s.append("S-1", [ev("E", 2)], { expected: 99 }), "expected", "expectedRevision");
      eq(await s.streamRevision("S-1"), 0, "the mistyped append wrote nothing");
      await named(s.readStream("S-1", { limit: 1 }), "limit");
      await named(s.readStream("S-1", { fromPosition: 0 }), "fromPosition", "fromRevision");
      await named(s.readAll({ fromRevision: 0 }), "fromRevision", "fromPosition");
      await named(s.readAll({ maxcount: 1 }), "maxcount", "maxCount");
      await named(s.aggregateStream("S-1", { initialState: () => 0, evolve: (x) => x, evolv: 1 }), "evolv", "evolve");
      await named(open({ storag: "memory" }), "storag", "storage");
      let err;
      try { s.subscribe(() => {}, { from: 3 }); } catch (e) { err = e; }
      ok(err && err.code === "INVALID_ARGUMENT" && err.message.includes('"from"'), `subscribe names "from": ${err && err.message}`);
    },

    async "Map, Set, ArrayBuffer, typed arrays and over-deep nesting in data or metadata are INVALID_ARGUMENT"() {
      const s = await open();
      const bad = [new Map([["a", 1]]), new Set([1]), new ArrayBuffer(4), new Uint8Array(4), new DataView(new ArrayBuffer(2)), { nested: new Map() }, [new Set()]];
      for (const data of bad) await rejects(s.append("S-1", [ev("E", data)]), "INVALID_ARGUMENT");
      await rejects(s.append("S-1", [ev("E", 1, { metadata: { m: new Map() } })]), "INVALID_ARGUMENT");
      let deep = 1;
      for (let i = 0; i < 300; i++) deep = [deep];
      const err = await rejects(s.append("S-1", [ev("E", deep)]), "INVALID_ARGUMENT");
      ok(/deeper than 256/.test(err.message), `the nesting limit is named: ${err.message}`);
      let fine = 1;
      for (let i = 0; i < 200; i++) fine = { x: fine };
      await s.append("S-1", [ev("E", fine)]);
      eq(await s.streamRevision("S-1"), 0, "only the valid event was written");
    },

    async "every input is read once: a getter that changes between reads cannot slip past validation"() {
      const s = await open();
      const flipping = (good, badValue) => {
        let reads = 0;
        return { get value() { return reads++ === 0 ? good : badValue; } };
      };
      // Nested: the value stored is the value checked, whatever a second read would return.
      for (const bad of [() => 1, NaN, new Map(), 10n]) {
        const data = Object.defineProperty({}, "x", { enumerable: true, get: ((f) => () => f.value)(flipping(1, bad)) });
        const r = await s.append("Read-1", [ev("E", data)]);
        const [stored] = await s.readAll({ fromPosition: r.position, maxCount: 1 });
        eq(stored.data, { x: 1 }, "the nested getter was read once");
      }
      // Top level: each field of an event and the options are read once.
      let dataReads = 0;
      const event = { type: "E", get data() { dataReads++; return { n: dataReads }; } };
      let optionReads = 0;
      const options = { get expectedRevision() { optionReads++; return "any"; } };
      const r = await s.append("Read-2", [event], options);
      eq([dataReads, optionReads], [1, 1], "data and expectedRevision read once");
      eq((await s.readAll({ fromPosition: r.position }))[0].data, { n: 1 });
      // A getter that throws is an error of the append, which writes nothing.
      const before = (await s.readAll()).length;
      await rejects(s.append("Read-3", [{ type: "E", get data() { throw new Error("boom"); } }]), "INVALID_ARGUMENT");
      eq((await s.readAll()).length, before);
    },

    async "lone surrogates in names are refused by name; in payloads they round-trip"() {
      const s = await open();
      for (const [stream, events, field] of [
        ["S-\ud800", [ev("E", 1)], "streamId"],
        ["S-1", [{ type: "E\udc00", data: 1 }], "type"],
      ]) {
        const err = await rejects(s.append(stream, events), "INVALID_ARGUMENT");
        ok(err.message.includes(field) && /lone surrogate/.test(err.message), `names ${field} and says why: ${err.message}`);
      }
      const r = await s.append("S-1", [ev("E", { t: "a\ud800b" })]);
      eq((await s.readAll({ fromPosition: r.position }))[0].data.t, "a\ud800b");
    },

    async "subscribe: onError always receives an Error; a thrown non-Error is its cause"() {
      const s = await open();
      await s.append("S-1", [ev("E", 1)]);
      const got = [];
      for (const thrown of [undefined, null, "a string", 42]) {
        s.subscribe(() => { throw thrown; }, { onError: (err) => got.push([err instanceof Error, err.cause]) });
        s.subscribe(() => Promise.reject(thrown), { onError: (err) => got.push([err instanceof Error, err.cause]) });
      }
      await until(() => got.length === 8, "every onError");
      ok(got.every(([isError]) => isError), "every report is an Error");
      eq(got.map(([, cause]) => cause ?? null).sort(), [null, null, null, null, 42, 42, "a string", "a string"].sort());
    },

    async "lifecycle: getStreamMetadata of a stream never set is {} and null; set replaces, with its own revision"() {
      const s = await open();
      eq(await s.getStreamMetadata("Order-1"), { metadata: {}, metadataRevision: null }, "never set");
      await s.append("Order-1", [ev("E", 1), ev("E", 2)]);
      const first = await s.setStreamMetadata("Order-1", { maxCount: 10, custom: { owner: "u42" } });
      eq(Object.keys(first), ["metadataRevision", "position"], "result keys");
      eq(first, { metadataRevision: 0, position: 2 });
      eq(await s.getStreamMetadata("Order-1"), { metadata: { maxCount: 10, custom: { owner: "u42" } }, metadataRevision: 0 });
      const second = await s.setStreamMetadata("Order-1", { maxAge: 3600 }, { expectedMetadataRevision: 0 });
      eq(second, { metadataRevision: 1, position: 3 });
      eq(await s.getStreamMetadata("Order-1"), { metadata: { maxAge: 3600 }, metadataRevision: 1 }, "the whole metadata is replaced");
      // the change is a $metadata event in $$Order-1, delivered by readAll, never by readStream
      const [meta] = await s.readAll({ fromPosition: second.position, maxCount: 1 });
      eq([meta.type, meta.streamId, meta.revision, meta.position, meta.data, meta.metadata], ["$metadata", "$$Order-1", 1, 3, { maxAge: 3600 }, {}]);
      eq((await s.readStream("Order-1")).map((e) => e.type), ["E", "E"]);
      eq(await s.streamRevision("Order-1"), 1, "the stream's own revision is unchanged");
      // metadata of a stream with no events
      eq((await s.setStreamMetadata("Later-1", { truncateBefore: 0 })).metadataRevision, 0);
      eq(await s.streamRevision("Later-1"), null);
    },

    async "lifecycle: expectedMetadataRevision any, no_stream and exact; a wrong one writes nothing"() {
      const s = await open();
      await rejects(s.setStreamMetadata("M-1", {}, { expectedMetadataRevision: 0 }), "WRONG_EXPECTED_REVISION");
      eq((await s.setStreamMetadata("M-1", { maxCount: 1 }, { expectedMetadataRevision: "no_stream" })).metadataRevision, 0);
      const before = (await s.readAll()).length;
      await rejects(s.setStreamMetadata("M-1", { maxCount: 2 }, { expectedMetadataRevision: "no_stream" }), "WRONG_EXPECTED_REVISION");
      await rejects(s.setStreamMetadata("M-1", { maxCount: 2 }, { expectedMetadataRevision: 1 }), "WRONG_EXPECTED_REVISION");
      eq((await s.readAll()).length, before, "nothing written");
      eq(await s.getStreamMetadata("M-1"), { metadata: { maxCount: 1 }, metadataRevision: 0 });
      eq((await s.setStreamMetadata("M-1", { maxCount: 3 }, { expectedMetadataRevision: 0 })).metadataRevision, 1);
      eq((await s.setStreamMetadata("M-1", { maxCount: 4 }, { expectedMetadataRevision: "any" })).metadataRevision, 2);
      eq((await s.setStreamMetadata("M-1", { maxCount: 5 })).metadataRevision, 3, "default any");
    },

    async "lifecycle: bad metadata and options are INVALID_ARGUMENT naming the field, and write nothing"() {
      const s = await open();
      await s.append("V-1", [ev("E", 1)]);
      const before = (await s.readAll()).length;
      const names = async (promise, field) => {
        const err = await rejects(promise, "INVALID_ARGUMENT");
        ok(err.message.includes(field), `the message names ${field}: ${err.message}`);
      };
      await names(s.setStreamMetadata("V-1", { maxCnt: 3 }), "maxCnt");
      for (const bad of [0, -1, 1.5, "3", null, true, NaN, Infinity]) await names(s.setStreamMetadata("V-1", { maxCount: bad }), "maxCount");
      for (const bad of [0, 2.5, "60"]) await names(s.setStreamMetadata("V-1", { maxAge: bad }), "maxAge");
      for (const bad of [-1, 0.5, "1"]) await names(s.setStreamMetadata("V-1", { truncateBefore: bad }), "truncateBefore");
      for (const bad of ["x", [1], 3, null]) await names(s.setStreamMetadata("V-1", { custom: bad }), "custom");
      for (const bad of [null, [], 3, "x", undefined]) await names(s.setStreamMetadata("V-1", bad), "metadata");
      await names(s.setStreamMetadata("V-1", {}, { expectedRevision: 0 }), "expectedRevision");
      await names(s.setStreamMetadata("V-1", {}, { expectedMetadataRevision: "stream_exists" }), "expectedMetadataRevision");
      await names(s.setStreamMetadata("V-1", {}, { expectedMetadataRevision: -1 }), "expectedMetadataRevision");
      await names(s.deleteStream("V-1", { expected: 0 }), "expected");
      await names(s.deleteStream("V-1", { expectedRevision: "latest" }), "expectedRevision");
      await names(s.tombstoneStream("V-1", { hard: true }), "hard");
      await names(s.tombstoneStream("V-1", { expectedRevision: 1.5 }), "expectedRevision");
      await names(s.getStreamMetadata(42), "streamId");
      await names(s.deleteStream(undefined), "streamId");
      eq((await s.readAll()).length, before, "nothing written");
      eq(await s.getStreamMetadata("V-1"), { metadata: {}, metadataRevision: null });
      eq(await s.streamRevision("V-1"), 0);
    },

    async "lifecycle: ids starting with $ stay reserved"() {
      const s = await open();
      await rejects(s.append("$$Order-1", [ev("E", 1)]), "INVALID_ARGUMENT");
      await rejects(s.setStreamMetadata("$$Order-1", { maxCount: 1 }), "INVALID_ARGUMENT");
      await rejects(s.deleteStream("$Order-1"), "INVALID_ARGUMENT");
      await rejects(s.tombstoneStream("$Order-1"), "INVALID_ARGUMENT");
      eq(await s.readAll(), [], "nothing written");
    },

    async "lifecycle: truncateBefore and maxCount remove older events from every read"() {
      const s = await open();
      await s.append("T-1", [1, 2, 3, 4, 5].map((i) => ev("E", i)));
      await s.append("Other-1", [ev("O", 1)]);
      await s.setStreamMetadata("T-1", { truncateBefore: 2 });
      eq((await s.readStream("T-1")).map((e) => e.revision), [2, 3, 4]);
      eq((await s.readStream("T-1", { direction: "backwards" })).map((e) => e.revision), [4, 3, 2]);
      eq((await s.readStream("T-1", { fromRevision: 0, maxCount: 2 })).map((e) => e.revision), [2, 3], "a read from a removed revision starts at the first kept one");
      eq(await s.streamRevision("T-1"), 4);
      const all = await s.readAll();
      eq(all.filter((e) => e.streamId === "T-1").map((e) => e.revision), [2, 3, 4], "readAll skips the removed positions");
      ok(all.every((e, i) => i === 0 || e.position > all[i - 1].position), "readAll is in position order");
      const agg = await s.aggregateStream("T-1", { initialState: () => [], evolve: (acc, e) => [...acc, e.data] });
      eq([agg.state, agg.revision, agg.expectedRevision], [[3, 4, 5], 4, 4]);
      await s.setStreamMetadata("T-1", { maxCount: 2 });
      eq((await s.readStream("T-1")).map((e) => e.revision), [3, 4]);
      const r = await s.append("T-1", [ev("E", 6)], { expectedRevision: 4 });
      eq(r.nextExpectedRevision, 5);
      eq((await s.readStream("T-1")).map((e) => e.revision), [4, 5], "maxCount keeps the newest");
      eq((await s.readStream("Other-1")).length, 1, "other streams are untouched");
    },

    async "lifecycle: a retried append whose events were removed succeeds without writing; their ids stay taken"() {
      const s = await open();
      const first = await s.append("R-1", [ev("E", 1, { id: ID(1) })], { expectedRevision: "no_stream" });
      await s.append("R-1", [ev("E", 2, { id: ID(2) })]);
      await s.setStreamMetadata("R-1", { truncateBefore: 1 });
      const before = (await s.readAll()).length;
      eq(await s.append("R-1", [ev("E", 1, { id: ID(1) })], { expectedRevision: "no_stream" }), first, "already: the original result");
      eq((await s.readStream("R-1")).map((e) => e.data), [2], "the removed event did not come back");
      eq((await s.readAll()).length, before, "nothing written");
      await rejects(s.append("Else-1", [ev("E", 9, { id: ID(1) })]), "DUPLICATE_EVENT_ID", { eventId: ID(1) });
    },

    async "lifecycle: deleteStream is a soft delete; revisions continue after it"() {
      const s = await open();
      await s.append("D-1", [ev("E", 1), ev("E", 2), ev("E", 3)]);
      await rejects(s.deleteStream("D-1", { expectedRevision: 1 }), "WRONG_EXPECTED_REVISION", { streamId: "D-1", expectedRevision: 1, actualRevision: 2 });
      eq((await s.readStream("D-1")).length, 3, "a refused delete removes nothing");
      const del = await s.deleteStream("D-1", { expectedRevision: 2 });
      eq(Object.keys(del), ["position"]);
      eq(del.position, 3);
      const [meta] = await s.readAll({ fromPosition: del.position });
      eq([meta.type, meta.streamId, meta.data], ["$metadata", "$$D-1", { truncateBefore: 3 }]);
      eq(await s.readStream("D-1"), []);
      eq(await s.streamRevision("D-1"), null);
      eq((await s.getStreamMetadata("D-1")).metadata.truncateBefore, 3);
      const agg = await s.aggregateStream("D-1", { initialState: () => 0, evolve: (n) => n + 1 });
      eq([agg.state, agg.revision, agg.expectedRevision], [0, null, "no_stream"]);
      ok(!(await s.readAll()).some((e) => e.streamId === "D-1"), "readAll has none of its events");
      const again = await s.append("D-1", [ev("E", 4)], { expectedRevision: "no_stream" });
      eq(again.nextExpectedRevision, 3, "revisions are never reused");
      eq((await s.readStream("D-1")).map((e) => [e.revision, e.data]), [[3, 4]]);
      eq((await s.deleteStream("D-1")).position, again.position + 1, "default expectedRevision is any");
      eq(await s.streamRevision("D-1"), null);
    },

    async "lifecycle: tombstoneStream removes the stream for ever: every call on it is STREAM_DELETED with streamId"() {
      const s = await open();
      await s.append("H-1", [ev("E", 1), ev("E", 2)]);
      await s.setStreamMetadata("H-1", { custom: { owner: "me" } });
      await s.append("Keep-1", [ev("K", 1)]);
      await rejects(s.tombstoneStream("H-1", { expectedRevision: 0 }), "WRONG_EXPECTED_REVISION", { streamId: "H-1", actualRevision: 1 });
      const t = await s.tombstoneStream("H-1", { expectedRevision: 1 });
      eq(Object.keys(t), ["position"]);
      const all = await s.readAll();
      eq(all.map((e) => [e.streamId, e.type]), [["Keep-1", "K"], ["H-1", "$streamDeleted"]], "its events and its $metadata are gone");
      const tomb = all[1];
      eq([tomb.position, tomb.data, tomb.metadata], [t.position, {}, {}]);
      const calls = [
        () => s.append("H-1", [ev("E", 3)]),
        () => s.append("H-1", [ev("E", 3)], { expectedRevision: "no_stream" }),
        () => s.readStream("H-1"),
        () => s.streamRevision("H-1"),
        () => s.aggregateStream("H-1", { initialState: () => 0, evolve: (n) => n }),
        () => s.getStreamMetadata("H-1"),
        () => s.setStreamMetadata("H-1", { maxCount: 1 }),
        () => s.deleteStream("H-1"),
        () => s.tombstoneStream("H-1"),
      ];
      for (const call of calls) {
        const err = await rejects(call(), "STREAM_DELETED", { streamId: "H-1" });
        ok(err instanceof Error, "an Error");
      }
      eq((await s.readAll()).length, 2, "nothing written");
      eq((await s.readStream("Keep-1")).length, 1);
    },

    async "lifecycle: a subscription filtered by streamId or category gets the lifecycle events about its streams"() {
      const s = await open();
      const byStream = [];
      const byCategory = [];
      const other = [];
      s.subscribe((e) => void byStream.push([e.type, e.streamId]), { streamId: "Sub-1" });
      s.subscribe((e) => void byCategory.push([e.type, e.streamId]), { category: "Sub" });
      s.subscribe((e) => void other.push([e.type, e.streamId]), { streamId: "Sub-2" });
      // Each call once the one before was delivered: a tombstone removes the events before it,
      // so a subscription that had not read them yet would never see them.
      const delivered = (n) => until(() => byStream.length >= n && byCategory.length >= n, `${n} events delivered`);
      await s.append("Sub-1", [ev("E", 1)]);
      await delivered(1);
      await s.setStreamMetadata("Sub-1", { maxCount: 5 });
      await delivered(2);
      await s.tombstoneStream("Sub-1");
      await delivered(3);
      const expected = [["E", "Sub-1"], ["$metadata", "$$Sub-1"], ["$streamDeleted", "Sub-1"]];
      eq(byStream, expected);
      eq(byCategory, expected);
      await s.append("Sub-2", [ev("E", 1)]);
      await until(() => other.length >= 1, "Sub-2's event");
      eq(other, [["E", "Sub-2"]], "nothing about another stream");
    },

    async "lifecycle: maxAge hides events older than it"() {
      const s = await open();
      await s.append("Age-1", [ev("Old", 1)]);
      await s.setStreamMetadata("Age-1", { maxAge: 1 });
      eq((await s.readStream("Age-1")).length, 1, "still young");
      await sleep(1200);
      await s.append("Age-1", [ev("New", 2)]);
      eq((await s.readStream("Age-1")).map((e) => e.type), ["New"]);
      ok(!(await s.readAll()).some((e) => e.type === "Old"), "readAll hides it too");
      eq(await s.streamRevision("Age-1"), 1);
    },

    async "close rejects every later call with CLOSED"() {
      const s = await open();
      await s.append("s", [ev("E", 1)]);
      await s.close();
      await s.close();
      await rejects(s.append("s", [ev("E", 2)]), "CLOSED");
      await rejects(s.readStream("s"), "CLOSED");
      await rejects(s.readAll(), "CLOSED");
      await rejects(s.streamRevision("s"), "CLOSED");
      await rejects(s.aggregateStream("s", { initialState: () => 0, evolve: (x) => x }), "CLOSED");
      await rejects(s.setStreamMetadata("s", { maxCount: 1 }), "CLOSED");
      await rejects(s.getStreamMetadata("s"), "CLOSED");
      await rejects(s.deleteStream("s"), "CLOSED");
      await rejects(s.tombstoneStream("s"), "CLOSED");
    },
  };
}
