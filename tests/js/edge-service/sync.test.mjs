// The WebSocket live feed (GET /t/{tenant}/sync) in real workerd: catch-up from a position, then
// live events from appends on any route; tokens via the `bearer.<jwt>` subprotocol or the
// Authorization header, never the URL; refusals at the handshake; expiry checked lazily (on each
// message and before each send) with renewal in place; protocol errors; bounded frames.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, now, SECRET, startEdge, token, uuid } from "./harness.mjs";
import { collect, openFeed, PROTOCOL } from "./socket.mjs";

let edge;
const acme = token("acme");
const feeds = [];

before(async () => {
  edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET } });
});
after(async () => {
  for (const f of feeds) f.ws?.terminate();
  await edge?.stop();
});

async function open(tenant, t, options) {
  const feed = await openFeed(edge, tenant, t, options);
  feeds.push(feed);
  return feed;
}
const append = async (stream, events, t = acme, tenant = "acme") => {
  const res = await call(edge, "POST", `/t/${tenant}/streams/${stream}`, { token: t, body: { events } });
  assert.equal(res.status, 200, res.text);
  return res.body;
};
const readAll = async (tenant = "acme", t = acme) => (await call(edge, "GET", `/t/${tenant}/all?maxCount=1000`, { token: t })).body.events;
const sleepUntil = (epochSeconds) => new Promise((r) => setTimeout(r, Math.max(0, epochSeconds * 1000 - Date.now() + 150)));

/** The id of acme's event at `position` (a pull names it: protocol v2), or undefined for null. */
const idAt = async (position, tenant = "acme", t = acme) =>
  position === null ? undefined : (await call(edge, "GET", `/t/${tenant}/all?fromPosition=${position}&maxCount=1`, { token: t })).body.events[0].id;

/** Pulls after `after` and returns the caught-up events and the caughtUp frame. */
async function pull(feed, after, expected) {
  feed.send({ v: 4, type: "pull", after, afterId: await idAt(after) });
  const { events, other } = await collect(feed, expected);
  const caughtUp = other ?? (await feed.next());
  assert.equal(caughtUp?.type, "caughtUp", JSON.stringify(caughtUp));
  return { events, caughtUp };
}

describe("catch-up then live", () => {
  test("token as subprotocol: the backlog, caughtUp with the head, then every later append live", async () => {
    await append(`Feed-${uuid()}`, [{ type: "A" }, { type: "B" }]);
    const log = await readAll();
    const feed = await open("acme", acme);
    assert.equal(feed.protocol, PROTOCOL, "the server answers the protocol, not the token");
    const { events, caughtUp } = await pull(feed, null, log.length);
    assert.deepEqual(events, log, "the backlog equals GET /all, with positions");
    assert.equal(caughtUp.head, log.at(-1).position);
    assert.equal(typeof caughtUp.epoch, "string");

    const r1 = await append(`Feed-${uuid()}`, [{ type: "C", data: { n: 1 } }, { type: "D" }]);
    const r2 = await append(`Other-${uuid()}`, [{ type: "E" }]);
    const { events: live } = await collect(feed, 3);
    assert.deepEqual(live.map((e) => [e.type, e.position]), [["C", r1.position - 1], ["D", r1.position], ["E", r2.position]]);
    assert.deepEqual(live, (await readAll()).slice(-3), "live events are the recorded events");
    assert.deepEqual(feed.pending(), []);
  });

  test("pull after a position delivers only later events; Authorization header clients work too", async () => {
    await append(`Feed-${uuid()}`, [{ type: "A" }, { type: "B" }, { type: "C" }]);
    const log = await readAll();
    const after = log.at(-3).position;
    const feed = await open("acme", acme, { via: "header" });
    assert.equal(feed.protocol, "", "no subprotocol offered, none answered");
    const { events, caughtUp } = await pull(feed, after, 2);
    assert.deepEqual(events.map((e) => e.position), [after + 1, after + 2]);
    assert.equal(caughtUp.head, after + 2);
    const r = await append(`Feed-${uuid()}`, [{ type: "Z" }]);
    const { events: live } = await collect(feed, 1);
    assert.equal(live[0].position, r.position);
  });

  test("several sockets and concurrent appends: each sees every position once, in order", async () => {
    const head = (await readAll()).at(-1).position;
    const a = await open("acme", acme);
    const b = await open("acme", acme, { via: "header" });
    await pull(a, head, 0);
    await pull(b, head, 0);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => append(`Conc-${i % 3}`, [{ type: "P" }, { type: "Q" }])));
    const last = Math.max(...results.map((r) => r.position));
    assert.equal(last, head + 40);
    for (const feed of [a, b]) {
      const { events } = await collect(feed, 40);
      assert.deepEqual(events.map((e) => e.position), Array.from({ length: 40 }, (_, i) => head + 1 + i));
    }
  });

  test("frames stay bounded (~500 KB): a large backlog arrives in several frames, without gaps", async () => {
    const before = (await readAll()).at(-1).position;
    for (let i = 0; i < 4; i++) await append(`Large-${uuid()}`, [{ type: "L", data: "x".repeat(200 * 1024) }, { type: "L", data: "y".repeat(200 * 1024) }]);
    const feed = await open("acme", acme);
    feed.send({ v: 4, type: "pull", after: before, afterId: await idAt(before) });
    const { events, frames } = await collect(feed, 8);
    assert.deepEqual(events.map((e) => e.position), Array.from({ length: 8 }, (_, i) => before + 1 + i));
    assert.ok(frames.length >= 3, `${frames.length} frames`);
    for (const f of frames) assert.ok(JSON.stringify(f).length < 700_000, `frame of ${JSON.stringify(f).length} bytes`);
    assert.equal((await feed.next()).type, "caughtUp");
  });
});

describe("handshake refusals", () => {
  test("no token, a token in the URL, a bad token: 401; another tenant: 403; nothing revealed", async () => {
    for (const [t, options, status] of [
      [null, {}, 401],
      [null, { path: `/t/acme/sync?token=${acme}` }, 401],
      [null, { path: `/t/acme/sync?access_token=${acme}` }, 401],
      ["garbage", {}, 401],
      [token("acme", { exp: now() - 1 }), {}, 401],
      [token("acme", {}, "wrong-secret"), { via: "header" }, 401],
      [token("mallory"), {}, 403],
      [token("mallory"), { via: "header" }, 403],
    ]) {
      const feed = await open("acme", t, options);
      assert.ok(feed.refused, `refused: ${JSON.stringify(options)}`);
      assert.equal(feed.refused.status, status);
      assert.equal(feed.refused.body.error.code, status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN");
    }
  });

  test("a subprotocol list without evstore.sync.v4 (or an older version), and a plain GET: 400", async () => {
    const res = await call(edge, "GET", "/t/acme/sync", { token: acme });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "INVALID_ARGUMENT");
    for (const protocols of [["chat"], ["chat", `bearer.${acme}`]]) {
      const other = await open("acme", acme, { via: "header", protocols });
      assert.equal(other.refused?.status, 400, JSON.stringify(protocols));
      assert.equal(other.refused.body.error.code, "INVALID_ARGUMENT");
    }
  });
});

describe("tokens on a live socket", () => {
  test("expiry is checked before each send and on each message; renewal in place keeps the feed", async () => {
    const exp = now() + 4; // room for three handshakes and pulls on a loaded machine
    const short = token("acme", { exp });
    const expiring = await open("acme", short);
    const renewed = await open("acme", short);
    const idle = await open("acme", short);
    for (const f of [expiring, renewed, idle]) await pull(f, null, (await readAll()).length);

    renewed.send({ type: "auth", token: token("acme", { exp: now() + 3600 }) });
    const ack = await renewed.next();
    assert.equal(ack.type, "authenticated");
    assert.ok(ack.exp > exp);

    await sleepUntil(exp);
    const r = await append(`Exp-${uuid()}`, [{ type: "AfterExpiry" }]);

    const err = await expiring.next();
    assert.equal(err.type, "error");
    assert.equal(err.error.code, "UNAUTHENTICATED");
    assert.equal((await expiring.closed).code, 4401);
    assert.deepEqual(expiring.pending(), [], "no event sent after expiry");

    const { events } = await collect(renewed, 1);
    assert.equal(events[0].position, r.position, "the renewed socket goes on");

    // A socket that was idle at expiry learns it at its next message.
    idle.send({ v: 4, type: "pull", after: null });
    const idleErr = await idle.next();
    assert.equal(idleErr.error.code, "UNAUTHENTICATED");
    assert.equal((await idle.closed).code, 4401);
  });

  test("renewal with a bad token closes 4401; with another tenant's token 4403", async () => {
    const bad = await open("acme", acme);
    bad.send({ type: "auth", token: token("acme", {}, "wrong-secret") });
    assert.equal((await bad.next()).error.code, "UNAUTHENTICATED");
    assert.equal((await bad.closed).code, 4401);

    const other = await open("acme", acme);
    other.send({ type: "auth", token: token("globex") });
    assert.equal((await other.next()).error.code, "FORBIDDEN");
    assert.equal((await other.closed).code, 4403);
  });

  test("pulling needs the read scope", async () => {
    const feed = await open("acme", token("acme", { scope: "append" }));
    feed.send({ v: 4, type: "pull", after: null });
    const frame = await feed.next();
    assert.equal(frame.type, "error");
    assert.equal(frame.error.code, "FORBIDDEN");
    await append(`Scope-${uuid()}`, [{ type: "Hidden" }]);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(feed.pending(), [], "no events for a socket without read");
  });
});

describe("protocol errors", () => {
  test("bad messages get an error frame and the socket stays usable", async () => {
    const feed = await open("acme", acme);
    const head = (await readAll()).at(-1).position;
    for (const msg of ["{not json", "[1]", JSON.stringify({ type: "nope" }), JSON.stringify({ type: "pull", after: null }), JSON.stringify({ v: 5, type: "pull", after: null }), JSON.stringify({ v: 4, type: "pull", after: 0, afterId: 5 }), JSON.stringify({ v: 4, type: "pull", after: -1 }), JSON.stringify({ v: 4, type: "pull", after: "0" }), JSON.stringify({ v: 4, type: "pull", after: null, extra: 1 })]) {
      feed.send(msg);
      const frame = await feed.next();
      assert.equal(frame.type, "error", msg);
      assert.equal(frame.error.code, "INVALID_ARGUMENT", msg);
      assert.equal(typeof frame.error.message, "string");
    }
    feed.send({ v: 4, type: "pull", after: head + 10, afterId: uuid() });
    const beyond = await feed.next();
    assert.equal(beyond.error.code, "INVALID_ARGUMENT");
    assert.equal(beyond.error.head, head);
    const { caughtUp } = await pull(feed, head, 0);
    assert.equal(caughtUp.head, head);
    const ping = await (feed.send({ type: "ping" }), feed.next());
    assert.deepEqual(ping, { type: "pong" });
  });
});
