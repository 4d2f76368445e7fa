// Durability of the edge service on the Durable Object's SQLite, in real workerd: workerd killed
// (SIGKILL) in the middle of a run of appends and restarted on the same data — every acknowledged
// append is there, positions are dense, no batch is partial, retries of the unanswered calls are
// safe; and a tenant object evicted after idling (its SQLite file closed: checked in /proc) wakes
// up with its state intact and its hibernated WebSockets' live feed resumes where it was.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { call, startEdge, tempDir, token, uuid } from "./harness.mjs";
import { collect, openFeed } from "./socket.mjs";

const services = [];
after(async () => {
  for (const s of services) await s.kill();
});
async function start(options) {
  const edge = await startEdge(options);
  services.push(edge);
  return edge;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const acme = token("acme");

async function readWholeLog(edge) {
  const events = [];
  for (;;) {
    const res = await call(edge, "GET", `/t/acme/all?fromPosition=${events.length}&maxCount=1000`, { token: acme });
    assert.equal(res.status, 200, res.text);
    if (res.body.events.length === 0) return events;
    events.push(...res.body.events);
  }
}

describe("crash", () => {
  test("SIGKILL mid-appends, restart on the same data: acknowledged appends kept, dense positions, no partial batch", async () => {
    const dataDir = tempDir();
    let edge = await start({ dataDir });
    const calls = [];
    let stop = false;
    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        const c = { streamId: `Crash-${w}-${i % 3}`, events: Array.from({ length: 1 + ((i + w) % 5) }, (_, k) => ({ id: uuid(), type: "K", data: { w, i, k } })) };
        calls.push(c);
        try {
          const res = await call(edge, "POST", `/t/acme/streams/${c.streamId}`, { token: acme, body: { events: c.events, expectedRevision: "any" } });
          if (res.status === 200) c.result = res.body;
          else c.failed = res.status;
        } catch (e) {
          c.lost = e;
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (calls.filter((c) => c.result).length < 200) await sleep(2);
    stop = true;
    await edge.kill("SIGKILL");
    await Promise.all(writers);
    const acked = calls.filter((c) => c.result);
    const unanswered = calls.filter((c) => !c.result);
    assert.ok(unanswered.every((c) => c.lost), "the only failures are lost connections");

    edge = await start({ dataDir });
    const log = await readWholeLog(edge);
    assert.deepEqual(log.map((e) => e.position), log.map((_, i) => i), "positions dense from 0");
    const byId = new Map(log.map((e) => [e.id, e]));
    assert.equal(byId.size, log.length, "no id twice");

    for (const c of acked) {
      const stored = c.events.map((e) => byId.get(e.id));
      assert.ok(stored.every(Boolean), "every acknowledged event is stored");
      assert.equal(stored.at(-1).position, c.result.position);
      assert.equal(stored.at(-1).revision, c.result.nextExpectedRevision);
      stored.forEach((e, k) => {
        assert.equal(e.position, c.result.position - (c.events.length - 1 - k), "a batch is contiguous");
        assert.equal(e.streamId, c.streamId);
      });
    }
    let partial = 0;
    let landed = 0;
    for (const c of unanswered) {
      const present = c.events.filter((e) => byId.has(e.id)).length;
      if (present !== 0 && present !== c.events.length) partial++;
      if (present === c.events.length) landed++;
    }
    assert.equal(partial, 0, "no partial batch");
    const total = [...acked, ...unanswered].filter((c) => byId.has(c.events[0].id)).reduce((n, c) => n + c.events.length, 0);
    assert.equal(log.length, total, "nothing but whole calls in the log");
    // revisions dense per stream
    const revisions = new Map();
    for (const e of log) {
      assert.equal(e.revision, (revisions.get(e.streamId) ?? -1) + 1, `${e.streamId} revisions dense`);
      revisions.set(e.streamId, e.revision);
    }

    // Retrying every unanswered call is safe: written once, whether or not it had landed.
    for (const c of unanswered) {
      const res = await call(edge, "POST", `/t/acme/streams/${c.streamId}`, { token: acme, body: { events: c.events, expectedRevision: "any" } });
      assert.equal(res.status, 200, res.text);
    }
    const after = await readWholeLog(edge);
    assert.equal(after.length, log.length + unanswered.filter((c) => !byId.has(c.events[0].id)).reduce((n, c) => n + c.events.length, 0));
    assert.deepEqual(after.slice(0, log.length), log, "the log before the retries is unchanged");
    console.log(`crash: ${acked.length} acknowledged, ${unanswered.length} unanswered (${landed} had landed), ${log.length} events after restart`);
  });
});

/** Paths of the Durable Object SQLite files workerd (`pid`) holds open (not the metadata db). */
function openObjectFiles(pid) {
  const paths = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/\/objects\/.*\/[0-9a-f]{64}\.sqlite$/.test(target)) paths.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return paths;
}

describe("eviction", () => {
  test("evicted after idle with a hibernated WebSocket, woken by an append: state intact, live feed resumes", async () => {
    const edge = await start({});
    const first = await call(edge, "POST", "/t/acme/streams/Evict-1", { token: acme, body: { events: [{ type: "A" }, { type: "B" }] } });
    assert.equal(first.status, 200, first.text);
    const feed = await openFeed(edge, "acme", acme);
    try {
      feed.send({ v: 4, type: "pull", after: null });
      const { events } = await collect(feed, 2);
      assert.deepEqual(events.map((e) => e.position), [0, 1]);
      assert.equal((await feed.next()).type, "caughtUp");
      assert.equal(openObjectFiles(edge.proc.pid).length, 1, "the tenant object is open");

      const deadline = Date.now() + 30_000;
      while (openObjectFiles(edge.proc.pid).length > 0) {
        assert.ok(Date.now() < deadline, "the object was evicted within 30 s of idling");
        await sleep(250);
      }

      const second = await call(edge, "POST", "/t/acme/streams/Evict-1", { token: acme, body: { events: [{ type: "C" }], expectedRevision: 1 } });
      assert.equal(second.status, 200, `the stream's revision survived eviction: ${second.text}`);
      assert.deepEqual(second.body, { nextExpectedRevision: 2, position: 2 });
      assert.equal(openObjectFiles(edge.proc.pid).length, 1, "the object woke up");
      const live = await collect(feed, 1);
      assert.deepEqual(live.events.map((e) => [e.type, e.position]), [["C", 2]], "the hibernated socket's feed resumed after its cursor");
      const read = await call(edge, "GET", "/t/acme/streams/Evict-1", { token: acme });
      assert.deepEqual(read.body.events.map((e) => e.type), ["A", "B", "C"]);
    } finally {
      feed.ws.terminate();
    }
  });
});
