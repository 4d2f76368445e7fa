// The package's contract suite in headless Chromium, loaded the way a page without a bundler
// loads it (an import map pointing "evstore" at the package's browser entry).
import { before, describe, test } from "node:test";
import { openPage, useBrowser } from "./harness.mjs";
import { cases } from "../contract.mjs";

const names = Object.keys(cases(() => {}));
const env = useBrowser();

// "indexeddb+sync": opened with `sync`, never connected — the same contract holds, but for two
// documented differences of a synced store (pkg-template/README.md, "Sync"):
const SYNCED_DIFFERS = {
  // An append must fit one push message (1 MiB): a 1 MiB event is refused at append time.
  "the default event size limit is 1 MiB": "a synced append must fit one push",
  // Pending positions are provisional: a checkpoint records only confirmed ones (at-least-once).
  "subscribe: a checkpoint resumes after the last handled event": "checkpoints record confirmed positions",
};
for (const variant of (process.env.EVSTORE_BROWSER_STORAGES ?? "memory,indexeddb,indexeddb+sync").split(",")) {
  const [storage, synced] = variant.split("+");
  describe(`contract suite in Chromium, ${storage} storage${synced ? ", synced" : ""}`, () => {
    let page;
    before(async () => {
      page = await openPage(env.browser, `${env.srv.url}/tests/js/pages/contract.html?storage=${storage}${synced ? "&synced=1" : ""}`);
      await page.waitForFunction(() => document.body.dataset.ready === "true");
    });
    for (const name of names) {
      test(name, { skip: (synced && SYNCED_DIFFERS[name]) || false }, async () => {
        const failure = await page.evaluate((n) => window.runCase(n), name);
        if (failure) throw new Error(failure);
      });
    }
  });
}
