// A synced store's conflicts under a schema, in Node against the real edge service in workerd:
// `theirs` and `pending` come upcast like every read, a retry of `pending` as read is refused for
// its `$schemaVersion`, `retry(events, { causedBy })` records the cause, and the server and the
// other devices keep every event in its stored form.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { EventStore } from "evstore";
import { call, startEdge, token } from "../edge-service/harness.mjs";

let edge;
const stores = [];
before(async () => {
  edge = await startEdge();
});
after(async () => {
  for (const s of stores) s.close();
  await edge?.stop();
});

/** A token function that waits until `open()` is called: the device stays offline till then. */
function gate(t) {
  let open;
  const opened = new Promise((r) => (open = r));
  return { tokenFn: async () => (await opened, token(t)), open: () => open() };
}

async function device(t, { tokenFn, ...options } = {}) {
  const store = await EventStore.open({ ...options, sync: { url: `${edge.base}/t/${t}`, token: tokenFn ?? (async () => token(t)), WebSocket } });
  stores.push(store);
  return store;
}

async function until(predicate, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const v3 = {
  ItemAdded: {
    version: 3,
    upcast: { 1: (data) => ({ ...data, qty: 1 }), 2: (data) => ({ name: data.title, qty: data.qty }) },
  },
};
const withoutReserved = (metadata) => Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith("$")));

test("a conflict's theirs and pending are upcast; retry drops $ keys and takes causedBy; the server keeps stored forms", async () => {
  const t = `schema-${process.pid}`;
  const old = await device(t); // an app without schema: v1 data
  await old.append("List-1", [{ type: "ItemAdded", data: { title: "milk" }, metadata: { device: "old" } }], { expectedRevision: "no_stream" });
  await old.sync.flush();

  const offline = gate(t);
  const current = await device(t, { tokenFn: offline.tokenFn, schema: v3 });
  await current.append("List-1", [{ type: "ItemAdded", data: { name: "eggs", qty: 6 } }], { expectedRevision: "no_stream" });
  const held = [];
  current.sync.onConflict((c) => held.push(c));
  offline.open();
  await current.sync.flush();
  await until(() => held.length === 1, "onConflict");

  const [c] = await current.sync.conflicts();
  const [milk] = await old.readStream("List-1");
  assert.deepEqual(c.theirs.map((e) => [e.id, e.data, e.metadata]), [[milk.id, { name: "milk", qty: 1 }, { device: "old", $schemaVersion: 3 }]]);
  assert.deepEqual(c.pending.map((e) => [e.data, e.metadata]), [[{ name: "eggs", qty: 6 }, { $schemaVersion: 3 }]]);
  assert.deepEqual(held[0].theirs.map((e) => e.data), [{ name: "milk", qty: 1 }], "onConflict's too");

  // Re-appending what was read, $schemaVersion included: refused, and the conflict stays held.
  const asRead = c.pending.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }));
  await assert.rejects(c.retry(asRead, { expectedRevision: c.actualRevision }), (e) => e.code === "INVALID_ARGUMENT" && /"\$schemaVersion" is reserved/.test(e.message));
  assert.equal((await current.sync.conflicts()).length, 1);
  await assert.rejects(c.retry(asRead, { expectedRevision: c.actualRevision, causedBy: "milk" }), (e) => e.code === "INVALID_ARGUMENT" && /causedBy/.test(e.message));

  const retried = c.pending.map((e) => ({ type: e.type, data: e.data, metadata: withoutReserved(e.metadata) }));
  await c.retry(retried, { expectedRevision: c.actualRevision, causedBy: c.theirs[0] });
  await current.sync.flush();
  assert.deepEqual(await current.sync.conflicts(), []);

  // The server holds each event as its app wrote it.
  const res = await call(edge, "GET", `/t/${t}/streams/List-1`, { token: token(t) });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.events.map((e) => [e.data, e.metadata]), [
    [{ title: "milk" }, { device: "old" }],
    [{ name: "eggs", qty: 6 }, { $schemaVersion: 3, causationId: milk.id, correlationId: milk.id }],
  ]);
  // The app without schema reads both as stored.
  await until(async () => (await old.readStream("List-1")).length === 2, "the old device pulls the retry");
  assert.deepEqual((await old.readStream("List-1")).map((e) => [e.data, e.metadata]), res.body.events.map((e) => [e.data, e.metadata]));
  // The current app reads both at v3.
  assert.deepEqual((await current.readStream("List-1")).map((e) => e.data), [{ name: "milk", qty: 1 }, { name: "eggs", qty: 6 }]);
});
