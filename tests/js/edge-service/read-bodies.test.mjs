// The HTTP read answers are written by the store from the stored events (`readStreamBody`,
// `readAllBody`: internal methods of the server build, used by edge/src/service/tenant.js). On the
// same store contents they must say what the JS objects of `readStream`/`readAll` said, serialised
// and capped as the service did before (edge/src/service/events.js `collectEvents`, the same
// limits and paging): same events, fields and values, in the same order, stopping at the same
// event — for unicode, nested data, metadata, hidden and removed events, holes, both directions,
// `from`, `maxCount`, the event cap and the byte cap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { collectEvents } from "../../../edge/src/service/events.js";
import { MAX_READ_BYTES, MAX_READ_EVENTS } from "../../../edge/src/service/limits.js";

/** The body as the service wrote it from `readStream`/`readAll` results (the old way). */
async function objectsBody(store, streamId, options, limits) {
  const read =
    streamId === undefined
      ? ({ from, direction, maxCount }) =>
          store.readAll({ fromPosition: from, direction, maxCount, ...(options.streams ? { streams: options.streams } : {}) })
      : ({ from, direction, maxCount }) => store.readStream(streamId, { fromRevision: from, direction, maxCount });
  const { parts } = await collectEvents(read, streamId === undefined ? "position" : "revision", options, {
    maxEvents: limits.events,
    maxBytes: limits.bytes,
  });
  return `{"events":[${parts.join(",")}]}`;
}

/** The body the store writes (the new way). */
function storedBody(store, streamId, { from, direction, maxCount, streams }, limits) {
  if (streamId !== undefined) {
    return store.readStreamBody(streamId, { fromRevision: from, direction, maxCount }, limits.events, limits.bytes);
  }
  const read = { fromPosition: from, direction, maxCount };
  return store.readAllBody(streams ? { ...read, streams } : read, limits.events, limits.bytes);
}

const SERVICE = { events: MAX_READ_EVENTS, bytes: MAX_READ_BYTES };

/** Compares both bodies for every combination of options; returns how many were compared. */
async function compareAll(store, streamId, { froms, streams = [undefined], limits = [SERVICE] }) {
  let compared = 0;
  for (const direction of [undefined, "forwards", "backwards"]) {
    for (const from of froms) {
      for (const maxCount of [undefined, 0, 1, 7, 251, 600, 5000]) {
        for (const selection of streams) {
          for (const limit of limits) {
            const options = { from, direction, maxCount, streams: selection };
            const what = JSON.stringify({ streamId, ...options, limit });
            const before = await objectsBody(store, streamId, options, limit);
            const after = await storedBody(store, streamId, options, limit);
            assert.deepEqual(JSON.parse(after), JSON.parse(before), what);
            // The stored texts are what the store's serialiser wrote: the very same bytes.
            assert.equal(after, before, what);
            compared++;
          }
        }
      }
    }
  }
  return compared;
}

const tricky = (i) => ({
  text: `é ü 漢字 😀 "quoted" \\ back\nline\ttab \u0001 \u2028 ${i}`,
  nested: { list: [1, -2.5, 1e21, 1e-7, null, true, { deep: [[[`${i}`]]] }], empty: {}, none: [] },
  n: i,
});

async function filledStore() {
  const store = await EventStore.open({ storage: "memory" });
  // 600 events in one stream (more than two pages of 250), interleaved with two other streams.
  for (let batch = 0; batch < 12; batch++) {
    const events = Array.from({ length: 50 }, (_, j) => ({
      type: j % 3 ? "Added 😀" : "Removed\u00e9",
      data: batch * 50 + j === 77 ? "x".repeat(5000) : tricky(batch * 50 + j),
      metadata: j % 2 ? { who: "ünï", tags: ["a", { b: 1 }] } : {},
    }));
    await store.append("Cart-ü", events);
    await store.append("Other-1", [{ type: "Noted", data: { batch } }]);
    await store.append(`List-${batch % 2}`, [{ type: "Added", data: [batch, "ł"] }, { type: "Added", data: null }]);
  }
  return store;
}

test("stream reads: the stored bodies say what the objects said (directions, from, maxCount, paging, caps)", async () => {
  const store = await filledStore();
  const limits = [SERVICE, { events: 260, bytes: SERVICE.bytes }, { events: 1000, bytes: 3000 }, { events: 1000, bytes: 1 }, { events: 1000, bytes: 40_000 }];
  const n = await compareAll(store, "Cart-ü", { froms: [undefined, "start", "end", 0, 76, 78, 300, 599, 600, 10_000], limits });
  assert.ok(n > 500);
  // A stream without events, and one that never existed.
  await compareAll(store, "Nobody-1", { froms: [undefined, "end", 3] });
  // The byte cap: one very large event still goes out, alone; the cap stops after the event that reaches it.
  const alone = JSON.parse(await store.readStreamBody("Cart-ü", { fromRevision: 77 }, 1000, 100));
  assert.deepEqual(alone.events.map((e) => e.revision), [77]);
  assert.equal(alone.events[0].data.length, 5000);
  const capped = JSON.parse(await store.readStreamBody("Cart-ü", { fromRevision: 10 }, 1000, 3000));
  assert.ok(capped.events.length > 1 && capped.events.length < 20);
  // The stored form travels: createdAt as ISO-8601, metadata as stored.
  const [first] = JSON.parse(await store.readStreamBody("Cart-ü", { maxCount: 1 }, 1000, SERVICE.bytes)).events;
  const [object] = await store.readStream("Cart-ü", { maxCount: 1 });
  assert.equal(first.createdAt, object.createdAt.toISOString());
  assert.deepEqual(first.metadata, object.metadata);
  assert.deepEqual(Object.keys(first), ["id", "streamId", "type", "revision", "position", "data", "metadata", "createdAt"]);
  await store.close();
});

test("$all reads with and without a selection: the same events, holes and positions", async () => {
  const store = await filledStore();
  const streams = [undefined, ["Cart-ü"], ["List-*", "Other-1"], ["List-1"], ["Nobody-*"]];
  const limits = [SERVICE, { events: 1000, bytes: 5000 }, { events: 300, bytes: SERVICE.bytes }];
  const n = await compareAll(store, undefined, { froms: [undefined, "start", "end", 0, 1, 52, 53, 400, 647, 700], streams, limits });
  assert.ok(n > 1000);
  // More events than one answer holds (636 + 500): the answer stops at MAX_READ_EVENTS.
  await store.append("Bulk-1", Array.from({ length: 500 }, (_, i) => ({ type: "B", data: { i } })));
  await compareAll(store, undefined, { froms: [undefined, 600, "end"], streams: [undefined, ["Bulk-1"]] });
  const all = JSON.parse(await store.readAllBody({}, MAX_READ_EVENTS, MAX_READ_BYTES));
  assert.equal(all.events.length, MAX_READ_EVENTS);
  await store.close();
});

test("hidden and removed events: maxCount, truncateBefore, maxAge, soft delete, tombstone", async () => {
  const store = await EventStore.open({ storage: "memory" });
  const add = (stream, n, tag) =>
    store.append(stream, Array.from({ length: n }, (_, i) => ({ type: "T", data: { tag, i, s: "ß😀" }, metadata: { tag } })));
  await add("Old-1", 5, "old");
  await add("Capped-1", 30, "capped");
  await add("Truncated-1", 30, "truncated");
  await add("Soft-1", 4, "soft");
  await add("Tomb-1", 4, "tomb");
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await add("Old-1", 3, "new");
  await store.setStreamMetadata("Old-1", { maxAge: 1 });
  await store.setStreamMetadata("Capped-1", { maxCount: 4 });
  await store.setStreamMetadata("Truncated-1", { truncateBefore: 17 });
  await store.deleteStream("Soft-1");
  await store.tombstoneStream("Tomb-1");
  await add("Soft-1", 2, "again");

  const froms = [undefined, "end", 0, 3, 20, 29];
  for (const stream of ["Old-1", "Capped-1", "Truncated-1", "Soft-1"]) await compareAll(store, stream, { froms });
  await compareAll(store, undefined, {
    froms: [undefined, "end", 0, 4, 40, 70],
    streams: [undefined, ["Old-1"], ["Capped-*", "Truncated-1"], ["Tomb-1"], ["$$Capped-1"]],
  });
  const capped = JSON.parse(await store.readStreamBody("Capped-1", {}, 1000, MAX_READ_BYTES));
  assert.deepEqual(capped.events.map((e) => e.revision), [26, 27, 28, 29]);
  const old = JSON.parse(await store.readStreamBody("Old-1", {}, 1000, MAX_READ_BYTES));
  assert.deepEqual(old.events.map((e) => e.data.tag), ["new", "new", "new"]);

  // A tombstoned stream: the same error as readStream.
  const objects = await store.readStream("Tomb-1").then(() => null, (e) => e);
  const body = await store.readStreamBody("Tomb-1", {}, 1000, MAX_READ_BYTES).then(() => null, (e) => e);
  assert.ok(objects && body);
  assert.equal(body.code, objects.code);
  assert.equal(body.message, objects.message);
  await store.close();
});

test("bad options are refused as readStream and readAll refuse them, nothing read", async () => {
  const store = await EventStore.open({ storage: "memory" });
  await store.append("A-1", [{ type: "T", data: 1 }]);
  const cases = [
    () => [store.readStream("A-1", { fromRevision: -1 }), store.readStreamBody("A-1", { fromRevision: -1 }, 10, 10)],
    () => [store.readStream("", {}), store.readStreamBody("", {}, 10, 10)],
    () => [store.readStream("A-1", { direction: "up" }), store.readStreamBody("A-1", { direction: "up" }, 10, 10)],
    () => [store.readAll({ streams: ["*x"] }), store.readAllBody({ streams: ["*x"] }, 10, 10)],
    () => [store.readAll({ streams: "A-1" }), store.readAllBody({ streams: "A-1" }, 10, 10)],
  ];
  for (const make of cases) {
    const [objects, body] = await Promise.all(make().map((p) => p.then(() => null, (e) => e)));
    assert.ok(objects && body, "both refused");
    assert.equal(body.code, objects.code);
    assert.equal(body.message, objects.message);
  }
  await assert.rejects(store.readAllBody({}, -1, 10), { code: "INVALID_ARGUMENT" });
  await assert.rejects(store.readAllBody({}, 10, 1.5), { code: "INVALID_ARGUMENT" });
  await store.close();
});
