// Shared set-up of the demo's end-to-end tests: `make demo`'s servers (scripts/demo.mjs: the app
// server and the sync service: the edge service in workerd, or with `backend: "server"` the Node
// server on PGlite) on free 127.0.0.1 ports with a temporary data directory, and apt's headless
// Chromium. Everything started here is stopped in `after` — also when a test fails — and the sync
// service is killed when the process exits, whatever happened.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDemo } from "../../../scripts/demo.mjs";
import { freePort } from "../edge/workerd.mjs";
import { launch } from "../browser/harness.mjs";

export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
export const VIEWPORT = { width: 700, height: 900 }; // two devices side by side on one screen

const children = new Set();
const temps = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the process exits. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "evstore-demo-"));
  temps.add(dir);
  return dir;
}

/**
 * Starts the demo's two servers on free ports, the sync service chosen by `backend` ("edge" or
 * "server"): see scripts/demo.mjs. `demo.serviceOutput()` is what the sync service printed.
 */
export async function demoServers({ backend = "edge" } = {}) {
  let output = "";
  const dir = tempDir();
  const demo = await startDemo({
    backend,
    port: 0,
    ...(backend === "server" ? { serverPort: await freePort(), serverData: join(dir, "server") } : { edgePort: await freePort(), edgeData: join(dir, "edge") }),
    serviceStdio: ["ignore", "pipe", "pipe"],
  });
  children.add(demo.service.child);
  demo.service.child.stdout.on("data", (d) => (output += d));
  demo.service.child.stderr.on("data", (d) => (output += d));
  demo.serviceOutput = () => output;
  return demo;
}


/** Registers before/after hooks that start one headless Chromium for the file's tests: `{ browser }`. */
export function useChromium() {
  const env = {};
  before(async () => {
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
  });
  return env;
}

/**
 * Runs `fn(demo)` with fresh demo servers (a fresh tenant: tests never see each other's events)
 * and stops them afterwards, also when `fn` throws. `options`: see demoServers.
 */
export async function withDemo(fn, options) {
  const demo = await demoServers(options);
  try {
    return await fn(demo);
  } finally {
    await demo.stop();
    children.delete(demo.service.child);
  }
}

/** A new browser context (a device: its own storage, its own network switch). */
export function device(browser) {
  return browser.newContext({ viewport: VIEWPORT });
}

/**
 * Opens the app as `name` in `context` and waits until it shows the list. Page errors fail loudly.
 * `setup(page)` runs before the app loads (to listen to its sockets, say).
 */
export async function openApp(context, demo, name, setup) {
  const page = await context.newPage();
  await setup?.(page);
  page.errors = [];
  page.on("pageerror", (e) => {
    page.errors.push(e);
    console.error(`[${name} page error] ${e.message}`);
  });
  page.on("console", (m) => m.type() === "error" && console.error(`[${name} console] ${m.text()}`));
  await page.goto(`${demo.url}/?device=${name}`);
  await ready(page);
  return page;
}

export async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === "true");
}

// ── sync between devices ──────────────────────────────────────────────────────────────────

export const SYNC_TIMEOUT = 30_000;

/** Waits until the device is online with nothing left to push. */
export function synced(page) {
  return page.waitForFunction(
    () => {
      const pill = document.getElementById("sync-pill");
      return pill.dataset.state === "online" && pill.dataset.pending === "0" && !document.querySelector("#timeline-body tr[data-position]:not([data-state=confirmed])");
    },
    null,
    { timeout: SYNC_TIMEOUT },
  );
}

export function notOnline(page) {
  return page.waitForFunction(() => document.getElementById("sync-pill").dataset.state !== "online", null, { timeout: SYNC_TIMEOUT });
}

export async function switchOffline(page, offline) {
  const checked = await page.isChecked("#online-switch");
  if (checked === offline) await page.click("label.switch");
  assert.equal(await page.isChecked("#online-switch"), !offline);
  await page.waitForFunction(() => !document.getElementById("online-switch").disabled, null, { timeout: SYNC_TIMEOUT });
}

/** The service's log, as [position, streamId, type]. */
export async function serverLog(demo) {
  const { token } = await (await fetch(`${demo.url}/api/dev-token?device=test`)).json();
  const res = await fetch(`${demo.serviceUrl}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return (await res.json()).events.map((e) => [e.position, e.streamId, e.type]);
}

/**
 * Runs `fn({ alice, bob, contexts, demo })` with two devices in two browser contexts of a fresh
 * demo (`options`: see demoServers); a failure carries what each device showed, and both contexts
 * are closed either way.
 */
export function twoDevices(browser, fn, options) {
  return withDemo(async (demo) => {
    const contexts = [await device(browser), await device(browser)];
    try {
      const [alice, bob] = [await openApp(contexts[0], demo, "alice"), await openApp(contexts[1], demo, "bob")];
      try {
        await fn({ alice, bob, contexts, demo });
      } catch (error) {
        throw new Error(`${error.message}\n  alice shows: ${await shows(alice)}\n  bob shows:   ${await shows(bob)}`, { cause: error });
      }
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  }, options);
}

// ── driving the app through its UI ──────────────────────────────────────────────────────────

export const item = (name) => `.item[data-name="${name}"]`;

export async function addItem(page, name) {
  await page.fill("#new-item", name);
  await page.press("#new-item", "Enter");
  await page.waitForSelector(item(name)).catch(async (e) => {
    throw new Error(`${e.message}\n  the page shows: ${await shows(page)}`, { cause: e });
  });
}

/** What a page shows about sync, its list and its messages (for failure messages). */
export function shows(page) {
  return page
    .evaluate(() => {
      const text = (id) => document.getElementById(id).textContent;
      const items = [...document.querySelectorAll(".item")].map((li) => li.dataset.name).join(", ");
      const notice = document.getElementById("notice").hidden ? "-" : text("notice-text");
      return `${text("sync-pill")} | ${text("sync-detail")} | list: ${items} | new item: ${document.getElementById("new-item").value} | events: ${document.querySelectorAll("#timeline-body tr[data-position]").length} | notice: ${notice}${document.querySelector(".conflict-card") ? ` | conflicts: ${text("conflicts")}` : ""}`;
    })
    .catch((e) => `(page gone: ${e.message})`);
}

export async function rename(page, from, to) {
  await page.click(`${item(from)} button.rename`);
  await page.fill(".rename-input", to);
  await page.press(".rename-input", "Enter");
  await page.waitForSelector(item(to));
}

export async function tick(page, name) {
  await page.check(`${item(name)} .tick`);
  await page.waitForSelector(`${item(name)}.checked`);
}

export async function remove(page, name) {
  await page.click(`${item(name)} button.remove`);
  await page.waitForSelector(item(name), { state: "detached" });
}

/** The list as shown: `[[name, ticked]]` in order. */
export function listed(page) {
  return page.$$eval(".item", (items) => items.map((li) => [li.dataset.name, li.classList.contains("checked")]));
}

/**
 * The history as shown (newest first): `[{ position, stream, revision, type, what, version, chain,
 * cause, data, by, state }]` (gap rows left out). `what`: the row's words; `version`: its "v" cell;
 * `chain`: its correlation badge's number (null without one); `cause`: the position its "caused by"
 * link leads to (null without one).
 */
export function timeline(page) {
  return page.$$eval("#timeline-body tr[data-position]", (rows) =>
    rows.map((tr) => {
      const cells = [...tr.children].map((td) => td.textContent);
      const type = tr.querySelector("td.type");
      return {
        position: Number(tr.dataset.position),
        stream: tr.children[2].title,
        revision: Number(cells[3]),
        type: type.firstChild.textContent,
        what: type.querySelector(".what").textContent,
        version: tr.querySelector("td.v").textContent,
        chain: type.querySelector(".badge.chain") ? Number(type.querySelector(".badge.chain").dataset.chain) : null,
        cause: type.querySelector(".cause[data-cause]") ? Number(type.querySelector(".cause").dataset.cause) : null,
        data: JSON.parse(tr.querySelector("td.data").textContent),
        by: tr.querySelector("td.data").nextElementSibling.textContent,
        state: tr.dataset.state,
      };
    }),
  );
}

/** Writes a screenshot into tests/js/demo/screenshots/ (gitignored) and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** One image of several pages side by side (two devices on one screen), drawn by `browser`. */
export async function screenshotSideBySide(browser, pages, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const shots = [];
  for (const page of pages) shots.push((await page.screenshot({ fullPage: false })).toString("base64"));
  const context = await browser.newContext({ viewport: { width: VIEWPORT.width * pages.length + 12 * (pages.length + 1), height: VIEWPORT.height + 24 } });
  try {
    const canvas = await context.newPage();
    await canvas.setContent(
      `<body style="margin:0;padding:12px;background:#2a2f36;display:flex;gap:12px">${shots
        .map((b64) => `<img style="display:block;border-radius:6px" src="data:image/png;base64,${b64}">`)
        .join("")}</body>`,
    );
    await canvas.waitForFunction(() => [...document.images].every((i) => i.complete));
    const path = join(SCREENSHOTS, `${name}.png`);
    await canvas.screenshot({ path, fullPage: true });
    return path;
  } finally {
    await context.close();
  }
}
