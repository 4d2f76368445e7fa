// The two browser builds (issue 24, size): index.js imports the code a first open needs — local.js
// and the build without the sync client for a store opened without `sync`, synced.js and the build
// with it otherwise — and stores of both work side by side in one page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useBrowser } from "./harness.mjs";

const env = useBrowser();

/** The package's files this page has fetched so far. */
const fetched = (page) =>
  page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((r) => new URL(r.name).pathname)
      .filter((p) => p.startsWith("/pkg/"))
      .sort(),
  );

// An address where no sync service listens: a synced store opens and works offline.
const OFFLINE_SYNC = "http://127.0.0.1:9/t/acme";

test("a store opened without sync loads the build without the sync client; a synced one opened later loads the build with it", async () => {
  const context = await env.browser.newContext();
  try {
    const page = await openPage(context, `${env.srv.url}/tests/js/pages/blank.html`);
    const first = await page.evaluate(async () => {
      const { EventStore } = await import("/pkg/index.js");
      window.local = await EventStore.open({ storage: "indexeddb", name: `local-${Math.random()}` });
      await window.local.append("s", [{ type: "A", data: { n: 1 } }]);
      return (await window.local.readStream("s")).length;
    });
    assert.equal(first, 1);
    assert.deepEqual(await fetched(page), ["/pkg/evstore_local_bg.wasm", "/pkg/index.js", "/pkg/local.js"]);

    const second = await page.evaluate(async (url) => {
      const { EventStore, EventStoreError, ANY } = await import("/pkg/index.js");
      const synced = await EventStore.open({ storage: "memory", sync: { url, token: () => "not-a-token" } });
      await synced.append("t", [{ type: "B", data: {} }], { expectedRevision: ANY });
      let error;
      try {
        await synced.append("t", [{ type: "B", data: {} }], { expectedRevision: 5 });
      } catch (e) {
        error = e;
      }
      let refused;
      try {
        await EventStore.open({ storage: "memory", bogus: true });
      } catch (e) {
        refused = e;
      }
      // The store opened first still works beside the synced one.
      await window.local.append("s", [{ type: "A", data: { n: 2 } }]);
      const out = {
        isEventStore: synced instanceof EventStore,
        localIsEventStore: window.local instanceof EventStore,
        pending: synced.sync.status().pending,
        events: (await synced.readStream("t")).length,
        errorIsEventStoreError: error instanceof EventStoreError,
        errorCode: error?.code,
        refusedCode: refused instanceof EventStoreError ? refused.code : String(refused),
        local: (await window.local.readStream("s")).length,
      };
      await synced.close();
      await window.local.close();
      return out;
    }, OFFLINE_SYNC);
    assert.deepEqual(second, {
      isEventStore: true,
      localIsEventStore: true,
      pending: 1,
      events: 1,
      errorIsEventStoreError: true,
      errorCode: "WRONG_EXPECTED_REVISION",
      refusedCode: "INVALID_ARGUMENT",
      local: 2,
    });
    assert.deepEqual(await fetched(page), [
      "/pkg/evstore_local_bg.wasm",
      "/pkg/evstore_wasm_bg.wasm",
      "/pkg/index.js",
      "/pkg/local.js",
      "/pkg/synced.js",
    ]);
  } finally {
    await context.close();
  }
});

test("a page whose first store is synced loads only the build with sync, and opens later stores on it", async () => {
  const context = await env.browser.newContext();
  try {
    const page = await openPage(context, `${env.srv.url}/tests/js/pages/blank.html`);
    const out = await page.evaluate(async (url) => {
      const { EventStore } = await import("/pkg/index.js");
      const synced = await EventStore.open({ storage: "memory", sync: { url, token: () => "not-a-token" } });
      const local = await EventStore.open({ storage: "memory" });
      await local.append("s", [{ type: "A", data: {} }]);
      await synced.append("s", [{ type: "A", data: {} }]);
      const out = { local: (await local.readStream("s")).length, pending: synced.sync.status().pending, localSync: local.sync };
      await synced.close();
      await local.close();
      return out;
    }, OFFLINE_SYNC);
    assert.deepEqual(out, { local: 1, pending: 1, localSync: undefined });
    assert.deepEqual(await fetched(page), ["/pkg/evstore_wasm_bg.wasm", "/pkg/index.js", "/pkg/synced.js"]);
  } finally {
    await context.close();
  }
});
