// The edge service's hardening, in real workerd: bounded work per sync client (one pull in flight
// per socket, sends paced by the socket's buffer, caps on sockets per tenant and per `sub`, a
// message rate, a maximum socket lifetime), exact tenant comparison (no lone surrogates), the
// client-message limit in UTF-8 bytes, and the optional token checks (aud, iss, lifetime), the
// minimum secret, `nosniff`, JSON bodies only and the `bearer.` subprotocol only on upgrades.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, claims, jwt, now, SECRET, startEdge, token, uuid } from "./harness.mjs";
import { openFeed } from "./socket.mjs";

const services = [];
const feeds = [];
after(async () => {
  for (const f of feeds) f.ws?.terminate();
  await Promise.all(services.map((s) => s.stop()));
});

async function edgeWith(env) {
  const edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET, ...env } });
  services.push(edge);
  return edge;
}
async function open(edge, tenant, t, options) {
  const feed = await openFeed(edge, tenant, t, options);
  feeds.push(feed);
  return feed;
}
/** Every frame until (and with) the first one `stop` accepts, or null once the socket closed. */
async function framesUntil(feed, stop, ms = 30_000) {
  const frames = [];
  for (;;) {
    const frame = await feed.next(ms);
    if (frame === null) return { frames, last: null };
    frames.push(frame);
    if (stop(frame)) return { frames, last: frame };
  }
}

describe("pull amplification", () => {
  let edge;
  const t = token("amp");
  before(async () => {
    edge = await edgeWith({ EVSTORE_MAX_SOCKET_MESSAGES_PER_SECOND: "100000" });
    const data = { text: "x".repeat(1000) };
    for (let b = 0; b < 6; b++) {
      const res = await call(edge, "POST", `/t/amp/streams/Big-${b}`, { token: t, body: { events: Array.from({ length: 600 }, () => ({ type: "Filled", data })) } });
      assert.equal(res.status, 200, res.text);
    }
  });

  test("200 pulls on one socket send a small multiple of one catch-up; a same-tenant request is answered meanwhile", async () => {
    // One catch-up, measured in bytes received.
    const single = await open(edge, "amp", t);
    let one = 0;
    single.ws.on("message", (d) => (one += d.length));
    single.send({ v: 4, type: "pull", after: null });
    const first = await framesUntil(single, (f) => f.type === "caughtUp");
    assert.equal(first.last?.type, "caughtUp");
    assert.equal(first.frames.filter((f) => f.type === "events").reduce((n, f) => n + f.events.length, 0), 3600);
    assert.ok(one > 3_500_000, `a catch-up of several frames (${one} bytes)`);

    // 200 pulls, then a marker answered in its turn (after the last pull's catch-up).
    const feed = await open(edge, "amp", t);
    let received = 0;
    feed.ws.on("message", (d) => (received += d.length));
    for (let i = 0; i < 200; i++) feed.send({ v: 4, type: "pull", after: null });
    feed.send({ type: "marker" });
    let receivedWhenAnswered = null;
    const answered = call(edge, "GET", "/t/amp/all?maxCount=1", { token: t }).then((res) => {
      receivedWhenAnswered = received;
      return res;
    });
    const { frames, last } = await framesUntil(feed, (f) => f.type === "error");
    assert.match(last?.error?.message ?? "", /unknown message type "marker"/);
    const caughtUp = frames.filter((f) => f.type === "caughtUp");
    assert.ok(caughtUp.length >= 1 && caughtUp.at(-1) === frames.at(-2), "the last pull caught up before the marker's answer");
    assert.ok(received <= 4 * one, `the object sent ${received} bytes for 200 pulls of a ${one}-byte catch-up`);
    assert.equal((await answered).status, 200);
    assert.ok(receivedWhenAnswered <= 4 * one, `the request was answered while the pulls ran (${receivedWhenAnswered} bytes received by then)`);

    // The socket is still a working live feed.
    const res = await call(edge, "POST", "/t/amp/streams/After-1", { token: t, body: { events: [{ type: "Later" }] } });
    const live = await framesUntil(feed, (f) => f.type === "events");
    assert.deepEqual(live.last.events.map((e) => [e.type, e.position]), [["Later", res.body.position]]);
  });
});

describe("socket caps", () => {
  test("sockets per sub and per tenant are capped at the upgrade: 429 with the contract's error body", async () => {
    const edge = await edgeWith({ EVSTORE_MAX_SOCKETS_PER_SUB: "2", EVSTORE_MAX_SOCKETS_PER_TENANT: "3" });
    const as = (sub) => token("capped", { sub });
    await open(edge, "capped", as("alice"));
    await open(edge, "capped", as("alice"), { via: "header" });
    const third = await open(edge, "capped", as("alice"));
    assert.equal(third.refused?.status, 429, "a third socket for alice");
    assert.equal(third.refused.body.error.code, "INVALID_ARGUMENT");
    assert.equal(third.refused.body.error.limit, 2);
    assert.match(third.refused.body.error.message, /too many open sync sockets/);

    const bob = await open(edge, "capped", as("bob"));
    assert.equal(bob.refused, undefined, "another sub still gets one");
    const carol = await open(edge, "capped", as("carol"));
    assert.equal(carol.refused?.status, 429, "the tenant is full");
    assert.equal(carol.refused.body.error.limit, 3);
    const elsewhere = await open(edge, "other", token("other", { sub: "alice" }));
    assert.equal(elsewhere.refused, undefined, "another tenant has its own count");

    // A closed socket frees its place.
    bob.close();
    await bob.closed;
    let again;
    for (let i = 0; i < 50 && !(again && !again.refused); i++) again = await open(edge, "capped", as("carol"));
    assert.equal(again.refused, undefined, again.refused && JSON.stringify(again.refused));
  });

  test("over the message rate: an error frame with the limit, then close 4429", async () => {
    const edge = await edgeWith({ EVSTORE_MAX_SOCKET_MESSAGES_PER_SECOND: "5" });
    const feed = await open(edge, "rated", token("rated"));
    for (let i = 0; i < 30; i++) feed.send({ v: 4, type: "pull", after: null });
    const { frames, last } = await framesUntil(feed, () => false);
    assert.equal(last, null, "the socket was closed");
    const error = frames.find((f) => f.type === "error");
    assert.equal(error?.error.code, "INVALID_ARGUMENT", JSON.stringify(frames));
    assert.equal(error.error.limit, 5);
    assert.equal(feed.closeInfo.code, 4429);
    assert.ok(frames.filter((f) => f.type === "caughtUp").length <= 5);
  });

  test("a socket older than the maximum lifetime is closed with 4408 at its next message", async () => {
    const edge = await edgeWith({ EVSTORE_MAX_SOCKET_LIFETIME: "1" });
    const feed = await open(edge, "aged", token("aged"));
    feed.send({ v: 4, type: "pull", after: null });
    assert.equal((await feed.next()).type, "caughtUp");
    await new Promise((r) => setTimeout(r, 1500));
    feed.send({ v: 4, type: "pull", after: null });
    assert.equal(await feed.next(), null, "closed without an answer");
    assert.equal(feed.closeInfo.code, 4408);
    assert.match(feed.closeInfo.reason, /lifetime/);
  });
});

describe("tenant ids are exact UTF-16", () => {
  let edge;
  before(async () => {
    edge = await edgeWith({});
  });

  test("a tid with a lone surrogate is a malformed token; it never opens the tenant whose id has U+FFFD there", async () => {
    const replacement = "\ufffd";
    const written = await call(edge, "POST", "/t/%EF%BF%BD/streams/Private-1", { token: token(replacement), body: { events: [{ type: "Private" }] } });
    assert.equal(written.status, 200, written.text);
    for (const tid of ["\ud800", "\udfff", "a\ud800b", "\udc00\ud800"]) {
      for (const [method, path] of [["GET", "/t/%EF%BF%BD/all"], ["GET", "/t/%EF%BF%BD/streams/Private-1"], ["GET", "/t/%EF%BF%BD/sync"]]) {
        const res = await call(edge, method, path, { token: token(tid) });
        assert.equal(res.status, 401, `${JSON.stringify(tid)} ${path}: ${res.text}`);
        assert.equal(res.body.error.code, "UNAUTHENTICATED");
        assert.doesNotMatch(res.text, /Private/);
      }
    }
    const own = await call(edge, "GET", "/t/%EF%BF%BD/all", { token: token(replacement) });
    assert.deepEqual(own.body.events.map((e) => e.type), ["Private"]);
  });

  test("a route whose tenant is not well-formed UTF-16 is a 400", async () => {
    for (const path of ["/t/%ED%A0%80/all", "/t/a%ED%B0%80/streams/S-1"]) {
      const res = await call(edge, "GET", path, { token: token("a") });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.body.error.code, "INVALID_ARGUMENT");
    }
  });
});

describe("client messages", () => {
  test("the 1 MiB message limit counts UTF-8 bytes", async () => {
    const edge = await edgeWith({});
    const feed = await open(edge, "bytes", token("bytes"));
    // 600,000 UTF-16 units, 1,200,000 UTF-8 bytes: over the limit.
    feed.send(JSON.stringify({ v: 4, type: "pull", after: null, pad: "é".repeat(600_000) }));
    const frame = await feed.next();
    assert.equal(frame.type, "error");
    assert.equal(frame.error.code, "INVALID_ARGUMENT");
    assert.match(frame.error.message, /message over 1048576 bytes/);
    // Within the limit in bytes: answered normally.
    feed.send({ v: 4, type: "pull", after: null });
    assert.equal((await feed.next()).type, "caughtUp");
  });
});

describe("token settings", () => {
  let edge;
  const AUD = "evstore-edge";
  const ISS = "https://id.example";
  before(async () => {
    edge = await edgeWith({ EVSTORE_JWT_AUDIENCE: AUD, EVSTORE_JWT_ISSUER: ISS, EVSTORE_JWT_MAX_LIFETIME: "3600" });
  });
  const signed = (extra) => jwt({ alg: "HS256" }, { ...claims("iss-t"), aud: AUD, iss: ISS, iat: now(), exp: now() + 600, ...extra });
  const status = async (t) => {
    const res = await call(edge, "GET", "/t/iss-t/all", { token: t });
    if (res.status !== 200) assert.equal(res.body.error.code, "UNAUTHENTICATED", res.text);
    return res.status;
  };

  test("aud (a string or an array) and iss must match the configured ones", async () => {
    assert.equal(await status(signed({})), 200);
    assert.equal(await status(signed({ aud: ["other", AUD] })), 200);
    for (const bad of [{ aud: undefined }, { aud: "other" }, { aud: ["other"] }, { aud: [] }, { aud: 7 }, { iss: undefined }, { iss: "https://evil.example" }]) {
      assert.equal(await status(signed(bad)), 401, JSON.stringify(bad));
    }
  });

  test("a token living longer than EVSTORE_JWT_MAX_LIFETIME, without iat, or issued in the future is refused", async () => {
    assert.equal(await status(signed({ iat: now() - 3000, exp: now() + 600 })), 200, "3,600 s exactly");
    assert.equal(await status(signed({ iat: now(), exp: now() + 3601 })), 401);
    assert.equal(await status(signed({ iat: undefined })), 401);
    assert.equal(await status(signed({ iat: "now" })), 401);
    assert.equal(await status(signed({ iat: now() + 7 * 24 * 3600, exp: now() + 7 * 24 * 3600 + 60 })), 401);
  });

  test("without these settings, aud, iss and iat are not required", async () => {
    const plain = await edgeWith({});
    assert.equal((await call(plain, "GET", "/t/x/all", { token: token("x", { aud: "anything" }) })).status, 200);
    assert.equal((await call(plain, "GET", "/t/x/all", { token: token("x", { exp: now() + 30 * 24 * 3600 }) })).status, 200);
  });

  test("a secret under 32 bytes, or a bad maximum lifetime: every request is a 500 that reveals nothing, logged once", async () => {
    const short = "only-31-bytes-of-secret-0123456";
    assert.equal(Buffer.byteLength(short), 31);
    for (const env of [{ EVSTORE_JWT_SECRET: short }, { EVSTORE_JWT_MAX_LIFETIME: "soon" }]) {
      const bad = await edgeWith(env);
      const t = token("acme", {}, env.EVSTORE_JWT_SECRET ?? SECRET);
      for (const [method, path, body] of [["GET", "/t/acme/all"], ["POST", "/t/acme/streams/S-1", { events: [{ type: "A" }] }], ["GET", "/t/acme/sync"], ["GET", "/"], ["OPTIONS", "/t/acme/all"]]) {
        const res = await call(bad, method, path, { token: t, body });
        assert.equal(res.status, 500, `${method} ${path}: ${res.text}`);
        assert.deepEqual(res.body, { error: { code: "STORAGE_ERROR", message: "the service is misconfigured" } });
        assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      }
      const logged = bad.stderr.match(/misconfigured/g) ?? [];
      assert.equal(logged.length, 1, bad.stderr);
      assert.ok(!bad.stderr.includes(short), "the secret is not logged");
    }
    const exactly = await edgeWith({ EVSTORE_JWT_SECRET: `${"k".repeat(32)}` });
    assert.equal((await call(exactly, "GET", "/t/acme/all", { token: token("acme", {}, "k".repeat(32)) })).status, 200, "32 bytes are enough");
  });
});

describe("HTTP hardening", () => {
  let edge;
  const t = token("web");
  before(async () => {
    edge = await edgeWith({ EVSTORE_ALLOWED_ORIGINS: "http://app.example" });
  });

  test("X-Content-Type-Options: nosniff on every response", async () => {
    const answers = [
      await call(edge, "GET", "/t/web/all", { token: t }),
      await call(edge, "POST", "/t/web/streams/N-1", { token: t, body: { events: [{ type: "A" }] } }),
      await call(edge, "GET", "/t/web/all"),
      await call(edge, "GET", "/t/other/all", { token: t }),
      await call(edge, "GET", "/nowhere", { token: t }),
      await call(edge, "GET", "/t/web/all", { token: t, headers: { origin: "http://evil.example" } }),
      await call(edge, "OPTIONS", "/t/web/all", { headers: { origin: "http://app.example", "access-control-request-method": "GET" } }),
      await call(edge, "POST", "/t/web/streams/N-1", { token: t, body: "{" }),
      await call(edge, "GET", "/t/web/sync", { token: t }),
    ];
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 401, 403, 404, 403, 204, 400, 400]);
    for (const a of answers) assert.equal(a.headers.get("x-content-type-options"), "nosniff", `${a.status} ${a.text}`);
  });

  test("a body must be declared application/json (415 INVALID_ARGUMENT otherwise, nothing written)", async () => {
    const stream = `Typed-${uuid()}`;
    const body = JSON.stringify({ events: [{ type: "A" }] });
    for (const type of [null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "application/json-seq"]) {
      const res = await fetch(`${edge.base}/t/web/streams/${stream}`, { method: "POST", headers: { authorization: `Bearer ${t}`, ...(type ? { "content-type": type } : {}) }, body: type === null ? new Blob([body]) : body });
      const text = await res.text();
      assert.equal(res.status, 415, `${type}: ${text}`);
      assert.equal(JSON.parse(text).error.code, "INVALID_ARGUMENT");
    }
    assert.deepEqual((await call(edge, "GET", `/t/web/streams/${stream}`, { token: t })).body.events, [], "nothing written");
    for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON ;charset=UTF-8"]) {
      const res = await call(edge, "POST", `/t/web/streams/${stream}`, { token: t, body, headers: { "content-type": type } });
      assert.equal(res.status, 200, `${type}: ${res.text}`);
    }
  });

  test("the bearer. subprotocol is a token only on WebSocket upgrades", async () => {
    const headers = { "sec-websocket-protocol": `evstore.sync.v1, bearer.${t}` };
    for (const [method, path, body] of [["GET", "/t/web/all"], ["GET", "/t/web/streams/S-1"], ["POST", "/t/web/streams/S-1", { events: [{ type: "A" }] }], ["GET", "/t/web/sync"]]) {
      const res = await call(edge, method, path, { headers, body });
      assert.equal(res.status, 401, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.message, "missing bearer token");
    }
    const feed = await open(edge, "web", t);
    assert.equal(feed.refused, undefined, "an upgrade still takes it");
  });
});
