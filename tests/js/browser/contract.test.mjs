// The package's contract suite in headless Chromium, loaded the way a page without a bundler
// loads it (an import map pointing "evstore" at the package's browser entry).
import { before, describe, test } from "node:test";
import { openPage, useBrowser } from "./harness.mjs";
import { cases } from "../contract.mjs";

const names = Object.keys(cases(() => {}));
const env = useBrowser();

for (const storage of (process.env.EVSTORE_BROWSER_STORAGES ?? "memory,indexeddb").split(",")) {
  describe(`contract suite in Chromium, ${storage} storage`, () => {
    let page;
    before(async () => {
      page = await openPage(env.browser, `${env.srv.url}/tests/js/pages/contract.html?storage=${storage}`);
      await page.waitForFunction(() => document.body.dataset.ready === "true");
    });
    for (const name of names) {
      test(name, async () => {
        const failure = await page.evaluate((n) => window.runCase(n), name);
        if (failure) throw new Error(failure);
      });
    }
  });
}
