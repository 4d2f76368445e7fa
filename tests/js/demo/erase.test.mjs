// "Delete my data" in the demo, with two devices (alice and bob) syncing through the edge service:
// alice erases the items she added; they leave both lists, the history shows their positions as
// gaps, and a raw scan of every object store of both devices' IndexedDB databases — and of the
// service's log — finds no trace of them (a marker in their names). bob's offline change to one of
// them becomes a STREAM_DELETED conflict that the app discards by itself, with a notice. The
// history's retention selector keeps only an item's last events.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addItem,
  item,
  listed,
  notOnline,
  rename,
  screenshot,
  screenshotSideBySide,
  switchOffline,
  synced,
  SYNC_TIMEOUT,
  tick,
  timeline,
  twoDevices,
  useChromium,
} from "./harness.mjs";

const env = useChromium();
const withTwoDevices = (fn) => twoDevices(env.browser, fn);

/**
 * Every place `marker` occurs in the IndexedDB database `name` of `page`'s origin: each object
 * store read whole with a cursor, keys and values as JSON. `{ stores, records, hits }`.
 */
function rawScan(page, name, marker) {
  return page.evaluate(
    async ({ name, marker }) => {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const stores = [...db.objectStoreNames];
      const hits = [];
      let records = 0;
      const show = (v) => JSON.stringify(v, (_, x) => (x instanceof ArrayBuffer || ArrayBuffer.isView(x) ? new TextDecoder().decode(x) : x));
      try {
        for (const store of stores) {
          await new Promise((resolve, reject) => {
            const req = db.transaction(store, "readonly").objectStore(store).openCursor();
            req.onsuccess = () => {
              const cursor = req.result;
              if (!cursor) return resolve();
              records++;
              const text = `${show(cursor.key)} ${show(cursor.value)}`;
              if (text.includes(marker)) hits.push(`${store}: ${text.slice(0, 300)}`);
              cursor.continue();
            };
            req.onerror = () => reject(req.error);
          });
        }
      } finally {
        db.close();
      }
      return { stores, records, hits };
    },
    { name, marker },
  );
}

/** The service's whole log as JSON text. */
async function serverText(demo) {
  const { token } = await (await fetch(`${demo.url}/api/dev-token?device=test`)).json();
  const res = await fetch(`${demo.serviceUrl}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return res.text();
}

const notice = (page) => page.evaluate(() => (document.getElementById("notice").hidden ? "" : document.getElementById("notice-text").textContent));

test("Delete my data erases the device's items from both devices' storage and from the service", () =>
  withTwoDevices(async ({ alice, bob, demo }) => {
    const marker = `ERASE-ME-${crypto.randomUUID().slice(0, 8)}`;
    const mine = [`${marker} milk`, `${marker} eggs`];
    for (const name of mine) await addItem(alice, name);
    await addItem(bob, "Bread");
    await bob.waitForSelector(item(mine[1]), { timeout: SYNC_TIMEOUT });
    await tick(bob, mine[0]); // bob's event in alice's item is erased with it
    await alice.waitForSelector(`${item(mine[0])}.checked`, { timeout: SYNC_TIMEOUT });
    await Promise.all([synced(alice), synced(bob)]);
    for (const [page, db] of [[alice, "evstore-demo-alice"], [bob, "evstore-demo-bob"]]) {
      const before = await rawScan(page, db, marker);
      assert.ok(before.hits.length > 0, `the scan finds the marker before the erasure (${db})`);
    }
    assert.match(await serverText(demo), new RegExp(marker));

    await alice.click("#delete-mine");
    await alice.waitForFunction(() => document.body.dataset.erased === "2", null, { timeout: SYNC_TIMEOUT });
    assert.match(await notice(alice), /Erased 2 items you added, on this device and through the edge service/);
    for (const page of [alice, bob]) {
      for (const name of mine) await page.waitForSelector(item(name), { state: "detached", timeout: SYNC_TIMEOUT });
    }
    assert.deepEqual(await listed(alice), [["Bread", false]]);
    assert.deepEqual(await listed(bob), [["Bread", false]]);
    await Promise.all([synced(alice), synced(bob)]);

    // The history: the tombstones are there, the erased events are not, and their positions are gaps.
    const history = await timeline(alice);
    assert.deepEqual(history.filter((e) => e.type === "$streamDeleted").length, 2);
    assert.ok(!history.some((e) => JSON.stringify(e.data).includes(marker)));
    assert.ok((await alice.$$eval("#timeline-body tr.gap", (rows) => rows.length)) > 0, "removed positions show as gaps");
    await screenshotSideBySide(env.browser, [alice, bob], "erased");

    // Nothing of the erased items is left in any object store of either device, nor on the service.
    for (const [page, db] of [[alice, "evstore-demo-alice"], [bob, "evstore-demo-bob"]]) {
      const scan = await rawScan(page, db, marker);
      assert.ok(scan.records > 0, `${db} was scanned (${scan.stores.join(", ")})`);
      assert.deepEqual(scan.hits, [], `no trace of the erased items in ${db}`);
    }
    assert.doesNotMatch(await serverText(demo), new RegExp(marker));
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  }));

test("an offline change to an item erased meanwhile is dropped by itself, with a notice, and leaves no trace", () =>
  withTwoDevices(async ({ alice, bob }) => {
    const marker = `ERASE-ME-${crypto.randomUUID().slice(0, 8)}`;
    await addItem(alice, `${marker} tea`);
    await bob.waitForSelector(item(`${marker} tea`), { timeout: SYNC_TIMEOUT });
    await Promise.all([synced(alice), synced(bob)]);

    await switchOffline(bob, true);
    await notOnline(bob);
    await rename(bob, `${marker} tea`, `${marker} green tea`);
    await alice.click("#delete-mine");
    await alice.waitForFunction(() => document.body.dataset.erased === "1", null, { timeout: SYNC_TIMEOUT });
    await alice.waitForSelector(item(`${marker} tea`), { state: "detached" });

    await switchOffline(bob, false);
    await bob.waitForSelector(item(`${marker} green tea`), { state: "detached", timeout: SYNC_TIMEOUT });
    await bob.waitForFunction(() => /erased for good by the device that added it; your change to it was dropped/.test(document.getElementById("notice-text").textContent), null, { timeout: SYNC_TIMEOUT });
    assert.equal(await bob.$$eval(".conflict-card", (c) => c.length), 0, "no conflict is left for the user");
    await Promise.all([synced(alice), synced(bob)]);
    for (const [page, db] of [[alice, "evstore-demo-alice"], [bob, "evstore-demo-bob"]]) {
      assert.deepEqual((await rawScan(page, db, marker)).hits, [], `no trace in ${db}`);
    }
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  }));

test("the history's retention selector keeps only an item's last events", () =>
  withTwoDevices(async ({ alice, bob }) => {
    await addItem(alice, "Coffee");
    for (const name of ["Coffee beans", "Dark coffee", "Ground coffee"]) {
      const from = (await listed(alice))[0][0];
      await rename(alice, from, name);
    }
    await synced(alice);
    const streamId = await alice.$eval(item("Ground coffee"), (li) => li.dataset.stream);
    await alice.selectOption("#filter-stream", streamId);
    await alice.waitForSelector("#retention:not([hidden])");
    assert.equal(await alice.inputValue("#retention-count"), "", "all events are kept by default");
    await alice.selectOption("#retention-count", "2");
    await alice.waitForFunction(
      (s) => [...document.querySelectorAll("#timeline-body tr[data-position]")].filter((tr) => tr.children[2].title === s).length === 2,
      streamId,
      { timeout: SYNC_TIMEOUT },
    );
    const kept = (await timeline(alice)).filter((e) => e.stream === streamId).map((e) => [e.revision, e.type]);
    assert.deepEqual(kept, [[3, "ItemRenamed"], [2, "ItemRenamed"]]);
    assert.deepEqual(await listed(alice), [["Ground coffee", false]], "the list still knows the item: its state is the fold of what is kept");
    await alice.selectOption("#filter-stream", "");
    assert.ok((await alice.$$eval("#timeline-body tr.gap", (rows) => rows.length)) > 0, "the removed positions show as gaps");
    await alice.selectOption("#filter-stream", streamId);
    await alice.waitForSelector("#retention:not([hidden])");
    assert.equal(await alice.inputValue("#retention-count"), "2", "the selector shows the item's retention");
    await screenshot(alice, "retention");
    await synced(alice);
    await bob.waitForFunction(
      (s) => [...document.querySelectorAll("#timeline-body tr[data-position]")].filter((tr) => tr.children[2].title === s).length === 2,
      streamId,
      { timeout: SYNC_TIMEOUT },
    );
    // Its ItemAdded is gone, but the item is still alice's: "Delete my data" erases it.
    await alice.click("#delete-mine");
    await alice.waitForFunction(() => document.body.dataset.erased === "1", null, { timeout: SYNC_TIMEOUT });
    await alice.waitForSelector(item("Ground coffee"), { state: "detached" });
    await bob.waitForSelector(item("Ground coffee"), { state: "detached", timeout: SYNC_TIMEOUT });
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  }));
