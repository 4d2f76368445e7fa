// In headless Chromium: evstore/react with real React (bundled by Vite, StrictMode, IndexedDB,
// live across tabs), evstore/emmett's cases on IndexedDB with Emmett's CommandHandler (also two
// tabs racing on one stream), and `open({ wasm })` in a page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { launch, openPage, server } from "../browser/harness.mjs";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
let browser;
let app; // the Vite-built test app
let repoServer; // the repo's static server (for /pkg/)

before(async () => {
  execFileSync(join(repo, "node_modules/.bin/vite"), ["build", "--config", join(repo, "tests/js/dx/app/vite.config.js")], { stdio: "inherit" });
  app = await server({ root: join(repo, "target/dx-app") });
  repoServer = await server();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await app?.close();
  await repoServer?.close();
});

const unique = (prefix) => `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
const out = async (page) => JSON.parse(await page.textContent("#out"));
const waitOut = (page, predicate, arg) =>
  page.waitForFunction(
    ([src, a]) => {
      const el = document.getElementById("out");
      if (!el) return false;
      try {
        return new Function("o", "a", `return (${src})(o, a)`)(JSON.parse(el.textContent), a);
      } catch {
        return false;
      }
    },
    [predicate.toString(), arg],
    { timeout: 10_000 },
  );

test("useAggregate: loading, then the fold; live after an append here and in another tab; stream switch; errors; unmount releases", async () => {
  const context = await browser.newContext();
  try {
    const db = unique("react");
    const page = await openPage(context, `${app.url}/react.html?db=${db}`);
    await waitOut(page, (o) => !o.loading);
    assert.deepEqual(await out(page), { streamId: "Cart-1", loading: false, expectedRevision: "no_stream", state: { items: 0, skus: [] }, error: null });
    const first = await page.evaluate(() => window.app.renders[0]);
    assert.deepEqual(first, { streamId: "Cart-1", loading: true, expectedRevision: undefined, items: 0 }, "the first render is a loading one");
    assert.equal(await page.evaluate(() => window.app.live), 1, "StrictMode's extra mount was released");

    // The button appends with the hook's expectedRevision; the view follows.
    await page.click("#add");
    await waitOut(page, (o) => o.state.items === 1);
    assert.equal((await out(page)).expectedRevision, 0);
    await page.click("#add");
    await waitOut(page, (o) => o.state.items === 2 && o.expectedRevision === 1);

    // Another tab on the same database appends: this tab re-renders.
    const other = await openPage(context, `${app.url}/react.html?db=${db}`);
    await waitOut(other, (o) => o.state.items === 2);
    await other.evaluate(() => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "from-tab-2", qty: 5 } }], { expectedRevision: 1 }));
    await waitOut(page, (o) => o.state.items === 7);
    assert.deepEqual((await out(page)).state.skus, ["s0", "s1", "from-tab-2"]);
    assert.equal((await out(page)).expectedRevision, 2);
    // A stale expectedRevision in the other tab is refused by the store.
    await other.evaluate(() => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "x", qty: 1 } }], { expectedRevision: 1 }).catch((e) => (window.lastError = e.code)));
    assert.equal(await other.evaluate(() => window.lastError), "WRONG_EXPECTED_REVISION");

    // Switching the stream resets to the new stream's fold; the old stream no longer renders.
    await page.evaluate(() => window.app.setStreamId("Cart-2"));
    await waitOut(page, (o) => o.streamId === "Cart-2" && !o.loading);
    assert.deepEqual((await out(page)).state, { items: 0, skus: [] });
    assert.equal(await page.evaluate(() => window.app.live), 1, "the Cart-1 watch was released");
    await page.evaluate(() => window.app.store.append("Cart-2", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }]));
    await waitOut(page, (o) => o.state.items === 1);

    // evolve throwing: the error is shown and the last good state kept.
    await page.evaluate(() => window.app.store.append("Cart-2", [{ type: "ItemAdded", data: { sku: "poison", qty: 1 } }]));
    await waitOut(page, (o) => o.error !== null);
    assert.match((await out(page)).error, /cannot fold poison/);
    assert.equal((await out(page)).state.items, 1);

    await page.evaluate(() => window.app.setShown(false));
    assert.equal(await page.evaluate(() => window.app.live), 0, "unmounting released the watch");
  } finally {
    await context.close();
  }
});

test("useAggregate and the stream lifecycle: retention re-folds; a tombstone (from another tab) gives initialState, no_stream and STREAM_DELETED", async () => {
  const context = await browser.newContext();
  try {
    const db = unique("react-life");
    const page = await openPage(context, `${app.url}/react.html?db=${db}`);
    await waitOut(page, (o) => !o.loading);
    for (let i = 0; i < 3; i++) await page.evaluate((n) => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: `k${n}`, qty: 1 } }]), i);
    await waitOut(page, (o) => o.state.items === 3);
    await page.evaluate(() => window.app.store.setStreamMetadata("Cart-1", { truncateBefore: 2 }));
    await waitOut(page, (o) => o.state.items === 1);
    assert.deepEqual((await out(page)).state.skus, ["k2"], "only the kept event is folded");
    assert.equal((await out(page)).expectedRevision, 2);

    const other = await openPage(context, `${app.url}/react.html?db=${db}`);
    await waitOut(other, (o) => o.state.items === 1);
    await other.evaluate(() => window.app.store.tombstoneStream("Cart-1"));
    await waitOut(page, (o) => o.error !== null);
    const shown = await out(page);
    assert.match(shown.error, /deleted/);
    assert.deepEqual([shown.state, shown.expectedRevision, shown.loading], [{ items: 0, skus: [] }, "no_stream", false]);
    const code = await page.evaluate(() => window.app.store.readStream("Cart-1").catch((e) => `${e.code} ${e.streamId}`));
    assert.equal(code, "STREAM_DELETED Cart-1");
  } finally {
    await context.close();
  }
});

test("useAggregate with a store that is still being opened (null): loading until it is given", async () => {
  const context = await browser.newContext();
  try {
    const db = unique("react-late");
    const page = await openPage(context, `${app.url}/react.html?late&db=${db}`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    await page.evaluate(() => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "a", qty: 3 } }]));
    await waitOut(page, (o) => o.loading);
    assert.deepEqual(await out(page), { streamId: "Cart-1", loading: true, expectedRevision: null, state: { items: 0, skus: [] }, error: null });
    assert.equal(await page.evaluate(() => window.app.live), 0, "no watch without a store");
    await page.evaluate(() => window.app.provide());
    await waitOut(page, (o) => !o.loading);
    assert.deepEqual(await out(page), { streamId: "Cart-1", loading: false, expectedRevision: 0, state: { items: 3, skus: ["a"] }, error: null });
  } finally {
    await context.close();
  }
});

test("useAggregate and schema evolution: older events upcast; an event of a newer app version gives SCHEMA_TOO_NEW and keeps the last folded state", async () => {
  const context = await browser.newContext();
  try {
    const db = unique("react-schema");
    // An app without a schema wrote v1 (no qty).
    const v1 = await openPage(context, `${app.url}/react.html?db=${db}`);
    await waitOut(v1, (o) => !o.loading);
    await v1.evaluate(() => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "old" } }], { expectedRevision: "no_stream" }));
    // This release (v2) folds it upcast, then its own event.
    const page = await openPage(context, `${app.url}/react.html?schema=2&db=${db}`);
    await waitOut(page, (o) => !o.loading && o.state.items === 1);
    await page.click("#add");
    await waitOut(page, (o) => o.state.items === 2 && o.expectedRevision === 1);
    assert.equal(await page.evaluate(() => window.app.error), null);

    // A newer release (v3), in another tab, appends: this tab keeps its last state and says why it stopped.
    const newer = await openPage(context, `${app.url}/react.html?schema=3&db=${db}`);
    await waitOut(newer, (o) => o.state.items === 2);
    await newer.evaluate(() => window.app.store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "new", qty: 5, unit: "kg" } }], { expectedRevision: 1 }));
    await waitOut(newer, (o) => o.state.items === 7);
    await waitOut(page, (o) => o.error !== null);
    const shown = await out(page);
    assert.deepEqual(
      [shown.state, shown.expectedRevision, shown.loading],
      [{ items: 2, skus: ["old", "s1"] }, 1, false],
      "the last fully folded state, not one with the v3 event folded by v2 code",
    );
    assert.deepEqual(await page.evaluate(() => window.app.error), { code: "SCHEMA_TOO_NEW", streamId: "Cart-1", type: "ItemAdded", version: 3 });
    assert.equal(await newer.evaluate(() => window.app.error), null, "the newer release folds it");

    // A v2 tab opened now never had a fully folded state: loading, initialState, and the error.
    const late = await openPage(context, `${app.url}/react.html?schema=2&db=${db}`);
    await waitOut(late, (o) => o.error !== null);
    const lateView = await out(late);
    assert.deepEqual([lateView.loading, lateView.expectedRevision, lateView.state], [true, null, { items: 0, skus: [] }]);
    assert.equal(await late.evaluate(() => window.app.error?.code), "SCHEMA_TOO_NEW");
  } finally {
    await context.close();
  }
});

test("evstore/emmett on IndexedDB: the same cases as in Node, CommandHandler conflicts included", async () => {
  const context = await browser.newContext();
  try {
    const page = await openPage(context, `${app.url}/emmett.html`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    const results = await page.evaluate(() => window.runCases());
    assert.ok(Object.keys(results).length >= 8, "the cases ran");
    assert.deepEqual(Object.entries(results).filter(([, f]) => f), [], "failed cases");
  } finally {
    await context.close();
  }
});

test("evstore/emmett: two tabs racing CommandHandlers on one IndexedDB stream each land every command once", async () => {
  const context = await browser.newContext();
  try {
    const pages = await Promise.all([0, 1].map(() => openPage(context, `${app.url}/emmett.html`)));
    for (const p of pages) await p.waitForFunction(() => document.body.dataset.ready === "true");
    const db = unique("emmett-tabs");
    const [a, b] = await Promise.all(pages.map((p) => p.evaluate(([name]) => window.runCommands(name, 6), [db])));
    const final = await pages[0].evaluate(([name]) => window.runCommands(name, 0), [db]);
    assert.deepEqual(final.seen, Array.from({ length: 12 }, (_, i) => i), "12 increments, each decided on all earlier ones");
    assert.equal(final.version, "12");
    assert.ok(a.decisions + b.decisions > 12, `conflicts were retried (${a.decisions} + ${b.decisions} decisions)`);
  } finally {
    await context.close();
  }
});

test("open({ wasm }) in a page: a missing URL is a STORAGE_ERROR with the cause; a cached Response then works", async () => {
  const context = await browser.newContext();
  try {
    const page = await openPage(context, `${repoServer.url}/tests/js/pages/store.html`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    const result = await page.evaluate(async () => {
      const { EventStoreError } = await import("/pkg/index.js"); // the module "evstore" maps to
      const describe = (e) => ({ instance: e instanceof EventStoreError, code: e.code, message: e.message, cause: String(e.cause?.message ?? e.cause) });
      const failed = await window.EventStore.open({ wasm: "/nope/evstore.wasm" }).catch(describe);
      // As a service worker's precache would: the module from the Cache API.
      const cache = await caches.open("evstore-test");
      await cache.add("/pkg/evstore_wasm_bg.wasm");
      const store = await window.EventStore.open({ wasm: cache.match("/pkg/evstore_wasm_bg.wasm") });
      const r = await store.append("S-1", [{ type: "E" }]);
      return { failed, position: r.position };
    });
    assert.equal(result.failed.instance, true, "instanceof EventStoreError");
    assert.equal(result.failed.code, "STORAGE_ERROR");
    assert.match(result.failed.message, /nope\/evstore\.wasm/);
    assert.match(result.failed.cause, /404/);
    assert.equal(result.position, 0);
  } finally {
    await context.close();
  }
});
