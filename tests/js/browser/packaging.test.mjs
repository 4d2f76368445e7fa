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

test("the demo appends, shows the log, and reports a conflict with the contract's error", async () => {
  const srv = await server();
  const context = await browser.newContext();
  try {
    const page = await openPage(context, `${srv.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    await page.fill("#stream", "Order-42");
    await page.fill("#type", "OrderPlaced");
    await page.fill("#data", '{ "total": 42 }');
    await page.fill("#expected", "no_stream");
    await page.click("#submit");
    await page.waitForSelector("#result.ok");
    assert.match(await page.textContent("#result"), /nextExpectedRevision 0, position 0/);
    const row = await page.$$eval("#log tr td", (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(row, ["0", "Order-42", "0", "OrderPlaced", '{"total":42}']);
    // The demo advanced the expected revision to 0; expecting no_stream again must conflict.
    await page.fill("#expected", "no_stream");
    await page.click("#submit");
    await page.waitForSelector("#result.error");
    const error = await page.textContent("#result");
    assert.match(error, /EventStoreError WRONG_EXPECTED_REVISION/);
    assert.match(error, /actualRevision: 0/);
    assert.equal(await page.$$eval("#log tr", (trs) => trs.length), 1, "the conflict wrote nothing");
    await page.screenshot({ path: join(here, "../../../target/demo.png") });
    // The IndexedDB mode: the log survives a reload.
    await page.selectOption("#storage", "indexeddb");
    await page.waitForFunction(() => document.querySelectorAll("#log tr").length === 0);
    await page.fill("#stream", "Cart-7");
    await page.fill("#expected", "any");
    await page.click("#submit");
    await page.waitForFunction(() => document.querySelectorAll("#log tr").length === 1);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    await page.selectOption("#storage", "indexeddb");
    await page.waitForFunction(() => document.querySelectorAll("#log tr").length === 1);
    assert.equal(await page.$eval("#log tr td:nth-child(2)", (td) => td.textContent), "Cart-7");
    // A second tab on the same database sees the first tab's append live (a subscription).
    const other = await openPage(context, `${srv.url}/`);
    await other.waitForFunction(() => document.body.dataset.ready === "true");
    await other.selectOption("#storage", "indexeddb");
    await other.waitForFunction(() => document.querySelectorAll("#log tr").length === 1);
    await page.fill("#stream", "Cart-8");
    await page.click("#submit");
    await other.waitForFunction(() => document.querySelectorAll("#log tr").length === 2);
    assert.equal(await other.$eval("#log tr td:nth-child(2)", (td) => td.textContent), "Cart-8", "newest first, delivered live");
  } finally {
    await context.close();
    await srv.close();
  }
});
