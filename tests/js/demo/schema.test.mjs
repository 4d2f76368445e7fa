// Schema evolution and causation in the demo (issue 22), end to end in headless Chromium with the
// edge service: ItemAdded events stored at v1 `{ name }` by an earlier version of the app (a store
// opened without `schema`) show upcast — "v1 → v2", a quantity of 1 — next to v2 events, on the
// device that holds them and on another one that gets them through sync, while the edge keeps them
// as stored; "Clear ticked" records the tick that caused each removal, and the history links it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, device, item, listed, openApp, screenshot, synced, tick, timeline, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();

/**
 * What the app before quantities did: opens `name`'s database without a schema (syncing, as the
 * app did), adds `items` as v1 ItemAdded events `{ name }`, pushes them, and closes.
 */
async function seedV1(context, demo, name, items) {
  const page = await context.newPage();
  try {
    await page.goto(`${demo.url}/style.css`); // any page of the app's origin, without the app
    await page.evaluate(
      async ({ name, items }) => {
        const { EventStore } = await import("/pkg/index.js");
        const config = await (await fetch("/api/config")).json();
        const token = async () => (await (await fetch(`/api/dev-token?device=${name}`)).json()).token;
        const store = await EventStore.open({ storage: "indexeddb", name: `evstore-demo-${name}`, sync: { url: config.syncUrl, token } });
        try {
          for (const item of items) {
            await store.append(`Item-groceries-${crypto.randomUUID()}`, [{ type: "ItemAdded", data: { name: item }, metadata: { owner: name, device: name } }], { expectedRevision: "no_stream" });
          }
          await store.sync.flush();
        } finally {
          await store.close();
        }
      },
      { name, items },
    );
  } finally {
    await page.close();
  }
}

/** The list as shown with quantities: `[[quantity text, name, ticked]]`. */
const shownWithQuantities = (page) =>
  page.$$eval(".item", (items) => items.map((li) => [li.querySelector(".quantity").textContent, li.dataset.name, li.classList.contains("checked")]));

/** The history's ItemAdded rows, oldest first: `[name, version cell, data]`. */
const added = async (page) =>
  (await timeline(page))
    .filter((e) => e.type === "ItemAdded")
    .reverse()
    .map((e) => [e.data.name, e.version, e.data]);

test("v1 events written without a schema show upcast next to v2 ones, here and on another device; the edge keeps them as stored", () =>
  withDemo(async (demo) => {
    const contexts = [await device(env.browser), await device(env.browser)];
    try {
      await seedV1(contexts[0], demo, "erin", ["Milk", "Bread"]);
      const erin = await openApp(contexts[0], demo, "erin");
      await erin.waitForSelector(item("Bread"));
      await erin.fill("#new-quantity", "2");
      await addItem(erin, "Eggs");
      assert.equal(await erin.inputValue("#new-quantity"), "1", "the quantity box is reset for the next item");
      await synced(erin);

      const expected = [
        ["Milk", "v1 → v2", { name: "Milk", quantity: 1 }],
        ["Bread", "v1 → v2", { name: "Bread", quantity: 1 }],
        ["Eggs", "v2", { name: "Eggs", quantity: 2 }],
      ];
      assert.deepEqual(await added(erin), expected);
      assert.deepEqual(await shownWithQuantities(erin), [["1 ×", "Milk", false], ["1 ×", "Bread", false], ["2 ×", "Eggs", false]]);
      assert.equal(await erin.getAttribute(`${item("Eggs")}`, "data-quantity"), "2");
      assert.ok((await timeline(erin)).filter((e) => e.type !== "ItemAdded").every((e) => e.version === ""), "types without a schema entry show no version");

      // The edge serves what was stored: v1 without a version, v2 stamped by the app's store.
      const { token } = await (await fetch(`${demo.url}/api/dev-token?device=test`)).json();
      const served = (await (await fetch(`${demo.serviceUrl}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } })).json()).events;
      assert.deepEqual(
        served.map((e) => [e.data, e.metadata.$schemaVersion]),
        [[{ name: "Milk" }, undefined], [{ name: "Bread" }, undefined], [{ name: "Eggs", quantity: 2 }, 2]],
      );

      // Another device gets the stored events through sync and upcasts them itself.
      const frank = await openApp(contexts[1], demo, "frank");
      await frank.waitForSelector(item("Eggs"));
      await synced(frank);
      assert.deepEqual(await added(frank), expected);
      assert.deepEqual(await shownWithQuantities(frank), [["1 ×", "Milk", false], ["1 ×", "Bread", false], ["2 ×", "Eggs", false]]);
      await screenshot(erin, "schema-versions");
      assert.deepEqual([erin.errors, frank.errors], [[], []]);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  }));

test("Clear ticked: each removal is caused by the tick, the history says so with a link there, and the chain shares one badge", () =>
  withDemo(async (demo) => {
    const contexts = [await device(env.browser), await device(env.browser)];
    try {
      const gina = await openApp(contexts[0], demo, "gina");
      assert.equal(await gina.isDisabled("#clear-ticked"), true, "nothing ticked: nothing to clear");
      for (const name of ["Milk", "Bread", "Tea"]) await addItem(gina, name);
      await tick(gina, "Milk");
      await tick(gina, "Tea");
      await gina.click("#clear-ticked");
      await gina.waitForSelector(item("Milk"), { state: "detached" });
      await gina.waitForSelector(item("Tea"), { state: "detached" });
      assert.deepEqual(await listed(gina), [["Bread", false]]);
      await synced(gina);

      const check = async (page) => {
        const rows = await timeline(page);
        const by = (type, name) => rows.find((e) => e.type === type && e.what.includes(`“${name}”`));
        const chains = new Set();
        for (const name of ["Milk", "Tea"]) {
          const [ticked, removed] = [by("ItemChecked", name), by("ItemRemoved", name)];
          assert.ok(ticked && removed, `${name}: a tick and a removal in ${JSON.stringify(rows)}`);
          assert.equal(removed.what, `removed “${name}” · caused by #${ticked.position} ticked off “${name}”`);
          assert.equal(removed.cause, ticked.position);
          assert.ok(ticked.chain !== null && ticked.chain === removed.chain, `${name}: the tick and the removal share one badge`);
          chains.add(ticked.chain);
        }
        assert.equal(chains.size, 2, "one badge per chain");
        assert.deepEqual(rows.filter((e) => e.chain !== null).length, 4, "events alone in their chain get no badge");
        assert.equal(rows.filter((e) => e.cause !== null).length, 2);
        return by("ItemChecked", "Milk").position;
      };
      const milkTicked = await check(gina);

      // The link travels to the tick: the list as it was then, Milk ticked off.
      await gina.click(`#timeline-body tr[data-position] .cause[data-cause="${milkTicked}"] .cause-link`);
      assert.equal(await gina.textContent("#travel-label").then((t) => t.startsWith(`as of position ${milkTicked}`)), true);
      assert.deepEqual(await listed(gina), [["Milk", true], ["Bread", false], ["Tea", false]]);
      await gina.click("#travel-now");

      // Causation is metadata, so it syncs: another device shows the same chain.
      const hal = await openApp(contexts[1], demo, "hal");
      await hal.waitForSelector(item("Bread"));
      await synced(hal);
      await hal.waitForFunction(() => document.querySelectorAll("#timeline-body .cause-link").length === 2);
      assert.equal(await check(hal), milkTicked);
      await screenshot(gina, "causation");
      assert.deepEqual([gina.errors, hal.errors], [[], []]);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  }));
