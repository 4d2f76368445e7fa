// The demo on the self-hosted server (`make demo BACKEND=server`): two devices (two browser
// contexts, alice and bob) sync through the Node.js server on PGlite instead of the edge service —
// the app cannot tell, and what each appends reaches the other live; bob's scoped token works there
// too. Both devices' histories end up equal to the server's log, all confirmed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { addItem, item, serverLog, synced, SYNC_TIMEOUT, tick, timeline, twoDevices, useChromium } from "./harness.mjs";

const env = useChromium();

test("two devices append and see each other's events through the server", () =>
  twoDevices(
    env.browser,
    async ({ alice, bob, demo }) => {
      assert.equal(demo.backend, "server");
      assert.deepEqual(await (await fetch(`${demo.url}/api/config`)).json(), { syncUrl: `${demo.serviceUrl}/t/demo`, tenant: "demo", access: { bob: ["Item-groceries-*"] } });
      for (const page of [alice, bob]) assert.equal(await page.evaluate(() => document.body.dataset.sync), "on", await page.textContent("#sync-detail"));

      await addItem(alice, "Milk");
      await bob.waitForSelector(item("Milk"), { timeout: SYNC_TIMEOUT });
      await addItem(bob, "Bread");
      await alice.waitForSelector(item("Bread"), { timeout: SYNC_TIMEOUT });
      await tick(alice, "Bread");
      await bob.waitForSelector(`${item("Bread")}.checked`, { timeout: SYNC_TIMEOUT });
      assert.match(await bob.textContent(`${item("Milk")} .by`), /from alice/);
      assert.match(await alice.textContent(`${item("Bread")} .by`), /from bob/);

      await Promise.all([synced(alice), synced(bob)]);
      const log = await serverLog(demo);
      assert.deepEqual(log.map(([position, , type]) => [position, type]), [[0, "ItemAdded"], [1, "ItemAdded"], [2, "ItemChecked"]]);
      const deadline = Date.now() + SYNC_TIMEOUT;
      for (const page of [alice, bob]) {
        let shown;
        while ((shown = await timeline(page)).length < log.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(shown.map((e) => [e.position, e.stream, e.type]).reverse(), log, "the device's history is the server's log");
        assert.ok(shown.every((e) => e.state === "confirmed"));
      }
    },
    { backend: "server" },
  ));
