// What a new user tripped on in the demo (issue 18, items 17 and 20): a new device catching up on
// a few hundred synced events re-rendered once per event; the time-travel slider changed width
// while dragged; "Network off" filled the console with errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, device, openApp, screenshot, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();
const SYNC_TIMEOUT = 30_000;

/** Appends `items` items of `renames + 1` events each to the demo's tenant, through the edge's HTTP API. */
async function seedServer(demo, items, renames) {
  const { token } = await (await fetch(`${demo.url}/api/dev-token?device=seed`)).json();
  for (let i = 0; i < items; i++) {
    const events = [
      { type: "ItemAdded", data: { name: `Item ${i}` }, metadata: { device: "seed" } },
      ...Array.from({ length: renames }, (_, r) => ({ type: "ItemRenamed", data: { name: `Item ${i}.${r}` }, metadata: { device: "seed" } })),
    ];
    const res = await fetch(`${demo.serviceUrl}/t/demo/streams/Item-groceries-${crypto.randomUUID()}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ events, expectedRevision: "no_stream" }),
    });
    assert.equal(res.status, 200, await res.text());
  }
}

/** Console errors of `page`, as texts, from now on. */
function consoleErrors(page) {
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  return errors;
}

test("a device catching up on a few hundred synced events re-renders a handful of times, not once per event", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "newcomer");
      await page.waitForFunction(() => document.getElementById("sync-pill").dataset.state === "online", null, { timeout: SYNC_TIMEOUT });
      const before = await page.evaluate(() => window.__renders);
      await seedServer(demo, 3, 99); // 300 events, in three appends the device receives live
      await page.waitForFunction(() => document.querySelectorAll("#timeline-body tr[data-state=confirmed]").length === 300, null, { timeout: SYNC_TIMEOUT });
      // The list may show them before the app's subscription was given them all (a status change
      // refreshes it too): count once it has been given the last one.
      // (Or stop counting once it is over the bound.)
      await page.waitForFunction((start) => window.__delivered === 299 || window.__renders - start > 30, before, { timeout: SYNC_TIMEOUT });
      const renders = (await page.evaluate(() => window.__renders)) - before;
      assert.equal((await page.$$(".item")).length, 3);
      assert.ok(renders <= 30, `the page rendered ${renders} times while catching up on 300 events`);
      assert.deepEqual(page.errors, []);
    } finally {
      await context.close();
    }
  }));

test("the time-travel slider keeps its width while it is dragged", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "slider");
      for (const name of ["Milk", "Bread", "Eggs", "Butter"]) await addItem(page, name);
      const width = () => page.$eval("#travel", (el) => el.getBoundingClientRect().width);
      const now = await width();
      // Drag the thumb from the right end (now) to the left end (before the first event); the
      // slider is scrolled into view first (the mouse acts on what the viewport shows).
      await page.$eval("#travel", (el) => el.scrollIntoView({ block: "center" }));
      const box = await (await page.$("#travel")).boundingBox();
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width - 4, y);
      await page.mouse.down();
      const widths = [];
      for (let step = 1; step <= 8; step++) {
        await page.mouse.move(box.x + box.width - 4 - (step * (box.width - 8)) / 8, y);
        widths.push(await width());
      }
      await page.mouse.up();
      assert.notEqual(await page.textContent("#travel-label"), "now", "the drag moved the slider into the past");
      assert.deepEqual(widths, widths.map(() => now), "the slider's width in px at each step of the drag");
      await screenshot(page, "time-travel-dragged");
      await page.click("#travel-now");
      assert.equal(await width(), now);
    } finally {
      await context.close();
    }
  }));

test("\"Network off\" stops syncing without console errors, and \"Network on\" syncs again", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "switcher");
      const errors = consoleErrors(page);
      await page.click("label.switch"); // off
      assert.equal(await page.isChecked("#online-switch"), false);
      await page.waitForFunction(() => document.getElementById("sync-pill").dataset.state !== "online", null, { timeout: SYNC_TIMEOUT });
      await addItem(page, "Offline milk");
      // A reload while off: the store tries to connect from the start (and again after its backoff).
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready === "true");
      await page.waitForFunction(() => document.getElementById("sync-pill").dataset.state === "offline", null, { timeout: SYNC_TIMEOUT });
      await page.waitForFunction(() => document.getElementById("sync-pill").dataset.pending === "1", null, { timeout: SYNC_TIMEOUT });
      await page.click("label.switch"); // on
      await page.waitForFunction(
        () => {
          const pill = document.getElementById("sync-pill");
          return pill.dataset.state === "online" && pill.dataset.pending === "0";
        },
        null,
        { timeout: SYNC_TIMEOUT },
      );
      assert.deepEqual(errors, [], "console errors");
    } finally {
      await context.close();
    }
  }));
