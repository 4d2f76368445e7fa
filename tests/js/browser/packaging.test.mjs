// The package as users load it in browsers: built by Vite, and the demo page (import map).
import { after, before, test } from "node:test";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import assert from "node:assert/strict";
import { launch, openPage, server } from "./harness.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
let browser;
before(async () => {
  browser = await launch();
});
after(async () => browser?.close());

test("a Vite build imports evstore with no init() and no plugin", async () => {
  const viteDir = join(here, "..", "vite");
  execFileSync(join(here, "../../../node_modules/.bin/vite"), ["build", "--config", join(viteDir, "vite.config.js")], {
    stdio: "inherit",
  });
  const srv = await server({ root: join(viteDir, "dist") });
  try {
    const page = await openPage(browser, `${srv.url}/`);
    await page.waitForFunction(() => document.getElementById("out").textContent !== "");
    const out = JSON.parse(await page.textContent("#out"));
    assert.deepEqual(out, { type: "OrderPlaced", data: { total: 10 }, conflict: "WRONG_EXPECTED_REVISION" });
  } finally {
    await srv.close();
  }
});

test("the demo loads the package through its import map, and works on a plain static server without sync", async () => {
  const srv = await server();
  const context = await browser.newContext();
  try {
    const page = await openPage(context, `${srv.url}/?device=packaging`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    // No /api/config on a plain static server: the app says it keeps the list on this device.
    assert.equal(await page.evaluate(() => document.body.dataset.sync), "unconfigured");
    assert.match(await page.textContent("#sync-pill"), /This device only/);
    assert.match(await page.textContent("#sync-detail"), /No sync server is configured/);
    const loaded = await page.evaluate(() => performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname));
    // A store without sync: the build without the sync client, and nothing of the other.
    const pkgFiles = loaded.filter((p) => p.startsWith("/pkg/")).sort();
    assert.deepEqual(pkgFiles, ["/pkg/evstore_local_bg.wasm", "/pkg/index.js", "/pkg/local.js"], loaded.join(", "));

    await page.fill("#new-item", "Tea");
    await page.press("#new-item", "Enter");
    await page.waitForSelector('.item[data-name="Tea"]');
    const row = await page.$$eval("#timeline-body tr td", (tds) => tds.map((td) => td.textContent));
    assert.equal(row[0], "0");
    assert.equal(row[3], "0");
    assert.match(row[4], /^ItemAdded/);
    assert.equal(row[5], "v2", "ItemAdded is at version 2 (the demo's schema)");
    assert.equal(row[6], '{"name":"Tea","quantity":1}');
    await page.screenshot({ path: join(here, "../../../target/demo.png") });
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    assert.deepEqual(await page.$$eval(".item", (items) => items.map((li) => li.dataset.name)), ["Tea"], "kept in IndexedDB");
  } finally {
    await context.close();
    await srv.close();
  }
});
