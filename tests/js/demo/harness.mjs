// Shared set-up of the demo's end-to-end tests: `make demo`'s servers (scripts/demo.mjs: the app
// server and the edge service in workerd) on free 127.0.0.1 ports with a temporary data directory,
// and apt's headless Chromium. Everything started here is stopped in `after` — also when a test
// fails — and workerd is killed when the process exits, whatever happened.
import { after, before } from "node:test";
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

/** Starts the demo's two servers on free ports: see scripts/demo.mjs. */
export async function demoServers() {
  let stderr = "";
  const demo = await startDemo({ port: 0, edgePort: await freePort(), edgeData: join(tempDir(), "edge"), edgeStdio: ["ignore", "pipe", "pipe"] });
  children.add(demo.edge.child);
  demo.edge.child.stdout.on("data", (d) => (stderr += d));
  demo.edge.child.stderr.on("data", (d) => (stderr += d));
  demo.edgeOutput = () => stderr;
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
 * Runs `fn(demo)` with fresh demo servers (a fresh edge tenant: tests never see each other's
 * events) and stops them afterwards, also when `fn` throws.
 */
export async function withDemo(fn) {
  const demo = await demoServers();
  try {
    return await fn(demo);
  } finally {
    await demo.stop();
    children.delete(demo.edge.child);
  }
}

/** A new browser context (a device: its own storage, its own network switch). */
export function device(browser) {
  return browser.newContext({ viewport: VIEWPORT });
}

/** Opens the app as `name` in `context` and waits until it shows the list. Page errors fail loudly. */
export async function openApp(context, demo, name) {
  const page = await context.newPage();
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
      return `${text("sync-pill")} | ${text("sync-detail")} | list: ${items} | new item: ${document.getElementById("new-item").value} | events: ${document.querySelectorAll("#timeline-body tr[data-position]").length} | notice: ${notice}`;
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

/** The history as shown (newest first): `[{ position, stream, revision, type, data, by, state }]` (gap rows left out). */
export function timeline(page) {
  return page.$$eval("#timeline-body tr[data-position]", (rows) =>
    rows.map((tr) => {
      const cells = [...tr.children].map((td) => td.textContent);
      return {
        position: Number(tr.dataset.position),
        stream: tr.children[2].title,
        revision: Number(cells[3]),
        type: tr.children[4].firstChild.textContent,
        data: JSON.parse(cells[5]),
        by: cells[6],
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
