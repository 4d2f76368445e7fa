// Shared set-up of the sync browser tests and the sync benchmark: devices are headless Chromium
// pages (one browser context each = its own IndexedDB) on tests/js/sync/pages/device.html, synced
// with the real edge service in workerd. Everything started here is on a free 127.0.0.1 port and
// is stopped by the caller's cleanup (also when a test fails).
import assert from "node:assert/strict";
import { startEdge, token } from "../edge-service/harness.mjs";

export const TENANT = "acme";
export const PAGE = "/tests/js/sync/pages/device.html";

/** A JWT for the test tenant, valid for a day. */
export const jwt = (extra = {}) => token(TENANT, { exp: Math.floor(Date.now() / 1000) + 24 * 3600, ...extra });

/** Starts the edge service and registers its stop with `cleanup` (an array of async functions). */
export async function edgeFor(cleanup, options) {
  const edge = await startEdge(options);
  cleanup.push(() => edge.stop());
  return edge;
}

/** Runs the cleanup functions in reverse order; reports the first failure after running all. */
export async function runCleanup(cleanup) {
  let failure;
  for (const fn of cleanup.splice(0).reverse()) {
    try {
      await fn();
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure) throw failure;
}

/** A new browser context (a device), closed by cleanup. */
export async function deviceContext(browser, cleanup) {
  const context = await browser.newContext();
  cleanup.push(() => context.close().catch(() => {}));
  return context;
}

/**
 * Serves the app's files from a cache once loaded (what a service worker does for an
 * offline-first app), so a page can be reloaded while the context is offline. Only the static
 * server's origin is routed; the edge service (another port) is untouched.
 */
export async function cacheAppShell(context, srv) {
  // A page answered by the route has no IP address, so Chromium's Local Network Access checks
  // take it for a public page that wants to reach loopback (the edge service): allow that.
  await context.grantPermissions(["local-network-access"], { origin: srv.url });
  const cache = new Map();
  await context.route(`${srv.url}/**`, async (route) => {
    const url = route.request().url();
    let hit = cache.get(url);
    if (!hit) {
      const res = await route.fetch();
      hit = { status: res.status(), headers: res.headers(), body: await res.body() };
      if (hit.status === 200) cache.set(url, hit);
    }
    await route.fulfill(hit);
  });
}

/** A page of `context` on the device page, ready; page errors are printed. */
export async function devicePage(context, srv, label = "page") {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${label} error] ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.error(`[${label} console] ${m.text()}`));
  page.sockets = []; // the URLs of the WebSockets the page opened
  page.pushes = []; // the push frames it sent: number of appends each
  page.onPush = null;
  page.on("websocket", (ws) => {
    page.sockets.push(ws.url());
    ws.on("framesent", ({ payload }) => {
      if (typeof payload !== "string" || !payload.startsWith('{"v":4,"type":"push"')) return;
      page.pushes.push(JSON.parse(payload).appends.length);
      page.onPush?.();
    });
  });
  await page.goto(`${srv.url}${PAGE}`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  return page;
}

/**
 * Opens the synced store in `page`: `{ name, storage, model, token, streams, schema }` (`streams`:
 * the sync selection; `schema`: the source text of the `schema` option's value).
 */
export function openStore(page, edge, { name, storage = "indexeddb", model = false, token: t = jwt(), streams, schema } = {}) {
  return page.evaluate((o) => window.openDevice(o), { name, storage, model, url: `${edge.base}/t/${TENANT}`, token: t, streams, schema });
}

/** Appends in `page`; asserts the local append succeeded; returns its result. */
export async function append(page, streamId, events, options) {
  const r = await page.evaluate(([s, e, o]) => window.append(s, e, o), [streamId, events, options]);
  assert.ok(r.ok, `local append to ${streamId} failed: ${JSON.stringify(r.error)}`);
  return r.result;
}

export const status = (page) => page.evaluate(() => window.syncStatus());

/** Waits (in the page) until `predicate(status)` holds; asserts it did within `timeoutMs`. */
export async function waitStatus(page, predicate, message, timeoutMs = 20000) {
  const r = await page.evaluate(([p, ms]) => window.waitStatus(p, ms), [String(predicate), timeoutMs]);
  assert.ok(r.ok, `${message ?? String(predicate)} — status after ${timeoutMs} ms: ${JSON.stringify(r.status)}`);
  return r.status;
}

/** `store.sync.flush()` in the page; asserts it resolved within `timeoutMs`. */
export async function flush(page, timeoutMs = 30000) {
  const r = await page.evaluate((ms) => window.flush(ms), timeoutMs);
  assert.ok(r.ok, `flush() did not resolve within ${timeoutMs} ms: ${JSON.stringify(r)}`);
  return r.status;
}

export const readLocal = (page) => page.evaluate(() => window.readAll());

/** The service's log (`GET /t/acme/all`, every page). */
export async function readServer(edge) {
  const out = [];
  const t = jwt();
  for (let from = 0; ; ) {
    const res = await fetch(`${edge.base}/t/${TENANT}/all?fromPosition=${from}&maxCount=1000`, { headers: { authorization: `Bearer ${t}` } });
    const text = await res.text();
    assert.equal(res.status, 200, `GET /all: ${text}`);
    const { events } = JSON.parse(text);
    out.push(...events);
    if (events.length < 1000) return out;
    from = events.at(-1).position + 1;
  }
}

/** The fields compared between logs; createdAt as an instant (ms since the epoch). */
export const comparable = (e) => ({
  id: e.id,
  streamId: e.streamId,
  type: e.type,
  revision: e.revision,
  position: e.position,
  data: e.data,
  metadata: e.metadata,
  createdAt: Date.parse(e.createdAt),
});

export function assertSameLog(actual, expected, message) {
  assert.deepEqual(actual.map(comparable), expected.map(comparable), message);
}

/** Waits until the page holds the server's whole log confirmed (its live feed caught up). */
export async function waitCaughtUp(page, edge, message) {
  const log = await readServer(edge);
  const head = log.length ? log.at(-1).position : null;
  await waitStatus(page, `(s) => s.confirmedPosition === ${head} && s.state === "online"`, `${message ?? "device"}: caught up to the server's head ${head}`);
  return log;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
