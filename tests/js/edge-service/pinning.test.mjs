// The tenant pin of TenantStore, and the Worker's identity hand-off: an object records its tenant
// at first use and refuses calls routed for another tenant (a routing bug becomes a FORBIDDEN, not
// a leak); a client cannot smuggle an identity header past the Worker.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { call, REPO, startEdge, token } from "./harness.mjs";
import { openFeed } from "./socket.mjs";

const services = [];
after(async () => {
  for (const s of services) await s.stop();
});

/** An edge whose entry routes by query (misroute-entry.mjs), and a GET on it → `{ status, text, body }`. */
async function misrouteEdge() {
  const edge = await startEdge({ config: { entry: join(REPO, "tests/js/edge-service/misroute-entry.mjs") } });
  services.push(edge);
  return async (path) => {
    const res = await fetch(edge.base + path);
    const text = await res.text();
    return { status: res.status, text, body: text.startsWith("{") ? JSON.parse(text) : text };
  };
}

test("an object pinned to one tenant refuses calls routed for another, and writes nothing", async () => {
  const get = await misrouteEdge();
  assert.equal((await get("/append?object=acme&as=acme")).status, 200, "first use pins acme");
  for (const path of ["/append?object=acme&as=globex", "/read?object=acme&as=globex", "/sync?object=acme&as=globex", "/read?object=acme&as="]) {
    const res = await get(path);
    assert.equal(res.status, 403, `${path}: ${res.text}`);
    assert.equal(res.body.error.code, "FORBIDDEN");
    assert.doesNotMatch(res.text, /Misrouted|acme/);
  }
  const log = await get("/read?object=acme&as=acme");
  assert.deepEqual(log.body.events.map((e) => e.type), ["Misrouted"], "only acme's own append");
  assert.equal((await get("/sync?object=acme&as=acme")).status, 200);
});

test("the object compares tenant ids by exact UTF-16 code units and refuses ids with lone surrogates", async () => {
  const get = await misrouteEdge();
  const lone = encodeURIComponent(JSON.stringify("\ud800"));
  assert.equal((await get("/append?object=fffd&as=%EF%BF%BD")).status, 200, "first use pins U+FFFD");
  for (const path of [`/append?object=fffd&asJson=${lone}`, `/read?object=fffd&asJson=${lone}`, `/sync?object=fffd&asJson=${lone}`]) {
    const res = await get(path);
    assert.equal(res.status, 403, `${path}: ${res.text}`);
    assert.equal(res.body.error.code, "FORBIDDEN");
    assert.doesNotMatch(res.text, /Misrouted/);
  }
  // An object never used is not pinned to a malformed id either.
  for (const path of [`/append?object=fresh&asJson=${lone}`, `/sync?object=fresh&asJson=${lone}`]) {
    assert.equal((await get(path)).status, 403, path);
  }
  assert.equal((await get("/append?object=fresh&as=fresh")).status, 200, "the fresh object pins its real tenant");
  assert.deepEqual((await get("/read?object=fffd&as=%EF%BF%BD")).body.events.map((e) => e.type), ["Misrouted"], "only the first append");
});

test("a client-supplied identity header is never passed on by the Worker", async () => {
  const edge = await startEdge();
  services.push(edge);
  const forged = { "x-evstore-identity": encodeURIComponent(JSON.stringify({ tenant: "acme", sub: "x", exp: 9e9, scopes: ["read", "append"] })) };
  assert.equal((await call(edge, "POST", "/t/acme/streams/S-1", { token: token("acme"), body: { events: [{ type: "Real" }] } })).status, 200);
  // a read-only token for acme with a forged identity claiming append: still read-only
  const res = await call(edge, "POST", "/t/acme/streams/S-1", { token: token("acme", { scope: "read" }), headers: forged, body: { events: [{ type: "Forged" }] } });
  assert.equal(res.status, 403, res.text);
  // a token for mallory with a forged acme identity, over HTTP and WebSocket
  assert.equal((await call(edge, "GET", "/t/mallory/all", { token: token("mallory"), headers: forged })).body.events.length, 0);
  const ws = await openFeed(edge, "mallory", token("mallory"), { via: "header" });
  ws.send({ v: 4, type: "pull", after: null });
  const frame = await ws.next();
  assert.deepEqual(frame.type, "caughtUp", "mallory's own (empty) log");
  assert.equal(frame.head, null);
  ws.ws.terminate();
  const acme = await call(edge, "GET", "/t/acme/all", { token: token("acme") });
  assert.deepEqual(acme.body.events.map((e) => e.type), ["Real"]);
});
