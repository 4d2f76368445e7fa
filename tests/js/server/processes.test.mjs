// Two server processes (`make server`'s scripts/server.mjs) on one real PostgreSQL (a throwaway
// cluster): concurrent appends through both keep each tenant's positions dense and lose nothing;
// a sync socket on either process receives, live, the events appended through the other
// (LISTEN/NOTIFY); and `kill -9` of one process in the middle of a burst keeps every append it
// acknowledged. Every process and the cluster are stopped in `after`, also when a test fails.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, freePort, SECRET, tempDir, token, uuid } from "../edge-service/harness.mjs";
import { collect, openFeed } from "../edge-service/socket.mjs";
import { startCluster } from "../postgres/cluster.mjs";
import { startLocalServer } from "../../../scripts/server-local.mjs";

const env = { PATH: process.env.PATH, HOME: process.env.HOME, EVSTORE_JWT_SECRET: SECRET };
let cluster;
const servers = [];
const feeds = [];

async function startServer() {
  const server = await startLocalServer({ port: await freePort(), dataDir: tempDir("evstore-server-"), databaseUrl: cluster.url, env, stdio: ["ignore", "ignore", "inherit"] });
  servers.push(server);
  return server;
}

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  for (const f of feeds) f.ws.terminate();
  await Promise.all(servers.map((s) => s.stop("SIGKILL")));
  await cluster?.stop();
});

/** Every event of `tenant` in position order, read through `server` page by page. */
async function readAll(server, tenant, t) {
  const events = [];
  for (let from = 0; ; ) {
    const res = await call(server, "GET", `/t/${tenant}/all?fromPosition=${from}&maxCount=500`, { token: t });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    events.push(...res.body.events);
    if (res.body.events.length < 500) return events;
    from = events.at(-1).position + 1;
  }
}

const appendVia = (server, tenant, t, stream, events, expectedRevision = "any") =>
  call(server, "POST", `/t/${tenant}/streams/${stream}`, { token: t, body: { events, expectedRevision } });

/** Pulls `feed` from the start and returns once it is live (after caughtUp). */
async function goLive(feed, backlog) {
  feed.send({ v: 4, type: "pull", after: null });
  const { other } = await collect(feed, backlog, 10_000);
  const caughtUp = other ?? (await feed.next(10_000));
  assert.equal(caughtUp?.type, "caughtUp", JSON.stringify(caughtUp));
}

describe("two server processes on one PostgreSQL", () => {
  let a;
  let b;
  before(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
  });

  test("concurrent appends through both: positions dense per tenant, nothing lost, revisions dense per stream", async () => {
    const tenant = `t-${uuid()}`;
    const t = token(tenant);
    const shared = ["Shared-1", "Shared-2", "Shared-3"];
    const acked = [];
    // 12 clients, each 20 appends, alternating between the processes; some streams are shared
    // by all clients (expectedRevision any), each client has one of its own (exact revisions).
    await Promise.all(Array.from({ length: 12 }, async (_, client) => {
      const own = `Own-${client}`;
      for (let i = 0; i < 20; i++) {
        const server = (client + i) % 2 ? a : b;
        const event = { id: uuid(), type: "Counted", data: { client, i } };
        const stream = i % 3 === 0 ? own : shared[(client + i) % shared.length];
        const expected = stream === own ? (i === 0 ? "no_stream" : Math.floor((i - 1) / 3)) : "any";
        const res = await appendVia(server, tenant, t, stream, [event], expected);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        acked.push({ id: event.id, position: res.body.position, stream });
      }
    }));
    for (const server of [a, b]) {
      const events = await readAll(server, tenant, t);
      assert.deepEqual(events.map((e) => e.position), events.map((_, i) => i), "positions 0..n-1, no gap");
      assert.equal(events.length, acked.length, "one event per acknowledged append");
      const byId = new Map(events.map((e) => [e.id, e]));
      for (const ack of acked) assert.equal(byId.get(ack.id)?.position, ack.position, "acknowledged at the position it holds");
      for (const stream of [...shared, "Own-0"]) {
        const revisions = events.filter((e) => e.streamId === stream).map((e) => e.revision);
        assert.deepEqual(revisions, revisions.map((_, i) => i), `revisions of ${stream} dense`);
      }
    }
  });

  test("a sync socket on each process receives, live, what is appended through the other", async () => {
    const tenant = `t-${uuid()}`;
    const t = token(tenant);
    const feedA = await openFeed(a, tenant, t);
    const feedB = await openFeed(b, tenant, t);
    feeds.push(feedA, feedB);
    await goLive(feedA, 0);
    await goLive(feedB, 0);
    const viaB = await appendVia(b, tenant, t, "Order-1", [{ type: "PlacedThroughB" }]);
    assert.equal(viaB.status, 200);
    const gotA = await collect(feedA, 1, 10_000);
    assert.deepEqual(gotA.events.map((e) => [e.type, e.position]), [["PlacedThroughB", 0]], "process A's socket got process B's append");
    const viaA = await appendVia(a, tenant, t, "Order-1", [{ type: "PaidThroughA" }]);
    assert.equal(viaA.status, 200);
    const gotB = await collect(feedB, 2, 10_000);
    assert.deepEqual(gotB.events.map((e) => [e.type, e.position]), [["PlacedThroughB", 0], ["PaidThroughA", 1]]);
    const restA = await collect(feedA, 1, 10_000);
    assert.deepEqual(restA.events.map((e) => e.type), ["PaidThroughA"], "and its own append once, no duplicate");
    // Stream metadata set through A hides events on B's reads (the lifecycle registry reloads).
    for (let i = 0; i < 3; i++) assert.equal((await appendVia(a, tenant, t, "Order-1", [{ type: `More${i}` }])).status, 200);
    const meta = await call(a, "PUT", `/t/${tenant}/streams/Order-1/metadata`, { token: t, body: { metadata: { maxCount: 2 } } });
    assert.equal(meta.status, 200, JSON.stringify(meta.body));
    let seen;
    for (let i = 0; i < 100; i++) {
      seen = (await call(b, "GET", `/t/${tenant}/streams/Order-1`, { token: t })).body.events.map((e) => e.type);
      if (seen.length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(seen, ["More1", "More2"], "maxCount set through A applies on B");
  });

  test("kill -9 of a process mid-burst: every acknowledged append is kept, positions stay dense", async () => {
    const tenant = `t-${uuid()}`;
    const t = token(tenant);
    const victim = await startServer();
    const acked = [];
    let killed = false;
    const burst = Array.from({ length: 16 }, async (_, client) => {
      for (let i = 0; ; i++) {
        const id = uuid();
        let res;
        try {
          res = await appendVia(victim, tenant, t, `Burst-${client}`, [{ id, type: "Tick", data: { i } }]);
        } catch {
          return; // the connection died with the process: not acknowledged
        }
        if (res.status === 200) acked.push({ id, position: res.body.position });
        if (killed) return;
      }
    });
    while (acked.length < 100) await new Promise((r) => setTimeout(r, 5));
    await victim.stop("SIGKILL");
    killed = true;
    await Promise.all(burst);
    assert.ok(acked.length >= 100);
    const events = await readAll(a, tenant, t);
    assert.deepEqual(events.map((e) => e.position), events.map((_, i) => i), "positions dense after the crash");
    const ids = new Set(events.map((e) => e.id));
    for (const ack of acked) assert.ok(ids.has(ack.id), `acknowledged ${ack.id} at ${ack.position} is kept`);
    assert.ok(events.length >= acked.length);
    // The tenant keeps working through the survivors.
    const next = await appendVia(b, tenant, t, "After", [{ type: "Survived" }]);
    assert.equal(next.status, 200);
    assert.equal(next.body.position, events.length);
  });
});
