// Schema evolution and causation (CONTRACT.md "Schema evolution and causation") on the memory
// store, through the package: the `schema` open option and its checks, the `$schemaVersion`
// stamp, every read path upcasting, events of a newer app delivered as stored and never folded,
// UPCAST_FAILED, reserved `$` metadata keys, and `causedBy`.
//
// Events of other app versions are written the way they reach a device: pushed in their stored
// form (`acceptPush`, which stores as pushed, like a synced log). A store opened without `schema`
// writes what an older app wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore, EventStoreError } from "evstore";
import { until } from "../contract.mjs";

const SCHEMA = Symbol.for("evstore.schema");
const id = (n) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const AT = 1_700_000_000_000;

/** ItemAdded at version 3: v1 `{ title }`, v2 `{ title, qty }`, v3 `{ name, qty }`. */
const itemSchema = (calls = []) => ({
  ItemAdded: {
    version: 3,
    upcast: {
      1: (data, event) => (calls.push([1, event.id]), { ...data, qty: 1 }),
      2: (data, event) => (calls.push([2, event.id]), { name: data.title, qty: data.qty }),
    },
  },
});

/** Pushes events in their stored form (metadata as given: `$schemaVersion` included) to `streamId`. */
let seq = 0;
async function seed(store, streamId, events, expectedRevision = "any") {
  const [outcome] = await store.acceptPush([{ seq: ++seq, streamId, expectedRevision, createdAt: AT, events }]);
  assert.equal(outcome.result, "ok", JSON.stringify(outcome));
  return outcome;
}

/** What the store holds for `streamId`, in stored form: a conflicting push returns it as `theirs`. */
async function storedForm(store, streamId) {
  const [outcome] = await store.acceptPush([{ seq: ++seq, streamId, expectedRevision: "no_stream", createdAt: AT, events: [{ id: crypto.randomUUID(), type: "Probe" }] }]);
  assert.equal(outcome.result, "conflict");
  return outcome.theirs.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }));
}

/** A store with ItemAdded at v3 holding, on "List-1": v1, v2 and v3 events and another type. */
async function seeded(calls) {
  const store = await EventStore.open({ schema: itemSchema(calls) });
  await seed(store, "List-1", [
    { id: id(1), type: "ItemAdded", data: { title: "milk" }, metadata: { device: "a" } },
    { id: id(2), type: "ItemAdded", data: { title: "eggs", qty: 6 }, metadata: { $schemaVersion: 2 } },
    { id: id(3), type: "ItemAdded", data: { name: "tea", qty: 2 }, metadata: { $schemaVersion: 3, device: "b" } },
    { id: id(4), type: "ItemChecked", data: { name: "milk" }, metadata: { device: "a" } },
  ]);
  return store;
}

const V3 = [
  { type: "ItemAdded", data: { name: "milk", qty: 1 }, metadata: { device: "a", $schemaVersion: 3 } },
  { type: "ItemAdded", data: { name: "eggs", qty: 6 }, metadata: { $schemaVersion: 3 } },
  { type: "ItemAdded", data: { name: "tea", qty: 2 }, metadata: { $schemaVersion: 3, device: "b" } },
  { type: "ItemChecked", data: { name: "milk" }, metadata: { device: "a" } },
];
const shape = (events) => events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }));

test("an append stamps $schemaVersion first in the stored metadata; a type without an entry is stored without it", async () => {
  const store = await EventStore.open({ schema: { ItemAdded: { version: 3, upcast: { 1: (d) => d, 2: (d) => d } }, ItemRemoved: { version: 1 } } });
  await store.append("List-1", [
    { type: "ItemAdded", data: { name: "milk", qty: 1 }, metadata: { device: "a" } },
    { type: "ItemRemoved", data: { name: "milk" } },
    { type: "ItemChecked", data: { name: "milk" }, metadata: { device: "a" } },
  ]);
  const stored = await storedForm(store, "List-1");
  assert.deepEqual(stored, [
    { type: "ItemAdded", data: { name: "milk", qty: 1 }, metadata: { $schemaVersion: 3, device: "a" } },
    { type: "ItemRemoved", data: { name: "milk" }, metadata: { $schemaVersion: 1 } },
    { type: "ItemChecked", data: { name: "milk" }, metadata: { device: "a" } },
  ]);
  assert.deepEqual(Object.keys(stored[0].metadata), ["$schemaVersion", "device"], "the stamp comes first");
  // The stamp counts towards maxEventBytes: what is stored is what is measured.
  const small = await EventStore.open({ maxEventBytes: 40, schema: { ItemAdded: { version: 2, upcast: { 1: (d) => d } } } });
  const fits = { type: "ItemAdded", data: { n: "x".repeat(20) } }; // 28 bytes + {} = 30; stamped: 49
  await assert.rejects(small.append("S", [fits]), (e) => e.code === "EVENT_TOO_LARGE");
  const plain = await EventStore.open({ maxEventBytes: 40 });
  await plain.append("S", [fits]);
});

test("readStream, readAll (streams too) upcast older events to the current version; stored events never change", async () => {
  const calls = [];
  const store = await seeded(calls);
  assert.deepEqual(shape(await store.readStream("List-1")), V3);
  const [oldest] = await store.readStream("List-1");
  assert.equal(oldest.metadata.$schemaVersion, 3, "the current version is set on an event stored without one");
  assert.deepEqual(Object.keys(oldest.metadata).sort(), ["$schemaVersion", "device"], "the other metadata stays as stored");
  assert.deepEqual(shape(await store.readStream("List-1", { direction: "backwards" })), [...V3].reverse());
  assert.deepEqual(shape(await store.readStream("List-1", { fromRevision: 1, maxCount: 1 })), [V3[1]]);
  assert.deepEqual(shape(await store.readAll()), V3);
  assert.deepEqual(shape(await store.readAll({ streams: ["List-*"], direction: "backwards" })), [...V3].reverse());
  // One step per older version, each from the stored version on.
  calls.length = 0;
  await store.readStream("List-1");
  assert.deepEqual(calls, [[1, id(1)], [2, id(1)], [2, id(2)]]);
  // Each read builds fresh objects and upcasts again: a caller's mutation reaches nothing.
  const [first] = await store.readStream("List-1");
  first.data.qty = 99;
  first.metadata.$schemaVersion = 7;
  assert.deepEqual(shape(await store.readStream("List-1")), V3);
  assert.deepEqual(await storedForm(store, "List-1"), [
    { type: "ItemAdded", data: { title: "milk" }, metadata: { device: "a" } },
    { type: "ItemAdded", data: { title: "eggs", qty: 6 }, metadata: { $schemaVersion: 2 } },
    { type: "ItemAdded", data: { name: "tea", qty: 2 }, metadata: { $schemaVersion: 3, device: "b" } },
    { type: "ItemChecked", data: { name: "milk" }, metadata: { device: "a" } },
  ]);
});

test("an upcaster gets the data and the event as stored (metadata without the stamp, createdAt a Date)", async () => {
  const seen = [];
  const store = await EventStore.open({
    schema: { ItemAdded: { version: 2, upcast: { 1: (data, event) => (seen.push(structuredClone(event)), { ...data, qty: 1 }) } } },
  });
  await seed(store, "L", [{ id: id(1), type: "ItemAdded", data: { name: "x" }, metadata: { device: "a" } }]);
  const [read] = await store.readStream("L");
  assert.equal(seen.length, 1);
  const stored = seen[0];
  assert.deepEqual([stored.id, stored.streamId, stored.type, stored.revision, stored.position], [id(1), "L", "ItemAdded", 0, 0]);
  assert.deepEqual([stored.data, stored.metadata, stored.createdAt.getTime()], [{ name: "x" }, { device: "a" }, AT]);
  assert.deepEqual([read.data, read.metadata], [{ name: "x", qty: 1 }, { device: "a", $schemaVersion: 2 }]);
});

test("a $schemaVersion that is not an integer ≥ 1 counts as version 1", async () => {
  const store = await EventStore.open({ schema: { E: { version: 2, upcast: { 1: (d) => ({ ...d, up: true }) } } } });
  const odd = ["2", 0, -1, 1.5, null, { v: 2 }];
  await seed(store, "S", odd.map((v, i) => ({ id: id(i + 1), type: "E", data: { i }, metadata: { $schemaVersion: v } })));
  const events = await store.readStream("S");
  assert.deepEqual(events.map((e) => [e.data, e.metadata.$schemaVersion]), odd.map((_, i) => [{ i, up: true }, 2]));
});

test("subscribe and events() deliver upcast events, in catch-up and live", async () => {
  const store = await seeded();
  const seen = [];
  let caughtUp = false;
  const sub = store.subscribe((e) => void seen.push(e), { streamId: "List-1", onCaughtUp: () => (caughtUp = true) });
  await until(() => caughtUp, "catch-up");
  assert.deepEqual(shape(seen), V3);
  await seed(store, "List-1", [{ id: id(10), type: "ItemAdded", data: { title: "jam" } }]);
  await store.append("List-1", [{ type: "ItemAdded", data: { name: "oil", qty: 1 } }]);
  await until(() => seen.length === 6, "live events");
  assert.deepEqual(shape(seen.slice(4)), [
    { type: "ItemAdded", data: { name: "jam", qty: 1 }, metadata: { $schemaVersion: 3 } },
    { type: "ItemAdded", data: { name: "oil", qty: 1 }, metadata: { $schemaVersion: 3 } },
  ]);
  sub.unsubscribe();
  // Filtered: only the delivered events are built (and upcast).
  const typed = [];
  let done = false;
  const sub2 = store.subscribe((e) => void typed.push(e), { eventTypes: ["ItemAdded"], onCaughtUp: () => (done = true) });
  await until(() => done, "filtered catch-up");
  assert.deepEqual(typed.map((e) => e.data.name), ["milk", "eggs", "tea", "jam", "oil"]);
  sub2.unsubscribe();

  const iterated = [];
  for await (const e of store.events({ streamId: "List-1" })) {
    iterated.push(e);
    if (iterated.length === 6) break;
  }
  assert.deepEqual(shape(iterated), shape(seen));
});

test("aggregateStream and watchAggregate fold the upcast events", async () => {
  const store = await seeded();
  const evolve = (s, e) => (e.type === "ItemAdded" ? { ...s, [e.data.name]: e.data.qty } : s);
  const folded = await store.aggregateStream("List-1", { initialState: () => ({}), evolve });
  assert.deepEqual(folded.state, { milk: 1, eggs: 6, tea: 2 });
  assert.equal(folded.revision, 3);
  const changes = [];
  const watch = store.watchAggregate("List-1", { initialState: () => ({}), evolve }, (state) => changes.push(state));
  await until(() => changes.length === 1, "initial fold");
  assert.deepEqual(changes[0], { milk: 1, eggs: 6, tea: 2 });
  await seed(store, "List-1", [{ id: id(11), type: "ItemAdded", data: { title: "jam", qty: 3 }, metadata: { $schemaVersion: 2 } }]);
  await until(() => changes.length === 2, "live fold");
  assert.deepEqual(changes[1], { milk: 1, eggs: 6, tea: 2, jam: 3 });
  watch.unsubscribe();
});

test("an event of a newer app is delivered as stored, and the folding paths refuse it with SCHEMA_TOO_NEW", async () => {
  const store = await seeded();
  const newer = { id: id(20), type: "ItemAdded", data: { label: "rice", qty: 2, unit: "kg" }, metadata: { $schemaVersion: 4, device: "c" } };
  await seed(store, "List-2", [{ id: id(19), type: "ItemAdded", data: { title: "salt" } }, newer]);
  const read = await store.readStream("List-2");
  assert.deepEqual(shape(read), [
    { type: "ItemAdded", data: { name: "salt", qty: 1 }, metadata: { $schemaVersion: 3 } },
    { type: "ItemAdded", data: newer.data, metadata: newer.metadata },
  ]);
  assert.deepEqual(shape((await store.readAll({ streams: ["List-2"] })).slice(1)), [{ type: "ItemAdded", data: newer.data, metadata: newer.metadata }]);

  const tooNew = (e) => {
    assert.ok(e instanceof EventStoreError, String(e));
    assert.equal(e.code, "SCHEMA_TOO_NEW");
    assert.deepEqual([e.streamId, e.type, e.version], ["List-2", "ItemAdded", 4]);
    assert.match(e.message, /List-2.*ItemAdded.*version 4/);
    return true;
  };
  const evolved = [];
  await assert.rejects(store.aggregateStream("List-2", { initialState: () => 0, evolve: (n, e) => (evolved.push(e.id), n + 1) }), tooNew);
  assert.deepEqual(evolved, [id(19)], "evolve never sees the newer event");
  // Other streams still fold.
  assert.equal((await store.aggregateStream("List-1", { initialState: () => 0, evolve: (n) => n + 1 })).state, 4);

  // watchAggregate: onError, and no onChange with the state folded before it.
  const changes = [];
  let failure;
  const watch = store.watchAggregate("List-2", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => (failure = e) }, (s) => changes.push(s));
  await until(() => failure !== undefined, "watchAggregate's onError");
  tooNew(failure);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(changes, [], "no partial onChange");
  watch.unsubscribe();

  // Live: a newer event arriving after the catch-up stops the watch, without showing the events
  // folded with it in the same batch.
  const liveChanges = [];
  let liveFailure;
  store.watchAggregate("List-3", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => (liveFailure = e) }, (s) => liveChanges.push(s));
  await until(() => liveChanges.length === 1, "initial onChange");
  await seed(store, "List-3", [{ id: id(30), type: "ItemAdded", data: { title: "a" } }, { ...newer, id: id(31) }]);
  await until(() => liveFailure !== undefined, "live onError");
  assert.deepEqual([liveFailure.code, liveFailure.streamId, liveFailure.version], ["SCHEMA_TOO_NEW", "List-3", 4]);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(liveChanges, [0]);

  // The compiled schema's own check, for the package's other modules.
  const schema = store[SCHEMA];
  assert.equal(schema.tooNew(read[0]), null);
  tooNew(schema.tooNew(read[1]));
});

test("an upcaster that throws fails the read with UPCAST_FAILED; cause is the thrown value itself", async () => {
  const thrown = { reason: "not an Error" };
  const error = new RangeError("bad title");
  let which = thrown;
  const store = await EventStore.open({
    schema: {
      ItemAdded: { version: 3, upcast: { 1: (d) => ({ ...d, qty: 1 }), 2: (d) => (d.title === "boom" ? (() => { throw which; })() : d) } },
    },
  });
  await seed(store, "L", [
    { id: id(1), type: "ItemAdded", data: { title: "fine" } },
    { id: id(2), type: "ItemAdded", data: { title: "boom" } },
  ]);
  const failed = (cause, version = 2) => (e) => {
    assert.ok(e instanceof EventStoreError, String(e));
    assert.equal(e.code, "UPCAST_FAILED");
    assert.deepEqual([e.eventId, e.type, e.version], [id(2), "ItemAdded", version]);
    assert.equal(e.cause, cause);
    return true;
  };
  await assert.rejects(store.readStream("L"), failed(thrown));
  await assert.rejects(store.readAll(), failed(thrown));
  await assert.rejects(store.readAll({ streams: ["L"] }), failed(thrown));
  await assert.rejects(store.aggregateStream("L", { initialState: () => 0, evolve: (n) => n + 1 }), failed(thrown));
  which = error;
  await assert.rejects(store.readStream("L"), failed(error));
  // A read of the events before it still works.
  assert.equal((await store.readStream("L", { maxCount: 1 }))[0].data.title, "fine");

  // A subscription stops and reports it; events() rejects the iteration.
  let reported;
  const handled = [];
  store.subscribe((e) => void handled.push(e.id), { onError: (e) => (reported = e) });
  await until(() => reported !== undefined, "onError");
  failed(error)(reported);
  assert.deepEqual(handled, [], "the page that failed delivers nothing");
  await assert.rejects(
    (async () => {
      for await (const e of store.events()) void e;
    })(),
    failed(error),
  );
  let watchError;
  store.watchAggregate("L", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => (watchError = e) }, () => {});
  await until(() => watchError !== undefined, "watchAggregate onError");
  failed(error)(watchError);
});

test("an upcaster that returns undefined or a promise is UPCAST_FAILED with a TypeError cause", async () => {
  for (const [step, pattern] of [
    [() => undefined, /returned undefined/],
    [async (d) => d, /returned a promise/],
  ]) {
    const store = await EventStore.open({ schema: { E: { version: 2, upcast: { 1: step } } } });
    await seed(store, "S", [{ id: id(1), type: "E", data: {} }]);
    await assert.rejects(store.readStream("S"), (e) => {
      assert.deepEqual([e.code, e.eventId, e.type, e.version], ["UPCAST_FAILED", id(1), "E", 1]);
      assert.ok(e.cause instanceof TypeError);
      assert.match(e.cause.message, pattern);
      return true;
    });
  }
});

test("the schema option is checked at open: INVALID_ARGUMENT naming the type and key", async () => {
  const f = (d) => d;
  const cases = [
    [5, /^schema must be an object/],
    [[], /^schema must be an object/],
    [{ "": { version: 1 } }, /type "" cannot/],
    [{ $metadata: { version: 1 } }, /type "\$metadata" cannot.*system/],
    [{ ItemAdded: 2 }, /^schema\.ItemAdded must be an object/],
    [{ ItemAdded: { version: 2, upcast: { 1: f }, upcasters: {} } }, /schema\.ItemAdded has an unknown key "upcasters"/],
    [{ ItemAdded: {} }, /schema\.ItemAdded\.version must be an integer/],
    [{ ItemAdded: { version: 0 } }, /schema\.ItemAdded\.version must be an integer from 1/],
    [{ ItemAdded: { version: 1.5 } }, /schema\.ItemAdded\.version/],
    [{ ItemAdded: { version: "2", upcast: { 1: f } } }, /schema\.ItemAdded\.version/],
    [{ ItemAdded: { version: 2 ** 31 } }, /schema\.ItemAdded\.version must be an integer from 1 to 2147483647/],
    [{ ItemAdded: { version: 2, upcast: [f, f] } }, /schema\.ItemAdded\.upcast must be an object/],
    [{ ItemAdded: { version: 3, upcast: { 1: f } } }, /schema\.ItemAdded\.upcast\[2\] is missing/],
    [{ ItemAdded: { version: 2 } }, /schema\.ItemAdded\.upcast\[1\] is missing/],
    [{ ItemAdded: { version: 2, upcast: { 0: f, 1: f } } }, /schema\.ItemAdded\.upcast\[0\]: steps go from 1 to 1/],
    [{ ItemAdded: { version: 2, upcast: { 1: f, 2: f } } }, /schema\.ItemAdded\.upcast\[2\]: steps go from 1 to 1/],
    [{ ItemAdded: { version: 1, upcast: { 1: f } } }, /schema\.ItemAdded\.upcast\[1\]: version 1 takes no steps/],
    [{ ItemAdded: { version: 2, upcast: { "1.0": f, 1: f } } }, /schema\.ItemAdded\.upcast\[1\.0\]/],
    [{ ItemAdded: { version: 2, upcast: { 1: "x => x" } } }, /schema\.ItemAdded\.upcast\[1\] must be a function/],
    [{ Ok: { version: 1 }, Bad: { version: 2, upcast: {} } }, /schema\.Bad\.upcast\[1\] is missing/],
  ];
  for (const [schema, message] of cases) {
    await assert.rejects(EventStore.open({ schema }), (e) => {
      assert.ok(e instanceof EventStoreError, String(e));
      assert.equal(e.code, "INVALID_ARGUMENT", `${JSON.stringify(schema)}: ${e.message}`);
      assert.match(e.message, message, JSON.stringify(schema));
      return true;
    });
  }
  // A typo of the option itself is refused like any unknown option.
  await assert.rejects(EventStore.open({ schemas: {} }), (e) => e.code === "INVALID_ARGUMENT" && /unknown option "schemas".*did you mean "schema"/.test(e.message));
  // Valid: an entry at version 1 (stamped, nothing to upcast), steps as digit keys, null-prototype objects.
  const steps = Object.assign(Object.create(null), { 1: f });
  const store = await EventStore.open({ schema: { A: { version: 1 }, B: { version: 2, upcast: steps }, C: { version: 1, upcast: {} } } });
  assert.deepEqual(JSON.parse(store[SCHEMA].versions()), [["A", 1], ["B", 2], ["C", 1]]);
});

test("the compiled schema is on the store under Symbol.for(\"evstore.schema\"), non-enumerable; undefined without one", async () => {
  const plain = await EventStore.open();
  assert.equal(plain[SCHEMA], undefined);
  assert.ok(Object.getOwnPropertySymbols(plain).includes(SCHEMA), "defined, so reading it never walks the prototype chain");
  for (const empty of [undefined, null, {}]) assert.equal((await EventStore.open({ schema: empty }))[SCHEMA], undefined);
  const store = await EventStore.open({ schema: itemSchema() });
  const schema = store[SCHEMA];
  assert.equal(typeof schema.upcast, "function");
  assert.equal(typeof schema.tooNew, "function");
  assert.deepEqual(JSON.parse(schema.versions()), [["ItemAdded", 3]]);
  assert.ok(!Object.keys(store).includes(SCHEMA.toString()) && !Object.getOwnPropertyDescriptor(store, SCHEMA).enumerable);
  assert.deepEqual(Object.keys({ ...store }).length, Object.keys(plain).length, "a spread copies nothing more");
  // upcast(events, from) upcasts in place from `from` on.
  const events = [
    { id: "a", type: "ItemAdded", data: { title: "x" }, metadata: {} },
    { id: "b", type: "ItemAdded", data: { title: "y" }, metadata: {} },
  ];
  schema.upcast(events, 1);
  assert.deepEqual(events.map((e) => e.data), [{ title: "x" }, { name: "y", qty: 1 }]);
});

test("without a schema no upcasting code runs: reads return the stored form, one upcast call per page with one", async () => {
  const withSchema = await EventStore.open({ schema: itemSchema() });
  const proto = Object.getPrototypeOf(withSchema[SCHEMA]);
  const original = proto.upcast;
  let calls = 0;
  proto.upcast = function (events, from) {
    calls++;
    return original.call(this, events, from);
  };
  try {
    const plain = await EventStore.open();
    const stored = [
      { id: id(1), type: "ItemAdded", data: { title: "milk" }, metadata: { device: "a" } },
      { id: id(2), type: "ItemAdded", data: { name: "tea" }, metadata: { $schemaVersion: 9 } },
    ];
    await seed(plain, "L", stored);
    await seed(withSchema, "L", stored);
    let caughtUp = false;
    const sub = plain.subscribe(() => {}, { onCaughtUp: () => (caughtUp = true) });
    await until(() => caughtUp, "catch-up");
    sub.unsubscribe();
    const read = [await plain.readStream("L"), await plain.readAll(), await plain.readAll({ streams: ["L"] })];
    await plain.aggregateStream("L", { initialState: () => 0, evolve: (n) => n + 1 });
    assert.equal(calls, 0, "a store without schema never calls upcast");
    for (const events of read) assert.deepEqual(events.map((e) => ({ data: e.data, metadata: e.metadata })), stored.map(({ data, metadata }) => ({ data, metadata })));
    await withSchema.readStream("L");
    await withSchema.readAll();
    assert.equal(calls, 2, "one call per read page, not one per event");
  } finally {
    proto.upcast = original;
  }
});

test("the server half keeps the stored form: acceptPush's conflict theirs is not upcast", async () => {
  const store = await seeded();
  const [outcome] = await store.acceptPush([{ seq: ++seq, streamId: "List-1", expectedRevision: 0, createdAt: AT, events: [{ id: id(50), type: "X" }] }]);
  assert.equal(outcome.result, "conflict");
  assert.deepEqual([outcome.theirs[0].data, outcome.theirs[0].metadata], [{ title: "eggs", qty: 6 }, { $schemaVersion: 2 }]);
});

test("metadata keys starting with $ are refused from callers (INVALID_ARGUMENT), and nothing is written", async () => {
  const store = await EventStore.open({ schema: itemSchema() });
  await store.append("L", [{ type: "ItemAdded", data: { name: "x", qty: 1 } }]);
  const before = await store.readAll();
  for (const metadata of [{ $schemaVersion: 2 }, { device: "a", $x: 1 }, { $: true }]) {
    await assert.rejects(
      store.append("L", [{ type: "Other" }, { type: "ItemAdded", data: {}, metadata }]),
      (e) => {
        assert.equal(e.code, "INVALID_ARGUMENT");
        const key = Object.keys(metadata).find((k) => k.startsWith("$"));
        assert.ok(e.message.includes(`events[1].metadata: key ${JSON.stringify(key)} is reserved`), e.message);
        assert.match(e.message, /leave out \$ keys when re-appending a read event/);
        return true;
      },
    );
  }
  // Re-appending a read event as it was read: refused, with the hint.
  const [read] = await store.readStream("L");
  await assert.rejects(store.append("L", [{ type: read.type, data: read.data, metadata: read.metadata }]), (e) => e.code === "INVALID_ARGUMENT" && /"\$schemaVersion" is reserved/.test(e.message));
  assert.deepEqual(await store.readAll(), before, "nothing was written");
  assert.equal(await store.streamRevision("L"), 0);
  // Nested keys are the app's own.
  await store.append("L", [{ type: "Other", metadata: { nested: { $ref: "#/a" } } }]);
  assert.deepEqual((await store.readStream("L", { fromRevision: 1 }))[0].metadata, { nested: { $ref: "#/a" } });
});

test("causedBy sets causationId and correlationId, keeps what the metadata sets, and chains the correlation", async () => {
  const store = await EventStore.open({ schema: { Shipped: { version: 2, upcast: { 1: (d) => d } } } });
  await store.append("Order-1", [{ type: "Placed", data: {}, metadata: { by: "u" } }]);
  const [placed] = await store.readStream("Order-1");
  await store.append("Order-2", [{ type: "Shipped", data: {}, metadata: { by: "w" } }, { type: "Billed" }], { expectedRevision: "no_stream", causedBy: placed });
  const [shipped, billed] = await store.readStream("Order-2");
  assert.deepEqual(shipped.metadata, { $schemaVersion: 2, causationId: placed.id, correlationId: placed.id, by: "w" });
  assert.deepEqual(billed.metadata, { causationId: placed.id, correlationId: placed.id });
  assert.deepEqual(Object.keys((await storedForm(store, "Order-2"))[0].metadata), ["$schemaVersion", "causationId", "correlationId", "by"]);
  // A chain keeps the first event's correlation id.
  await store.append("Order-3", [{ type: "Closed" }], { causedBy: shipped });
  const [closed] = await store.readStream("Order-3");
  assert.deepEqual(closed.metadata, { causationId: shipped.id, correlationId: placed.id });
  // The new event's own keys win.
  await store.append("Order-4", [{ type: "A", metadata: { causationId: "mine" } }, { type: "B", metadata: { correlationId: "corr" } }, { type: "C", metadata: { causationId: "x", correlationId: "y" } }], { causedBy: shipped });
  assert.deepEqual((await store.readStream("Order-4")).map((e) => e.metadata), [
    { correlationId: placed.id, causationId: "mine" },
    { causationId: shipped.id, correlationId: "corr" },
    { causationId: "x", correlationId: "y" },
  ]);
  // Any object with a string id; a correlationId that is not a string is ignored.
  await store.append("Order-5", [{ type: "A" }], { causedBy: { id: "msg-7", metadata: { correlationId: 42 } } });
  await store.append("Order-5", [{ type: "B" }], { causedBy: { id: "msg-8" } });
  assert.deepEqual((await store.readStream("Order-5")).map((e) => e.metadata), [
    { causationId: "msg-7", correlationId: "msg-7" },
    { causationId: "msg-8", correlationId: "msg-8" },
  ]);
  // causedBy undefined: as if absent.
  await store.append("Order-6", [{ type: "A" }], { causedBy: undefined });
  assert.deepEqual((await store.readStream("Order-6"))[0].metadata, {});
});

test("a bad causedBy is INVALID_ARGUMENT and nothing is written", async () => {
  const store = await EventStore.open();
  for (const causedBy of [null, "0190a8e4-7b3c-7d2e-8f00-000000000001", 5, {}, { id: 5 }, { id: "" }, [], { id: "\ud800" }]) {
    await assert.rejects(store.append("S", [{ type: "A" }], { causedBy }), (e) => {
      assert.equal(e.code, "INVALID_ARGUMENT", String(causedBy));
      assert.match(e.message, /causedBy/);
      return true;
    });
  }
  await assert.rejects(store.append("S", [{ type: "A" }], { causedby: {} }), (e) => e.code === "INVALID_ARGUMENT" && /unknown option "causedby".*did you mean "causedBy"/.test(e.message));
  assert.deepEqual(await store.readAll(), []);
});
