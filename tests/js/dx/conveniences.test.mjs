// The JS conveniences of the package (issue 13) in Node, on the memory storage, through
// `import "evstore"`: events() as an async iterator, watchAggregate, Symbol.dispose, the
// expected-revision constants and aggregateStream's expectedRevision.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as evstore from "evstore";
import { EventStore, ANY, NO_STREAM, STREAM_EXISTS, START, END } from "evstore";

const open = () => EventStore.open({ storage: "memory" });
const tick = () => new Promise((r) => setTimeout(r, 5));
const until = async (cond, what) => {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
};
const appendN = async (store, stream, n, type = "E") => {
  for (let i = 0; i < n; i++) await store.append(stream, [{ type, data: { i } }]);
};

/** Wraps `store.subscribe` to see what events() does with its subscription. */
function spySubscribe(store) {
  const spy = { handlerCalls: 0, unsubscribed: 0, options: undefined };
  const subscribe = store.subscribe;
  store.subscribe = function (handler, options) {
    spy.options = options;
    const sub = subscribe.call(this, (e) => (spy.handlerCalls++, handler(e)), options);
    const unsubscribe = sub.unsubscribe.bind(sub);
    sub.unsubscribe = () => (spy.unsubscribed++, unsubscribe());
    return sub;
  };
  return spy;
}

test("the expected-revision constants are exported at run time and accepted by append", async () => {
  assert.deepEqual([ANY, NO_STREAM, STREAM_EXISTS, START, END], ["any", "no_stream", "stream_exists", "start", "end"]);
  const store = await open();
  await store.append("Order-1", [{ type: "A" }], { expectedRevision: NO_STREAM });
  await store.append("Order-1", [{ type: "B" }], { expectedRevision: STREAM_EXISTS });
  await store.append("Order-1", [{ type: "C" }], { expectedRevision: ANY });
  await assert.rejects(store.append("Order-1", [{ type: "D" }], { expectedRevision: NO_STREAM }), { code: "WRONG_EXPECTED_REVISION" });
  const last = await store.readStream("Order-1", { fromRevision: END, direction: "backwards", maxCount: 1 });
  assert.equal(last[0].type, "C");
});

test("aggregateStream returns expectedRevision: no_stream, then the revision, usable as is", async () => {
  const store = await open();
  const options = { initialState: () => 0, evolve: (n, e) => n + e.data.qty };
  const empty = await store.aggregateStream("Cart-1", options);
  assert.deepEqual(empty, { state: 0, revision: null, expectedRevision: "no_stream" });
  await store.append("Cart-1", [{ type: "Added", data: { qty: 2 } }], { expectedRevision: empty.expectedRevision });
  await store.append("Cart-1", [{ type: "Added", data: { qty: 3 } }]);
  const two = await store.aggregateStream("Cart-1", options);
  assert.deepEqual(two, { state: 5, revision: 1, expectedRevision: 1 });
  await store.append("Cart-1", [{ type: "Added", data: { qty: 1 } }], { expectedRevision: two.expectedRevision });
  await assert.rejects(store.append("Cart-1", [{ type: "X" }], { expectedRevision: two.expectedRevision }), { code: "WRONG_EXPECTED_REVISION" });
});

test("events(): backlog then live, filtered like subscribe, in order; break releases the subscription", async () => {
  const store = await open();
  await store.append("Order-1", [{ type: "Placed", data: 1 }]);
  await store.append("Cart-1", [{ type: "Added", data: 2 }]);
  await store.append("Order-2", [{ type: "Placed", data: 3 }]);
  const spy = spySubscribe(store);
  const seen = [];
  const loop = (async () => {
    for await (const e of store.events({ category: "Order" })) {
      seen.push([e.streamId, e.data, e.position]);
      if (seen.length === 4) break;
    }
  })();
  await until(() => seen.length === 2, "the backlog");
  assert.deepEqual(seen, [["Order-1", 1, 0], ["Order-2", 3, 2]]);
  await store.append("Cart-2", [{ type: "Added", data: 4 }]);
  await store.append("Order-3", [{ type: "Placed", data: 5 }]);
  await store.append("Order-1", [{ type: "Shipped", data: 6 }]);
  await loop;
  assert.deepEqual(seen.slice(2), [["Order-3", 5, 4], ["Order-1", 6, 5]]);
  assert.equal(spy.unsubscribed, 1, "break unsubscribed");
  const calls = spy.handlerCalls;
  await appendN(store, "Order-9", 3);
  await tick();
  assert.equal(spy.handlerCalls, calls, "nothing is delivered after break");
});

test("events(): after, eventTypes and streamId are passed through; after: END gives live events only", async () => {
  const store = await open();
  await appendN(store, "S-1", 3);
  const it = store.events({ after: END, streamId: "S-1", eventTypes: ["Wanted"] });
  await store.append("S-1", [{ type: "Other" }, { type: "Wanted", data: "x" }]);
  await store.append("S-2", [{ type: "Wanted", data: "other stream" }]);
  const { value, done } = await it.next();
  assert.equal(done, false);
  assert.deepEqual([value.streamId, value.type, value.data, value.revision], ["S-1", "Wanted", "x", 4]);
  await it.return();
  const fromPos = store.events({ after: 1 });
  assert.equal((await fromPos.next()).value.position, 2);
  await fromPos.return();
});

test("events(): the loop pulls; the subscription waits for it (at most one event ahead)", async () => {
  const store = await open();
  await appendN(store, "S-1", 20);
  const spy = spySubscribe(store);
  let consumed = 0;
  for await (const e of store.events()) {
    assert.equal(e.revision, consumed);
    consumed++;
    await tick(); // a slow consumer
    assert.ok(spy.handlerCalls <= consumed + 1, `handler ran ${spy.handlerCalls} times for ${consumed} consumed`);
    if (consumed === 10) break;
  }
  await tick();
  assert.ok(spy.handlerCalls <= 11, `no delivery after break (${spy.handlerCalls})`);
});

test("events() with a checkpoint: an event counts as handled once the loop asked for the next one", async () => {
  const store = await open();
  await appendN(store, "S-1", 5);
  const first = [];
  for await (const e of store.events({ checkpoint: "reader" })) {
    first.push(e.revision);
    if (first.length === 3) break; // the third event's body did not finish normally
  }
  assert.deepEqual(first, [0, 1, 2]);
  const resumed = [];
  for await (const e of store.events({ checkpoint: "reader" })) {
    resumed.push(e.revision);
    if (e.revision === 4) break;
  }
  assert.deepEqual(resumed, [2, 3, 4], "resumes at the event whose body was left by break (at-least-once)");
});

test("events(): next() calls made ahead of time each get their own event", async () => {
  const store = await open();
  const it = store.events({ streamId: "S-1" });
  const pending = [it.next(), it.next(), it.next()];
  await appendN(store, "S-1", 3);
  const got = await Promise.all(pending);
  assert.deepEqual(got.map((r) => r.value.revision), [0, 1, 2]);
  await it.return();
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("events(): return() ends a waiting loop; closing the store ends it too", async () => {
  const store = await open();
  const it = store.events();
  const waiting = it.next();
  await it.return();
  assert.deepEqual(await waiting, { value: undefined, done: true });

  let ended = false;
  const loop = (async () => {
    for await (const e of store.events()) void e;
    ended = true;
  })();
  await tick();
  await store.close();
  await loop;
  assert.ok(ended);
  assert.throws(() => store.events(), { name: "EventStoreError", code: "CLOSED" });
});

test("events(): bad options throw at once; onError is not accepted", async () => {
  const store = await open();
  assert.throws(() => store.events({ streamId: "" }), { name: "EventStoreError", code: "INVALID_ARGUMENT" });
  assert.throws(() => store.events({ onError: () => {} }), { name: "EventStoreError", code: "INVALID_ARGUMENT", message: /onError/ });
  assert.throws(() => store.events("Order"), { name: "EventStoreError", code: "INVALID_ARGUMENT" });
});

test("events(): a failure of the subscription rejects the loop, with an Error, and ends it", async () => {
  const store = await open();
  await appendN(store, "S-1", 2);
  const seen = [];
  const it = store.events({
    onCaughtUp: () => {
      throw "caught-up hook failed"; // a non-Error: the loop still gets an Error, with it as cause
    },
  });
  const failure = await (async () => {
    for await (const e of it) seen.push(e.revision);
  })().catch((e) => e);
  assert.deepEqual(seen, [0, 1], "the events before the failure were delivered");
  assert.ok(failure instanceof Error, `an Error, got ${failure}`);
  assert.equal(failure.cause, "caught-up hook failed");
  assert.deepEqual(await it.next(), { value: undefined, done: true }, "ended");
});

test("events(): Symbol.asyncDispose releases the subscription", async () => {
  const store = await open();
  const spy = spySubscribe(store);
  const it = store.events();
  await it[Symbol.asyncDispose]();
  assert.equal(spy.unsubscribed, 1);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("Symbol.dispose on a subscription stops delivery (not only frees the object)", async () => {
  const store = await open();
  const seen = [];
  const sub = store.subscribe((e) => void seen.push(e.revision), { streamId: "S-1" });
  await store.append("S-1", [{ type: "E" }]);
  await until(() => seen.length === 1, "the first event");
  sub[Symbol.dispose]();
  await store.append("S-1", [{ type: "E" }]);
  await tick();
  assert.deepEqual(seen, [0]);
  sub.unsubscribe(); // still callable: the object was not freed
});

test("watchAggregate: the initial fold (also of an empty stream), then each new event of the stream", async () => {
  const store = await open();
  const calls = [];
  const watch = store.watchAggregate(
    "Cart-1",
    { initialState: () => ({ qty: 0 }), evolve: (s, e) => ({ qty: s.qty + e.data.qty }) },
    (state, change) => calls.push([state.qty, change.expectedRevision, change.revision]),
  );
  await until(() => calls.length === 1, "the initial fold");
  assert.deepEqual(calls, [[0, "no_stream", null]]);
  // The callback's expectedRevision is what the next append expects.
  await store.append("Cart-1", [{ type: "Added", data: { qty: 2 } }], { expectedRevision: calls[0][1] });
  await until(() => calls.length === 2, "the first event");
  await store.append("Cart-2", [{ type: "Added", data: { qty: 100 } }]); // another stream
  // Two events appended together: both folded, then one call.
  await store.append("Cart-1", [{ type: "Added", data: { qty: 3 } }, { type: "Added", data: { qty: 4 } }], { expectedRevision: calls[1][1] });
  await until(() => calls.length === 3, "two more events");
  assert.deepEqual(calls, [[0, "no_stream", null], [2, 0, 0], [9, 2, 2]]);
  watch.unsubscribe();
  await store.append("Cart-1", [{ type: "Added", data: { qty: 1 } }]);
  await tick();
  assert.equal(calls.length, 3, "no call after unsubscribe");
});

test("watchAggregate coalesces: 10,000 events arriving at once are folded with a handful of calls", async () => {
  const store = await open();
  const calls = [];
  const watch = store.watchAggregate("Big-1", { initialState: () => 0, evolve: (n, e) => n + e.data.i }, (n, { revision }) => calls.push([n, revision]));
  await until(() => calls.length === 1, "the initial fold");
  // As a device catching up writes them: ten appends of 1,000 events, issued together.
  const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 1000 }, (_, i) => ({ type: "E", data: { i: b * 1000 + i } })));
  await Promise.all(batches.map((events) => store.append("Big-1", events)));
  const total = (10000 * 9999) / 2;
  await until(() => calls.at(-1)[0] === total, "the last event folded");
  assert.deepEqual(calls.at(-1), [total, 9999]);
  assert.ok(calls.length <= 20, `onChange was called ${calls.length} times for 10,000 events`);
  // The states shown only grow: each call shows a whole batch folded.
  assert.ok(calls.every(([n], i) => i === 0 || n > calls[i - 1][0]));
  watch.unsubscribe();
});

test("watchAggregate: a stream with history is folded before the first call; async evolve; dispose", async () => {
  const store = await open();
  await appendN(store, "S-1", 5);
  const calls = [];
  const watch = store.watchAggregate(
    "S-1",
    { initialState: () => [], evolve: async (s, e) => (await tick(), [...s, e.data.i]) },
    (state, { expectedRevision }) => calls.push([state, expectedRevision]),
  );
  await until(() => calls.length === 1, "the initial fold");
  assert.deepEqual(calls, [[[0, 1, 2, 3, 4], 4]]);
  await store.append("S-1", [{ type: "E", data: { i: 5 } }]);
  await until(() => calls.length === 2, "the live event");
  assert.deepEqual(calls[1], [[0, 1, 2, 3, 4, 5], 5]);
  watch[Symbol.dispose]();
  await store.append("S-1", [{ type: "E", data: { i: 6 } }]);
  await tick();
  assert.equal(calls.length, 2);
});

test("watchAggregate: evolve throwing stops the watch and reaches onError; bad arguments throw", async () => {
  const store = await open();
  const errors = [];
  const calls = [];
  store.watchAggregate(
    "S-1",
    {
      initialState: () => 0,
      evolve: (n, e) => {
        if (e.data === "bad") throw new Error("cannot fold");
        return n + 1;
      },
      onError: (e) => errors.push(e),
    },
    (n) => calls.push(n),
  );
  await until(() => calls.length === 1, "the initial fold");
  await store.append("S-1", [{ type: "E", data: "ok" }]);
  await store.append("S-1", [{ type: "E", data: "bad" }]);
  await store.append("S-1", [{ type: "E", data: "ok" }]);
  await until(() => errors.length === 1, "onError");
  await tick();
  assert.deepEqual(calls, [0, 1]);
  assert.match(String(errors[0]?.message ?? errors[0]), /cannot fold/);
  const ok = { initialState: () => 0, evolve: (n) => n };
  assert.throws(() => store.watchAggregate("S-1", ok), { code: "INVALID_ARGUMENT", message: /onChange/ });
  assert.throws(() => store.watchAggregate("S-1", { evolve: ok.evolve }, () => {}), { code: "INVALID_ARGUMENT", message: /initialState/ });
  assert.throws(() => store.watchAggregate(undefined, ok, () => {}), { code: "INVALID_ARGUMENT", message: /streamId/ });
  assert.throws(() => store.watchAggregate("", ok, () => {}), { code: "INVALID_ARGUMENT" });
  assert.throws(() => store.watchAggregate("S-1", { ...ok, intialState: 1 }, () => {}), {
    code: "INVALID_ARGUMENT",
    message: /unknown option "intialState".*did you mean "initialState"\?/,
  });
  assert.throws(() => store.watchAggregate("S-1", { ...ok, zzz: 1 }, () => {}), (e) => e.code === "INVALID_ARGUMENT" && !/did you mean/.test(e.message));
});

test("watchAggregate: onChange throwing (initial or live) reaches onError and stops the watch", async () => {
  const store = await open();
  const errors = [];
  store.watchAggregate("S-1", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => errors.push(e) }, () => {
    throw new Error("render failed");
  });
  await until(() => errors.length === 1, "onError for the initial call");
  assert.match(errors[0].message, /render failed/);
  const calls = [];
  const later = [];
  store.watchAggregate("S-2", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => later.push(e) }, (n) => {
    calls.push(n);
    if (n === 1) throw new Error("live render failed");
  });
  await until(() => calls.length === 1, "the initial call");
  await store.append("S-2", [{ type: "E" }]);
  await store.append("S-2", [{ type: "E" }]);
  await until(() => later.length === 1, "onError for the live call");
  await tick();
  assert.deepEqual(calls, [0, 1], "stopped after the failing call");
  assert.match(later[0].message, /live render failed/);
});

test("EventStore disposal closes the store", async () => {
  const store = await open();
  await store[Symbol.asyncDispose]();
  await assert.rejects(store.append("S-1", [{ type: "E" }]), { code: "CLOSED" });
  const other = await open();
  other[Symbol.dispose]();
  await assert.rejects(other.readAll(), { code: "CLOSED" });
});

test("the browser and Node entries export the same names", async () => {
  const browserEntry = await import(new URL("../../../pkg/index.js", import.meta.url));
  // The Node entry also has its glue's internals: wasm-bindgen's init functions (`default`,
  // `initSync`) and the class of the sync engine the package drives (`SyncEngine`).
  const internals = new Set(["default", "initSync", "SyncEngine"]);
  assert.deepEqual(Object.keys(evstore).filter((k) => !internals.has(k)).sort(), Object.keys(browserEntry).sort());
});

test("the entry exports EventStoreError (instanceof works) and the constants", async () => {
  for (const name of ["EventStore", "EventStoreError", "ANY", "NO_STREAM", "STREAM_EXISTS", "START", "END"]) {
    assert.ok(name in evstore, `evstore exports ${name}`);
  }
  const store = await open();
  const err = await store.append("S-1", [{ type: "E" }], { expectedRevision: 5 }).catch((e) => e);
  assert.ok(err instanceof evstore.EventStoreError);
  assert.equal(err.code, "WRONG_EXPECTED_REVISION");
  assert.ok(!(new Error("x") instanceof evstore.EventStoreError));
});

test("unknown option keys reach the core through the JS wrappers", async () => {
  await assert.rejects(EventStore.open({ storag: "indexeddb", wasm: undefined }), { code: "INVALID_ARGUMENT", message: /storag/ });
  const store = await open();
  assert.throws(() => store.events({ form: 3 }), { code: "INVALID_ARGUMENT", message: /form/ });
  await assert.rejects(store.aggregateStream("S-1", { initialState: () => 0, evolve: (n) => n, initalState: 1 }), {
    code: "INVALID_ARGUMENT",
    message: /initalState/,
  });
});
