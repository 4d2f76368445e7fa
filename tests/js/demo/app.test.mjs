// The demo app on one device, through its UI (headless Chromium): the list is derived from the
// store's events and survives a reload; the history shows every event and filters; time travel shows
// an earlier state; other tabs of the same device follow live; mistakes are explained in words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, device, item, listed, openApp, ready, remove, rename, screenshot, tick, timeline, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();

test("the list is derived from the device's events, in IndexedDB, and survives a reload", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "carol");
      assert.deepEqual(await listed(page), []);
      await addItem(page, "Milk");
      await addItem(page, "Bread");
      await addItem(page, "Eggs");
      await tick(page, "Bread");
      await rename(page, "Milk", "Oat milk");
      await remove(page, "Eggs");
      const expected = [["Oat milk", false], ["Bread", true]];
      assert.deepEqual(await listed(page), expected);
      assert.match(await page.textContent("#list-count"), /2 items · 1 ticked off/);

      // Every change is one event on the item's stream, with its expected revision honoured.
      const history = (await timeline(page)).reverse();
      assert.deepEqual(
        history.map((e) => [e.position, e.type, e.revision, e.by]),
        [
          [0, "ItemAdded", 0, "carol"],
          [1, "ItemAdded", 0, "carol"],
          [2, "ItemAdded", 0, "carol"],
          [3, "ItemChecked", 0 + 1, "carol"],
          [4, "ItemRenamed", 1, "carol"],
          [5, "ItemRemoved", 1, "carol"],
        ],
      );
      assert.equal(history[4].stream, history[0].stream, "the rename is on Milk's stream");
      assert.match(history[0].stream, /^Item-groceries-[0-9a-f-]{36}$/);
      assert.deepEqual(history[4].data, { name: "Oat milk" });

      // The database is this device's own, named after it.
      const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
      assert.ok(databases.includes("evstore-demo-carol"), databases.join(", "));

      await page.reload();
      await ready(page);
      assert.deepEqual(await listed(page), expected, "the same list after a reload");
      assert.equal((await timeline(page)).length, 6);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  }));

test("history: filters by stream, category and type; time travel shows the list as of a position", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "dave");
      await addItem(page, "Apples");
      await addItem(page, "Pears");
      await rename(page, "Apples", "Green apples");
      await tick(page, "Pears");
      await remove(page, "Green apples");
      assert.deepEqual(await listed(page), [["Pears", true]]);

      const all = await timeline(page);
      assert.equal(all.length, 5);
      const pears = all.find((e) => e.type === "ItemAdded" && e.data.name === "Pears").stream;
      await page.selectOption("#filter-stream", pears);
      assert.deepEqual((await timeline(page)).map((e) => e.type), ["ItemChecked", "ItemAdded"]);
      await page.selectOption("#filter-stream", "");
      await page.selectOption("#filter-type", "ItemAdded");
      assert.deepEqual((await timeline(page)).map((e) => e.data.name), ["Pears", "Apples"]);
      await page.selectOption("#filter-category", "Item");
      assert.equal((await timeline(page)).length, 2, "the category narrows no further: every event is an Item's");
      assert.match(await page.textContent("#timeline-count"), /2 of 5 events/);
      await page.selectOption("#filter-type", "");
      await page.selectOption("#filter-category", "");

      // Time travel by the slider: as of position 2 (after the rename), Apples was still there, renamed.
      await page.locator("#travel").fill("2");
      await page.waitForSelector("#travel-banner:not([hidden])");
      assert.deepEqual(await listed(page), [["Green apples", false], ["Pears", false]]);
      assert.match(await page.textContent("#travel-banner"), /the list after the first 3 of 5 events \(up to position 2\)/);
      assert.equal(await page.isVisible("#add-form"), false, "no changes to the past");
      assert.equal(await page.$$eval("#timeline-body tr.future", (rows) => rows.length), 2, "later events are dimmed");
      await screenshot(page, "history-time-travel");

      // … and by clicking a position in the history: before the first rename.
      await page.click('#timeline-body tr[data-position="1"] button.pos');
      assert.deepEqual(await listed(page), [["Apples", false], ["Pears", false]]);
      await page.locator("#travel").fill("-1");
      assert.deepEqual(await listed(page), []);
      assert.match(await page.textContent("#empty"), /empty at that point/);

      await page.click("#travel-now-banner");
      await page.waitForSelector("#travel-banner", { state: "hidden" });
      assert.deepEqual(await listed(page), [["Pears", true]]);
      assert.equal(await page.isVisible("#add-form"), true);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  }));

test("a second tab of the same device follows live (a subscription on the shared IndexedDB)", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const first = await openApp(context, demo, "erin");
      const second = await openApp(context, demo, "erin");
      await addItem(first, "Coffee");
      await second.waitForSelector(item("Coffee"));
      await tick(second, "Coffee");
      await first.waitForSelector(`${item("Coffee")}.checked`);
    } finally {
      await context.close();
    }
  }));

test("mistakes and refusals are explained in words", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "gina");
      await page.fill("#new-item", "   ");
      await page.press("#new-item", "Enter");
      await page.waitForSelector("#notice:not([hidden])");
      assert.equal(await page.textContent("#notice-text"), "Type a name for the item first.");
      assert.deepEqual(await listed(page), [], "nothing was added");

      await page.evaluate(() => (document.getElementById("new-item").maxLength = 1000));
      await page.fill("#new-item", "x".repeat(61));
      await page.press("#new-item", "Enter");
      await page.waitForFunction(() => /at most 60 characters \(this one has 61\)/.test(document.getElementById("notice-text").textContent));
      assert.equal(await page.inputValue("#new-item"), "x".repeat(61), "the text is kept to fix it");

      await addItem(page, "Rice");
      assert.equal(await page.isVisible("#notice"), false, "a success clears the message");
      await page.click(`${item("Rice")} button.rename`);
      await page.fill(".rename-input", "");
      await page.press(".rename-input", "Enter");
      await page.waitForSelector("#notice:not([hidden])");
      assert.equal(await page.textContent("#notice-text"), "Type a name for the item first.");
      assert.deepEqual(await listed(page), [["Rice", false]]);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  }));
