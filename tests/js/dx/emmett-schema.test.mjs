// evstore/emmett and the store's schema evolution and causation (CONTRACT.md, "Schema evolution
// and causation"), in Node on the memory storage. Events of other schema versions (an older app's
// v1, a newer app's v3) are put into the store as another device's would arrive: through
// `store.acceptPush`, which stores them as pushed. The same call shows what a stream holds in
// stored form: a conflicting push gets the stream's stored events as `theirs`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CommandHandler } from "@event-driven-io/emmett";
import { EventStore, EventStoreError } from "evstore";
import { getEmmettEventStore } from "evstore/emmett";

// ItemAdded v1 { title }, v2 { title, qty }, v3 { name, qty }.
const STEPS = {
  1: (data) => ({ ...data, qty: 1 }),
  2: (data) => ({ name: data.title, qty: data.qty }),
};
const schemaAt = (version) => ({ ItemAdded: { version, upcast: Object.fromEntries(Object.entries(STEPS).filter(([v]) => Number(v) < version)) } });
const open = (version) => EventStore.open({ storage: "memory", ...(version ? { schema: schemaAt(version) } : {}) });

/** Stores `events` ({ type, data, metadata }) on `streamId` as another device pushed them. */
async function pushed(store, streamId, events) {
  const [outcome] = await store.acceptPush([
    { seq: 1, streamId, expectedRevision: "any", createdAt: Date.now(), events: events.map((e) => ({ id: randomUUID(), ...e })) },
  ]);
  assert.equal(outcome.result, "ok", JSON.stringify(outcome));
}

/** The stream's events as stored (`theirs` of a push that expects no stream), as [type, data, metadata]. */
async function storedForm(store, streamId) {
  const [outcome] = await store.acceptPush([{ seq: 1, streamId, expectedRevision: "no_stream", createdAt: Date.now(), events: [{ id: randomUUID(), type: "Probe" }] }]);
  assert.equal(outcome.result, "conflict", JSON.stringify(outcome));
  return outcome.theirs.map((e) => [e.type, e.data, e.metadata]);
}

const v1 = (title) => ({ type: "ItemAdded", data: { title } });
const v2 = (title, qty) => ({ type: "ItemAdded", data: { title, qty }, metadata: { $schemaVersion: 2 } });
const v3 = (name, qty) => ({ type: "ItemAdded", data: { name, qty }, metadata: { $schemaVersion: 3 } });

test("reads through the adapter are upcast by the store's schema; Emmett's own upcast runs after it, on the current shape", async () => {
  const store = await open(3);
  const es = getEmmettEventStore(store);
  await pushed(store, "Cart-1", [v1("milk"), v2("eggs", 6)]);
  await es.appendToStream("Cart-1", [{ type: "ItemAdded", data: { name: "jam", qty: 2 } }]);

  const read = await es.readStream("Cart-1");
  assert.deepEqual(
    read.events.map((e) => [e.data, e.metadata.$schemaVersion, e.metadata.streamPosition]),
    [
      [{ name: "milk", qty: 1 }, 3, 1n],
      [{ name: "eggs", qty: 6 }, 3, 2n],
      [{ name: "jam", qty: 2 }, 3, 3n],
    ],
  );
  assert.deepEqual(
    await storedForm(store, "Cart-1"),
    [
      ["ItemAdded", { title: "milk" }, {}],
      ["ItemAdded", { title: "eggs", qty: 6 }, { $schemaVersion: 2 }],
      ["ItemAdded", { name: "jam", qty: 2 }, { $schemaVersion: 3 }],
    ],
    "stored events never change; the adapter's append was stamped with the store's version",
  );

  // Emmett's upcast sees evstore's current shape (v3), never a stored one.
  const seen = [];
  const upcast = (e) => {
    seen.push(e.data);
    return { ...e, data: { ...e.data, label: `${e.data.qty} × ${e.data.name}` } };
  };
  const labelled = await es.readStream("Cart-1", { schema: { versioning: { upcast } } });
  assert.deepEqual(labelled.events.map((e) => e.data.label), ["1 × milk", "6 × eggs", "2 × jam"]);
  assert.deepEqual(seen, [{ name: "milk", qty: 1 }, { name: "eggs", qty: 6 }, { name: "jam", qty: 2 }]);
  const { state, currentStreamVersion } = await es.aggregateStream("Cart-1", {
    initialState: () => [],
    evolve: (labels, e) => [...labels, e.data.label],
    read: { schema: { versioning: { upcast } } },
  });
  assert.deepEqual([state, currentStreamVersion], [["1 × milk", "6 × eggs", "2 × jam"], 3n]);
});

test("aggregateStream refuses an event of a newer app's schema version with SCHEMA_TOO_NEW; readStream delivers it as stored", async () => {
  const store = await open(2);
  const es = getEmmettEventStore(store);
  await pushed(store, "Cart-1", [v1("milk"), v3("jam", 2)]);
  await pushed(store, "Cart-2", [v1("tea")]);

  const read = await es.readStream("Cart-1");
  assert.deepEqual(
    read.events.map((e) => [e.data, e.metadata.$schemaVersion]),
    [
      [{ title: "milk", qty: 1 }, 2],
      [{ name: "jam", qty: 2 }, 3],
    ],
    "the v1 event upcast to v2, the v3 one as stored",
  );

  let evolved = 0;
  const fold = { initialState: () => 0, evolve: (n, e) => (evolved++, n + e.data.qty) };
  await assert.rejects(es.aggregateStream("Cart-1", fold), (e) => {
    assert.ok(e instanceof EventStoreError, `an EventStoreError: ${e}`);
    assert.deepEqual([e.code, e.streamId, e.type, e.version], ["SCHEMA_TOO_NEW", "Cart-1", "ItemAdded", 3]);
    return true;
  });
  assert.equal(evolved, 0, "evolve never saw an event of the refused fold");
  // Up to the event before it (Emmett's time travel), and other streams, still fold.
  assert.deepEqual((await es.aggregateStream("Cart-1", { ...fold, read: { to: 1n } })).state, 1);
  assert.deepEqual((await es.aggregateStream("Cart-2", fold)).state, 1);

  // A command handler on that stream fails the same way and appends nothing.
  const handle = CommandHandler({ evolve: fold.evolve, initialState: fold.initialState });
  await assert.rejects(
    handle(es, "Cart-1", () => ({ type: "ItemAdded", data: { title: "x", qty: 1 } })),
    (e) => e.code === "SCHEMA_TOO_NEW",
  );
  // Re-appending the newer app's event would store its data under this app's version: refused.
  await assert.rejects(es.appendToStream("Copy-1", [read.events[1]]), (e) => e.code === "SCHEMA_TOO_NEW" && e.version === 3);
  assert.equal((await es.readStream("Cart-1")).events.length, 2, "nothing appended");
  assert.equal(await es.streamExists("Copy-1"), false);

  // The same store code opened at v3 folds it.
  const newer = await open(3);
  await pushed(newer, "Cart-1", [v1("milk"), v3("jam", 2)]);
  assert.equal((await getEmmettEventStore(newer).aggregateStream("Cart-1", fold)).state, 3);
});

test("read events re-appended: $schemaVersion and the adapter's own keys are dropped, the store stamps its version; any other $ key is refused", async () => {
  const store = await open(2);
  const es = getEmmettEventStore(store);
  await pushed(store, "Cart-1", [{ ...v1("milk"), metadata: { tenant: "t" } }, { type: "Note", data: { text: "hi" } }]);
  const { events } = await es.readStream("Cart-1");
  assert.equal(events[0].metadata.$schemaVersion, 2);
  const r = await es.appendToStream("Copy-1", events, { expectedStreamVersion: 0n });
  assert.equal(r.nextExpectedStreamVersion, 2n);
  assert.deepEqual(await storedForm(store, "Copy-1"), [
    ["ItemAdded", { title: "milk", qty: 1 }, { $schemaVersion: 2, tenant: "t" }],
    ["Note", { text: "hi" }, {}],
  ]);

  await assert.rejects(es.appendToStream("Copy-1", [{ type: "Note", data: {}, metadata: { $mine: 1 } }]), (e) => {
    assert.ok(e instanceof EventStoreError);
    assert.equal(e.code, "INVALID_ARGUMENT");
    assert.match(e.message, /\$mine/);
    return true;
  });
  assert.equal((await es.readStream("Copy-1")).events.length, 2, "nothing appended");
});

test("an upcaster that throws fails the adapter's reads with UPCAST_FAILED, the thrown value as cause", async () => {
  const thrown = new Error("no title");
  const store = await EventStore.open({
    schema: {
      ItemAdded: {
        version: 2,
        upcast: {
          1: (data) => {
            if (!data.title) throw thrown;
            return { ...data, qty: 1 };
          },
        },
      },
    },
  });
  const es = getEmmettEventStore(store);
  await pushed(store, "Cart-1", [v1("milk"), { type: "ItemAdded", data: {} }]);
  for (const call of [() => es.readStream("Cart-1"), () => es.aggregateStream("Cart-1", { initialState: () => 0, evolve: (n) => n + 1 })]) {
    await assert.rejects(call(), (e) => {
      assert.ok(e instanceof EventStoreError, `an EventStoreError: ${e}`);
      assert.deepEqual([e.code, e.type, e.version, typeof e.eventId], ["UPCAST_FAILED", "ItemAdded", 1, "string"]);
      assert.equal(e.cause, thrown);
      return true;
    });
  }
  assert.equal((await es.readStream("Cart-1", { to: 1n })).events.length, 1, "the events before it still read");
});

test("causedBy: an evstore recorded event or an Emmett read event sets causationId and correlationId; CommandHandler passes it through", async () => {
  const store = await EventStore.open();
  const batches = [];
  const es = getEmmettEventStore(store, { hooks: { onAfterCommit: (events) => void batches.push(events) } });
  await es.appendToStream("Order-1", [{ type: "Placed", data: { total: 10 }, metadata: { correlationId: "c-1" } }]);
  const [placed] = (await es.readStream("Order-1")).events;

  // An Emmett read event: its id is metadata.messageId; its correlationId carries on.
  await es.appendToStream("Order-1", [{ type: "Paid", data: {} }], { causedBy: placed, expectedStreamVersion: 1n });
  const [placedRecorded, paid] = await store.readStream("Order-1");
  assert.equal(placedRecorded.id, placed.metadata.messageId);
  assert.deepEqual([paid.metadata.causationId, paid.metadata.correlationId], [placedRecorded.id, "c-1"]);
  assert.deepEqual(
    [batches[1][0].metadata.causationId, batches[1][0].metadata.correlationId],
    [placedRecorded.id, "c-1"],
    "onAfterCommit gets the events as stored",
  );

  // An evstore recorded event, through Emmett's CommandHandler (it spreads its options into the append).
  const handle = CommandHandler({ evolve: (n) => n + 1, initialState: () => 0 });
  await handle(es, "Shipment-1", () => [{ type: "Shipped", data: {} }, { type: "Labelled", data: {}, metadata: { causationId: "own" } }], { causedBy: paid });
  const [shipped, labelled] = await store.readStream("Shipment-1");
  assert.deepEqual([shipped.metadata.causationId, shipped.metadata.correlationId], [paid.id, "c-1"]);
  assert.deepEqual([labelled.metadata.causationId, labelled.metadata.correlationId], ["own", "c-1"], "an event's own causationId is kept");

  // A cause without a correlationId: the chain starts at its id.
  await es.appendToStream("Other-1", [{ type: "Seen", data: {} }]);
  const [seen] = (await es.readStream("Other-1")).events;
  await es.appendToStream("Other-1", [{ type: "Followed", data: {} }], { causedBy: seen });
  const [, followed] = await store.readStream("Other-1");
  assert.deepEqual([followed.metadata.causationId, followed.metadata.correlationId], [seen.metadata.messageId, seen.metadata.messageId]);

  for (const causedBy of ["nope", {}, { metadata: { messageId: 7 } }]) {
    await assert.rejects(es.appendToStream("Bad-1", [{ type: "X", data: {} }], { causedBy }), (e) => e instanceof EventStoreError && e.code === "INVALID_ARGUMENT", `causedBy ${JSON.stringify(causedBy)}`);
  }
  assert.equal(await es.streamExists("Bad-1"), false, "nothing written");
});
