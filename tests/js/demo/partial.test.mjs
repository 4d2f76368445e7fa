// Scoped tokens and partial sync in the demo (issue 21): the tenant holds two lists; alice's token
// reaches every stream, bob's only `Item-groceries-*` (scripts/demo.mjs, ACCESS), and bob's device
// syncs only those streams. Through the app's UI in real Chromium and the edge service in workerd:
// what both share syncs both ways; the surprise party never reaches bob's device — not in any
// WebSocket frame it receives, not in any record of its IndexedDB databases — while his history
// keeps the tenant's positions (holes where the party's events are), and the "On this device"
// panel says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, device, item, openApp, rename, screenshotSideBySide, serverLog, shows, synced, SYNC_TIMEOUT, tick, timeline, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();
const PARTY = "Item-party-";
const GROCERIES = "Item-groceries-";

/** Every text frame a page's WebSockets receive, from before the app loads. */
function recordFrames(frames) {
  return (page) =>
    page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => frames.push(typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"))));
}

/**
 * Everything the page's origin keeps in IndexedDB, as text: every database, object store, key and
 * record (binary values decoded as UTF-8), read with IndexedDB's own API beside the app.
 */
function rawIndexedDb(page) {
  return page.evaluate(async () => {
    const decoder = new TextDecoder("utf-8", { fatal: false });
    const text = (value) => {
      if (value === null || value === undefined) return "";
      if (typeof value === "string") return value;
      if (typeof value !== "object") return String(value);
      if (value instanceof ArrayBuffer) return decoder.decode(new Uint8Array(value));
      if (ArrayBuffer.isView(value)) return decoder.decode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Blob) return "[blob]";
      return Object.entries(value).map(([k, v]) => `${k}=${text(v)}`).join(" ");
    };
    const request = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
    const out = { databases: [], stores: 0, records: 0, text: "" };
    const parts = [];
    for (const { name } of await indexedDB.databases()) {
      out.databases.push(name);
      const db = await request(indexedDB.open(name));
      try {
        for (const storeName of db.objectStoreNames) {
          const store = db.transaction(storeName, "readonly").objectStore(storeName);
          const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
          out.stores++;
          out.records += values.length;
          for (let i = 0; i < values.length; i++) parts.push(`${storeName} ${text(keys[i])} ${text(values[i])}`);
        }
      } finally {
        db.close();
      }
    }
    out.text = parts.join("\n");
    return out;
  });
}

/** The "On this device" panel's rows: `{ list: { streams, events, reachable } }`, and its holes. */
async function held(page) {
  return page.evaluate(() => ({
    lists: Object.fromEntries(
      [...document.querySelectorAll("#held-lists-body tr")].map((tr) => [tr.dataset.list, { streams: Number(tr.dataset.streams), events: Number(tr.dataset.events), reachable: tr.dataset.reachable === "true" }]),
    ),
    holes: Number(document.getElementById("held-positions").dataset.holes),
    access: document.getElementById("held-access").textContent,
  }));
}

const tabs = (page) => page.$$eval("#list-tabs button", (buttons) => buttons.map((b) => b.dataset.list));
const showList = async (page, list) => {
  await page.click(`#list-tabs button[data-list=${list}]`);
  await page.waitForSelector(`#list-tabs button[data-list=${list}][aria-selected=true]`);
};

test("bob's device holds the groceries only: the surprise party never reaches it, in any frame or record", () =>
  withDemo(async (demo) => {
    const contexts = [await device(env.browser), await device(env.browser)];
    const bobFrames = [];
    try {
      const alice = await openApp(contexts[0], demo, "alice");
      const bob = await openApp(contexts[1], demo, "bob", recordFrames(bobFrames));
      try {
        assert.equal(await bob.evaluate(() => document.body.dataset.sync), "on", await bob.textContent("#sync-detail"));
        assert.deepEqual(await tabs(alice), ["groceries", "party"]);
        assert.equal(await alice.textContent("#list-tabs"), "GroceriesSurprise party", "alice has every list, and no note");
        assert.deepEqual(await tabs(bob), ["groceries"], "bob's device shows one list");
        assert.match(await bob.textContent("#list-tabs"), /“Surprise party”: not shared with bob/);

        // Both write to the groceries; alice also plans the party.
        await addItem(alice, "Milk");
        await showList(alice, "party");
        await addItem(alice, "Cake");
        await addItem(alice, "Balloons");
        await rename(alice, "Cake", "Chocolate cake");
        await tick(alice, "Balloons");
        await bob.waitForSelector(item("Milk"), { timeout: SYNC_TIMEOUT });
        await addItem(bob, "Bread");
        await showList(alice, "groceries");
        await alice.waitForSelector(item("Bread"), { timeout: SYNC_TIMEOUT });
        await addItem(alice, "Eggs"); // after the party's events: bob's log has holes below it
        await bob.waitForSelector(item("Eggs"), { timeout: SYNC_TIMEOUT });
        await Promise.all([synced(alice), synced(bob)]);

        // The service holds both lists; bob's device holds the service's log restricted to the
        // groceries, at the same positions (the party's are holes).
        const log = await serverLog(demo);
        const party = log.filter(([, stream]) => stream.startsWith(PARTY));
        const groceries = log.filter(([, stream]) => stream.startsWith(GROCERIES));
        assert.equal(party.length, 4, "ItemAdded ×2, ItemRenamed, ItemChecked");
        assert.equal(groceries.length + party.length, log.length);
        const bobLog = (await timeline(bob)).map((e) => [e.position, e.stream, e.type]).reverse();
        assert.deepEqual(bobLog, groceries, "bob's log = the service's, restricted to the groceries, same positions");
        assert.ok(bobLog.at(-1)[0] > party.at(-1)[0], "a groceries event after the party's: holes inside bob's log");
        assert.deepEqual((await timeline(alice)).map((e) => [e.position, e.stream, e.type]).reverse(), log, "alice's log is the whole tenant");
        assert.ok(await bob.$("#timeline-body tr.gap"), "bob's history shows the holes");
        assert.match(await bob.textContent("#timeline-body tr.gap"), /not on this device/);

        // The panel: what each device holds, read back from its store.
        const [a, b] = [await held(alice), await held(bob)];
        assert.deepEqual(a.lists.party, { streams: 2, events: 4, reachable: true });
        assert.deepEqual(b.lists.party, { streams: 0, events: 0, reachable: false }, "the party is not on bob's device");
        assert.deepEqual(b.lists.groceries, { streams: 3, events: 3, reachable: true });
        assert.equal(b.holes, party.length, "every party position is a hole on bob's device");
        assert.equal(a.holes, 0);
        assert.match(b.access, /Item-groceries-\*/);

        // Not one frame bob's device received names the party or its items…
        assert.ok(bobFrames.some((f) => f.includes(GROCERIES) && f.includes("Bread")), "the frames were recorded");
        const leaked = bobFrames.filter((f) => f.includes(PARTY) || /Cake|Balloons/.test(f));
        assert.deepEqual(leaked, [], "no frame to bob carries a party event");
        // …and nothing in its IndexedDB does, while alice's has them (the scan sees payloads and stream ids).
        const [rawAlice, rawBob] = [await rawIndexedDb(alice), await rawIndexedDb(bob)];
        assert.ok(rawBob.records > 0 && rawBob.text.includes(GROCERIES) && rawBob.text.includes("Bread"), `the scan reads bob's records (${rawBob.databases})`);
        assert.ok(rawAlice.text.includes(PARTY) && rawAlice.text.includes("Chocolate cake"), "alice's IndexedDB holds the party");
        for (const secret of [PARTY, "Cake", "Balloons"]) assert.ok(!rawBob.text.includes(secret), `bob's IndexedDB holds nothing of the party (${secret})`);

        // bob's token, as the edge service sees it: the party is forbidden, /all has holes.
        const { token } = await (await fetch(`${demo.url}/api/dev-token?device=bob`)).json();
        const get = (path) => fetch(`${demo.serviceUrl}/t/demo${path}`, { headers: { authorization: `Bearer ${token}` } });
        const all = await get("/all");
        assert.equal(all.status, 200);
        assert.deepEqual((await all.json()).events.map((e) => [e.position, e.streamId, e.type]), groceries);
        const forbidden = await get(`/streams/${encodeURIComponent(party[0][1])}`);
        assert.equal(forbidden.status, 403);
        assert.equal((await forbidden.json()).error.code, "FORBIDDEN");

        await showList(alice, "party");
        await screenshotSideBySide(env.browser, [alice, bob], "partial-sync");
        assert.deepEqual([...alice.errors, ...bob.errors], []);
      } catch (error) {
        throw new Error(`${error.message}\n  alice shows: ${await shows(alice)}\n  bob shows:   ${await shows(bob)}`, { cause: error });
      }
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  }));
