// `make server` on a real PostgreSQL (DATABASE_URL; a throwaway cluster on a free port): appends
// and reads over HTTP, the tenant's rows in PostgreSQL's tables, a sync socket's live event, and
// the data still there after a SIGTERM and a restart on the same database.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startLocalServer } from "../../../scripts/server-local.mjs";
import { SECRET, call, freePort, tempDir, token, uuid } from "../edge-service/harness.mjs";
import { collect, openFeed } from "../edge-service/socket.mjs";
import { startCluster } from "../postgres/cluster.mjs";

const env = { PATH: process.env.PATH, HOME: process.env.HOME, EVSTORE_JWT_SECRET: SECRET };
let cluster, server, pool;

before(async () => {
  cluster = await startCluster();
  pool = cluster.pool(2);
  server = await startLocalServer({ port: await freePort(), dataDir: tempDir("evstore-server-pg-"), databaseUrl: cluster.url, env, stdio: ["ignore", "ignore", "inherit"] });
});
after(async () => {
  await server?.stop("SIGKILL");
  await cluster?.stop();
});

test("DATABASE_URL: the tenants' logs are in that PostgreSQL; live events; kept across a restart", async () => {
  const t = token("acme");
  const feed = await openFeed(server, "acme", t);
  feed.send({ v: 4, type: "pull", after: null });
  assert.equal((await feed.next()).type, "caughtUp");

  const id = uuid();
  const appended = await call(server, "POST", "/t/acme/streams/Order-1", { token: t, body: { events: [{ id, type: "Placed" }, { type: "Paid" }] } });
  assert.deepEqual(appended.body, { nextExpectedRevision: 1, position: 1 });
  assert.deepEqual((await collect(feed, 2)).events.map((e) => e.type), ["Placed", "Paid"]);
  const { rows } = await pool.query("SELECT head FROM evstore_tenants WHERE tenant = 'acme'");
  assert.equal(Number(rows[0].head), 1);

  assert.deepEqual(await server.stop("SIGTERM"), { code: 0, signal: null });
  assert.equal((await feed.closed).code, 1001);
  server = await startLocalServer({ port: server.port, dataDir: server.dataDir, databaseUrl: cluster.url, env, stdio: ["ignore", "ignore", "inherit"] });
  const read = await call(server, "GET", "/t/acme/streams/Order-1", { token: t });
  assert.deepEqual(read.body.events.map((e) => [e.id === id, e.position]), [[true, 0], [false, 1]]);
});
