// Scoped tokens and partial sync (CONTRACT.md, "Scoped access and partial sync") end to end: two
// headless Chromium devices of one tenant (own browser contexts, own IndexedDB) synced through the
// real edge service in workerd — alice selects some streams with a token for all, bob selects every
// stream with a token for others. Each holds only its streams, at the service's positions; a local
// append outside the selection is refused at once; one outside the token is a FORBIDDEN conflict;
// alice reopened with a wider selection fetches the newly selected history. And the `streams`
// option's INVALID_ARGUMENT.
//
//   node --test tests/js/sync/partial.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { launch, server } from "../browser/harness.mjs";
import { call } from "../edge-service/harness.mjs";
import {
  append,
  assertSameLog,
  deviceContext,
  devicePage,
  edgeFor,
  flush,
  jwt,
  openStore,
  readLocal,
  readServer,
  runCleanup,
  TENANT,
  waitCaughtUp,
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

async function withCleanup(body) {
  const cleanup = [];
  try {
    await body(cleanup);
  } finally {
    await runCleanup(cleanup);
  }
}

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
      await waitCaughtUp(alice, edge, "alice");
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
