// The edge service's host interface (edge/src/service/host.js) is enough for a second host: the
// shared `respond`, `Tenant` and live feed run here in Node with an in-memory host — one memory
// evstore per tenant (the real package), an in-process tenants map, and sockets that are plain
// objects with the methods the feed uses — and answer HTTP routes and a sync pull/push end to end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { respond } from "../../../edge/src/service/respond.js";
import { Tenant } from "../../../edge/src/service/tenant.js";
import { SECRET, token, uuid } from "./harness.mjs";

const env = { EVSTORE_JWT_SECRET: SECRET };
const PROTOCOL = "evstore.sync.v4";

/** A sync socket held in memory: what it was sent, its close, its attachment (copied like a DO's). */
class MemorySocket {
  constructor() {
    this.readyState = 1;
    this.bufferedAmount = 0;
    this.frames = [];
    this.closedWith = null;
    this.attachment = null;
  }
  send(text) {
    if (this.readyState !== 1) throw new Error("the socket is closed");
    this.frames.push(JSON.parse(text));
  }
  close(code, reason) {
    this.readyState = 3;
    this.closedWith ??= { code, reason };
  }
  serializeAttachment(value) {
    this.attachment = structuredClone(value);
  }
  deserializeAttachment() {
    return structuredClone(this.attachment);
  }
  /** The frames sent since the last call. */
  take() {
    return this.frames.splice(0);
  }
}

/**
 * A host of the service in this process: `tenants` for `respond` (each tenant's `Tenant` built at
 * its first call, on a memory store), and `deliver` for a socket's messages (answering pings itself,
 * as the host must).
 */
function memoryHost() {
  const opened = new Map();
  const open = async () => {
    const sockets = new Set();
    let pinned = null;
    const tenant = new Tenant({
      env,
      store: await EventStore.open({ storage: "memory" }),
      epoch: uuid(),
      pinned: { get: () => pinned, pin: async (t) => (pinned ??= t) },
      sockets: () => [...sockets].filter((s) => s.readyState === 1),
      accept(attachment, protocol) {
        const socket = new MemorySocket();
        socket.serializeAttachment(attachment);
        sockets.add(socket);
        return { status: 101, socket, protocol };
      },
      waitUntil: () => {},
    });
    return tenant;
  };
  const tenantOf = (id) => {
    if (!opened.has(id)) opened.set(id, open());
    return opened.get(id);
  };
  const calls = ["append", "readStream", "readAll", "getStreamMetadata", "setStreamMetadata", "deleteStream", "fetch"];
  return {
    tenants: { get: (id) => Object.fromEntries(calls.map((m) => [m, async (...args) => (await tenantOf(id))[m](...args)])) },
    tenantOf,
    async deliver(tenantId, socket, text) {
      if (text === '{"type":"ping"}') return socket.send('{"type":"pong"}');
      return (await tenantOf(tenantId)).webSocketMessage(socket, text);
    },
  };
}

const request = (method, path, { auth, body, headers = {} } = {}) =>
  new Request(`http://service.test${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });

async function call(host, method, path, options) {
  const res = await respond(request(method, path, options), env, host.tenants);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

test("HTTP routes: append and read, 401 without a token, 403 for another tenant", async () => {
  const host = memoryHost();
  const t = token("acme");
  const appended = await call(host, "POST", "/t/acme/streams/Order-1", { auth: t, body: { events: [{ type: "Placed", data: { n: 1 } }, { type: "Paid" }] } });
  assert.equal(appended.status, 200, JSON.stringify(appended.body));
  assert.deepEqual(appended.body, { nextExpectedRevision: 1, position: 1 });
  assert.equal(appended.headers.get("x-content-type-options"), "nosniff");

  const read = await call(host, "GET", "/t/acme/streams/Order-1", { auth: t });
  assert.equal(read.status, 200);
  assert.deepEqual(read.body.events.map((e) => [e.type, e.revision, e.position]), [["Placed", 0, 0], ["Paid", 1, 1]]);
  assert.deepEqual(read.body.events[0].data, { n: 1 });
  const all = await call(host, "GET", "/t/acme/all?fromPosition=1", { auth: t });
  assert.deepEqual(all.body.events.map((e) => e.type), ["Paid"]);

  const conflict = await call(host, "POST", "/t/acme/streams/Order-1", { auth: t, body: { events: [{ type: "Late" }], expectedRevision: "no_stream" } });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, "WRONG_EXPECTED_REVISION");

  const missing = await call(host, "GET", "/t/acme/streams/Order-1");
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.code, "UNAUTHENTICATED");
  const bad = await call(host, "GET", "/t/acme/streams/Order-1", { auth: token("acme", {}, "another-secret-with-enough-entropy-000") });
  assert.equal(bad.status, 401);

  const other = await call(host, "GET", "/t/globex/streams/Order-1", { auth: t });
  assert.equal(other.status, 403);
  assert.equal(other.body.error.code, "FORBIDDEN");
  const readOnly = await call(host, "POST", "/t/acme/streams/Order-2", { auth: token("acme", { scope: "read" }), body: { events: [{ type: "X" }] } });
  assert.equal(readOnly.status, 403);
  const scoped = await call(host, "GET", "/t/acme/streams/Order-1", { auth: token("acme", { streams: ["Cart-*"] }) });
  assert.equal(scoped.status, 403);
  assert.equal((await call(host, "GET", "/t/acme/streams/Order-3", { auth: t })).body.events.length, 0);
});

test("a tenant's object is pinned to its tenant: a call routed for another is refused", async () => {
  const host = memoryHost();
  const t = token("acme");
  assert.equal((await call(host, "POST", "/t/acme/streams/S-1", { auth: t, body: { events: [{ type: "A" }] } })).status, 200);
  const acme = await host.tenantOf("acme");
  const misrouted = await acme.readAll({ tenant: "globex", sub: "x", exp: Date.now() / 1000 + 60, scopes: ["read"] }, {});
  assert.equal(misrouted.status, 403);
  assert.equal(JSON.parse(misrouted.body).error.code, "FORBIDDEN");
  const refused = await acme.fetch("https://tenant.internal/sync", { headers: { upgrade: "websocket", "x-evstore-identity": encodeURIComponent(JSON.stringify({ tenant: "globex", sub: "x", exp: 1e10, scopes: ["read"] })) } });
  assert.equal(refused.status, 403);
});

/** Opens a sync socket through `respond`, as a client would (the token as a subprotocol). */
async function openSocket(host, tenant, auth) {
  const res = await respond(request("GET", `/t/${tenant}/sync`, { headers: { upgrade: "websocket", "sec-websocket-protocol": `${PROTOCOL}, bearer.${auth}` } }), env, host.tenants);
  assert.equal(res.status, 101);
  assert.equal(res.protocol, PROTOCOL);
  return res.socket;
}

test("sync over the host's sockets: pull, catch-up, push, live fan-out, ping", async () => {
  const host = memoryHost();
  const t = token("acme");
  await call(host, "POST", "/t/acme/streams/List-1", { auth: t, body: { events: [{ type: "Created" }, { type: "Renamed" }] } });

  const refused = await respond(request("GET", "/t/acme/sync", { headers: { upgrade: "websocket", "sec-websocket-protocol": PROTOCOL } }), env, host.tenants);
  assert.equal(refused.status, 401);

  const a = await openSocket(host, "acme", t);
  const b = await openSocket(host, "acme", t);
  await host.deliver("acme", a, JSON.stringify({ v: 4, type: "pull", after: null }));
  const [events, caughtUp] = a.take();
  assert.equal(events.type, "events");
  assert.deepEqual(events.events.map((e) => e.type), ["Created", "Renamed"]);
  assert.equal(caughtUp.type, "caughtUp");
  assert.equal(caughtUp.head, 1);
  await host.deliver("acme", b, JSON.stringify({ v: 4, type: "pull", after: 1, afterId: events.events[1].id }));
  assert.deepEqual(b.take().map((f) => f.type), ["caughtUp"]);

  const id = uuid();
  const push = { seq: 1, kind: "events", streamId: "List-1", expectedRevision: 1, createdAt: Date.now(), events: [{ id, type: "ItemAdded", data: { item: "milk" }, metadata: {} }] };
  await host.deliver("acme", a, JSON.stringify({ v: 4, type: "push", batch: 7, appends: [push] }));
  const [live, result] = a.take();
  assert.equal(live.type, "events");
  assert.deepEqual(live.events.map((e) => [e.id, e.position]), [[id, 2]]);
  assert.deepEqual(result, { type: "pushResult", batch: 7, outcomes: [{ result: "ok", nextExpectedRevision: 2, position: 2 }] });
  assert.deepEqual(b.take().map((f) => [f.type, f.after, f.through]), [["events", 1, 2]]);

  // A retry of the same push is idempotent; an HTTP append reaches both sockets live.
  await host.deliver("acme", a, JSON.stringify({ v: 4, type: "push", batch: 8, appends: [push] }));
  assert.deepEqual(a.take().map((f) => f.outcomes?.[0].result), ["already"]);
  await call(host, "POST", "/t/acme/streams/List-2", { auth: t, body: { events: [{ type: "Created" }] } });
  await (await host.tenantOf("acme")).feed.queue;
  for (const s of [a, b]) assert.deepEqual(s.take().map((f) => f.events?.map((e) => e.streamId)), [["List-2"]]);

  await host.deliver("acme", a, '{"type":"ping"}');
  assert.deepEqual(a.take(), [{ type: "pong" }]);
  await host.deliver("acme", b, JSON.stringify({ type: "auth", token: token("globex") }));
  assert.equal(b.closedWith.code, 4403);
  assert.equal((await host.tenantOf("acme")).host.sockets().length, 1);
});
