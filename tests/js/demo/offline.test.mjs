// The service worker: after the first load, the app (its files, the package's JS and .wasm) opens and
// works with the app server gone and with the browser offline, on the events kept in IndexedDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, device, listed, openApp, ready, screenshot, tick, timeline, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();

test("after the first load the app opens and works with no server and with the network off", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "alice");
      await addItem(page, "Milk");
      await page.waitForFunction(() => document.body.dataset.offlineReady === "true");
      assert.match(await page.textContent("footer"), /Ready to work offline/);

      // The app server is gone (the edge service too): a reload is served by the service worker.
      await demo.stop();
      assert.equal(await fetch(demo.url).then(() => true, () => false), false, "nothing answers on the app's port");
      await page.reload();
      await ready(page);
      assert.deepEqual(await listed(page), [["Milk", false]]);
      await addItem(page, "Bread");
      await tick(page, "Milk");
      assert.deepEqual(await listed(page), [["Milk", true], ["Bread", false]]);

      // The browser itself offline: a new tab opens too, and follows the first one live.
      await context.setOffline(true);
      const tab = await openApp(context, demo, "alice");
      assert.deepEqual(await listed(tab), [["Milk", true], ["Bread", false]]);
      await addItem(tab, "Eggs");
      await page.waitForSelector('.item[data-name="Eggs"]');
      assert.equal((await timeline(page)).length, 4);
      await screenshot(tab, "offline");
      assert.deepEqual([...page.errors, ...tab.errors], []);
    } finally {
      await context.close();
    }
  }));
