// store.acceptPush(appends): the server half of sync as a store method (README "Hosting sync in
// your own Worker"), read by the core's one codec of pushed appends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";

const id = (n) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const append = (seq, streamId, expectedRevision, events) => ({ seq, streamId, expectedRevision, createdAt: 1_700_000_000_000, events });

test("pushed appends are decided in order: ok, already on a retry, conflict with theirs, blocked", async () => {
  const store = await EventStore.open();
  const first = append(1, "Cart-1", "no_stream", [{ id: id(1), type: "Added", data: { sku: "a", n: [1, 2] }, metadata: { by: "u" } }]);
  assert.deepEqual(await store.acceptPush([first]), [{ result: "ok", nextExpectedRevision: 0, position: 0 }]);
  const [event] = await store.readAll();
  assert.deepEqual([event.data, event.metadata, event.createdAt.getTime()], [{ sku: "a", n: [1, 2] }, { by: "u" }, 1_700_000_000_000]);
  const late = append(2, "Cart-1", "no_stream", [{ id: id(2), type: "Added" }]);
  const after = append(3, "Cart-1", 0, [{ id: id(3), type: "Removed" }]);
  const outcomes = await store.acceptPush([first, late, after]);
  assert.deepEqual(outcomes[0], { result: "already", nextExpectedRevision: 0, position: 0 });
  assert.equal(outcomes[1].result, "conflict");
  assert.equal(outcomes[1].actualRevision, 0);
  assert.deepEqual(outcomes[1].theirs.map((e) => [e.id, e.type, e.data]), [[id(1), "Added", { sku: "a", n: [1, 2] }]]);
  assert.deepEqual(outcomes[2], { result: "blocked" });
  assert.equal((await store.readAll()).length, 1);
});

test("a malformed append is rejected alone; the others are decided", async () => {
  const store = await EventStore.open();
  const outcomes = await store.acceptPush([
    append(1, "A", "any", [{ type: "NoId" }]),
    { seq: 2, streamId: "B", createdAt: "yesterday", events: [] },
    append(3, "C", "any", [{ id: id(3), type: "Fine", data: null }]),
    "not an append",
  ]);
  assert.deepEqual(outcomes.map((o) => [o.result, o.error?.code]), [["rejected", "INVALID_ARGUMENT"], ["rejected", "INVALID_ARGUMENT"], ["ok", undefined], ["rejected", "INVALID_ARGUMENT"]]);
  assert.match(outcomes[0].error.message, /needs its id/);
  assert.match(outcomes[1].error.message, /createdAt must be a non-negative integer/);
  assert.deepEqual((await store.readAll()).map((e) => [e.streamId, e.data]), [["C", null]]);
  await assert.rejects(store.acceptPush("nope"), (e) => e.code === "INVALID_ARGUMENT");
});

test("without the read scope a conflict's theirs is withheld", async () => {
  const store = await EventStore.open();
  await store.acceptPush([append(1, "S", "no_stream", [{ id: id(1), type: "E" }])]);
  const [outcome] = await store.acceptPush([append(2, "S", "no_stream", [{ id: id(2), type: "E" }])], { revealTheirs: false });
  assert.deepEqual([outcome.result, outcome.theirs, outcome.theirsCut], ["conflict", [], "withheld"]);
});
