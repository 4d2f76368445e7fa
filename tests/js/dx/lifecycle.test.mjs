// watchAggregate and the stream lifecycle (CONTRACT.md "Stream lifecycle") in Node, on the memory
// storage, through `import "evstore"`: a `$metadata` about the watched stream (retention, a soft
// delete) folds it again from its first kept event; `$streamDeleted` (a tombstone) stops the watch
// with STREAM_DELETED; `evolve` never sees a lifecycle event.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";

const open = () => EventStore.open({ storage: "memory" });
const tick = () => new Promise((r) => setTimeout(r, 5));
const until = async (cond, what) => {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
};

/** A watch of `stream` summing `data.n`, recording each onChange, each evolved type and the error. */
function watchSum(store, stream) {
  const seen = { changes: [], types: [], errors: [] };
  seen.watch = store.watchAggregate(
    stream,
    {
      initialState: () => 0,
      evolve: (sum, e) => {
        seen.types.push(e.type);
        return sum + e.data.n;
      },
      onError: (err) => seen.errors.push(err),
    },
    (state, change) => seen.changes.push([state, change.revision, change.expectedRevision]),
  );
  return seen;
}

const add = (n) => ({ type: "Added", data: { n } });

test("watchAggregate: truncateBefore re-folds from the first kept event", async () => {
  const store = await open();
  await store.append("W-1", [add(1), add(2), add(3)]);
  const seen = watchSum(store, "W-1");
  await until(() => seen.changes.length === 1, "the first fold");
  assert.deepEqual(seen.changes[0], [6, 2, 2]);
  await store.setStreamMetadata("W-1", { truncateBefore: 2 });
  await until(() => seen.changes.length === 2, "the re-fold");
  assert.deepEqual(seen.changes[1], [3, 2, 2], "only revision 2 is left");
  await store.append("W-1", [add(10)]);
  await until(() => seen.changes.length === 3, "the next event");
  assert.deepEqual(seen.changes[2], [13, 3, 3]);
  assert.ok(!seen.types.some((t) => t.startsWith("$")), "evolve never saw a lifecycle event");
  assert.deepEqual(seen.errors, []);
  seen.watch.unsubscribe();
});

test("watchAggregate: a soft delete re-folds to the initial state with expectedRevision no_stream", async () => {
  const store = await open();
  await store.append("W-2", [add(1), add(2)]);
  const seen = watchSum(store, "W-2");
  await until(() => seen.changes.length === 1, "the first fold");
  await store.deleteStream("W-2");
  await until(() => seen.changes.length === 2, "the re-fold");
  assert.deepEqual(seen.changes[1], [0, null, "no_stream"]);
  await store.append("W-2", [add(5)], { expectedRevision: "no_stream" });
  await until(() => seen.changes.length === 3, "the recreated stream");
  assert.deepEqual(seen.changes[2], [5, 2, 2], "revisions continue after the old last one");
  seen.watch.unsubscribe();
});

test("watchAggregate: a watch started after metadata was set folds once and is not restarted by the old $metadata", async () => {
  const store = await open();
  await store.append("W-3", [add(1), add(2), add(4)]);
  await store.setStreamMetadata("W-3", { maxCount: 2 });
  const seen = watchSum(store, "W-3");
  await until(() => seen.changes.length >= 1, "the first fold");
  await tick();
  await tick();
  assert.deepEqual(seen.changes, [[6, 2, 2]], "one onChange, of the kept events");
  await store.append("W-3", [add(8)]);
  await until(() => seen.changes.length === 2, "the next event");
  assert.deepEqual(seen.changes[1], [14, 3, 3], "new events fold on top");
  seen.watch.unsubscribe();
});

test("watchAggregate: a tombstone stops the watch with STREAM_DELETED and its streamId", async () => {
  const store = await open();
  await store.append("W-4", [add(1)]);
  const seen = watchSum(store, "W-4");
  await until(() => seen.changes.length === 1, "the first fold");
  await store.tombstoneStream("W-4");
  await until(() => seen.errors.length === 1, "the error");
  const [err] = seen.errors;
  assert.equal(err.name, "EventStoreError");
  assert.equal(err.code, "STREAM_DELETED");
  assert.equal(err.streamId, "W-4");
  assert.equal(seen.changes.length, 1, "no onChange after the tombstone");
  assert.ok(!seen.types.includes("$streamDeleted"));
});

test("watchAggregate: a watch of an already tombstoned stream reports STREAM_DELETED", async () => {
  const store = await open();
  await store.append("W-5", [add(1)]);
  await store.tombstoneStream("W-5");
  const seen = watchSum(store, "W-5");
  await until(() => seen.errors.length === 1, "the error");
  assert.equal(seen.errors[0].code, "STREAM_DELETED");
  assert.deepEqual(seen.changes, [], "never folded");
  assert.deepEqual(seen.types, []);
});

test("watchAggregate: lifecycle events about other streams change nothing", async () => {
  const store = await open();
  await store.append("W-6", [add(1)]);
  await store.append("W-7", [add(1)]);
  const seen = watchSum(store, "W-6");
  await until(() => seen.changes.length === 1, "the first fold");
  await store.setStreamMetadata("W-7", { maxCount: 1 });
  await store.tombstoneStream("W-7");
  await store.append("W-6", [add(2)]);
  await until(() => seen.changes.length === 2, "W-6's event");
  assert.deepEqual(seen.changes, [[1, 0, 0], [3, 1, 1]]);
  assert.deepEqual(seen.errors, []);
  seen.watch.unsubscribe();
});
