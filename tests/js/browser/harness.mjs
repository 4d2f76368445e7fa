// Shared set-up of the browser tests: the static server and apt's headless Chromium, driven by
// playwright-core (no browser downloads).
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { serve } from "../../../scripts/serve.mjs";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Launches headless Chromium (a persistent profile when `userDataDir` is given). */
export async function launch({ userDataDir } = {}) {
  const options = { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS };
  if (userDataDir) return chromium.launchPersistentContext(userDataDir, options);
  return chromium.launch(options);
}

/** The static server (see scripts/serve.mjs) on a free port. */
export function server(options) {
  return serve({ port: 0, ...options });
}

/** Opens `url` in a new page of `context` and forwards page errors to the test output. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.error(`[page console] ${m.text()}`));
  await page.goto(url);
  return page;
}

/**
 * Registers before/after hooks that start the static server and one headless Chromium for the
 * file's tests; returns live getters `{ srv, browser }`.
 */
export function useBrowser() {
  const env = {};
  before(async () => {
    env.srv = await server();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.srv?.close();
  });
  return env;
}

/** A blank page with the package loaded (tests/js/pages/store.html), ready to be driven. */
export async function storePage(context, srv) {
  const page = await openPage(context, `${srv.url}/tests/js/pages/store.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  return page;
}
