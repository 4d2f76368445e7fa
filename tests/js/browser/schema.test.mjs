// Schema evolution on IndexedDB in headless Chromium, through the built package: one database
// opened by three app versions in turn (no schema: v1 data; ItemAdded v2; ItemAdded v3), as when
// an app updates, or when two tabs run different releases. Each open states its own schema;
// stored events never change.
import { test } from "node:test";
import assert from "node:assert/strict";
import { storePage as harnessStorePage, useBrowser } from "./harness.mjs";
import { call, startEdge, token } from "../edge-service/harness.mjs";

const env = useBrowser();

test("IndexedDB: older events read upcast, newer ones as stored and never folded; the stored form stays", async () => {
  const context = await env.browser.newContext();
  const page = await harnessStorePage(context, env.srv);
  const name = `schema-${Date.now()}`;
  const result = await page.evaluate(async (name) => {
    const v2 = { ItemAdded: { version: 2, upcast: { 1: (data) => ({ ...data, qty: 1 }) } } };
    const v3 = { ItemAdded: { version: 3, upcast: { ...v2.ItemAdded.upcast, 2: (data) => ({ label: data.name, qty: data.qty }) } } };
    const shape = (events) => events.map((e) => [e.type, e.data, e.metadata]);
    const out = {};

    // The first release: no schema.
    const old = await EventStore.open({ storage: "indexeddb", name });
    await old.append("List-1", [{ type: "ItemAdded", data: { name: "milk" }, metadata: { device: "a" } }]);
    await old.close();

    // The second: ItemAdded v2. Its own appends are stamped.
    const second = await EventStore.open({ storage: "indexeddb", name, schema: v2 });
    await second.append("List-1", [{ type: "ItemAdded", data: { name: "eggs", qty: 6 } }]);
    out.secondRead = shape(await second.readStream("List-1"));
    out.secondAll = shape(await second.readAll({ streams: ["List-*"] }));
    out.secondFold = (await second.aggregateStream("List-1", { initialState: () => 0, evolve: (n, e) => n + e.data.qty })).state;

    // The third, in another "tab" of the same database at the same time: ItemAdded v3.
    const third = await EventStore.open({ storage: "indexeddb", name, schema: v3 });
    await third.append("List-1", [{ type: "ItemAdded", data: { label: "tea", qty: 2 } }]);
    out.thirdRead = shape(await third.readStream("List-1"));
    const delivered = [];
    await new Promise((resolve, reject) => {
      const sub = third.subscribe((e) => void delivered.push(e), { streamId: "List-1", onCaughtUp: () => (sub.unsubscribe(), resolve()), onError: reject });
    });
    out.thirdSubscribe = shape(delivered);

    // The v2 tab meets the v3 event: delivered as stored, folding refused.
    out.secondSeesNewer = shape(await second.readStream("List-1", { fromRevision: 2 }));
    try {
      await second.aggregateStream("List-1", { initialState: () => 0, evolve: (n) => n + 1 });
      out.secondFoldNewer = "folded";
    } catch (e) {
      out.secondFoldNewer = [e.code, e.streamId, e.type, e.version];
    }
    const changes = [];
    out.secondWatch = await new Promise((resolve) => {
      second.watchAggregate("List-1", { initialState: () => 0, evolve: (n) => n + 1, onError: (e) => resolve([e.code, e.streamId, e.type, e.version]) }, (s) => changes.push(s));
    });
    await new Promise((r) => setTimeout(r, 20));
    out.secondWatchChanges = changes;

    // Upcasting failed in the browser: the thrown value itself is the cause.
    const thrown = new Error("cannot upcast");
    const broken = await EventStore.open({ storage: "indexeddb", name, schema: { ItemAdded: { version: 2, upcast: { 1: () => { throw thrown; } } } } });
    try {
      await broken.readAll();
      out.broken = "read";
    } catch (e) {
      out.broken = [e.code, e.type, e.version, e.cause === thrown];
    }

    // Reopened without a schema: what IndexedDB holds, unchanged by every read above.
    for (const s of [second, third, broken]) await s.close();
    const raw = await EventStore.open({ storage: "indexeddb", name });
    out.stored = shape(await raw.readStream("List-1"));
    return out;
  }, name);

  const milk1 = ["ItemAdded", { name: "milk" }, { device: "a" }];
  const eggs2 = ["ItemAdded", { name: "eggs", qty: 6 }, { $schemaVersion: 2 }];
  const tea3 = ["ItemAdded", { label: "tea", qty: 2 }, { $schemaVersion: 3 }];
  assert.deepEqual(result.stored, [milk1, eggs2, tea3], "stored forms, stamped by the app that wrote each");
  const v2 = [["ItemAdded", { name: "milk", qty: 1 }, { device: "a", $schemaVersion: 2 }], eggs2];
  assert.deepEqual(result.secondRead, v2);
  assert.deepEqual(result.secondAll, v2);
  assert.equal(result.secondFold, 7);
  const v3 = [
    ["ItemAdded", { label: "milk", qty: 1 }, { device: "a", $schemaVersion: 3 }],
    ["ItemAdded", { label: "eggs", qty: 6 }, { $schemaVersion: 3 }],
    tea3,
  ];
  assert.deepEqual(result.thirdRead, v3);
  assert.deepEqual(result.thirdSubscribe, v3);
  assert.deepEqual(result.secondSeesNewer, [tea3]);
  assert.deepEqual(result.secondFoldNewer, ["SCHEMA_TOO_NEW", "List-1", "ItemAdded", 3]);
  assert.deepEqual(result.secondWatch, ["SCHEMA_TOO_NEW", "List-1", "ItemAdded", 3]);
  assert.deepEqual(result.secondWatchChanges, [], "no onChange with a partial fold");
  assert.deepEqual(result.broken, ["UPCAST_FAILED", "ItemAdded", 1, true]);
  await context.close();
});

test("IndexedDB + sync: a conflict's pending events queued before the update read upcast after it", async () => {
  const edge = await startEdge();
  const context = await env.browser.newContext();
  try {
    const tenant = `schema-${process.pid}`;
    const jwt = token(tenant);
    const page = await harnessStorePage(context, env.srv);
    // The first release, offline (its token never comes): v1 data queued in IndexedDB.
    const name = `schema-sync-${Date.now()}`;
    await page.evaluate(async ({ name, url }) => {
      const s = await EventStore.open({ storage: "indexeddb", name, sync: { url, token: () => new Promise(() => {}) } });
      await s.append("List-1", [{ type: "ItemAdded", data: { title: "eggs" } }], { expectedRevision: "no_stream" });
      await s.close();
    }, { name, url: `${edge.base}/t/${tenant}` });
    // Meanwhile another device wrote the stream on the server (an HTTP append: version 1 too).
    const res = await call(edge, "POST", `/t/${tenant}/streams/List-1`, { token: jwt, body: { events: [{ type: "ItemAdded", data: { title: "milk" } }], expectedRevision: "no_stream" } });
    assert.equal(res.status, 200, res.text);
    // The updated app (ItemAdded v2) opens the same database and goes online.
    const conflict = await page.evaluate(async ({ name, url, jwt }) => {
      const schema = { ItemAdded: { version: 2, upcast: { 1: (data) => ({ name: data.title, qty: 1 }) } } };
      const s = await EventStore.open({ storage: "indexeddb", name, schema, sync: { url, token: () => jwt } });
      const c = await new Promise((resolve) => s.sync.onConflict(resolve));
      const [held] = await s.sync.conflicts();
      const shape = (events) => events.map((e) => [e.data, e.metadata]);
      const out = { pending: shape(held.pending), theirs: shape(held.theirs), announced: shape(c.pending) };
      await held.retry(held.pending.map((e) => ({ type: e.type, data: e.data })), { expectedRevision: held.actualRevision, causedBy: held.theirs[0] });
      await s.sync.flush();
      out.after = shape(await s.readStream("List-1"));
      await s.close();
      return out;
    }, { name, url: `${edge.base}/t/${tenant}`, jwt });
    assert.deepEqual(conflict.pending, [[{ name: "eggs", qty: 1 }, { $schemaVersion: 2 }]]);
    assert.deepEqual(conflict.announced, conflict.pending);
    assert.deepEqual(conflict.theirs, [[{ name: "milk", qty: 1 }, { $schemaVersion: 2 }]]);
    const server = await call(edge, "GET", `/t/${tenant}/streams/List-1`, { token: jwt });
    const [milk, eggs] = server.body.events;
    assert.deepEqual([milk.data, milk.metadata], [{ title: "milk" }, {}]);
    assert.deepEqual([eggs.data, eggs.metadata], [{ name: "eggs", qty: 1 }, { $schemaVersion: 2, causationId: milk.id, correlationId: milk.id }]);
    assert.deepEqual(conflict.after, [[{ name: "milk", qty: 1 }, { $schemaVersion: 2 }], [eggs.data, eggs.metadata]]);
  } finally {
    await context.close();
    await edge.stop();
  }
});
