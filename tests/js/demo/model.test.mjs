// The demo's domain (www/model.js) in Node, on a real evstore: the fold, the decisions with expected
// revisions, time travel as a fold up to a position, the words for events, and the app's schema
// (ItemAdded v1 `{ name }` read as v2 `{ name, quantity }`) with the causation of "Clear ticked".
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { ListError, SCHEMA, UNKNOWN_NAME, decideAdd, decideCheck, decideClear, decideRemove, decideRename, describeAll, evolveItem, foldList, holdings, initialItem, itemStream, listOf, listPattern, ownedItems, storedVersion } from "../../../www/model.js";

async function command(store, streamId, decide) {
  const { state, expectedRevision } = await store.aggregateStream(streamId, { initialState: initialItem, evolve: evolveItem });
  const events = decide(state);
  if (events.length) await store.append(streamId, events.map((e) => ({ ...e, metadata: { device: "test" } })), { expectedRevision });
  return events;
}

test("the list is a fold of the Item events; time travel is the same fold up to a position", async () => {
  const store = await EventStore.open();
  const milk = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000001");
  const bread = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000002");
  await command(store, milk, () => decideAdd("  Milk "));
  await command(store, bread, () => decideAdd("Bread"));
  await store.append("Order-1", [{ type: "OrderPlaced", data: {} }]); // another category: ignored
  await command(store, milk, (s) => decideRename(s, "Oat   milk"));
  await command(store, bread, (s) => decideCheck(s, true));
  assert.deepEqual(await command(store, bread, (s) => decideCheck(s, true)), [], "ticking twice decides nothing");
  await command(store, milk, decideRemove);
  const events = await store.readAll();
  assert.deepEqual(foldList(events).map((i) => [i.name, i.checked, i.revision]), [["Bread", true, 1]]);
  assert.deepEqual(foldList(events, 3).map((i) => [i.name, i.checked]), [["Oat milk", false], ["Bread", false]]);
  assert.deepEqual(foldList(events, 0).map((i) => i.name), ["Milk"]);
  assert.deepEqual(foldList(events, -1), []);
  const milkEvents = await store.readStream(milk);
  assert.deepEqual(describeAll(milkEvents), ["added “Milk”", "renamed “Milk” to “Oat milk”", "removed “Oat milk”"]);
  assert.deepEqual(milkEvents.map((e) => e.metadata.device), ["test", "test", "test"]);
});

test("decisions refuse what the list does not allow, in words", async () => {
  const store = await EventStore.open();
  const tea = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000003");
  assert.throws(() => decideAdd("  "), (e) => e instanceof ListError && e.message === "Type a name for the item first.");
  assert.throws(() => decideAdd("x".repeat(61)), /at most 60 characters \(this one has 61\)/);
  await assert.rejects(command(store, tea, (s) => decideRename(s, "Green tea")), /does not exist/);
  await command(store, tea, () => decideAdd("Tea"));
  await command(store, tea, decideRemove);
  await assert.rejects(command(store, tea, (s) => decideCheck(s, true)), /“Tea” was removed meanwhile/);
  // The expected revision comes from the fold: a stale one is the store's conflict.
  await assert.rejects(store.append(tea, [{ type: "ItemRenamed", data: { name: "x" } }], { expectedRevision: 0 }), { code: "WRONG_EXPECTED_REVISION" });
});

test("erasure: items belong to the device that added them; a tombstone drops the item; retention keeps an item known", async () => {
  const store = await EventStore.open();
  const milk = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000011");
  const bread = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000012");
  await store.append(milk, decideAdd("Milk", "alice"));
  await store.append(bread, decideAdd("Bread", "bob"));
  assert.deepEqual((await store.readStream(milk))[0].metadata, { owner: "alice" });
  await store.append(milk, [{ type: "ItemChecked", data: {}, metadata: { device: "bob" } }]);
  assert.deepEqual(ownedItems(await store.readAll(), "alice"), [milk], "bob's tick does not make milk his");
  assert.deepEqual(ownedItems(await store.readAll(), "bob"), [bread]);
  assert.deepEqual(ownedItems(await store.readAll(), "carol"), []);

  await store.tombstoneStream(milk);
  const events = await store.readAll();
  assert.deepEqual(foldList(events).map((i) => i.name), ["Bread"]);
  assert.deepEqual(ownedItems(events, "alice"), [], "nothing of alice's is left to erase");
  const tomb = events.find((e) => e.type === "$streamDeleted");
  assert.equal(evolveItem(initialItem(), tomb).deleted, true);
  assert.equal(describeAll([tomb], { ...initialItem(), exists: true, name: "Milk" })[0], "erased “Milk” for good");

  // Retention removed the ItemAdded: the item is still on the list, from its first kept event.
  await store.append(bread, [{ type: "ItemRenamed", data: { name: "Rye bread" } }, { type: "ItemChecked", data: {} }]);
  await store.setStreamMetadata(bread, { maxCount: 1 });
  const kept = foldList(await store.readAll());
  assert.deepEqual(kept.map((i) => [i.name, i.checked]), [[UNKNOWN_NAME, true]]);
  const { state } = await store.aggregateStream(bread, { initialState: initialItem, evolve: evolveItem });
  assert.deepEqual(decideRename(state, "Bread again"), [{ type: "ItemRenamed", data: { name: "Bread again" } }], "it can still be changed");
});

test("two lists in one tenant: each item stream names its list, one prefix pattern per list, holdings per list", () => {
  const milk = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000021");
  const cake = itemStream("party", "0193f1e2-0000-7000-8000-000000000022");
  assert.equal(listPattern("groceries"), "Item-groceries-*");
  assert.ok(milk.startsWith(listPattern("groceries").slice(0, -1)) && !cake.startsWith(listPattern("groceries").slice(0, -1)));
  assert.deepEqual([listOf(milk), listOf(cake), listOf(`$$${cake}`), listOf("Item-0193f1e2-0000"), listOf("Note-groceries-1")], ["groceries", "party", "party", null, null]);
  const at = (position, streamId, type, data = {}) => ({ position, streamId, type, data, metadata: {} });
  const events = [at(0, milk, "ItemAdded", { name: "Milk" }), at(1, cake, "ItemAdded", { name: "Cake" }), at(2, `$$${cake}`, "$metadata", { maxCount: 3 }), at(3, cake, "ItemChecked")];
  assert.deepEqual(foldList(events, Infinity, "groceries").map((i) => i.name), ["Milk"]);
  assert.deepEqual(foldList(events, Infinity, "party").map((i) => [i.name, i.checked]), [["Cake", true]]);
  assert.deepEqual(foldList(events).map((i) => i.name), ["Milk", "Cake"], "no list given: every item");
  const { lists, streams } = holdings(events);
  assert.deepEqual(lists.map((l) => [l.id, l.streams, l.events]), [["groceries", 1, 1], ["party", 1, 3]], "a $$ metadata stream counts its events, not as an item");
  assert.deepEqual(streams, [[milk, 1], [cake, 2], [`$$${cake}`, 1]]);
  assert.deepEqual(holdings([]).lists.map((l) => l.events), [0, 0]);
});

test("the schema: v1 ItemAdded events (written without it) read as v2 with a quantity of 1; new ones are v2 with theirs", async () => {
  const old = await EventStore.open();
  const milk = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000031");
  const eggs = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000032");
  await old.append(milk, [{ type: "ItemAdded", data: { name: "Milk" }, metadata: { device: "old" } }]); // the app before quantities
  const [v1] = await old.readStream(milk);
  assert.deepEqual([v1.data, v1.metadata], [{ name: "Milk" }, { device: "old" }], "without the schema: as stored");

  // The same stored events in a store opened with the schema (taken as pushed: stored unchanged).
  const store = await EventStore.open({ schema: SCHEMA });
  await store.acceptPush([{ seq: 1, streamId: milk, expectedRevision: "no_stream", createdAt: v1.createdAt.getTime(), events: [{ id: v1.id, type: v1.type, data: v1.data, metadata: v1.metadata }] }]);
  await command(store, eggs, () => decideAdd("Eggs", "alice", "12"));
  const events = await store.readAll();
  assert.deepEqual(events.map((e) => [e.data, e.metadata.$schemaVersion]), [[{ name: "Milk", quantity: 1 }, 2], [{ name: "Eggs", quantity: 12 }, 2]]);
  assert.deepEqual(events.map((e) => storedVersion.get(e.id)), [1, undefined], "the upcaster recorded the v1 event, not the v2 one");
  assert.deepEqual(foldList(events).map((i) => [i.name, i.quantity]), [["Milk", 1], ["Eggs", 12]]);
  assert.deepEqual(describeAll(events.slice(1)), ["added 12 × “Eggs”"]);
  assert.deepEqual((await store.aggregateStream(milk, { initialState: initialItem, evolve: evolveItem })).state.quantity, 1);
  for (const bad of ["0", "1.5", "100", "x"]) assert.throws(() => decideAdd("Tea", "alice", bad), (e) => e instanceof ListError && /whole number from 1 to 99/.test(e.message));
  assert.deepEqual(decideAdd("Tea", null, "")[0].data, { name: "Tea", quantity: 1 }, "an empty quantity is 1");
});

test("Clear ticked removes only ticked items, each removal caused by the tick (causationId, correlationId)", async () => {
  const store = await EventStore.open({ schema: SCHEMA });
  const milk = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000041");
  const bread = itemStream("groceries", "0193f1e2-0000-7000-8000-000000000042");
  await command(store, milk, () => decideAdd("Milk"));
  await command(store, bread, () => decideAdd("Bread"));
  await command(store, milk, (s) => decideCheck(s, true));
  const fold = async (s) => (await store.aggregateStream(s, { initialState: initialItem, evolve: evolveItem })).state;
  const ticked = await fold(milk);
  assert.equal(ticked.checkedBy.type, "ItemChecked");
  assert.deepEqual(decideClear(await fold(bread)), [], "not ticked: nothing to clear");
  const { expectedRevision } = await store.aggregateStream(milk, { initialState: initialItem, evolve: evolveItem });
  await store.append(milk, decideClear(ticked), { expectedRevision, causedBy: ticked.checkedBy });
  const [, check, removed] = await store.readStream(milk);
  assert.deepEqual([removed.type, removed.metadata.causationId, removed.metadata.correlationId], ["ItemRemoved", check.id, check.id]);
  assert.deepEqual(foldList(await store.readAll()).map((i) => i.name), ["Bread"]);
  await command(store, bread, (s) => decideCheck(s, true));
  await command(store, bread, (s) => decideCheck(s, false));
  assert.equal((await fold(bread)).checkedBy, null, "unticked: no tick to cause a removal");
});
