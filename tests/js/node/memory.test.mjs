// The memory store keeps its events on the JS heap, owned by the store object (needs
// `node --expose-gc`): a store dropped without close() is garbage at the next collection, even in
// a loop that never yields a macrotask (so no finalizer has run); what runs on without the store
// object — a subscription — keeps the events it still has to deliver.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { until } from "../contract.mjs";

const skip = typeof globalThis.gc !== "function" && "needs --expose-gc";
const event = (i) => ({ type: "OrderPlaced", data: { orderId: `o-${i}`, lines: [{ sku: "a", qty: i }] }, metadata: { correlationId: `c-${i}` } });

/** Heap in use after a collection, with microtasks only in between (no finalizer can run). */
const heapNow = async () => {
  globalThis.gc();
  await null;
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

test("a dropped memory store is collected without close() and without a macrotask", { skip }, async () => {
  const base = await heapNow();
  let peak = 0;
  const round = async () => {
    const store = await EventStore.open();
    for (let i = 0; i < 5000; i++) await store.append(`Order-${i % 50}`, [event(i)]);
    assert.equal((await store.readAll({ maxCount: 1, direction: "backwards" }))[0].position, 4999);
    peak = Math.max(peak, (await heapNow()) - base); // this round's store is alive here
  };
  for (let r = 0; r < 6; r++) await round();
  const left = (await heapNow()) - base;
  // Six stores of 5,000 events: were dropped stores kept, `left` would be about six times `peak`.
  assert.ok(left < peak / 2, `after dropping the stores ${(left / 1e6).toFixed(1)} MB are still in use (one live store: ${(peak / 1e6).toFixed(1)} MB)`);
});

test("a subscription delivers every event after the app dropped the store object", { skip }, async () => {
  const seen = [];
  let caughtUp = false;
  let sub;
  await (async () => {
    const store = await EventStore.open();
    for (let b = 0; b < 30; b++) await store.append("S", Array.from({ length: 100 }, (_, j) => event(b * 100 + j)));
    sub = store.subscribe((e) => { seen.push(e.position); }, { onCaughtUp: () => { caughtUp = true; } });
  })();
  for (let i = 0; i < 5; i++) await heapNow();
  await until(() => caughtUp, "catch-up");
  assert.equal(seen.length, 3000);
  assert.deepEqual(seen.slice(0, 3), [0, 1, 2]);
  assert.equal(seen.at(-1), 2999);
  sub.unsubscribe();
});

test("the log is reachable only while lent or held: a stray reach fails loudly instead of reading an empty log", async () => {
  // The JS half of the heap storage, as the package ships it (the bug this guards against cannot
  // be reached through the public API, so the module is driven directly).
  const heap = await import(new URL("../../../src/storage/heap.js", import.meta.url));
  const handle = heap.heapNew();
  const store = new (class {
    head() {
      return heap.heapLogHead(handle);
    }
    hold() {
      heap.heapHold(handle); // a subscription starts during a store call
    }
  })();
  heap.heapAttach(handle, store);
  assert.equal(store.head(), -1, "lent during a store call");
  assert.throws(() => heap.heapLogHead(handle), /outside a call of its store/);
  store.hold();
  assert.equal(heap.heapLogHead(handle), -1, "held by a subscription");
  heap.heapRelease(handle);
  assert.throws(() => heap.heapLogHead(handle), /outside a call of its store/);
});
