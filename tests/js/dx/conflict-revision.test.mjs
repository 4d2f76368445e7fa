// A sync conflict's `actualRevision` is what `retry` takes as `expectedRevision` (issue 18, item
// 19): a number, or "no_stream" when the server's stream has no events — never null, which
// `retry` refuses rather than reading as "any".
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
  for (const s of stores) await s.close();
  await edge?.stop();
});

/** Resolves when `predicate()` holds (polled), or fails after `ms`. */
async function until(predicate, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a conflict on a stream the server has no events of: actualRevision is \"no_stream\", and retry with it holds", async () => {
  const tenant = `conflict-${process.pid}`;
  const id = crypto.randomUUID();
  // The server has the event id already, in another stream.
  const res = await call(edge, "POST", `/t/${tenant}/streams/Other-1`, { token: token(tenant), body: { events: [{ id, type: "Theirs" }] } });
  assert.equal(res.status, 200, res.text);
  // A device, offline until it appended, appends that id to a new stream: the server refuses it.
  let online;
  const connected = new Promise((r) => (online = r));
  const store = await EventStore.open({
    sync: { url: `${edge.base}/t/${tenant}`, token: async () => (await connected, token(tenant)), WebSocket },
  });
  stores.push(store);
  await store.append("Mine-1", [{ id, type: "Mine" }], { expectedRevision: "no_stream" });
  online();
  await until(async () => (await store.sync.conflicts()).length === 1, "the conflict");
  const [conflict] = await store.sync.conflicts();
  assert.equal(conflict.streamId, "Mine-1");
  assert.equal(conflict.error?.code, "DUPLICATE_EVENT_ID");
  assert.equal(conflict.actualRevision, "no_stream");

  // null is not "any": refused, and the stream stays held.
  await assert.rejects(conflict.retry([{ type: "Mine" }], { expectedRevision: null }), { code: "INVALID_ARGUMENT", message: /expectedRevision/ });
  assert.equal((await store.sync.conflicts()).length, 1);

  await conflict.retry([{ type: "Mine" }], { expectedRevision: conflict.actualRevision });
  await store.sync.flush();
  assert.deepEqual(await store.sync.conflicts(), []);
  const server = await call(edge, "GET", `/t/${tenant}/streams/Mine-1`, { token: token(tenant) });
  assert.deepEqual(server.body.events.map((e) => [e.type, e.revision]), [["Mine", 0]]);
});
