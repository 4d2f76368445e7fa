// The self-hosted server as `make server` runs it (scripts/server.mjs through startLocalServer, on
// PGlite in a temporary data directory and a free port): HTTP append and read, auth, a sync socket's
// pull and live event, SIGTERM (sockets closed with 1001, exit 0) and the data kept across a
// restart; and `evstore/server` from the built package, answering requests without listening.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startLocalServer } from "../../../scripts/server-local.mjs";
import { REPO, SECRET, call, freePort, tempDir, token, uuid } from "../edge-service/harness.mjs";
import { collect, openFeed } from "../edge-service/socket.mjs";

const env = { PATH: process.env.PATH, HOME: process.env.HOME, EVSTORE_JWT_SECRET: SECRET };
const dataDir = tempDir("evstore-server-");
let server;

before(async () => {
  server = await startLocalServer({ port: await freePort(), dataDir, env, stdio: ["ignore", "ignore", "inherit"] });
});
after(async () => {
  await server?.stop("SIGKILL");
});

test("HTTP: append and read; 401 without a token, 403 for another tenant", async () => {
  const t = token("acme");
  const appended = await call(server, "POST", "/t/acme/streams/Order-1", { token: t, body: { events: [{ type: "Placed", data: { n: 1 } }, { type: "Paid" }], expectedRevision: "no_stream" } });
  assert.equal(appended.status, 200, appended.text);
  assert.deepEqual(appended.body, { nextExpectedRevision: 1, position: 1 });
  assert.equal(appended.headers.get("x-content-type-options"), "nosniff");

  const read = await call(server, "GET", "/t/acme/streams/Order-1", { token: t });
  assert.equal(read.status, 200);
  assert.deepEqual(read.body.events.map((e) => [e.type, e.revision, e.position]), [["Placed", 0, 0], ["Paid", 1, 1]]);
  assert.deepEqual(read.body.events[0].data, { n: 1 });
  assert.deepEqual((await call(server, "GET", "/t/acme/all?fromPosition=1", { token: t })).body.events.map((e) => e.type), ["Paid"]);

  const conflict = await call(server, "POST", "/t/acme/streams/Order-1", { token: t, body: { events: [{ type: "Late" }], expectedRevision: "no_stream" } });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, "WRONG_EXPECTED_REVISION");

  const missing = await call(server, "GET", "/t/acme/streams/Order-1");
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.code, "UNAUTHENTICATED");
  const other = await call(server, "GET", "/t/globex/streams/Order-1", { token: t });
  assert.equal(other.status, 403);
  // Another tenant's log in the same database starts at position 0.
  const globex = await call(server, "POST", "/t/globex/streams/Order-1", { token: token("globex"), body: { events: [{ type: "Placed" }] } });
  assert.deepEqual(globex.body, { nextExpectedRevision: 0, position: 0 });
});

test("HTTP: a body over the limit is refused with 413 before it is read whole", async () => {
  const big = JSON.stringify({ events: [{ type: "Big", data: { s: "x".repeat(9 * 1024 * 1024) } }] });
  const res = await call(server, "POST", "/t/acme/streams/Big-1", { token: token("acme"), body: big });
  assert.equal(res.status, 413);
  assert.equal(res.body.error.code, "INVALID_ARGUMENT");
  // Streamed without a Content-Length: refused the same way.
  const chunks = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024)));
      controller.close();
    },
  });
  const streamed = await fetch(`${server.base}/t/acme/streams/Big-1`, { method: "POST", duplex: "half", body: chunks, headers: { authorization: `Bearer ${token("acme")}`, "content-type": "application/json" } });
  assert.equal(streamed.status, 413);
  assert.equal((await call(server, "GET", "/t/acme/streams/Big-1", { token: token("acme") })).body.events.length, 0);
});

test("sync: a socket pulls the log, then gets an HTTP append live; the host answers pings", async () => {
  const t = token("acme");
  const refused = await openFeed(server, "acme", undefined);
  assert.equal(refused.refused.status, 401);

  const feed = await openFeed(server, "acme", t);
  assert.equal(feed.protocol, "evstore.sync.v4");
  feed.send({ v: 4, type: "pull", after: null });
  const caught = await collect(feed, 2);
  assert.deepEqual(caught.events.map((e) => e.type), ["Placed", "Paid"]);
  assert.equal(caught.other?.type ?? (await feed.next()).type, "caughtUp");

  const id = uuid();
  assert.equal((await call(server, "POST", "/t/acme/streams/Order-2", { token: t, body: { events: [{ id, type: "Placed" }] } })).status, 200);
  const live = await collect(feed, 1);
  assert.deepEqual(live.events.map((e) => [e.id, e.position]), [[id, 2]]);

  feed.send('{"type":"ping"}');
  assert.deepEqual(await feed.next(), { type: "pong" });
  feed.close();
  await feed.closed;
});

test("SIGTERM closes the sockets (1001) and exits 0; the data survives a restart", async () => {
  const feed = await openFeed(server, "acme", token("acme"));
  feed.send({ v: 4, type: "pull", after: null });
  await collect(feed, 3);
  assert.deepEqual(await server.stop("SIGTERM"), { code: 0, signal: null });
  assert.equal((await feed.closed).code, 1001);

  server = await startLocalServer({ port: server.port, dataDir, env, stdio: ["ignore", "ignore", "inherit"] });
  const read = await call(server, "GET", "/t/acme/all", { token: token("acme") });
  assert.deepEqual(read.body.events.map((e) => e.position), [0, 1, 2]);
  const next = await call(server, "POST", "/t/acme/streams/Order-3", { token: token("acme"), body: { events: [{ type: "Placed" }] } });
  assert.deepEqual(next.body, { nextExpectedRevision: 0, position: 3 });
});

test("a second server on the same PGlite data directory is refused while the first runs; a killed one's lock is taken over", async () => {
  const second = spawnSync(process.execPath, [join(REPO, "scripts/server.mjs")], {
    env: { ...env, SERVER_DATA: dataDir, SERVER_PORT: String(await freePort()) },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(second.status, 1, second.stderr);
  assert.match(second.stderr, /in use by process \d+: an embedded PostgreSQL \(PGlite\) serves one process/);
  // The first still serves; killed with -9, its lock stays behind and the next start takes it over.
  assert.equal((await call(server, "GET", "/t/acme/all", { token: token("acme") })).status, 200);
  await server.stop("SIGKILL");
  server = await startLocalServer({ port: server.port, dataDir, env, stdio: ["ignore", "ignore", "inherit"] });
  assert.equal((await call(server, "GET", "/t/acme/all", { token: token("acme") })).status, 200);
});

test("without a secret in the environment, the server uses the data directory's development secret", async () => {
  const dir = tempDir("evstore-server-dev-");
  const local = await startLocalServer({ port: await freePort(), dataDir: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ["ignore", "ignore", "inherit"] });
  try {
    assert.equal(local.devSecret, true);
    const secret = readFileSync(join(dir, "dev-secret"), "utf8").trim();
    const res = await call(local, "POST", "/t/demo/streams/S-1", { token: token("demo", {}, secret), body: { events: [{ type: "A" }] } });
    assert.equal(res.status, 200, res.text);
    assert.equal((await call(local, "GET", "/t/demo/streams/S-1", { token: token("demo") })).status, 401);
  } finally {
    await local.stop();
  }
});

test("evstore/server from the built package: createServer + handle on PGlite in memory, without listening", async () => {
  const { createServer, openDatabase, poolDatabase, pgliteDatabase } = await import("evstore/server");
  assert.equal(typeof poolDatabase, "function");
  assert.equal(typeof pgliteDatabase, "function");
  const { database, close } = await openDatabase({});
  const app = createServer({ database, env: { EVSTORE_JWT_SECRET: SECRET } });
  try {
    const req = (method, path, body) =>
      new Request(`http://app.test${path}`, { method, headers: { authorization: `Bearer ${token("acme")}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body && JSON.stringify(body) });
    const appended = await app.handle(req("POST", "/t/acme/streams/S-1", { events: [{ type: "A" }, { type: "B" }] }));
    assert.equal(appended.status, 200);
    assert.deepEqual(await appended.json(), { nextExpectedRevision: 1, position: 1 });
    const read = await app.handle(req("GET", "/t/acme/streams/S-1"));
    assert.deepEqual((await read.json()).events.map((e) => e.type), ["A", "B"]);
    assert.equal(app.httpServer.listening, false);
  } finally {
    await app.close();
    await close();
  }
});

test("a tenant idle for idleTenantMs is closed (its watch ended) and reopened by its next call, with its log intact", async () => {
  const { createServer, openDatabase } = await import("evstore/server");
  const { database, close } = await openDatabase({});
  const watching = new Map();
  let opens = 0;
  const spied = {
    origin: database.origin,
    query: (sql, params) => database.query(sql, params),
    transaction: (fn) => database.transaction(fn),
    watch(tenant, wake) {
      opens++;
      watching.set(tenant, (watching.get(tenant) ?? 0) + 1);
      const unwatch = database.watch(tenant, wake);
      return () => {
        watching.set(tenant, watching.get(tenant) - 1);
        unwatch();
      };
    },
  };
  const app = createServer({ database: spied, env: { EVSTORE_JWT_SECRET: SECRET }, idleTenantMs: 200 });
  const request = (method, path, body) =>
    app.handle(new Request(`http://server.test${path}`, { method, headers: { authorization: `Bearer ${token("acme")}`, "content-type": "application/json" }, body: body && JSON.stringify(body) }));
  try {
    assert.equal((await request("POST", "/t/acme/streams/S-1", { events: [{ type: "A" }] })).status, 200);
    assert.ok(watching.get("acme") >= 1, "an open tenant watches for other processes' commits");
    for (let i = 0; i < 100 && watching.get("acme") > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(watching.get("acme"), 0, "closed after idling");
    const read = await request("GET", "/t/acme/streams/S-1");
    assert.deepEqual((await read.json()).events.map((e) => e.type), ["A"]);
    assert.ok(watching.get("acme") >= 1, "reopened by the next call");
    // Calls keep it open: one every 50 ms for 0.6 s, all served by the same opened store.
    const opened = opens;
    for (let i = 0; i < 12; i++) {
      assert.equal((await request("GET", "/t/acme/streams/S-1")).status, 200);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(opens, opened, "not closed while in use");
  } finally {
    await app.close();
    await close();
  }
});
