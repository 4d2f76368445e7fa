// Erasure through sync (CONTRACT.md, "Stream lifecycle": what is removed is removed on every
// synced device): two headless Chromium devices (own browser contexts, so own IndexedDB) synced
// through the real edge service in workerd. A tombstones a stream whose events carry a marker
// while B is offline; B appends to it offline; back online, B's append is a STREAM_DELETED
// conflict, discarded; then a raw scan of every object store of both IndexedDB databases finds
// no marker, and the service's log equals both devices'.
//
//   node --test tests/js/sync/erasure.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, server } from "../browser/harness.mjs";
import {
  append,
  assertSameLog,
  deviceContext,
  devicePage,
  edgeFor,
  flush,
  openStore,
  readLocal,
  readServer,
  runCleanup,
  waitCaughtUp,
  waitStatus,
} from "./browser-harness.mjs";

const TIMEOUT = 180_000;
let srv;
let browser;

before(async () => {
  srv = await server();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

/**
 * Every place `marker` occurs in every IndexedDB database of `page`'s origin: each object store
 * read whole with a cursor, keys and values as JSON (binary values as text).
 * `{ databases, records, hits }`.
 */
function rawScan(page, marker) {
  return page.evaluate(async (marker) => {
    const show = (v) =>
      JSON.stringify(v, (_, x) => (x instanceof ArrayBuffer || ArrayBuffer.isView(x) ? new TextDecoder().decode(x) : x));
    const databases = (await indexedDB.databases()).map((d) => d.name);
    const hits = [];
    let records = 0;
    for (const name of databases) {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      try {
        for (const store of [...db.objectStoreNames]) {
          await new Promise((resolve, reject) => {
            const req = db.transaction(store, "readonly").objectStore(store).openCursor();
            req.onsuccess = () => {
              const cursor = req.result;
              if (!cursor) return resolve();
              records++;
              const text = `${show(cursor.key)} ${show(cursor.value)}`;
              if (text.includes(marker)) hits.push(`${name}/${store}: ${text.slice(0, 300)}`);
              cursor.continue();
            };
            req.onerror = () => reject(req.error);
          });
        }
      } finally {
        db.close();
      }
    }
    return { databases, records, hits };
  }, marker);
}

/** `store[method](...args)` in the page: `{ ok, result }` or `{ ok: false, error: { code, message } }`. */
function call(page, method, ...args) {
  return page.evaluate(
    async ([method, args]) => {
      try {
        return { ok: true, result: await window.device.store[method](...args) };
      } catch (e) {
        return { ok: false, error: { code: e?.code, message: String(e?.message ?? e), streamId: e?.streamId } };
      }
    },
    [method, args],
  );
}

/** Polls the page's conflicts until one of `streamId` is there; returns it. */
async function conflictOf(page, streamId, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = (await page.evaluate(() => window.conflicts())).find((c) => c.streamId === streamId);
    if (found) return found;
    assert.ok(Date.now() < end, `no conflict on ${streamId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a tombstone made while a device is offline erases the marker from both IndexedDB databases; the offline append to it is a STREAM_DELETED conflict, discarded", { timeout: TIMEOUT }, async () => {
  const cleanup = [];
  try {
    const edge = await edgeFor(cleanup);
    const ctxA = await deviceContext(browser, cleanup);
    const ctxB = await deviceContext(browser, cleanup);
    const a = await devicePage(ctxA, srv, "A");
    const b = await devicePage(ctxB, srv, "B");
    await openStore(a, edge, { name: "erase" });
    await openStore(b, edge, { name: "erase" });
    await waitStatus(a, (s) => s.state === "online", "A online");
    await waitStatus(b, (s) => s.state === "online", "B online");

    const marker = `ERASE-ME-${crypto.randomUUID()}`;
    const marked = (n) => ({ id: crypto.randomUUID(), type: "Noted", data: { note: marker, n }, metadata: { by: marker } });
    await append(a, "Doc-1", [marked(0), marked(1)], { expectedRevision: "no_stream" });
    await append(a, "Other-1", [{ type: "Kept", data: { n: 0 } }]);
    await flush(a);
    await waitCaughtUp(a, edge, "A");
    await waitCaughtUp(b, edge, "B");
    assert.ok((await rawScan(b, marker)).hits.length > 0, "B holds the marked events before the tombstone");

    await ctxB.setOffline(true);
    await waitStatus(b, (s) => s.state !== "online", "B offline");
    const tombstone = await call(a, "tombstoneStream", "Doc-1", { expectedRevision: 1 });
    assert.ok(tombstone.ok, JSON.stringify(tombstone.error));
    await flush(a);
    // Offline, B still sees Doc-1 and appends to it.
    await append(b, "Doc-1", [marked(2)], { expectedRevision: 1 });

    await ctxB.setOffline(false);
    const conflict = await conflictOf(b, "Doc-1");
    assert.equal(conflict.error?.code, "STREAM_DELETED", JSON.stringify(conflict));
    assert.equal(conflict.pending.length, 1);
    const resolved = await b.evaluate(() => window.resolve("Doc-1", "discard"));
    assert.ok(resolved.ok, JSON.stringify(resolved));
    await flush(b);
    const server = await waitCaughtUp(b, edge, "B");
    await waitCaughtUp(a, edge, "A");

    for (const [who, page] of [["A", a], ["B", b]]) {
      const scan = await rawScan(page, marker);
      assert.ok(scan.records > 0 && scan.databases.length > 0, `${who}: the scan read the databases (${JSON.stringify(scan)})`);
      assert.deepEqual(scan.hits, [], `${who}: no trace of the marker in IndexedDB`);
      const read = await call(page, "readStream", "Doc-1");
      assert.equal(read.error?.code, "STREAM_DELETED", `${who}: Doc-1 reads as deleted`);
      assert.equal(read.error?.streamId, "Doc-1");
      assertSameLog(await readLocal(page), server, `${who}: readAll equals the service's log`);
    }
    assert.ok(!JSON.stringify(await readServer(edge)).includes(marker), "the service's log holds no marker");
    assert.deepEqual(await b.evaluate(() => window.conflicts()), [], "B has no conflict left");
  } finally {
    await runCleanup(cleanup);
  }
});
