// `readAll({ streams })`: the log restricted to the streams a list of patterns matches, with the
// tenant's positions, through the package in Node; a malformed list is INVALID_ARGUMENT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";

/** A store: List-7 at 0, 1; List-70 at 2; Item-7-1 at 3; List-8 at 4; $$List-7 at 5; Item-8-2 at 6. */
async function shop() {
  const store = await EventStore.open({ storage: "memory" });
  const add = (stream, n = 1) => store.append(stream, Array.from({ length: n }, (_, i) => ({ type: "Added", data: { i } })));
  await add("List-7", 2);
  await add("List-70");
  await add("Item-7-1");
  await add("List-8");
  await store.setStreamMetadata("List-7", { custom: { title: "groceries" } });
  await add("Item-8-2");
  return store;
}

const positions = (events) => events.map((e) => e.position);

test("readAll({ streams }) reads only the matching streams, with their positions, both ways", async () => {
  const store = await shop();
  assert.deepEqual(positions(await store.readAll({ streams: ["List-7"] })), [0, 1, 5]);
  const events = await store.readAll({ streams: ["List-7", "Item-*"] });
  assert.deepEqual(positions(events), [0, 1, 3, 5, 6]);
  assert.deepEqual(
    events.map((e) => e.streamId),
    ["List-7", "List-7", "Item-7-1", "$$List-7", "Item-8-2"],
  );
  assert.deepEqual(positions(await store.readAll({ streams: ["List-7*"] })), [0, 1, 2, 5]);
  assert.deepEqual(positions(await store.readAll({ streams: ["*"] })), positions(await store.readAll()));
  assert.deepEqual(await store.readAll({ streams: [] }), []);
  assert.deepEqual(await store.readAll({ streams: ["Order-*"] }), []);
  const page = { streams: ["List-7", "Item-*"], fromPosition: 2, maxCount: 2 };
  assert.deepEqual(positions(await store.readAll(page)), [3, 5]);
  const last = { streams: ["List-7", "Item-*"], direction: "backwards", maxCount: 3 };
  assert.deepEqual(positions(await store.readAll(last)), [6, 5, 3]);
  const before = { streams: ["Item-*"], direction: "backwards", fromPosition: 5 };
  assert.deepEqual(positions(await store.readAll(before)), [3]);
  await store.close();
});

test("readAll({ streams }) refuses a malformed list with INVALID_ARGUMENT naming the problem", async () => {
  const store = await shop();
  const refused = async (options, message) => {
    await assert.rejects(store.readAll(options), (e) => {
      assert.equal(e.name, "EventStoreError");
      assert.equal(e.code, "INVALID_ARGUMENT");
      assert.match(e.message, message);
      return true;
    });
  };
  await refused({ streams: "List-7" }, /streams must be an array of stream patterns.*got "List-7"/);
  await refused({ streams: { 0: "List-7" } }, /streams must be an array/);
  await refused({ streams: ["List-7", 7] }, /streams\[1\] must be a string, got 7/);
  await refused({ streams: [""] }, /streams\[0\]: a stream pattern must not be empty/);
  await refused({ streams: ["Item-*-1"] }, /streams\[0\]: stream pattern "Item-\*-1": "\*" may only end a pattern/);
  await refused({ stream: ["List-7"] }, /unknown option "stream" in read options.*did you mean "streams"\?/);
  // Nothing was read or changed: the store still answers.
  assert.deepEqual(positions(await store.readAll({ streams: ["List-8"] })), [4]);
  await store.close();
});
