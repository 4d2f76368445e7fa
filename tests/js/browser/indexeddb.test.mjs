// IndexedDB in real headless Chromium, through the built package: many tabs racing on one
// database, durability across reload / browser restart / kill mid-run, upgrades, quota.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, storePage as harnessStorePage, useBrowser } from "./harness.mjs";

const env = useBrowser();

const storePage = (context) => harnessStorePage(context, env.srv);

/** Every position 0..n-1 exactly once, every stream's revisions 0..k-1 in position order. */
function assertLogInvariants(log) {
  assert.deepEqual(log.map((e) => e.position), log.map((_, i) => i), "positions are dense and unique");
  const next = new Map();
  for (const e of log) {
    assert.equal(e.revision, next.get(e.streamId) ?? 0, `revision of ${e.streamId} at position ${e.position}`);
    next.set(e.streamId, e.revision + 1);
  }
  assert.equal(new Set(log.map((e) => e.id)).size, log.length, "ids are unique");
}

test("four tabs racing on one database keep positions dense and revisions contiguous", async () => {
  const context = await env.browser.newContext();
  const name = `race-${Date.now()}`;
  const tabs = await Promise.all([0, 1, 2, 3].map(() => storePage(context)));
  const perTab = 25;
  const results = await Promise.all(
    tabs.map((page, tab) =>
      page.evaluate(
        async ({ name, tab, perTab }) => {
          const s = await EventStore.open({ storage: "indexeddb", name });
          const acked = [];
          let conflicts = 0;
          for (let i = 0; i < perTab; i++) {
            // The shared stream: read the head, append expecting it, retry on conflict.
            for (;;) {
              const rev = await s.streamRevision("Shared-1");
              try {
                const r = await s.append("Shared-1", [{ type: "Raced", data: { tab, i } }], {
                  expectedRevision: rev ?? "no_stream",
                });
                acked.push({ stream: "Shared-1", tab, i, position: r.position, revision: r.nextExpectedRevision });
                break;
              } catch (e) {
                if (e.code !== "WRONG_EXPECTED_REVISION") throw e;
                conflicts++;
              }
            }
            // The tab's own stream: nobody else writes it, so its expected revision always holds.
            const own = await s.append(`Tab-${tab}`, [{ type: "Own", data: { tab, i } }, { type: "Own", data: { tab, i, second: true } }], {
              expectedRevision: i === 0 ? "no_stream" : 2 * i - 1,
            });
            acked.push({ stream: `Tab-${tab}`, tab, i, position: own.position, revision: own.nextExpectedRevision });
          }
          return { acked, conflicts };
        },
        { name, tab, perTab },
      ),
    ),
  );
  const log = await tabs[0].evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    return (await s.readAll()).map(({ id, streamId, revision, position, data }) => ({ id, streamId, revision, position, data }));
  }, name);
  assert.equal(log.length, 4 * perTab * 3);
  assertLogInvariants(log);
  const byPosition = new Map(log.map((e) => [e.position, e]));
  for (const { acked } of results) {
    for (const a of acked) {
      const e = byPosition.get(a.position);
      assert.ok(e, `acknowledged append at ${a.position} is missing`);
      assert.equal(e.streamId, a.stream);
      assert.equal(e.revision, a.revision);
      assert.equal(e.data.tab, a.tab);
      assert.equal(e.data.i, a.i);
    }
  }
  const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
  assert.ok(conflicts > 0, "the tabs really raced (some appends conflicted)");
  console.log(`four tabs: ${log.length} events, ${conflicts} conflicts retried`);
  await context.close();
});

test("group commit across tabs: bursts of un-awaited appends keep the log dense, each append decided alone", async () => {
  const context = await env.browser.newContext();
  const name = `groups-${Date.now()}`;
  const tabs = await Promise.all([0, 1, 2].map(() => storePage(context)));
  const results = await Promise.all(
    tabs.map((page, tab) =>
      page.evaluate(
        async ({ name, tab }) => {
          const s = await EventStore.open({ storage: "indexeddb", name });
          const outcomes = [];
          for (let burst = 0; burst < 5; burst++) {
            // Issued together: one group per burst. Inside it, a stale expected revision and a
            // repeated id must fail alone, and the retry of an earlier append must answer it.
            const id = crypto.randomUUID();
            const calls = [];
            for (let i = 0; i < 20; i++) {
              calls.push(s.append(`T${tab}-${burst}-${i}`, [{ type: "Burst", data: { tab, burst, i } }], { expectedRevision: "no_stream" }));
            }
            calls.push(s.append(`T${tab}-${burst}-0`, [{ type: "Late" }], { expectedRevision: "no_stream" }));
            calls.push(s.append(`T${tab}-${burst}-dup`, [{ id, type: "Dup" }]));
            calls.push(s.append(`T${tab}-${burst}-dup2`, [{ id, type: "Dup" }]));
            calls.push(s.append(`T${tab}-${burst}-dup`, [{ id, type: "Dup" }]));
            const settled = await Promise.allSettled(calls);
            outcomes.push(settled.map((r) => (r.status === "fulfilled" ? ["ok", r.value.position] : [r.reason.code, null])));
          }
          return outcomes;
        },
        { name, tab },
      ),
    ),
  );
  for (const outcomes of results) {
    for (const burst of outcomes) {
      const codes = burst.map(([code]) => code);
      assert.deepEqual(codes.slice(0, 20), Array(20).fill("ok"));
      assert.deepEqual(codes.slice(20), ["WRONG_EXPECTED_REVISION", "ok", "DUPLICATE_EVENT_ID", "ok"]);
      assert.equal(burst[23][1], burst[21][1], "the retry answers the stored append");
    }
  }
  const log = await tabs[0].evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    return (await s.readAll()).map(({ id, streamId, revision, position }) => ({ id, streamId, revision, position }));
  }, name);
  assert.equal(log.length, 3 * 5 * 21);
  assertLogInvariants(log);
  await context.close();
});

test("events survive a page reload", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `reload-${Date.now()}`;
  const written = await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    await s.append("Order-1", [{ type: "A", data: 1 }, { type: "B", data: { x: "y" }, metadata: { m: 1 } }]);
    return s.readAll();
  }, name);
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  const read = await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    return { all: await s.readAll(), rev: await s.streamRevision("Order-1") };
  }, name);
  assert.deepEqual(read.all, written);
  assert.equal(read.rev, 1);
  await context.close();
});

function withProfile(fn) {
  const dir = mkdtempSync(join(tmpdir(), "evstore-profile-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test("events survive a browser restart (persistent profile)", () =>
  withProfile(async (profile) => {
    let context = await launch({ userDataDir: profile });
    let page = await storePage(context);
    await page.evaluate(async () => {
      const s = await EventStore.open({ storage: "indexeddb", name: "restart" });
      for (let i = 0; i < 10; i++) await s.append(`S-${i % 3}`, [{ type: "E", data: i }]);
    });
    await context.close();
    context = await launch({ userDataDir: profile });
    page = await storePage(context);
    const log = await page.evaluate(async () => {
      const s = await EventStore.open({ storage: "indexeddb", name: "restart" });
      return (await s.readAll()).map(({ id, streamId, revision, position, data }) => ({ id, streamId, revision, position, data }));
    });
    assert.deepEqual(log.map((e) => e.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assertLogInvariants(log);
    await context.close();
  }));

test("a browser killed in the middle of appends keeps every acknowledged batch and no partial one", () =>
  withProfile(async (profile) => {
    let context = await launch({ userDataDir: profile });
    const page = await storePage(context);
    const acked = [];
    page.on("console", (m) => {
      const match = /^acked (\d+)$/.exec(m.text());
      if (match) acked.push(Number(match[1]));
    });
    // The page appends batches of 5 as fast as it can and reports each acknowledgement.
    await page.evaluate(() => {
      (async () => {
        const s = await EventStore.open({ storage: "indexeddb", name: "kill" });
        for (let b = 0; ; b++) {
          const batch = Array.from({ length: 5 }, (_, k) => ({ type: "Batched", data: { b, k, pad: "x".repeat(200) } }));
          await s.append(`Batch-${b % 4}`, batch);
          console.log(`acked ${b}`);
        }
      })();
    });
    const deadline = Date.now() + 20_000;
    while (acked.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(acked.length >= 30, "the page was appending");
    execFileSync("pkill", ["-9", "-f", profile]); // kill every Chromium process of this profile, mid-run
    await context.close().catch(() => {});
    const lastAcked = Math.max(...acked);
    context = await launch({ userDataDir: profile });
    const reopened = await storePage(context);
    const log = await reopened.evaluate(async () => {
      const s = await EventStore.open({ storage: "indexeddb", name: "kill" });
      return (await s.readAll()).map(({ id, streamId, revision, position, data }) => ({ id, streamId, revision, position, data }));
    });
    assertLogInvariants(log);
    const batches = new Map();
    for (const e of log) batches.set(e.data.b, [...(batches.get(e.data.b) ?? []), e.data.k]);
    for (const [b, ks] of batches) assert.deepEqual(ks, [0, 1, 2, 3, 4], `batch ${b} is whole`);
    for (let b = 0; b <= lastAcked; b++) assert.ok(batches.has(b), `acknowledged batch ${b} survived the kill`);
    console.log(`kill mid-run: ${acked.length} batches acknowledged, ${batches.size} present after restart`);
    // The store keeps working after the crash.
    const r = await reopened.evaluate(async () => {
      const s = await EventStore.open({ storage: "indexeddb", name: "kill" });
      return s.append("After-crash", [{ type: "E" }], { expectedRevision: "no_stream" });
    });
    assert.equal(r.position, log.length);
    await context.close();
  }));

test("a page closed in the middle of appends leaves no partial batch", async () => {
  const context = await env.browser.newContext();
  const name = `close-${Date.now()}`;
  const writer = await storePage(context);
  await writer.evaluate((name) => {
    (async () => {
      const s = await EventStore.open({ storage: "indexeddb", name });
      for (let b = 0; ; b++) {
        await s.append("Batch", Array.from({ length: 10 }, (_, k) => ({ type: "B", data: { b, k } })));
      }
    })();
  }, name);
  await new Promise((r) => setTimeout(r, 300));
  await writer.close();
  const reader = await storePage(context);
  const log = await reader.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    return (await s.readAll()).map(({ id, streamId, revision, position, data }) => ({ id, streamId, revision, position, data }));
  }, name);
  assert.ok(log.length >= 10, "the writer appended before it was closed");
  assert.equal(log.length % 10, 0, "only whole batches");
  assertLogInvariants(log);
  await context.close();
});

test("another tab's upgrade is never blocked; a newer database is refused, not damaged", async () => {
  const context = await env.browser.newContext();
  const name = `upgrade-${Date.now()}`;
  const old = await storePage(context);
  await old.evaluate(async (name) => {
    window.stores.s = await EventStore.open({ storage: "indexeddb", name });
    await window.stores.s.append("Keep-1", [{ type: "Kept", data: 1 }]);
  }, name);
  // A newer app version in another tab upgrades the schema (to version 5, one past this evstore's)
  // while the old tab is open.
  const newer = await storePage(context);
  const upgraded = await newer.evaluate(
    (name) =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open(name, 5);
        req.onupgradeneeded = () => req.result.createObjectStore("from-the-future");
        req.onblocked = () => setTimeout(() => reject(new Error("upgrade blocked by the old tab")), 3000);
        req.onsuccess = () => {
          const db = req.result;
          const get = db.transaction("events").objectStore("events").getAll();
          get.onsuccess = () => {
            db.close();
            resolve({ version: db.version, events: get.result.length });
          };
        };
        req.onerror = () => reject(req.error);
      }),
    name,
  );
  assert.deepEqual(upgraded, { version: 5, events: 1 });
  // The old tab closed its connection: its calls now fail clearly.
  const oldTab = await old.evaluate(async () => {
    try {
      await window.stores.s.append("Keep-1", [{ type: "Late" }]);
      return "appended";
    } catch (e) {
      return `${e.name} ${e.code} cause:${e.cause instanceof Error && e.cause.message.length > 0} ${e.message}`;
    }
  });
  assert.match(oldTab, /^EventStoreError STORAGE_ERROR cause:true .*closed/);
  // This evstore refuses the newer database instead of touching it.
  const reopen = await newer.evaluate(async (name) => {
    try {
      await EventStore.open({ storage: "indexeddb", name });
      return "opened";
    } catch (e) {
      return `${e.name} ${e.code} ${e.message}`;
    }
  }, name);
  assert.match(reopen, /^EventStoreError STORAGE_ERROR .*newer evstore/);
  await context.close();
});

test("a write refused for lack of space is QUOTA_EXCEEDED, writes nothing, and the store keeps working", () =>
  // Quota is enforced for on-disk profiles (an in-memory context ignores the override).
  withProfile(async (profile) => {
    const context = await launch({ userDataDir: profile });
    const page = await storePage(context);
    const cdp = await context.newCDPSession(page);
    const origin = env.srv.url;
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 2 * 1024 * 1024 });
    await page.evaluate(async () => {
      window.stores.q = await EventStore.open({ storage: "indexeddb", name: "quota" });
      await window.stores.q.append("Small-1", [{ type: "Fits", data: "x" }]);
    });
    const outcome = await page.evaluate(async () => {
      const s = window.stores.q;
      const count = async () => ((await s.readAll({ direction: "backwards", maxCount: 1 }))[0]?.position ?? -1) + 1;
      // Incompressible payloads (the browser compresses what it stores).
      const noise = () => Array.from(crypto.getRandomValues(new Uint8Array(48 * 1024)), (b) => b.toString(36)).join("");
      for (let i = 0; i < 200; i++) {
        const before = await count();
        try {
          await s.append("Big-1", [{ type: "Big", data: noise() }, { type: "Big", data: noise() }]);
        } catch (e) {
          const estimate = await s.storageEstimate();
          return {
            code: e.code, name: e.name, causeName: e.cause?.name, causeIsDomException: e.cause instanceof DOMException,
            before, after: await count(), attempts: i, usage: estimate.usage,
          };
        }
      }
      return { code: "none" };
    });
    assert.equal(outcome.code, "QUOTA_EXCEEDED");
    assert.equal(outcome.name, "EventStoreError");
    assert.equal(outcome.causeName, "QuotaExceededError", "the browser's own error is the cause");
    assert.equal(outcome.causeIsDomException, true, "the cause is the DOMException itself, not a copy");
    assert.equal(outcome.after, outcome.before, "the refused append wrote nothing");
    assert.ok(outcome.attempts > 0 && outcome.usage > 1024 * 1024, `storageEstimate reports the usage (${outcome.usage})`);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin }); // lift the limit
    const after = await page.evaluate(async () => {
      const s = window.stores.q;
      const r = await s.append("Small-1", [{ type: "FitsAgain" }], { expectedRevision: 0 });
      const memory = await EventStore.open({ storage: "memory" });
      return { r, persisted: typeof (await s.persistStorage()), memoryHas: "persistStorage" in memory || "storageEstimate" in memory };
    });
    assert.equal(after.r.nextExpectedRevision, 1, "the store keeps working");
    assert.equal(after.persisted, "boolean");
    assert.equal(after.memoryHas, false, "only IndexedDB stores have the storage methods");
    await context.close();
  }));

test("durability: the mode reaches every readwrite transaction of an append", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const out = await page.evaluate(async () => {
    // Record the durability of each readwrite transaction the store opens.
    // Only while the append runs: opening runs the retention sweep in a transaction of its own.
    let seen = null;
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (...args) {
      const tx = transaction.apply(this, args);
      if (tx.mode === "readwrite") seen?.push(tx.durability);
      return tx;
    };
    const out = {};
    for (const durability of ["strict", "relaxed", "default"]) {
      const s = await EventStore.open({ storage: "indexeddb", name: `dur-${durability}-${Date.now()}`, durability });
      const appending = (seen = []);
      const { position } = await s.append("S-1", [{ type: "E" }]);
      seen = null;
      out[durability] = { position, seen: appending };
    }
    IDBDatabase.prototype.transaction = transaction;
    return out;
  });
  assert.deepEqual(out, {
    strict: { position: 0, seen: ["strict"] },
    relaxed: { position: 0, seen: ["relaxed"] },
    default: { position: 0, seen: ["default"] },
  });
  await context.close();
});

test("close() right after un-awaited appends: the group in flight commits (they succeed), later calls fail CLOSED", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `close-group-${Date.now()}`;
  const out = await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    await s.append("Warm-1", [{ type: "E" }]);
    const calls = [];
    for (let i = 0; i < 10; i++) calls.push(s.append(`S-${i}`, [{ type: "E", data: i }]));
    const closing = s.close();
    calls.push(s.append("After-1", [{ type: "E" }]), s.readAll());
    const codes = (await Promise.allSettled(calls)).map((r) => (r.status === "fulfilled" ? "ok" : r.reason.code));
    await closing;
    const again = await EventStore.open({ storage: "indexeddb", name });
    const stored = (await again.readAll()).map((e) => e.streamId);
    await again.close();
    return { codes, stored };
  }, name);
  assert.deepEqual(out.codes, [...Array(10).fill("ok"), "CLOSED", "CLOSED"]);
  assert.deepEqual(out.stored, ["Warm-1", ...Array.from({ length: 10 }, (_, i) => `S-${i}`)]);
  await context.close();
});

test("closing a synced IndexedDB store ends its live subscriptions quietly (no onError)", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `close-synced-${Date.now()}`;
  const out = await page.evaluate(async (name) => {
    // A token that never comes: the store stays "connecting", with no network at all.
    const sync = { url: "http://127.0.0.1:8/t/none", token: () => new Promise(() => {}) };
    const s = await EventStore.open({ storage: "indexeddb", name, sync });
    await s.append("Doc-1", [{ type: "A" }]);
    const errors = [];
    const caughtUp = [];
    for (const options of [{}, { streamId: "Doc-1" }, { checkpoint: "rm" }]) {
      caughtUp.push(
        new Promise((onCaughtUp) => s.subscribe(() => {}, { ...options, onCaughtUp, onError: (e) => errors.push([e.code, e.message]) })),
      );
    }
    await Promise.all(caughtUp);
    // After onCaughtUp a subscription reads the log once more, then waits for wake-ups: a few
    // reads of the same database later, all are waiting, as a live subscription mostly is.
    for (let i = 0; i < 4; i++) await s.readAll();
    await s.close();
    // The subscriptions' wake-up after close runs in microtasks (and a read it might start, in
    // one IndexedDB round trip): a macrotask and a round trip on another database come after.
    await new Promise((r) => setTimeout(r, 0));
    const other = await EventStore.open({ storage: "indexeddb", name: `${name}-other` });
    await other.readAll();
    await other.close();
    return errors;
  }, name);
  assert.deepEqual(out, []);
  await context.close();
});

test("a checkpointed subscription whose handler runs while the store closes ends quietly (the checkpoint is not recorded)", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `close-checkpoint-${Date.now()}`;
  const out = await page.evaluate(async (name) => {
    const s = await EventStore.open({ storage: "indexeddb", name });
    const errors = [];
    let entered;
    let release;
    const inHandler = new Promise((r) => (entered = r));
    s.subscribe(() => new Promise((r) => ((release = r), entered())), { checkpoint: "rm", onError: (e) => errors.push([e.code, e.message]) });
    await s.append("Doc-1", [{ type: "A" }]);
    await inHandler;
    await s.close();
    release(); // the handler finishes after close: its checkpoint would be recorded now
    await new Promise((r) => setTimeout(r, 0));
    const again = await EventStore.open({ storage: "indexeddb", name });
    const redelivered = await new Promise((resolve) => {
      const seen = [];
      const sub = again.subscribe((e) => void seen.push(e.type), { checkpoint: "rm", onCaughtUp: () => (sub.unsubscribe(), resolve(seen)) });
    });
    await again.close();
    return { errors, redelivered };
  }, name);
  assert.deepEqual(out, { errors: [], redelivered: ["A"] });
  await context.close();
});

test("a database written by the previous version (schema 2: checkpoints in their own store) opens with its events and checkpoints", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `schema-2-${Date.now()}`;
  const out = await page.evaluate(async (name) => {
    const request = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
    // The database as evstore's schema version 2 wrote it: three events, checkpoint "proj" at 1.
    const open = indexedDB.open(name, 2);
    open.onupgradeneeded = () => {
      const db = open.result;
      const events = db.createObjectStore("events", { keyPath: "position" });
      events.createIndex("stream", ["streamId", "revision"], { unique: true });
      events.createIndex("id", "id", { unique: true });
      db.createObjectStore("checkpoints", { keyPath: "name" });
      db.createObjectStore("meta");
    };
    const old = await request(open);
    const tx = old.transaction(["events", "checkpoints"], "readwrite");
    for (let position = 0; position < 3; position++) {
      const id = `0190b6c6-0000-7000-8000-00000000000${position}`;
      tx.objectStore("events").add({ position, id, streamId: "Doc-1", type: `E${position}`, revision: position, data: "{}", metadata: "{}", createdAt: 1 });
    }
    tx.objectStore("checkpoints").put({ name: "proj", position: 1 });
    await new Promise((resolve) => (tx.oncomplete = resolve));
    old.close();
    // This evstore opens it: the events are there, the checkpoint resumes after 1.
    const resumed = async () => {
      const s = await EventStore.open({ storage: "indexeddb", name });
      const types = await new Promise((resolve) => {
        const seen = [];
        const sub = s.subscribe((e) => void seen.push(e.type), { checkpoint: "proj", onCaughtUp: () => (sub.unsubscribe(), resolve(seen)) });
      });
      const all = (await s.readAll()).map((e) => e.type);
      await s.close();
      return { types, all };
    };
    const first = await resumed();
    const again = await resumed(); // the moved checkpoint (now at 2) is the one read
    const db = await request(indexedDB.open(name));
    const read = db.transaction(["checkpoints", "meta"]);
    const legacy = await request(read.objectStore("checkpoints").count());
    const moved = await request(read.objectStore("meta").get("checkpoint/proj"));
    db.close();
    return { first, again, version: db.version, legacy, moved };
  }, name);
  assert.deepEqual(out, {
    first: { types: ["E2"], all: ["E0", "E1", "E2"] },
    again: { types: [], all: ["E0", "E1", "E2"] },
    version: 4,
    legacy: 0,
    moved: "2",
  });
  await context.close();
});

test("a database written by schema 3 opens at schema 4 with its events, meta and ids; schema 3 can no longer open it", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `schema-3-${Date.now()}`;
  const out = await page.evaluate(async (name) => {
    const request = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
    // The database as evstore's schema version 3 wrote it: events and meta, no checkpoint store.
    const open = indexedDB.open(name, 3);
    open.onupgradeneeded = () => {
      const db = open.result;
      const events = db.createObjectStore("events", { keyPath: "position" });
      events.createIndex("stream", ["streamId", "revision"], { unique: true });
      events.createIndex("id", "id", { unique: true });
      db.createObjectStore("meta");
    };
    const old = await request(open);
    const tx = old.transaction(["events", "meta"], "readwrite");
    for (let position = 0; position < 3; position++) {
      const id = `0190b6c6-0000-7000-8000-00000000000${position}`;
      tx.objectStore("events").add({ position, id, streamId: "Doc-1", type: `E${position}`, revision: position, data: `{"n":${position}}`, metadata: "{}", createdAt: 1 });
    }
    tx.objectStore("meta").put("1", "checkpoint/proj");
    await new Promise((resolve) => (tx.oncomplete = resolve));
    old.close();
    const s = await EventStore.open({ storage: "indexeddb", name });
    const all = (await s.readAll()).map((e) => [e.type, e.data.n]);
    // A retry of a stored id is answered from the store; a new append continues the stream.
    const retry = await s.append("Doc-1", [{ id: "0190b6c6-0000-7000-8000-000000000001", type: "E1", data: { n: 1 } }]);
    const next = await s.append("Doc-1", [{ type: "E3", data: { n: 3 } }], { expectedRevision: 2 });
    const types = await new Promise((resolve) => {
      const seen = [];
      const sub = s.subscribe((e) => void seen.push(e.type), { checkpoint: "proj", onCaughtUp: () => (sub.unsubscribe(), resolve(seen)) });
    });
    await s.close();
    const db = await request(indexedDB.open(name));
    const version = db.version;
    db.close();
    // What evstore of schema 3 does on open: ask for version 3, which IndexedDB now refuses
    // (VersionError, which that version reports as "written by a newer evstore").
    const stale = await request(indexedDB.open(name, 3)).then(
      (db) => (db.close(), "opened"),
      (e) => e.name,
    );
    return { all, retry: [retry.position, retry.nextExpectedRevision], next: [next.position, next.nextExpectedRevision], types, version, stale };
  }, name);
  assert.deepEqual(out, {
    all: [["E0", 0], ["E1", 1], ["E2", 2]],
    retry: [1, 1],
    next: [3, 3],
    types: ["E2", "E3"],
    version: 4,
    stale: "VersionError",
  });
  await context.close();
});

test("erasure through the package: after delete, tombstone, truncate and maxCount no object store holds the marker", async () => {
  const context = await env.browser.newContext();
  const page = await storePage(context);
  const name = `erasure-${Date.now()}`;
  const marker = `ERASE-ME-${crypto.randomUUID()}`;
  const kept = `KEEP-ME-${crypto.randomUUID()}`;
  const out = await page.evaluate(
    async ({ name, marker, kept }) => {
      const s = await EventStore.open({ storage: "indexeddb", name });
      const marked = (n, m = marker) => Array.from({ length: n }, (_, i) => ({ type: "Noted", data: { note: m, i }, metadata: { by: m } }));
      await s.append("Del-1", marked(3));
      await s.setStreamMetadata("Del-1", { custom: { owner: marker } });
      await s.setStreamMetadata("Del-1", { custom: { owner: "nobody" } });
      await s.deleteStream("Del-1");
      await s.append("Tomb-1", marked(4));
      await s.setStreamMetadata("Tomb-1", { custom: { owner: marker } });
      await s.tombstoneStream("Tomb-1");
      await s.append("Trunc-1", marked(3));
      await s.append("Trunc-1", marked(2, "clean"));
      await s.setStreamMetadata("Trunc-1", { truncateBefore: 3 });
      await s.setStreamMetadata("Max-1", { maxCount: 2 });
      await s.append("Max-1", marked(3));
      await s.append("Max-1", marked(2, "clean"));
      await s.append("Keep-1", marked(1, kept));
      const reads = {
        del: (await s.readStream("Del-1")).length,
        tomb: await s.readStream("Tomb-1").then(() => "read", (e) => `${e.code} ${e.streamId}`),
        trunc: (await s.readStream("Trunc-1")).map((e) => e.revision),
        max: (await s.readStream("Max-1")).map((e) => e.revision),
        all: JSON.stringify(await s.readAll()).includes(marker),
      };
      await s.close();
      // Every object store, raw, through cursors.
      const request = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
      const db = await request(indexedDB.open(name));
      const stores = [...db.objectStoreNames];
      const tx = db.transaction(stores);
      let dump = "";
      for (const store of stores) {
        await new Promise((resolve, reject) => {
          const cursor = tx.objectStore(store).openCursor();
          cursor.onerror = () => reject(cursor.error);
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (!c) return resolve();
            dump += `${store} ${JSON.stringify(c.key)} ${JSON.stringify(c.value)}\n`;
            c.continue();
          };
        });
      }
      db.close();
      return { reads, stores, erased: !dump.includes(marker), sees: dump.includes(kept) };
    },
    { name, marker, kept },
  );
  assert.deepEqual(out, {
    reads: { del: 0, tomb: "STREAM_DELETED Tomb-1", trunc: [3, 4], max: [3, 4], all: false },
    stores: ["events", "meta"],
    erased: true,
    sees: true,
  });
  await context.close();
});
