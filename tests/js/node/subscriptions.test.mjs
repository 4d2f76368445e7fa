// Resource release of subscriptions (needs `node --expose-gc`): many subscribe/unsubscribe cycles
// must not retain handlers, whatever state the subscription was in when it stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { until } from "../contract.mjs";

const heap = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    globalThis.gc();
  }
  return process.memoryUsage().heapUsed;
};

test("subscribe/unsubscribe cycles release their handlers", { skip: typeof globalThis.gc !== "function" && "needs --expose-gc" }, async () => {
  const store = await EventStore.open();
  await store.append("S", [{ type: "E" }]);
  const cycle = async (i) => {
    const ballast = new Array(12_500).fill(i); // ~100 KB held by the handler's closure
    let delivered = 0;
    let caughtUp = false;
    const sub = store.subscribe(() => { delivered += ballast.length > 0 ? 1 : 0; }, { onCaughtUp: () => { caughtUp = true; } });
    switch (i % 3) {
      case 0: // stopped before its first delivery
        break;
      case 1: // stopped while waiting for new events
        await until(() => caughtUp, "catch-up");
        break;
      case 2: // stopped with events flowing
        await store.append("S", [{ type: "E" }]);
        await until(() => delivered > 0, "a delivery");
        break;
    }
    sub.unsubscribe();
  };
  for (let i = 0; i < 300; i++) await cycle(i); // warm-up: reach a steady state
  const before = await heap();
  for (let i = 0; i < 1500; i++) await cycle(i);
  const grown = (await heap()) - before;
  // 1,500 leaked handlers would hold ~150 MB; released ones leave only noise.
  assert.ok(grown < 15 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB over 1,500 cycles`);
});

test("closing a store ends its subscriptions and releases their handlers", { skip: typeof globalThis.gc !== "function" && "needs --expose-gc" }, async () => {
  const before = await heap();
  for (let i = 0; i < 300; i++) {
    const store = await EventStore.open();
    const ballast = new Array(12_500).fill(i);
    let caughtUp = false;
    store.subscribe(() => ballast.length, { onCaughtUp: () => { caughtUp = true; } });
    await until(() => caughtUp, "catch-up");
    await store.close();
  }
  const grown = (await heap()) - before;
  assert.ok(grown < 15 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MB over 300 stores`);
});
