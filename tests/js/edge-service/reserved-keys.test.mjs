// Metadata keys starting with `$` are the store's own (it stamps `$schemaVersion`): the edge
// service's HTTP append is a caller's append like any other, so it refuses them with
// 400 INVALID_ARGUMENT naming the key, and writes nothing of the request (issue 22). Only top-level
// metadata keys are reserved: `$` in nested metadata or in data is the app's own business.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { call, startEdge, token, uuid } from "./harness.mjs";

let edge;
const t = token("acme");

before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
  if (process.env.EDGE_DEBUG) console.error(edge?.stderr);
});

const append = (stream, body) => call(edge, "POST", `/t/acme/streams/${encodeURIComponent(stream)}`, { token: t, body });
const readAll = () => call(edge, "GET", "/t/acme/all", { token: t });
const readStream = (stream) => call(edge, "GET", `/t/acme/streams/${encodeURIComponent(stream)}`, { token: t });

/** The whole log of the tenant, as the service serves it. */
async function log() {
  const res = await readAll();
  assert.equal(res.status, 200, res.text);
  return res.body.events;
}

test("an HTTP append with a top-level `$` metadata key is 400 INVALID_ARGUMENT naming the key, and writes nothing", async () => {
  const existing = `Item-${uuid()}`;
  const first = await append(existing, { events: [{ type: "ItemAdded", data: { name: "Milk" } }], expectedRevision: "no_stream" });
  assert.equal(first.status, 200, first.text);
  const held = await log();

  const fresh = `Item-${uuid()}`;
  for (const [stream, events, key] of [
    [fresh, [{ type: "ItemAdded", data: { name: "Eggs" }, metadata: { $schemaVersion: 2 } }], "$schemaVersion"],
    [fresh, [{ type: "ItemAdded", data: { name: "Eggs" }, metadata: { device: "a", $mine: true } }], "$mine"],
    // The second event's key refuses the whole append: the first is not written either.
    [existing, [{ type: "ItemChecked", data: {} }, { type: "ItemRenamed", data: { name: "Oat milk" }, metadata: { $schemaVersion: 1 } }], "$schemaVersion"],
  ]) {
    const res = await append(stream, { events, expectedRevision: "any" });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, "INVALID_ARGUMENT", res.text);
    assert.ok(res.body.error.message.includes(key), `the message names ${key}: ${res.body.error.message}`);
    assert.match(res.body.error.message, /reserved/, res.body.error.message);
  }
  assert.deepEqual(await log(), held, "nothing written");
  assert.deepEqual((await readStream(existing)).body.events.map((e) => e.type), ["ItemAdded"]);
  const none = await readStream(fresh);
  assert.deepEqual(none.status === 200 ? none.body.events : [], [], `the refused stream holds nothing: ${none.text}`);

  // `$` below the top level of metadata, and anywhere in data, is not reserved.
  const ok = await append(fresh, { events: [{ type: "ItemAdded", data: { $price: 2 }, metadata: { note: { $x: 1 } } }], expectedRevision: "no_stream" });
  assert.equal(ok.status, 200, ok.text);
  const [stored] = (await readStream(fresh)).body.events;
  assert.deepEqual([stored.data, stored.metadata], [{ $price: 2 }, { note: { $x: 1 } }], "stored as sent: the edge has no schema, so no version stamp");
});
