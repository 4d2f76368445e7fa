// Sync (CONTRACT.md, "Sync (v1)") end to end: headless Chromium devices (one browser context each,
// so each has its own IndexedDB; or two tabs of one context) synced through the real edge
// service in workerd. Offline appends on two devices and a conflict resolved through the API
// (retry, discard); workerd SIGKILLed and restarted during a push burst; a reload while offline;
// two tabs with one syncing leader (Web Locks); a read model kept by onRebase; status (offline,
// online, UNAUTHENTICATED with the queue kept). Partial sync: two devices of other scopes hold
// only their streams at the service's positions, a local append outside the selection is refused,
// one outside the token is a FORBIDDEN conflict, a reopen wider fetches the history; and the
// `streams` option's INVALID_ARGUMENT.
//
//   node --test tests/js/sync/browser.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { launch, server } from "../browser/harness.mjs";
import { call, token } from "../edge-service/harness.mjs";
import {
  append,
  assertSameLog,
  cacheAppShell,
  deviceContext,
  devicePage,
  edgeFor,
  flush,
  jwt,
  openStore,
  readLocal,
  readServer,
  runCleanup,
  sleep,
  status,
  TENANT,
  waitCaughtUp,
  waitStatus,
} from "./browser-harness.mjs";

const TIMEOUT = 180_000;
let srv;
let browser;

before(async () => {
  srv = await server();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

/** Runs `body(cleanup)`; whatever it started is stopped afterwards, also on failure. */
async function withCleanup(body) {
  const cleanup = [];
  try {
    await body(cleanup);
  } finally {
    await runCleanup(cleanup);
  }
}

const ev = (type, data = {}) => ({ id: crypto.randomUUID(), type, data, metadata: { device: data.device ?? "?" } });
const ids = (events) => events.map((e) => e.id);

/**
 * Case 1's scenario: devices A and B (own contexts, own IndexedDB "shop") go offline; A appends
 * to its own stream and to "Shared-1" (no_stream), B to its own stream and to "Shared-1"
 * (no_stream, then a chained append on its own revision 0). A comes back and flushes first,
 * then B. Checks the state before resolution and returns everything for the resolution step.
 */
async function offlineScenario(cleanup) {
  const edge = await edgeFor(cleanup);
  const ctxA = await deviceContext(browser, cleanup);
  const ctxB = await deviceContext(browser, cleanup);
  const a = await devicePage(ctxA, srv, "A");
  const b = await devicePage(ctxB, srv, "B");
  await openStore(a, edge, { name: "shop", model: true });
  await openStore(b, edge, { name: "shop", model: true });
  await waitStatus(a, (s) => s.state === "online", "A online");
  await waitStatus(b, (s) => s.state === "online", "B online");

  await ctxA.setOffline(true);
  await ctxB.setOffline(true);
  const e = {
    a1: ev("A-Noted", { device: "A", n: 1 }),
    a2: ev("A-Noted", { device: "A", n: 2 }),
    as1: ev("Shared-Opened", { device: "A" }),
    as2: ev("Shared-Noted", { device: "A" }),
    b1: ev("B-Noted", { device: "B", n: 1 }),
    bs1: ev("Shared-Opened", { device: "B" }),
    bs2: ev("Shared-Noted", { device: "B" }),
    b2: ev("B-Noted", { device: "B", n: 2 }),
  };
  await append(a, "A-1", [e.a1]);
  await append(a, "Shared-1", [e.as1, e.as2], { expectedRevision: "no_stream" });
  await append(a, "A-1", [e.a2], { expectedRevision: 0 });
  await append(b, "B-1", [e.b1]);
  await append(b, "Shared-1", [e.bs1], { expectedRevision: "no_stream" });
  await append(b, "Shared-1", [e.bs2], { expectedRevision: 0 });
  await append(b, "B-1", [e.b2], { expectedRevision: 0 });
  await waitStatus(a, (s) => s.pending === 3, "A: 3 appends queued while offline", 5000);
  await waitStatus(b, (s) => s.pending === 4, "B: 4 appends queued while offline", 5000);
  await sleep(300);
  assert.deepEqual(await readServer(edge), [], "nothing reached the service while both were offline");
  const offlineA = await readLocal(a);
  const createdOffline = new Map([...offlineA, ...(await readLocal(b))].map((x) => [x.id, Date.parse(x.createdAt)]));

  // A comes back first: everything of A is confirmed with the revisions and positions it had.
  await ctxA.setOffline(false);
  const sa = await flush(a);
  assert.equal(sa.pending, 0);
  assert.equal(sa.conflicts, 0);
  const afterA = await readServer(edge);
  assert.deepEqual(ids(afterA), ids([e.a1, e.as1, e.as2, e.a2]), "A's appends, in A's order");
  assertSameLog(afterA, offlineA, "A's events confirmed with the positions, revisions and createdAt they got offline");

  // Then B: B-1 is confirmed after A's events, Shared-1 is held (one conflict, announced once).
  await ctxB.setOffline(false);
  const sb = await flush(b);
  assert.equal(sb.conflicts, 1, "B holds one stream");
  assert.equal(sb.pending, 2, "B's two Shared-1 appends are held (pending counts held ones)");
  const log = await readServer(edge);
  assert.deepEqual(ids(log), ids([e.a1, e.as1, e.as2, e.a2, e.b1, e.b2]), "the service holds A's events, then B-1's; none of B's Shared-1");
  assert.deepEqual(log.filter((x) => x.streamId === "B-1").map((x) => x.revision), [0, 1], "B-1 keeps the revisions B gave it");

  await waitCaughtUp(a, edge, "A");
  await waitCaughtUp(b, edge, "B");
  assertSameLog(await readLocal(a), log, "A's readAll() equals GET /all");
  const localB = await readLocal(b);
  assertSameLog(localB.slice(0, log.length), log, "B's confirmed prefix equals GET /all");
  assert.deepEqual(ids(localB.slice(log.length)), ids([e.bs1, e.bs2]), "B's held events stay visible locally, after the confirmed prefix");
  assert.deepEqual(localB.slice(log.length).map((x) => x.revision), [2, 3], "held events sit on top of the server's Shared-1 (revisions 0, 1)");

  for (const x of [...log, ...localB]) assert.equal(Date.parse(x.createdAt), createdOffline.get(x.id), `createdAt of ${x.type} is the time of the original local append`);

  assert.deepEqual(await a.evaluate(() => window.conflicts()), [], "A (synced first) has no conflict");
  const conflicts = await b.evaluate(() => window.conflicts());
  assert.equal(conflicts.length, 1, "exactly one conflict on B");
  const [c] = conflicts;
  assert.equal(c.streamId, "Shared-1");
  assert.equal(c.expectedRevision, "no_stream");
  assert.equal(c.actualRevision, 1);
  assert.deepEqual(ids(c.pending), ids([e.bs1, e.bs2]), "conflict.pending: every held event of the stream, oldest first");
  assert.deepEqual(ids(c.theirs), ids([e.as1, e.as2]), "conflict.theirs: the server's events after expectedRevision");
  assertSameLog(c.theirs, log.filter((x) => x.streamId === "Shared-1"), "theirs are the recorded server events");
  assert.equal(Date.parse(c.pending[0].createdAt), Date.parse(localB.find((x) => x.id === e.bs1.id).createdAt));
  assert.deepEqual(await a.evaluate(() => device.announced.map((x) => x.streamId)), [], "onConflict: nothing on A");
  assert.deepEqual(await b.evaluate(() => device.announced.map((x) => x.streamId)), ["Shared-1"], "onConflict: once on B");
  return { edge, a, b, e, ctxA, ctxB };
}

/** Both devices equal the service (after each caught up), no pending, no conflict. */
async function assertConverged(edge, a, b) {
  const log = await readServer(edge);
  for (const [name, page] of [["A", a], ["B", b]]) {
    await waitCaughtUp(page, edge, name);
    const s = await status(page);
    assert.equal(s.pending, 0, `${name}: nothing pending`);
    assert.equal(s.conflicts, 0, `${name}: no conflict`);
    assertSameLog(await readLocal(page), log, `${name}: readAll() equals GET /all`);
  }
  return log;
}

describe("sync between Chromium devices through workerd", { timeout: TIMEOUT }, () => {
  test("1a. offline on two devices, back online: convergence, one conflict on the device that synced second, resolved by retry", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const { edge, a, b, e } = await offlineScenario(cleanup);
      const retried = ev("Shared-Noted", { device: "B", retried: true });
      const r = await b.evaluate(([events]) => window.resolve("Shared-1", "retry", events), [[retried]]);
      assert.ok(r.ok, JSON.stringify(r.error));
      assert.equal(r.result.nextExpectedRevision, 2, "retried on the server's revision 1");
      await flush(b);
      const log = await assertConverged(edge, a, b);
      assert.deepEqual(ids(log.filter((x) => x.streamId === "Shared-1")), ids([e.as1, e.as2, retried]));
      assert.deepEqual(log.filter((x) => x.streamId === "Shared-1").map((x) => x.revision), [0, 1, 2]);
      assert.ok(!log.some((x) => x.id === e.bs1.id || x.id === e.bs2.id), "the replaced events never reach the service");
      assert.deepEqual(await b.evaluate(() => window.conflicts()), []);
    }));

  test("1b. the same scenario resolved by discard: the stream becomes the server's", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const { edge, a, b, e } = await offlineScenario(cleanup);
      const r = await b.evaluate(() => window.resolve("Shared-1", "discard"));
      assert.ok(r.ok, JSON.stringify(r.error));
      await flush(b);
      const log = await assertConverged(edge, a, b);
      assert.deepEqual(ids(log), ids([e.a1, e.as1, e.as2, e.a2, e.b1, e.b2]), "nothing new on the service");
      const shared = (await readLocal(b)).filter((x) => x.streamId === "Shared-1");
      assert.deepEqual(ids(shared), ids([e.as1, e.as2]), "B's Shared-1 is the server's");
    }));

  test("2. workerd SIGKILLed and restarted (same port, same data) during bursts of 200 appends: every acknowledged append is on the service exactly once", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      let edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      const page = await devicePage(ctx, srv, "burst");
      await openStore(page, edge, { name: "burst" });
      await waitStatus(page, (s) => s.state === "online", "online");

      const acknowledged = [];
      // Round 1 kills the moment the first push leaves the page (the service is deciding it);
      // round 2 a few milliseconds later (it may have committed and be answering).
      for (const [round, delay] of [[1, 0], [2, 8]]) {
        await waitStatus(page, (s) => s.state === "online", `round ${round}: online`);
        const pushesBefore = page.pushes.length;
        const pushed = new Promise((resolve) => (page.onPush = resolve));
        await page.evaluate((round) => window.burst(200, (i) => `Burst${round}-${i % 7}`), round);
        await pushed;
        if (delay) await sleep(delay);
        await edge.kill("SIGKILL");
        const atKill = await page.evaluate(() => ({ acked: window.device.acks.length, status: window.syncStatus() }));
        await page.evaluate(() => window.device.burstDone);
        // More appends while the service is down.
        await append(page, `AfterKill-${round}`, [ev("AfterKill")]);
        await sleep(300);
        for (let i = 0; ; i++) {
          try {
            edge = await edgeFor(cleanup, { port: edge.port, dataDir: edge.dataDir });
            break;
          } catch (err) {
            if (i >= 10) throw err;
            await sleep(300);
          }
        }
        const onRestart = (await readServer(edge)).length;
        console.log(`# round ${round}: killed ${delay} ms after push ${pushesBefore + 1} (${page.pushes[pushesBefore]} appends) left the page; ${atKill.acked}/200 appends of this burst acknowledged locally then; the service held ${onRestart} events right after the restart`);
        const s = await flush(page, 60000);
        assert.equal(s.pending, 0);
        assert.equal(s.conflicts, 0);
        const acks = await page.evaluate(() => window.device.acks.splice(0));
        assert.equal(acks.length, 200);
        assert.deepEqual(acks.filter((x) => !x.ok), [], "every local append succeeded");
        acknowledged.push(...acks.map((x) => x.id));
      }

      const log = await readServer(edge);
      const counts = new Map();
      for (const x of log) counts.set(x.id, (counts.get(x.id) ?? 0) + 1);
      assert.deepEqual(acknowledged.filter((id) => !counts.has(id)), [], "no acknowledged append is missing on the service");
      assert.deepEqual([...counts].filter(([, n]) => n > 1), [], "no event is stored twice");
      assert.equal(log.length, 402, "the 2 × 200 burst events and the 2 appended while down, nothing else");
      assert.deepEqual(log.map((x) => x.position), log.map((_, i) => i), "dense positions");
      await waitCaughtUp(page, edge);
      assertSameLog(await readLocal(page), log, "the device equals the service");
    }));

  test("3. a reload while offline keeps the pending appends; back online they are confirmed", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      await cacheAppShell(ctx, srv);
      const page = await devicePage(ctx, srv, "reload");
      await openStore(page, edge, { name: "reload" });
      await waitStatus(page, (s) => s.state === "online", "online");
      await append(page, "Before-1", [ev("Before")]);
      await flush(page);

      await ctx.setOffline(true);
      const offline = [ev("Offline", { n: 1 }), ev("Offline", { n: 2 }), ev("Offline", { n: 3 })];
      await append(page, "Offline-1", offline.slice(0, 2));
      await append(page, "Offline-1", offline.slice(2), { expectedRevision: 1 });
      await waitStatus(page, (s) => s.pending === 2, "2 appends queued", 5000);
      const before = await readLocal(page);

      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready === "true");
      assert.equal(await page.evaluate(() => navigator.onLine), false, "still offline after the reload");
      await openStore(page, edge, { name: "reload" });
      assert.deepEqual(await readLocal(page), before, "the local log is unchanged by the reload");
      // status() must report the queue read back from IndexedDB (checked here, asserted at the
      // end so that the rest of the scenario still runs).
      const problems = [];
      const s = await page.evaluate(() => window.waitStatus((s) => s.pending === 2, 5000));
      if (!s.ok) problems.push(`after the reload, status().pending should be 2 (the queue read back), got ${JSON.stringify(s.status)}`);
      assert.notEqual(s.status.state, "online");
      const stuck = await page.evaluate(() => window.flush(1000));
      assert.ok(stuck.timedOut, "flush() waits while offline: the queue is still there");
      assert.equal(stuck.status.pending, 2, "the 2 appends are still queued");
      assert.deepEqual(ids((await readServer(edge)).filter((x) => x.streamId === "Offline-1")), [], "nothing reached the service");

      await ctx.setOffline(false);
      const done = await flush(page);
      assert.equal(done.pending, 0);
      const log = await readServer(edge);
      assert.deepEqual(ids(log.filter((x) => x.streamId === "Offline-1")), ids(offline), "confirmed once each, in order");
      await waitCaughtUp(page, edge);
      assertSameLog(await readLocal(page), log, "the device equals the service");
      assert.deepEqual(problems, []);
    }));

  test("4. two tabs on one IndexedDB: one syncs (Web Locks), the other's appends are pushed by it, both see pending reach 0", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      const one = await devicePage(ctx, srv, "tab 1");
      await openStore(one, edge, { name: "tabs" });
      await waitStatus(one, (s) => s.state === "online", "tab 1 online");
      const two = await devicePage(ctx, srv, "tab 2");
      await openStore(two, edge, { name: "tabs" });
      await sleep(1000);
      assert.equal(one.sockets.length, 1, `tab 1 syncs over one socket: ${one.sockets}`);
      assert.deepEqual(two.sockets, [], "tab 2 opens no socket");

      const fromTwo = [ev("FromTab2", { n: 1 }), ev("FromTab2", { n: 2 })];
      await append(two, "Tabs-1", [fromTwo[0]]);
      await append(two, "Tabs-2", [fromTwo[1]]);
      for (const [name, page] of [["tab 1", one], ["tab 2", two]]) {
        await waitStatus(page, (s) => s.pending === 0 && s.confirmedPosition === 1, `${name}: pending 0, both appends confirmed`);
      }
      const log = await readServer(edge);
      assert.deepEqual(ids(log), ids(fromTwo), "tab 2's appends reached the service (pushed by tab 1)");
      assert.deepEqual(two.sockets, [], "tab 2 still opened no socket");
      assert.equal((await status(two)).state, "online", "tab 2 reports the leader's connection");
      assert.deepEqual(await flush(two).then((s) => s.pending), 0, "flush() in the follower tab resolves");
      assertSameLog(await readLocal(one), log);
      assertSameLog(await readLocal(two), log);

      // The leader goes away: the other tab takes over.
      await one.close();
      const later = ev("AfterHandover");
      await append(two, "Tabs-1", [later], { expectedRevision: 0 });
      await waitStatus(two, (s) => s.pending === 0 && s.confirmedPosition === 2, "tab 2 syncs once tab 1 is closed");
      assert.equal(two.sockets.length, 1, "tab 2 opened the socket");
      assert.deepEqual(ids(await readServer(edge)), ids([...fromTwo, later]));
    }));

  test("5. a read model fed by subscribe(…, { onRebase }) ends equal to one rebuilt from readAll()", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const { edge, a, b } = await offlineScenario(cleanup);
      const mid = await b.evaluate(() => window.model());
      assert.ok(mid.rebases.length >= 1, `B's subscription was told of the rebase (onRebase calls: ${JSON.stringify(mid.rebases)})`);
      const r = await b.evaluate(() => window.resolve("Shared-1", "retry", [{ type: "Shared-Noted", data: { retried: true } }]));
      assert.ok(r.ok, JSON.stringify(r.error));
      await flush(b);
      await assertConverged(edge, a, b);
      for (const [name, page] of [["A", a], ["B", b]]) {
        const local = await readLocal(page);
        await page.waitForFunction((n) => window.model().events.length >= n, local.length, { timeout: 10000 }).catch(() => {});
        await sleep(200); // a late redelivery would show up here
        const model = await page.evaluate(() => window.model());
        assert.deepEqual(model.errors, [], `${name}: no subscription error`);
        const rebuilt = local.map(({ id, streamId, type, revision, position }) => ({ id, streamId, type, revision, position }));
        assert.deepEqual(model.events, rebuilt, `${name}: the read model equals one rebuilt from readAll() (onRebase calls: ${JSON.stringify(model.rebases)})`);
        const perStream = {};
        for (const x of local) perStream[x.streamId] = (perStream[x.streamId] ?? 0) + 1;
        assert.deepEqual(model.perStream, perStream, `${name}: per-stream counts`);
      }
    }));
});

describe("sync status in Chromium", { timeout: TIMEOUT }, () => {
  test("a store opened while offline reports offline, then online once the network is back", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      const page = await devicePage(ctx, srv, "status");
      // The build with sync is loaded (an app's cache would hold it): a synced store opened and
      // closed at once (its edge URL is not the test's).
      await page.evaluate(() => window.EventStore.open({ sync: { url: "http://127.0.0.1:9/t/warm-up", token: () => "none" } }).then((s) => s.close()));
      await ctx.setOffline(true);
      await openStore(page, edge, { name: "status-0" });
      await append(page, "Status-1", [ev("WhileOffline")]);
      await waitStatus(page, (s) => s.state === "offline" && s.pending === 1, "offline, one append queued", 10000);
      await ctx.setOffline(false);
      await waitStatus(page, (s) => s.state === "online" && s.pending === 0, "online and confirmed once the network is back", 15000);
    }));

  test("state is offline while the context is offline, online after", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      const page = await devicePage(ctx, srv, "status");
      await openStore(page, edge, { name: "status-1" });
      await waitStatus(page, (s) => s.state === "online", "online");
      await ctx.setOffline(true);
      await append(page, "Status-1", [ev("WhileOffline")]);
      // navigator.onLine is false and the "offline" event fired; the socket carries nothing.
      const offline = await page.evaluate(() => window.waitStatus((s) => s.state === "offline", 5000));
      const server = await readServer(edge);
      await ctx.setOffline(false);
      await waitStatus(page, (s) => s.state === "online" && s.pending === 0, "online and confirmed after", 15000);
      assert.deepEqual(server, [], "nothing reached the service while offline");
      assert.ok(offline.ok, `state should become "offline" while the context is offline (navigator.onLine false); status after 5 s: ${JSON.stringify(offline.status)}`);
    }));

  test("a bad token: lastError UNAUTHENTICATED, the queue is kept; a good token resumes", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      const ctx = await deviceContext(browser, cleanup);
      const page = await devicePage(ctx, srv, "auth");
      const bad = token(TENANT, {}, "not-the-service-secret-0123456789");
      await openStore(page, edge, { name: "auth", token: bad });
      const events = [ev("Queued", { n: 1 }), ev("Queued", { n: 2 })];
      await append(page, "Auth-1", [events[0]]);
      await append(page, "Auth-1", [events[1]], { expectedRevision: 0 });
      const s = await waitStatus(page, (s) => s.lastError?.code === "UNAUTHENTICATED", "lastError UNAUTHENTICATED", 10000);
      assert.notEqual(s.state, "online");
      await sleep(1500); // a few more attempts with the bad token
      const still = await status(page);
      assert.equal(still.pending, 2, "the queue is kept");
      assert.equal(still.lastError?.code, "UNAUTHENTICATED");
      assert.deepEqual(await readServer(edge), [], "nothing pushed with a bad token");
      assert.ok((await page.evaluate(() => window.device.tokenCalls)) >= 2, "token() is called again");

      await page.evaluate((t) => window.setToken(t), jwt());
      const done = await flush(page, 30000);
      assert.equal(done.pending, 0);
      await waitStatus(page, (s) => s.state === "online" && s.lastError === null, "online, lastError cleared");
      const log = await readServer(edge);
      assert.deepEqual(ids(log), ids(events));
      assertSameLog(await readLocal(page), log);
    }));
});

// ---- Scoped tokens and partial sync (CONTRACT.md, "Scoped access and partial sync"): alice selects
// some streams with a token for all, bob every stream with a token for others.

/** Appends through the service's HTTP route with a token for every stream. */
async function post(edge, streamId, type) {
  const res = await call(edge, "POST", `/t/${TENANT}/streams/${streamId}`, { token: jwt(), body: { events: [{ type, data: { streamId } }] } });
  assert.equal(res.status, 200, res.text);
}

/** The service's log restricted to the streams `matches` keeps. */
const only = (log, matches) => log.filter((e) => matches(e.streamId));

describe("partial sync in Chromium", { timeout: TIMEOUT }, () => {
  test("two devices of other scopes hold only their streams at the service's positions; reopened wider, the history comes", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const edge = await edgeFor(cleanup);
      for (const [stream, type] of [["List-7", "Created"], ["List-8", "Created"], ["Item-7-1", "Added"], ["Item-8-1", "Added"], ["Item-7-1", "Checked"]]) {
        await post(edge, stream, type);
      }
      const alice = await devicePage(await deviceContext(browser, cleanup), srv, "alice");
      const bob = await devicePage(await deviceContext(browser, cleanup), srv, "bob");
      await openStore(alice, edge, { name: "lists", streams: ["List-7", "Item-7-*"] });
      await openStore(bob, edge, { name: "lists", token: jwt({ streams: ["List-8", "Item-8-*"] }) });
      const aliceHolds = (s) => s === "List-7" || s.startsWith("Item-7-");
      const bobHolds = (s) => s === "List-8" || s.startsWith("Item-8-");

      // Each device's confirmed prefix reaches the service's head; it holds its streams only.
      let log = await waitCaughtUp(alice, edge, "alice");
      await waitCaughtUp(bob, edge, "bob");
      assertSameLog(await readLocal(alice), only(log, aliceHolds), "alice: her streams, at the service's positions");
      assertSameLog(await readLocal(bob), only(log, bobHolds), "bob: what his token allows, at the service's positions");
      assert.deepEqual((await readLocal(alice)).map((e) => e.position), [0, 2, 4], "holes where the other streams' events are");

      // Outside alice's selection: refused at once, naming it; nothing queued.
      const refused = await alice.evaluate(() => window.append("List-8", [{ type: "Renamed", data: {} }]));
      assert.equal(refused.ok, false);
      assert.equal(refused.error.code, "INVALID_ARGUMENT");
      assert.equal(refused.error.message, 'stream "List-8" is outside this store\'s sync selection ["List-7", "Item-7-*"]');
      assert.equal((await alice.evaluate(() => window.syncStatus())).pending, 0);

      // Inside it: confirmed at the service's position; bob never gets it.
      await append(alice, "Item-7-2", [{ type: "Added", data: { by: "alice" } }]);
      await flush(alice);
      await post(edge, "Item-8-2", "Added"); // live to bob
      log = await waitCaughtUp(bob, edge, "bob");
      // (alice's live feed skips bob's event: her confirmed position stays at her last one.)
      assertSameLog(await readLocal(alice), only(log, aliceHolds), "alice after her append");
      assertSameLog(await readLocal(bob), only(log, bobHolds), "bob after alice's append and a live one of his");

      // Outside bob's token (his selection is every stream): the service refuses it, FORBIDDEN.
      await append(bob, "List-7", [{ type: "Renamed", data: { by: "bob" } }]);
      const s = await flush(bob);
      assert.equal(s.conflicts, 1);
      const [conflict] = await bob.evaluate(() => window.conflicts());
      assert.equal(conflict.streamId, "List-7");
      assert.equal(conflict.error?.code, "FORBIDDEN", JSON.stringify(conflict));
      assert.deepEqual(conflict.theirs, [], "nothing of a forbidden stream reaches bob");
      assert.equal(only(await readServer(edge), (x) => x === "List-7").length, 1, "the service never stored it");

      // alice reopens with a wider selection: Item-8-* comes, at the service's positions.
      await alice.reload();
      await alice.waitForFunction(() => document.body.dataset.ready === "true");
      await openStore(alice, edge, { name: "lists", streams: ["List-7", "Item-*"] });
      log = await waitCaughtUp(alice, edge, "alice reopened wider");
      const wider = (x) => x === "List-7" || x.startsWith("Item-");
      assertSameLog(await readLocal(alice), only(log, wider), "alice after reopening wider");
    }));

  test("sync.streams must be an array of stream patterns: else the open rejects with INVALID_ARGUMENT", { timeout: TIMEOUT }, () =>
    withCleanup(async (cleanup) => {
      const page = await devicePage(await deviceContext(browser, cleanup), srv, "options");
      const url = "http://127.0.0.1:9/t/acme";
      for (const streams of ["List-7", ["List-7", ""], ["a*b"], ["**"], [7], {}]) {
        const r = await page.evaluate(([u, s]) => window.tryOpen(u, s), [url, streams]);
        assert.equal(r.ok, false, `streams ${JSON.stringify(streams)} was accepted`);
        assert.equal(r.error.code, "INVALID_ARGUMENT", JSON.stringify(r));
        assert.ok(r.isEventStoreError, JSON.stringify(r));
        assert.match(r.error.message, /sync\.streams/, JSON.stringify(r));
      }
      for (const streams of [undefined, ["*"], ["List-7", "Item-7-*"], []]) {
        const r = await page.evaluate(([u, s]) => window.tryOpen(u, s), [url, streams]);
        assert.ok(r.ok, `streams ${JSON.stringify(streams)}: ${JSON.stringify(r)}`);
      }
    }));
});
