// Subscriptions across tabs and workers sharing one IndexedDB database, and durable checkpoints
// across a reload — in real headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { storePage as harnessStorePage, useBrowser } from "./harness.mjs";

const env = useBrowser();

const storePage = (context) => harnessStorePage(context, env.srv);

/** Starts a subscription in `page` that records every delivered event in `window.seen`. */
function subscribeIn(page, name, options = {}) {
  return page.evaluate(
    async ({ name, options }) => {
      window.seen = [];
      window.caughtUp = false;
      const s = (window.stores[name] ??= await EventStore.open({ storage: "indexeddb", name }));
      window.sub = s.subscribe(
        (e) => {
          window.seen.push({ position: e.position, streamId: e.streamId, revision: e.revision });
        },
        { ...options, onCaughtUp: () => (window.caughtUp = true), onError: (e) => (window.failure = String(e)) },
      );
    },
    { name, options },
  );
}

const waitSeen = (page, n) => page.waitForFunction((n) => window.seen.length >= n || window.failure, n, { timeout: 20_000 });

test("events appended in other tabs are delivered, in order, with no gap and no duplicate", async () => {
  const context = await env.browser.newContext();
  const name = `xtab-${Date.now()}`;
  const [subscriber, ...writers] = await Promise.all([0, 1, 2].map(() => storePage(context)));
  await writers[0].evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    await s.append("Backlog-1", [{ type: "Before" }, { type: "Before" }]);
  }, name);
  await subscribeIn(subscriber, name);
  await subscriber.waitForFunction(() => window.caughtUp);
  const perWriter = 40;
  await Promise.all(
    [...writers, subscriber].map((page, w) =>
      page.evaluate(
        async ({ name, w, perWriter }) => {
          const s = await EventStore.open({ storage: "indexeddb", name });
          for (let i = 0; i < perWriter; i++) await s.append(`Tab-${w}`, [{ type: "Live", data: i }]);
        },
        { name, w, perWriter },
      ),
    ),
  );
  const total = 2 + 3 * perWriter;
  await waitSeen(subscriber, total);
  const seen = await subscriber.evaluate(() => (window.failure ? window.failure : window.seen));
  assert.equal(typeof seen, "object", `subscription failed: ${seen}`);
  assert.deepEqual(seen.map((e) => e.position), Array.from({ length: total }, (_, i) => i));
  for (let w = 0; w < 3; w++) {
    assert.deepEqual(seen.filter((e) => e.streamId === `Tab-${w}`).map((e) => e.revision), Array.from({ length: perWriter }, (_, i) => i));
  }
  await context.close();
});

test("events appended by a dedicated Worker are delivered", async () => {
  const context = await env.browser.newContext();
  const name = `worker-${Date.now()}`;
  const page = await storePage(context);
  await subscribeIn(page, name, { category: "Worker" });
  await page.waitForFunction(() => window.caughtUp);
  const result = await page.evaluate(
    (name) =>
      new Promise((resolve) => {
        const worker = new Worker("/tests/js/pages/worker.js", { type: "module" });
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (e) => resolve({ error: e.message });
        worker.postMessage({ name, stream: "Worker-1", n: 25 });
      }),
    name,
  );
  assert.deepEqual(result, { done: true });
  await waitSeen(page, 25);
  const seen = await page.evaluate(() => window.seen);
  assert.deepEqual(seen.map((e) => e.revision), Array.from({ length: 25 }, (_, i) => i));
  assert.ok(seen.every((e) => e.streamId === "Worker-1"));
  await context.close();
});

test("a checkpointed subscription resumes after a reload: each handled event once", async () => {
  const context = await env.browser.newContext();
  const name = `ckpt-${Date.now()}`;
  let page = await storePage(context);
  await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    for (let i = 0; i < 20; i++) await s.append(`Order-${i % 4}`, [{ type: "Placed", data: i }]);
  }, name);
  await subscribeIn(page, name, { checkpoint: "read-model" });
  await waitSeen(page, 20);
  await page.waitForFunction(() => window.caughtUp);
  const first = await page.evaluate(() => window.seen.map((e) => e.position));
  assert.deepEqual(first, Array.from({ length: 20 }, (_, i) => i));
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    await s.append("Order-9", [{ type: "Placed" }, { type: "Placed" }]);
  }, name);
  await subscribeIn(page, name, { checkpoint: "read-model" });
  await page.waitForFunction(() => window.caughtUp);
  const second = await page.evaluate(() => window.seen.map((e) => e.position));
  assert.deepEqual(second, [20, 21], "resumed after the last handled event; nothing handled twice");
  await context.close();
});

test("a reload in the middle of delivery loses nothing (at-least-once)", async () => {
  const context = await env.browser.newContext();
  const name = `ckpt-mid-${Date.now()}`;
  let page = await storePage(context);
  await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    for (let i = 0; i < 10; i++) await s.append("S-1", Array.from({ length: 10 }, (_, k) => ({ type: "E", data: i * 10 + k })));
    // The handler is slow and records what it completed in sessionStorage (survives the reload).
    sessionStorage.setItem("handled", "[]");
    s.subscribe(
      async (e) => {
        await new Promise((r) => setTimeout(r, 3));
        sessionStorage.setItem("handled", JSON.stringify([...JSON.parse(sessionStorage.getItem("handled")), e.position]));
      },
      { checkpoint: "slow" },
    );
  }, name);
  await page.waitForFunction(() => JSON.parse(sessionStorage.getItem("handled")).length >= 30);
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  const handledBefore = await page.evaluate(() => JSON.parse(sessionStorage.getItem("handled")));
  await subscribeIn(page, name, { checkpoint: "slow" });
  await page.waitForFunction(() => window.caughtUp);
  const after = await page.evaluate(() => window.seen.map((e) => e.position));
  const all = [...handledBefore, ...after];
  assert.deepEqual([...new Set(all)].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i), "every event handled");
  assert.ok(all.length - 100 <= 1, `at most the event in flight is delivered again (${all.length - 100} repeats)`);
  assert.ok(after[0] <= handledBefore.at(-1) + 1, "resumed where it stopped");
  await context.close();
});
