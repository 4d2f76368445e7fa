// Two devices (two browser contexts: alice and bob) syncing through the edge service, through the
// app's UI: what one does appears on the other; offline edits on both converge once they are back
// online (alice goes offline with the app's switch, bob with Playwright's context.setOffline); a
// concurrent edit of one item is a conflict, explained in words and resolved with "Keep theirs" and
// "Apply mine again". Every device's history ends up equal to the service's log, all confirmed.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addItem,
  device,
  item,
  listed,
  notOnline,
  openApp,
  ready,
  rename,
  screenshot,
  screenshotSideBySide,
  serverLog,
  shows,
  switchOffline,
  synced,
  SYNC_TIMEOUT,
  tick,
  timeline,
  twoDevices,
  useChromium,
  withDemo,
} from "./harness.mjs";

const env = useChromium();

/** The app opened its store with sync (else it says why in the sync bar). */
async function assertSyncing(page) {
  assert.equal(await page.evaluate(() => document.body.dataset.sync), "on", await page.textContent("#sync-detail"));
}

/** Waits until the sync pill says `text` (the status settles a moment after the list shows a change). */
function pillSays(page, text) {
  return page.waitForFunction((t) => document.getElementById("sync-pill").textContent === t, text, { timeout: 5000 });
}

/** Both devices show the same list and the same history, all confirmed, equal to the service's log. */
async function assertConverged(demo, alice, bob) {
  await Promise.all([synced(alice), synced(bob)]);
  // One may be done before the other's last push reached it: give the live feed time to deliver.
  const deadline = Date.now() + SYNC_TIMEOUT;
  while (JSON.stringify(await timeline(alice)) !== JSON.stringify(await timeline(bob)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all([synced(alice), synced(bob)]);
  const [a, b] = [await timeline(alice), await timeline(bob)];
  assert.deepEqual(a, b, "the same history on both devices");
  assert.ok(a.every((e) => e.state === "confirmed"));
  assert.deepEqual(a.map((e) => [e.position, e.stream, e.type]).reverse(), await serverLog(demo), "equal to the service's log");
  assert.deepEqual(await listed(alice), await listed(bob), "the same list on both devices");
}

/** alice adds `name`; both devices have it and have nothing left to push. */
async function onBothSynced(alice, bob, name) {
  await assertSyncing(alice);
  await addItem(alice, name);
  await bob.waitForSelector(item(name), { timeout: SYNC_TIMEOUT });
  await Promise.all([synced(alice), synced(bob)]);
}

const withTwoDevices = (fn) => twoDevices(env.browser, fn);

test("what one device does appears on the other, through the edge service", () =>
  withTwoDevices(async ({ alice, bob, demo }) => {
    await assertSyncing(alice);
    await addItem(alice, "Milk");
    await addItem(alice, "Bread");
    await bob.waitForSelector(item("Bread"), { timeout: SYNC_TIMEOUT });
    await tick(bob, "Bread");
    await alice.waitForSelector(`${item("Bread")}.checked`, { timeout: SYNC_TIMEOUT });
    await rename(bob, "Milk", "Oat milk");
    await alice.waitForSelector(item("Oat milk"), { timeout: SYNC_TIMEOUT });
    await assertConverged(demo, alice, bob);
    assert.deepEqual(await listed(alice), [["Oat milk", false], ["Bread", true]]);
    assert.equal(await alice.textContent("#sync-pill"), "Synced");
    assert.doesNotMatch(await alice.textContent(item("Oat milk")), /from/, "alice added it herself");
    assert.match(await bob.textContent(`${item("Bread")} .by`), /from alice/);
    await screenshotSideBySide(env.browser, [alice, bob], "two-devices");
  }));

test("offline edits on both devices converge when both are back online", () =>
  withTwoDevices(async ({ alice, bob, contexts, demo }) => {
    await onBothSynced(alice, bob, "Milk");

    // alice uses the app's switch; bob's browser loses the network.
    await switchOffline(alice, true);
    await notOnline(alice);
    // Chromium's offline emulation keeps an open WebSocket open: bob reopens the app offline
    // (from the service worker's cache), as after a night with no network.
    await bob.waitForFunction(() => document.body.dataset.offlineReady === "true");
    await contexts[1].setOffline(true);
    await bob.reload();
    await ready(bob);
    await notOnline(bob);

    await addItem(alice, "Eggs");
    await tick(alice, "Milk");
    await addItem(bob, "Butter");
    await addItem(bob, "Jam");
    await tick(bob, "Butter");
    await pillSays(alice, "Offline · 2 changes waiting");
    assert.match(await alice.textContent(`${item("Eggs")} .badge`), /not synced yet/);
    assert.deepEqual((await timeline(alice)).slice(0, 2).map((e) => e.state), ["pending", "pending"]);
    await screenshotSideBySide(env.browser, [alice, bob], "both-offline");
    assert.deepEqual(await listed(bob), [["Milk", false], ["Butter", true], ["Jam", false]], "bob sees only his own changes");

    await contexts[1].setOffline(false);
    await switchOffline(alice, false);
    await assertConverged(demo, alice, bob);
    const list = await listed(alice);
    assert.deepEqual(list[0], ["Milk", true], "alice's tick arrived");
    assert.deepEqual(
      list.slice(1).sort(),
      [["Butter", true], ["Eggs", false], ["Jam", false]],
      "every item once, in the order the service received them",
    );
    assert.equal(await alice.$$eval(".conflict-card", (c) => c.length), 0, "different items: no conflict");
  }));

test("a concurrent edit of one item is a conflict, shown in words and resolved with keep theirs / apply mine again", () =>
  withTwoDevices(async ({ alice, bob, demo }) => {
    await onBothSynced(alice, bob, "Milk");

    // Round 1: both rename Milk; alice was offline, so bob's rename reached the service first.
    await switchOffline(alice, true);
    await notOnline(alice);
    await rename(alice, "Milk", "Oat milk");
    await rename(bob, "Milk", "Soy milk");
    await synced(bob);
    await switchOffline(alice, false);
    const card = await alice.waitForSelector(".conflict-card", { timeout: SYNC_TIMEOUT });
    const words = await card.textContent();
    assert.match(words, /“Milk” was changed on two devices/);
    assert.match(words, /bob renamed “Milk” to “Soy milk”/);
    assert.match(words, /you \(alice\) renamed “Milk” to “Oat milk”/);
    await pillSays(alice, "1 conflict needs you");
    assert.equal(await alice.textContent(`${item("Oat milk")} .badge`), "conflict", "the held change stays visible, marked");
    await alice.waitForSelector('#timeline-body tr[data-state="held"]', { timeout: SYNC_TIMEOUT });
    assert.deepEqual(
      (await timeline(alice)).filter((e) => e.state === "held").map((e) => [e.type, e.data.name, e.by]),
      [["ItemRenamed", "Oat milk", "alice"]],
      "the history marks alice's rename as held",
    );
    await screenshotSideBySide(env.browser, [alice, bob], "conflict");
    await screenshot(alice, "conflict-alice");

    await alice.click(".conflict-card button.keep-theirs");
    await alice.waitForSelector(".conflict-card", { state: "detached", timeout: SYNC_TIMEOUT });
    await alice.waitForSelector(item("Soy milk"));
    await assertConverged(demo, alice, bob);
    assert.deepEqual(await listed(bob), [["Soy milk", false]]);

    // Round 2: the same, resolved with "Apply mine again": alice's name wins on both devices.
    await switchOffline(alice, true);
    await notOnline(alice);
    await rename(alice, "Soy milk", "Rice milk");
    await rename(bob, "Soy milk", "Almond milk");
    await synced(bob);
    await switchOffline(alice, false);
    await alice.waitForSelector(".conflict-card", { timeout: SYNC_TIMEOUT });
    await alice.click(".conflict-card button.apply-mine");
    await alice.waitForSelector(".conflict-card", { state: "detached", timeout: SYNC_TIMEOUT });
    await bob.waitForSelector(item("Rice milk"), { timeout: SYNC_TIMEOUT });
    await assertConverged(demo, alice, bob);
    assert.deepEqual(await listed(alice), [["Rice milk", false]]);
    await screenshot(alice, "history-after-conflicts");
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  }));

test("the network switch is the device's: every tab of it follows, whichever tab syncs", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    const [first, second] = [await openApp(context, demo, "alice"), await openApp(context, demo, "alice")];
    try {
      await assertSyncing(first);
      await addItem(first, "Milk");
      await Promise.all([synced(first), synced(second)]);
      // Switched off in the second tab (the first opened the store first: it is the one syncing).
      await switchOffline(second, true);
      await first.waitForFunction(() => !document.getElementById("online-switch").checked);
      await Promise.all([notOnline(first), notOnline(second)]);
      await addItem(second, "Bread");
      await first.waitForSelector(item("Bread"));
      await pillSays(first, "Offline · 1 change waiting");
      const fresh = await openApp(context, demo, "alice");
      assert.equal(await fresh.isChecked("#online-switch"), false, "a new tab of the device starts switched off");
      await fresh.close();
      // Back on, from the first tab: the change syncs.
      await switchOffline(first, false);
      await second.waitForFunction(() => document.getElementById("online-switch").checked);
      await Promise.all([synced(first), synced(second)]);
      assert.deepEqual(await serverLog(demo).then((log) => log.map(([, , type]) => type)), ["ItemAdded", "ItemAdded"]);
    } catch (error) {
      throw new Error(`${error.message}\n  first tab shows:  ${await shows(first)}\n  second tab shows: ${await shows(second)}`, { cause: error });
    } finally {
      await context.close();
    }
  }));

test("sync problems are explained in words, and the list keeps working on the device", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      // A token the edge service refuses: the changes wait, the sync bar says why.
      await context.route("**/api/dev-token?*", (route) =>
        route.fulfill({ contentType: "application/json", body: JSON.stringify({ token: "not.a.token", expiresAt: 0 }) }),
      );
      const page = await openApp(context, demo, "alice");
      await assertSyncing(page);
      await addItem(page, "Milk");
      await page.waitForFunction(() => /Problem: The edge service refused this device's token/.test(document.getElementById("sync-detail").textContent), null, {
        timeout: SYNC_TIMEOUT,
      });
      assert.match(await page.textContent("#sync-detail"), /1 change not yet confirmed by the edge service\..*\(evstore: UNAUTHENTICATED\)/);
      // A good token again: the change syncs without anything else to do.
      await context.unroute("**/api/dev-token?*");
      await synced(page);
      assert.deepEqual((await serverLog(demo)).map(([, , type]) => type), ["ItemAdded"]);

      // A sync setting the package refuses: the list opens on the device alone, and says why.
      await context.route("**/api/config", (route) => route.fulfill({ contentType: "application/json", body: JSON.stringify({ syncUrl: "ftp://nowhere" }) }));
      await page.reload();
      await ready(page);
      assert.equal(await page.evaluate(() => document.body.dataset.sync), "failed");
      assert.match(await page.textContent("#sync-detail"), /^Sync is off: Opening the store with sync was refused: sync\.url must be .*\(evstore: INVALID_ARGUMENT\) The list lives on this device only for now\.$/);
      assert.match(await page.textContent("#sync-pill"), /This device only/);
      assert.deepEqual(await listed(page), [["Milk", false]]);
    } finally {
      await context.close();
    }
  }));
