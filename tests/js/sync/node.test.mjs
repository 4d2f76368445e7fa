// Sync (protocol v3) through the package in Node, against the real edge service in workerd: stores opened
// with `sync` (memory storage, the npm "ws" WebSocket), the push protocol on a raw socket, auth
// failures and renewal, a restart mid-push, and subscriptions across rebases.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { EventStore, EventStoreError } from "evstore";
import { call, now, startEdge, token, uuid } from "../edge-service/harness.mjs";
import { collect, openFeed } from "../edge-service/socket.mjs";

let edge;
const stores = [];
let tenantNo = 0;

before(async () => {
  edge = await startEdge();
});
after(async () => {
  for (const s of stores) s.close();
  await edge?.stop();
});

/** A fresh tenant per test, so tests do not see each other's events. */
const tenant = () => `t${++tenantNo}-${process.pid}`;

/** A token function that waits until `open()` is called: the device stays offline till then. */
function gate(t) {
  let open;
  const opened = new Promise((r) => (open = r));
  return { tokenFn: async () => (await opened, token(t)), open: () => open() };
}

async function device(t, { tokenFn, ...options } = {}) {
  const store = await EventStore.open({
    ...options,
    sync: { url: `${edge.base}/t/${t}`, token: tokenFn ?? (async () => token(t)), WebSocket },
  });
  stores.push(store);
  return store;
}

const serverLog = async (t) => {
  const res = await call(edge, "GET", `/t/${t}/all`, { token: token(t) });
  assert.equal(res.status, 200, res.text);
  return res.body.events;
};
const shape = (events) => events.map((e) => [e.id, e.streamId, e.revision, e.position, e.type, new Date(e.createdAt).getTime()]);

/** Resolves when `predicate()` holds (polled), or fails after `ms`. */
async function until(predicate, ms = 10000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function converged(t, devices) {
  for (const d of devices) await d.sync.flush();
  await until(async () => {
    const server = await serverLog(t);
    for (const d of devices) {
      if (JSON.stringify(shape(await d.readAll())) !== JSON.stringify(shape(server))) return false;
    }
    return true;
  }, 10000, "convergence");
  return serverLog(t);
}

describe("opening a synced store", () => {
  test("sync options are checked: unknown keys, the URL, the token, the storage", async () => {
    const url = `${edge.base}/t/x`;
    const bad = [
      [{ url, token: () => "t", WebSocket, tokn: 1 }, /unknown option "tokn".*did you mean "token"/],
      [{ url: "not a url", token: () => "t", WebSocket }, /sync.url must be the tenant's base URL/],
      [{ url: "ftp://x/t/a", token: () => "t", WebSocket }, /sync.url/],
      [{ url: `${url}?token=secret`, token: () => "t", WebSocket }, /sync.url/],
      [{ url, token: "jwt", WebSocket }, /sync.token must be a function/],
      [{ url, token: () => "t", WebSocket: 42 }, /sync.WebSocket must be a WebSocket class/],
      ["https://x", /sync must be an object/],
    ];
    for (const [sync, message] of bad) {
      await assert.rejects(EventStore.open({ sync }), (e) => e.code === "INVALID_ARGUMENT" && message.test(e.message));
    }
    await assert.rejects(
      EventStore.open({ storage: "durable-object", durableObjectStorage: {}, sync: { url, token: () => "t", WebSocket } }),
      (e) => e.code === "INVALID_ARGUMENT",
    );
    const plain = await EventStore.open();
    assert.equal(plain.sync, undefined);
    plain.close();
  });

  test("without sync.WebSocket, Node 20 syncs through the \"ws\" package found by the Node entry", async () => {
    const t = tenant();
    const store = await EventStore.open({ sync: { url: `${edge.base}/t/${t}`, token: async () => token(t) } });
    stores.push(store);
    await store.append("Doc-1", [{ type: "A" }]);
    await store.sync.flush();
    assert.equal((await serverLog(t)).length, 1);
  });

  test("a synced store works offline: appends decided locally at once, queued, counted", async () => {
    const t = tenant();
    const store = await EventStore.open({ sync: { url: "http://127.0.0.1:9/t/none", token: async () => "x", WebSocket } });
    stores.push(store);
    await store.append("Doc-1", [{ type: "A" }], { expectedRevision: "no_stream" });
    await assert.rejects(store.append("Doc-1", [{ type: "B" }], { expectedRevision: "no_stream" }), (e) => e.code === "WRONG_EXPECTED_REVISION");
    await until(() => store.sync.status().pending === 1, 5000, "pending 1");
    const s = store.sync.status();
    assert.equal(s.conflicts, 0);
    assert.equal(s.confirmedPosition, null);
    assert.ok(["offline", "connecting"].includes(s.state));
    void t;
  });
});

describe("two devices and the edge", () => {
  test("offline appends on two devices converge; the shared stream conflicts once; retry resolves it", async () => {
    const t = tenant();
    const offline = gate(t);
    const a = await device(t);
    const b = await device(t, { tokenFn: offline.tokenFn });
    await a.append("Doc-1", [{ type: "ByA", data: { n: 1 } }], { expectedRevision: "no_stream" });
    await a.append("A-1", [{ type: "Only", data: {} }, { type: "Only", data: {} }], { expectedRevision: "no_stream" });
    await a.sync.flush();
    const held = [];
    b.sync.onConflict((c) => held.push(c));
    await b.append("Doc-1", [{ type: "ByB", data: { n: 2 } }], { expectedRevision: "no_stream" });
    await b.append("Doc-1", [{ type: "ByB2", data: { n: 3 } }], { expectedRevision: 0 }); // behind it
    await b.append("B-1", [{ type: "Only", data: {} }], { expectedRevision: "no_stream" }); // goes on
    offline.open();
    await b.sync.flush();
    await until(() => held.length === 1, 5000, "onConflict");
    const [c] = await b.sync.conflicts();
    assert.equal(c.streamId, "Doc-1");
    assert.equal(c.expectedRevision, "no_stream");
    assert.equal(c.actualRevision, 0);
    assert.deepEqual(c.pending.map((e) => e.type), ["ByB", "ByB2"]);
    assert.deepEqual(c.theirs.map((e) => e.type), ["ByA"]);
    assert.equal(held[0].streamId, "Doc-1");
    const status = b.sync.status();
    assert.equal(status.conflicts, 1);
    assert.equal(status.pending, 2, "the held appends are counted");
    // Held events stay visible locally, on top of the server's.
    assert.deepEqual((await b.readStream("Doc-1")).map((e) => [e.type, e.revision]), [["ByA", 0], ["ByB", 1], ["ByB2", 2]]);
    assert.ok((await serverLog(t)).some((e) => e.streamId === "B-1"), "other streams synced");
    await c.retry([{ type: "Merged", data: { n: 5 } }], { expectedRevision: c.actualRevision });
    const server = await converged(t, [a, b]);
    assert.deepEqual(server.filter((e) => e.streamId === "Doc-1").map((e) => e.type), ["ByA", "Merged"]);
    assert.equal(b.sync.status().conflicts, 0);
    assert.deepEqual(await b.sync.conflicts(), []);
    await assert.rejects(c.discard(), (e) => e.code === "INVALID_ARGUMENT");
  });

  test("discard makes the stream the server's; \"any\" appends never conflict", async () => {
    const t = tenant();
    const offline = gate(t);
    const a = await device(t);
    const b = await device(t, { tokenFn: offline.tokenFn });
    await a.append("Doc-1", [{ type: "ByA" }], { expectedRevision: "no_stream" });
    await a.append("Log-1", [{ type: "ByA" }]);
    await a.sync.flush();
    await b.append("Doc-1", [{ type: "ByB" }], { expectedRevision: "no_stream" });
    await b.append("Log-1", [{ type: "ByB" }], { expectedRevision: "any" });
    offline.open();
    await b.sync.flush();
    const conflicts = await b.sync.conflicts();
    assert.deepEqual(conflicts.map((c) => c.streamId), ["Doc-1"]);
    await conflicts[0].discard();
    const server = await converged(t, [a, b]);
    assert.deepEqual(server.map((e) => [e.streamId, e.type]), [["Doc-1", "ByA"], ["Log-1", "ByA"], ["Log-1", "ByB"]]);
  });

  test("createdAt is the time of the local append, kept through sync", async () => {
    const t = tenant();
    const a = await device(t);
    await a.append("Doc-1", [{ type: "A" }]);
    const [local] = await a.readAll();
    await new Promise((r) => setTimeout(r, 30));
    await a.sync.flush();
    const [remote] = await serverLog(t);
    assert.equal(new Date(remote.createdAt).getTime(), local.createdAt.getTime());
  });

  test("a read model fed by a subscription with onRebase ends equal to readAll()", async () => {
    const t = tenant();
    const offline = gate(t);
    const a = await device(t);
    const b = await device(t, { tokenFn: offline.tokenFn });
    let model = [];
    let rebases = 0;
    const sub = b.subscribe((e) => void model.push([e.position, e.id]), {
      onRebase: ({ after }) => {
        rebases++;
        model = model.filter(([p]) => after !== null && p <= after);
      },
    });
    await b.append("B-1", [{ type: "X" }, { type: "Y" }]); // pending at 0, 1
    await a.append("A-1", [{ type: "Z" }]);
    await a.sync.flush(); // A-1 is the server's position 0: b's pending events move
    offline.open();
    await converged(t, [a, b]);
    await until(async () => JSON.stringify(model) === JSON.stringify((await b.readAll()).map((e) => [e.position, e.id])), 5000, "read model");
    assert.ok(rebases >= 1);
    sub.unsubscribe();
  });
});

describe("authentication", () => {
  test("a refused token stops syncing with lastError and keeps the queue; a good token resumes", async () => {
    const t = tenant();
    let good = false;
    const a = await device(t, { tokenFn: async () => (good ? token(t) : token("someone-else")) });
    await a.append("Doc-1", [{ type: "A" }]);
    await until(() => a.sync.status().lastError?.code === "FORBIDDEN", 10000, "FORBIDDEN");
    assert.equal(a.sync.status().pending, 1);
    let flushed = false;
    const flushing = a.sync.flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(flushed, false, "flush waits through auth failures");
    good = true;
    await flushing;
    assert.equal(a.sync.status().lastError, null);
    assert.equal((await serverLog(t)).length, 1);
  });

  test("an expired or malformed token is UNAUTHENTICATED", async () => {
    const t = tenant();
    const a = await device(t, { tokenFn: async () => token(t, { exp: now() - 10 }) });
    await a.append("Doc-1", [{ type: "A" }]);
    await until(() => a.sync.status().lastError?.code === "UNAUTHENTICATED", 10000, "UNAUTHENTICATED");
    const b = await device(t, { tokenFn: async () => "not-a-jwt" });
    await until(() => b.sync.status().lastError?.code === "UNAUTHENTICATED", 10000, "UNAUTHENTICATED");
    assert.equal(a.sync.status().pending, 1);
  });

  test("token() failing for network reasons is offline with the cause; only a non-string or a thrown UNAUTHENTICATED/FORBIDDEN is an auth failure", async () => {
    const t = tenant();
    const network = new TypeError("fetch failed");
    const offline = await device(t, { tokenFn: async () => { throw network; } });
    await until(() => offline.sync.status().lastError, 10000, "token() failure");
    const s = offline.sync.status();
    assert.equal(s.state, "offline");
    assert.equal(s.lastError.code, "STORAGE_ERROR");
    assert.match(s.lastError.message, /sync\.token\(\) failed: fetch failed/);
    assert.equal(s.lastError.cause, network);
    const cases = [
      [async () => { throw new EventStoreError("signed out", "UNAUTHENTICATED"); }, "UNAUTHENTICATED", /signed out/],
      [async () => { throw new EventStoreError("not a member", "FORBIDDEN"); }, "FORBIDDEN", /not a member/],
      [async () => undefined, "UNAUTHENTICATED", /must resolve to a JWT string/],
    ];
    for (const [tokenFn, code, message] of cases) {
      const d = await device(t, { tokenFn });
      await until(() => d.sync.status().lastError, 10000, code);
      assert.equal(d.sync.status().lastError.code, code);
      assert.match(d.sync.status().lastError.message, message);
    }
  });

  test("a token expiring mid-session is renewed in place (no reconnect)", async () => {
    const t = tenant();
    const states = [];
    const a = await device(t, { tokenFn: async () => token(t, { exp: now() + 3 }) });
    a.sync.onStatus((s) => states.push(s.state));
    await a.append("Doc-1", [{ type: "Before" }]);
    await a.sync.flush();
    await new Promise((r) => setTimeout(r, 4000)); // past the first token's expiry
    await a.append("Doc-1", [{ type: "After" }]);
    await a.sync.flush();
    assert.equal((await serverLog(t)).length, 2);
    assert.deepEqual(states.filter((s) => s === "offline"), [], "never disconnected");
  });
});

describe("the push protocol at the edge", () => {
  const push = (batch, appends) => ({ v: 4, type: "push", batch, appends });
  const event = (type, id = uuid()) => ({ id, type, data: { n: 1 }, metadata: {} });

  test("outcomes: ok, already (a retry), conflict with theirs, rejected, blocked", async () => {
    const t = tenant();
    const feed = await openFeed(edge, t, token(t));
    try {
      const e1 = event("A");
      feed.send(push(1, [
        { seq: 0, streamId: "S-1", expectedRevision: "no_stream", createdAt: 1700000000000, events: [e1] },
        { seq: 1, streamId: "S-1", expectedRevision: "no_stream", createdAt: 1700000000000, events: [event("B")] },
        { seq: 2, streamId: "S-1", expectedRevision: "any", createdAt: 1700000000000, events: [event("C")] },
        { seq: 3, streamId: "S-2", expectedRevision: "any", createdAt: 1700000000000, events: [{ ...event("D"), id: e1.id }] },
        { seq: 4, streamId: "S-3", expectedRevision: "any", createdAt: 1700000000000, events: [{ id: uuid(), type: "" }] },
      ]));
      const result = await feed.next();
      assert.equal(result.type, "pushResult");
      assert.equal(result.batch, 1);
      const [ok, conflict, blocked, rejected, invalid] = result.outcomes;
      assert.deepEqual(ok, { result: "ok", nextExpectedRevision: 0, position: 0 });
      assert.equal(conflict.result, "conflict");
      assert.equal(conflict.actualRevision, 0);
      assert.deepEqual(conflict.theirs.map((e) => e.id), [e1.id]);
      assert.deepEqual(blocked, { result: "blocked" });
      assert.equal(rejected.result, "rejected");
      assert.equal(rejected.error.code, "DUPLICATE_EVENT_ID");
      assert.equal(invalid.result, "rejected");
      assert.equal(invalid.error.code, "INVALID_ARGUMENT");
      feed.send(push(2, [{ seq: 0, streamId: "S-1", expectedRevision: "no_stream", createdAt: 1700000000000, events: [e1] }]));
      const again = await feed.next();
      assert.deepEqual(again.outcomes, [{ result: "already", nextExpectedRevision: 0, position: 0 }]);
      const [stored] = await serverLog(t);
      assert.equal(stored.createdAt, new Date(1700000000000).toISOString());
    } finally {
      feed.ws.terminate();
    }
  });

  test("a push needs the append scope; malformed pushes are INVALID_ARGUMENT and write nothing", async () => {
    const t = tenant();
    const reader = await openFeed(edge, t, token(t, { scope: "read" }));
    const writer = await openFeed(edge, t, token(t));
    try {
      const append = { seq: 0, streamId: "S-1", expectedRevision: "any", createdAt: 1, events: [event("A")] };
      reader.send(push(1, [append]));
      assert.equal((await reader.next()).error.code, "FORBIDDEN");
      for (const bad of [
        { ...push(1, [append]), extra: 1 },
        push(-1, [append]),
        push(1, []),
        push(1, [{ ...append, streamid: "x" }]),
        { ...push(1, [append]), v: 5 },
      ]) {
        writer.send(bad);
        const frame = await writer.next();
        assert.equal(frame.type, "error", JSON.stringify(bad));
        assert.equal(frame.error.code, "INVALID_ARGUMENT");
      }
      assert.deepEqual(await serverLog(t), []);
    } finally {
      reader.ws.terminate();
      writer.ws.terminate();
    }
  });

  test("the log's epoch: on events frames and caughtUp; a pull naming another log is refused, naming what it refused", async () => {
    const t = tenant();
    const feed = await openFeed(edge, t, token(t));
    try {
      const first = event("A");
      feed.send(push(1, [{ seq: 0, streamId: "S-1", expectedRevision: "any", createdAt: 1, events: [first] }]));
      assert.equal((await feed.next()).type, "pushResult");
      feed.send({ v: 4, type: "pull", after: null });
      const events = await feed.next();
      assert.equal(events.type, "events");
      assert.equal(typeof events.epoch, "string");
      assert.deepEqual([events.after, events.through], [null, 0], "a frame says which positions it covers");
      const caughtUp = await feed.next();
      assert.equal(caughtUp.epoch, events.epoch);
      feed.send({ v: 4, type: "pull", after: 0, afterId: first.id, epoch: events.epoch });
      assert.deepEqual(await feed.next(), { type: "caughtUp", head: 0, epoch: events.epoch, streams: ["*"] });
      feed.send({ v: 4, type: "pull", after: 0, afterId: first.id, epoch: "another-log" });
      const refused = await feed.next();
      assert.equal(refused.type, "error");
      assert.equal(refused.error.code, "INVALID_ARGUMENT");
      assert.deepEqual(
        { head: refused.error.head, epoch: refused.error.epoch, after: refused.error.after, clientEpoch: refused.error.clientEpoch },
        { head: 0, epoch: events.epoch, after: 0, clientEpoch: "another-log" },
      );
      feed.send({ v: 4, type: "pull", after: 5, afterId: first.id, epoch: events.epoch });
      const beyond = await feed.next();
      assert.equal(beyond.error.code, "INVALID_ARGUMENT");
      assert.deepEqual([beyond.error.head, beyond.error.after, beyond.error.clientEpoch], [0, 5, events.epoch]);
      feed.send({ v: 4, type: "pull", after: null, epoch: 7 });
      assert.equal((await feed.next()).error.code, "INVALID_ARGUMENT");
      // Another event at `after` (a log restored from a copy, then grown again): refused too.
      feed.send({ v: 4, type: "pull", after: 0, afterId: uuid(), epoch: events.epoch });
      const diverged = await feed.next();
      assert.equal(diverged.error.code, "INVALID_ARGUMENT");
      assert.match(diverged.error.message, /restored or replaced/);
      assert.deepEqual([diverged.error.head, diverged.error.after], [0, 0]);
      feed.send({ v: 4, type: "pull", after: 0, afterId: 7, epoch: events.epoch });
      assert.match((await feed.next()).error.message, /afterId/);
    } finally {
      feed.ws.terminate();
    }
  });

  test("committed pushes reach every live socket before the result", async () => {
    const t = tenant();
    const watcher = await openFeed(edge, t, token(t));
    const writer = await openFeed(edge, t, token(t));
    try {
      for (const f of [watcher, writer]) {
        f.send({ v: 4, type: "pull", after: null });
        assert.equal((await f.next()).type, "caughtUp");
      }
      writer.send(push(7, [{ seq: 0, streamId: "S-1", expectedRevision: "any", createdAt: 1, events: [event("A"), event("B")] }]));
      const mine = await collect(writer, 2);
      assert.equal(mine.events.length, 2);
      assert.equal((await writer.next()).type, "pushResult");
      assert.equal((await collect(watcher, 2)).events.length, 2);
    } finally {
      watcher.ws.terminate();
      writer.ws.terminate();
    }
  });
});

describe("faults", () => {
  test("an edge that lost its data (a new log): the queue is pushed again, the device converges on the new log", async () => {
    const first = await startEdge();
    const t = tenant();
    const store = await EventStore.open({ sync: { url: `${first.base}/t/${t}`, token: async () => token(t), WebSocket } });
    stores.push(store);
    let replacement;
    try {
      await store.append("Old-1", [{ type: "Confirmed" }]);
      await store.sync.flush();
      await first.kill("SIGKILL");
      await store.append("New-1", [{ type: "Queued" }]); // pending when the log is replaced
      replacement = await startEdge({ port: first.port }); // same address, empty data: another epoch
      await until(async () => {
        const res = await call(replacement, "GET", `/t/${t}/all`, { token: token(t) });
        return res.status === 200 && res.body.events.some((e) => e.streamId === "New-1");
      }, 15000, "the queued append on the new log");
      await store.sync.flush();
      const server = (await call(replacement, "GET", `/t/${t}/all`, { token: token(t) })).body.events;
      assert.deepEqual(server.map((e) => e.streamId), ["New-1"], "the new log holds what was queued");
      await until(async () => JSON.stringify(shape(await store.readAll())) === JSON.stringify(shape(server)), 5000, "the device on the new log");
      assert.equal(store.sync.status().pending, 0);
    } finally {
      await replacement?.stop();
      await first.stop();
    }
  });

  test("the edge restarted mid-push: every acknowledged append ends on the server exactly once", async () => {
    const restartable = await startEdge();
    const t = tenant();
    const open = async () => {
      const s = await EventStore.open({ sync: { url: `${restartable.base}/t/${t}`, token: async () => token(t), WebSocket } });
      stores.push(s);
      return s;
    };
    try {
      const a = await open();
      const appends = [];
      for (let i = 0; i < 200; i++) appends.push(a.append(`S-${i % 7}`, [{ type: "E", data: { i } }]));
      await new Promise((r) => setTimeout(r, 30));
      await restartable.kill("SIGKILL");
      const results = await Promise.allSettled(appends);
      assert.ok(results.every((r) => r.status === "fulfilled"), "local appends never depend on the network");
      const again = await startEdge({ dataDir: restartable.dataDir, port: restartable.port });
      try {
        await a.sync.flush();
        const res = await call(again, "GET", `/t/${t}/all?maxCount=1000`, { token: token(t) });
        const ids = res.body.events.map((e) => e.id);
        assert.equal(ids.length, 200);
        assert.equal(new Set(ids).size, 200);
        assert.deepEqual(shape(await a.readAll()), shape(res.body.events));
      } finally {
        await again.stop();
      }
    } finally {
      await restartable.stop();
    }
  });
});

describe("hardening of the sync socket (issue 18)", () => {
  const push = (batch, appends) => ({ v: 4, type: "push", batch, appends });
  const event = (type, id = uuid()) => ({ id, type, data: { n: 1 }, metadata: {} });
  const append = (streamId, events, more = {}) => ({ seq: 0, streamId, expectedRevision: "any", createdAt: 1700000000000, events, ...more });

  test("a createdAt outside JavaScript's dates, too many events, or a malformed event: rejected, nothing stored", async () => {
    const t = tenant();
    const feed = await openFeed(edge, t, token(t));
    try {
      const many = Array.from({ length: 1001 }, () => event("E"));
      feed.send(push(1, [
        append("S-1", [event("A")], { createdAt: 8.64e15 + 1 }),
        append("S-2", many),
        append("S-3", [{ type: "A" }]), // no id
        append("S-4", [event("x".repeat(257))]),
        append("S-5", [event("B")], { createdAt: 8.64e15 }),
      ]));
      const { outcomes } = await feed.next();
      assert.deepEqual(outcomes.map((o) => [o.result, o.error?.code]), [
        ["rejected", "INVALID_ARGUMENT"],
        ["rejected", "INVALID_ARGUMENT"],
        ["rejected", "INVALID_ARGUMENT"],
        ["rejected", "INVALID_ARGUMENT"],
        ["ok", undefined],
      ]);
      assert.match(outcomes[0].error.message, /createdAt/);
      assert.match(outcomes[1].error.message, /1001.*1000/);
      const log = await serverLog(t);
      assert.deepEqual(log.map((e) => e.streamId), ["S-5"]);
      assert.equal(log[0].createdAt, new Date(8.64e15).toISOString(), "every stored event reads back with a date");
    } finally {
      feed.ws.terminate();
    }
  });

  test("an append-only token gets conflicts without the stream's events", async () => {
    const t = tenant();
    const writer = await openFeed(edge, t, token(t));
    const appender = await openFeed(edge, t, token(t, { scope: "append" }));
    try {
      writer.send(push(1, [append("Secret-1", Array.from({ length: 5 }, () => event("S")))]));
      assert.equal((await writer.next()).type, "pushResult");
      appender.send(push(2, [append("Secret-1", [event("X")], { expectedRevision: "no_stream" })]));
      const { outcomes: [outcome] } = await appender.next();
      assert.equal(outcome.result, "conflict");
      assert.equal(outcome.actualRevision, 4);
      assert.deepEqual(outcome.theirs, []);
      assert.equal(outcome.theirsCut, "withheld");
    } finally {
      writer.ws.terminate();
      appender.ws.terminate();
    }
  });

  test("a conflict answer stays small: theirs capped in bytes", async () => {
    const t = tenant();
    const feed = await openFeed(edge, t, token(t));
    try {
      const big = { id: uuid(), type: "Big", data: "x".repeat(100_000), metadata: {} };
      for (let i = 0; i < 20; i++) {
        feed.send(push(i, [append("Big-1", [{ ...big, id: uuid() }])]));
        assert.equal((await feed.next()).outcomes[0].result, "ok");
      }
      const frames = [];
      feed.ws.on("message", (data) => frames.push(String(data).length));
      const small = push(99, [append("Big-1", [event("A")], { expectedRevision: 0 })]);
      feed.send(small);
      const { outcomes: [outcome] } = await feed.next();
      assert.equal(outcome.result, "conflict");
      assert.equal(outcome.theirsCut, "capped");
      assert.ok(outcome.theirs.length >= 1 && outcome.theirs.length < 19, `${outcome.theirs.length}`);
      assert.equal(outcome.theirs[0].revision, 1, "the oldest first");
      assert.ok(Math.max(...frames) < 300_000, `the answer was ${Math.max(...frames)} bytes`);
    } finally {
      feed.ws.terminate();
    }
  });

  for (const version of [1, 2, 3]) {
    test(`an old (v${version}) client is refused in words, then closed with 4426; it writes nothing`, async () => {
      const t = tenant();
      const old = await openFeed(edge, t, token(t), { protocols: [`evstore.sync.v${version}`, `bearer.${token(t)}`] });
      try {
        assert.equal(old.protocol, `evstore.sync.v${version}`);
        old.send({ v: version, type: "push", batch: 1, appends: [append("S-1", [event("A")])] });
        const frame = await old.next();
        assert.equal(frame.type, "error");
        assert.equal(frame.error.code, "INVALID_ARGUMENT");
        assert.equal(frame.error.message, `sync protocol version ${version} is not served here: this server speaks version 4; update evstore`);
        const closed = await old.closed;
        assert.equal(closed.code, 4426);
        assert.deepEqual(await serverLog(t), []);
      } finally {
        old.ws.terminate();
      }
    });
  }

  test("a synced store refuses an append too large to push, and a frame it cannot read is reported, not swallowed", async () => {
    const t = tenant();
    const a = await device(t);
    await a.sync.flush();
    const big = (n) => Array.from({ length: n }, () => ({ type: "Big", data: "x".repeat(400_000) }));
    await assert.rejects(a.append("Doc-1", big(3)), (e) => e.code === "INVALID_ARGUMENT" && /split/.test(e.message));
    await a.append("Doc-1", big(2));
    await a.append("Doc-2", [{ type: "Small" }]);
    await a.sync.flush();
    assert.equal((await serverLog(t)).length, 3, "later appends never wait behind a large one");
  });

  test("a frame the client cannot read is reported as lastError and the queue is kept", async () => {
    // A faulty server: answers every pull with an event whose createdAt no Date can hold.
    const { WebSocketServer } = await import("ws");
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (p) => [...p][0] });
    await new Promise((r) => server.once("listening", r));
    let pulls = 0;
    server.on("connection", (ws) => ws.on("message", (text) => {
      if (JSON.parse(String(text)).type !== "pull") return;
      pulls++;
      const bad = { id: uuid(), streamId: "S-1", type: "E", revision: 0, position: 0, data: 1, metadata: {}, createdAt: null };
      ws.send(JSON.stringify({ type: "events", epoch: "e-1", after: null, through: 0, events: [bad] }));
      ws.send(JSON.stringify({ type: "caughtUp", epoch: "e-1", head: 0 }));
    }));
    try {
      const store = await EventStore.open({
        sync: { url: `http://127.0.0.1:${server.address().port}/t/x`, token: async () => token("x"), WebSocket },
      });
      stores.push(store);
      await store.append("Mine-1", [{ type: "E" }]);
      await until(() => store.sync.status().lastError !== null, 10000, "lastError");
      const { lastError, pending } = store.sync.status();
      assert.equal(lastError.code, "STORAGE_ERROR");
      assert.match(lastError.message, /frame from the sync service could not be applied/);
      assert.equal(pending, 1, "the queue is kept");
      await until(() => pulls >= 2, 10000, "a reconnection");
      store.close();
    } finally {
      for (const c of server.clients) c.terminate();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the host's counts and announcements", () => {
  test("status().pending counts an append as soon as it resolves (one at a time, and a burst)", async () => {
    const t = tenant();
    const store = await device(t, { tokenFn: () => new Promise(() => {}) }); // never online
    for (let i = 1; i <= 5; i++) {
      await store.append(`Doc-${i}`, [{ type: "A" }]);
      assert.equal(store.sync.status().pending, i, `after append ${i}`);
    }
    await Promise.all([1, 2, 3].map((i) => store.append(`Burst-${i}`, [{ type: "B" }])));
    assert.equal(store.sync.status().pending, 8);
  });

  test("onConflict announces a stream held while another one's conflict is resolved (sets, not counts)", async () => {
    const t = tenant();
    const other = await device(t);
    await other.append("X", [{ type: "Theirs" }]);
    await other.sync.flush();
    // A WebSocket whose incoming frames the test can hold back, then release at once.
    const held = { paused: false, queue: [] };
    class Holding extends WebSocket {
      get onmessage() {
        return super.onmessage;
      }
      set onmessage(fn) {
        super.onmessage = (m) => (held.paused ? held.queue.push({ text: String(m.data), deliver: () => fn(m) }) : fn(m));
      }
    }
    const g = gate(t);
    const a = await EventStore.open({ sync: { url: `${edge.base}/t/${t}`, token: g.tokenFn, WebSocket: Holding } });
    stores.push(a);
    const announced = [];
    let conflictX;
    a.sync.onConflict((c) => {
      announced.push(c.streamId);
      if (c.streamId === "X") conflictX = c;
    });
    await a.append("X", [{ type: "Ours" }], { expectedRevision: "no_stream" });
    g.open();
    await until(() => announced.includes("X"), 10000, "X announced");
    await a.sync.flush();
    // Y: written by the other device, appended here before this one hears of it; its conflict
    // arrives together with X's resolution.
    held.paused = true;
    await other.append("Y", [{ type: "Theirs" }]);
    await other.sync.flush();
    await a.append("Y", [{ type: "Ours" }], { expectedRevision: "no_stream" });
    await until(() => held.queue.some((m) => m.text.includes('"pushResult"')), 10000, "Y's push answered (held back)");
    held.paused = false;
    for (const m of held.queue.splice(0)) m.deliver();
    await conflictX.discard();
    await until(() => announced.includes("Y"), 10000, "Y announced");
    assert.deepEqual(announced, ["X", "Y"]);
  });
});

/**
 * A TCP proxy on 127.0.0.1 in front of `port`: in "stall" mode it accepts connections and never
 * answers; in "pipe" mode it forwards them; `freeze()` black-holes the open ones (a dead link).
 */
async function tcpProxy(port) {
  const { createServer, connect } = await import("node:net");
  const links = new Set();
  const proxy = { mode: "pipe", accepted: 0 };
  const server = createServer((client) => {
    proxy.accepted++;
    const link = { client, upstream: null, frozen: false };
    links.add(link);
    const drop = () => {
      client.destroy();
      link.upstream?.destroy();
      links.delete(link);
    };
    client.on("error", drop).on("close", drop);
    if (proxy.mode === "stall") return;
    link.upstream = connect(port, "127.0.0.1");
    link.upstream.on("error", drop).on("close", drop);
    client.on("data", (d) => link.frozen || link.upstream.write(d));
    link.upstream.on("data", (d) => link.frozen || client.write(d));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  proxy.port = server.address().port;
  proxy.freeze = () => links.forEach((l) => (l.frozen = true));
  proxy.close = () => {
    for (const l of links) l.client.destroy(), l.upstream?.destroy();
    return new Promise((r) => server.close(r));
  };
  return proxy;
}

describe("dead links (Node)", () => {
  test("a handshake that never completes, and a status probe that never answers, are given up and retried", async () => {
    const proxy = await tcpProxy(edge.port);
    try {
      proxy.mode = "stall";
      const t = tenant();
      const store = await EventStore.open({ sync: { url: `http://127.0.0.1:${proxy.port}/t/${t}`, token: async () => token(t), WebSocket } });
      stores.push(store);
      await store.append("Doc-1", [{ type: "A" }]);
      await until(() => proxy.accepted >= 2, 30000, "the socket given up and the probe sent"); // both stall
      proxy.mode = "pipe";
      await until(async () => (await serverLog(t)).length === 1, 30000, "the append through a new socket");
    } finally {
      await proxy.close();
    }
  });

  test("a dead open link is noticed by the keep-alive within its bound (2.5 × 5 s) and replaced", async () => {
    const proxy = await tcpProxy(edge.port);
    try {
      const t = tenant();
      const store = await EventStore.open({ sync: { url: `http://127.0.0.1:${proxy.port}/t/${t}`, token: async () => token(t), WebSocket } });
      stores.push(store);
      await store.append("Doc-1", [{ type: "A" }]);
      await store.sync.flush();
      const before = proxy.accepted;
      proxy.freeze();
      await until(() => store.sync.status().state !== "online", 20000, "the dead link noticed");
      await store.append("Doc-2", [{ type: "B" }]);
      await until(async () => (await serverLog(t)).length === 2, 20000, "the append through a new socket");
      assert.ok(proxy.accepted > before);
    } finally {
      await proxy.close();
    }
  });

  test("a token() that never settles is given up (offline) and asked again", async () => {
    const t = tenant();
    let calls = 0;
    const store = await device(t, { tokenFn: () => (++calls === 1 ? new Promise(() => {}) : token(t)) });
    await store.append("Doc-1", [{ type: "A" }]);
    await until(async () => (await serverLog(t)).length === 1, 30000, "the append once token() answered");
    assert.ok(calls >= 2);
  });
});
