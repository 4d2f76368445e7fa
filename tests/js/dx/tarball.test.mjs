// The package as users get it: `npm pack` of pkg/, installed from the tarball into a scratch
// project in a temp dir (offline), then used from Node ESM, a Vite + TypeScript app in Chromium
// (built, and on the dev server), Deno with no permission flag, a raw workerd config following
// the README's recipe, and wrangler dev with a Durable Object. Also publint and
// @arethetypeswrong/cli on the packed package.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { freePort } from "../edge/workerd.mjs";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, openPage, server } from "../browser/harness.mjs";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = (name) => join(repo, "node_modules/.bin", name);
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
let dir; // scratch project
let tarball;

before(() => {
  const tmp = mkdtempSync(join(tmpdir(), "evstore-tarball-"));
  dir = join(tmp, "app");
  mkdirSync(dir);
  const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", tmp, join(repo, "pkg")]));
  tarball = join(tmp, packed[0].filename);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module", dependencies: { evstore: `file:${tarball}` } }));
  sh("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
});
after(() => {
  if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
});

test("the tarball holds the entries, types, subpaths, both wasm builds, README and both licence files", () => {
  const files = readdirSync(join(dir, "node_modules/evstore")).sort();
  assert.deepEqual(files, [
    "LICENSE-APACHE",
    "LICENSE-MIT",
    "README.md",
    "deno.js",
    "edge",
    "emmett.d.ts",
    "emmett.js",
    "evstore_local_bg.wasm",
    "evstore_server_bg.wasm",
    "evstore_wasm_bg.wasm",
    "evstore_workerd_bg.wasm",
    "index.d.ts",
    "index.js",
    "local.js",
    "node.js",
    "package.json",
    "react.d.ts",
    "react.js",
    "server",
    "server.d.ts",
    "server.js",
    "synced.js",
    "workerd-store.js",
    "workerd.js",
  ]);
  for (const f of ["LICENSE-MIT", "LICENSE-APACHE"]) {
    assert.equal(readFileSync(join(dir, "node_modules/evstore", f), "utf8"), readFileSync(join(repo, f), "utf8"), `${f} is the repo's`);
  }
  const meta = JSON.parse(readFileSync(join(dir, "node_modules/evstore/package.json"), "utf8"));
  for (const key of ["repository", "homepage", "bugs"]) assert.ok(meta[key], `package.json has ${key}`);
  assert.equal(meta.license, "MIT OR Apache-2.0");
});

test("publint and @arethetypeswrong/cli find nothing to fix", () => {
  const lint = sh(bin("publint"), ["--strict", join(dir, "node_modules/evstore")]);
  assert.match(lint, /All good!/);
  // ESM only by design; CommonJS consumers require() it as an ES module (Node 20.19+/22, no top-level
  // await in any entry: tests/js/dx/commonjs.test.mjs), or use import().
  sh(bin("attw"), [tarball, "--profile", "esm-only", "--format", "table-flipped"]);
});

test("Node ESM: import \"evstore\" resolves to the Node entry and works", () => {
  writeFileSync(
    join(dir, "node.mjs"),
    `import { EventStore, EventStoreError, NO_STREAM } from "evstore";
const store = await EventStore.open();
await store.append("Order-1", [{ type: "Placed", data: { total: 3 } }], { expectedRevision: NO_STREAM });
const conflict = await store.append("Order-1", [{ type: "Placed" }], { expectedRevision: NO_STREAM }).catch((e) => e instanceof EventStoreError && e.code);
const agg = await store.aggregateStream("Order-1", { initialState: () => 0, evolve: (n, e) => n + e.data.total });
const seen = [];
for await (const e of store.events({ category: "Order" })) { seen.push(e.type); break; }
console.log(JSON.stringify({ entry: import.meta.resolve("evstore").split("/").slice(-2).join("/"), conflict, agg, seen }));`,
  );
  const out = JSON.parse(sh(process.execPath, ["node.mjs"], { cwd: dir }).trim());
  assert.deepEqual(out, { entry: "evstore/node.js", conflict: "WRONG_EXPECTED_REVISION", agg: { state: 3, revision: 0, expectedRevision: 0 }, seen: ["Placed"] });
});

test("Deno: runs with no permission flag (the deno entry imports the wasm as a module)", () => {
  writeFileSync(
    join(dir, "deno.mjs"),
    `import { EventStore, EventStoreError } from "evstore";
const t0 = performance.now();
const store = await EventStore.open();
const r = await store.append("S-1", [{ type: "E", data: 1 }]);
const bad = await store.append("", [{ type: "E" }]).catch((e) => e instanceof EventStoreError && e.code);
const watch = await new Promise((resolve) => { const w = store.watchAggregate("S-1", { initialState: () => 0, evolve: (n, e) => n + e.data }, (s, c) => { w.unsubscribe(); resolve([s, c.expectedRevision]); }); });
console.log(JSON.stringify({ position: r.position, bad, watch, entry: import.meta.resolve("evstore").split("/").pop(), openMs: performance.now() - t0 }));`,
  );
  const out = JSON.parse(
    sh(bin("deno"), ["run", "deno.mjs"], { cwd: dir, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", NO_COLOR: "1" } })
      .trim()
      .split("\n")
      .at(-1),
  );
  assert.equal(out.position, 0);
  assert.equal(out.bad, "INVALID_ARGUMENT");
  assert.deepEqual(out.watch, [1, 0]);
  assert.equal(out.entry, "deno.js");
});

test("workerd: the README's raw config recipe, beside a user module named index.js", async () => {
  // The user's own files: the main module is index.js, and a module util.js — names that the
  // package's modules (all under node_modules/evstore/) cannot clash with.
  writeFileSync(join(dir, "util.js"), `export const double = (n) => n * 2;\n`);
  writeFileSync(
    join(dir, "index.js"),
    `import { EventStore, EventStoreError, NO_STREAM } from "evstore";
import { double } from "./util.js";
export default {
  async fetch() {
    const store = await EventStore.open();
    await store.append("Order-1", [{ type: "Placed", data: { total: 21 } }], { expectedRevision: NO_STREAM });
    const { state, expectedRevision } = await store.aggregateStream("Order-1", { initialState: () => 0, evolve: (n, e) => n + e.data.total });
    const conflict = await store.append("Order-1", [{ type: "Placed" }], { expectedRevision: NO_STREAM }).catch((e) => e instanceof EventStoreError && e.code);
    return Response.json({ total: double(state), expectedRevision, conflict });
  },
};
`,
  );
  const port = await freePort();
  // The package's module lines of the README's recipe, taken from the installed README.
  const readme = readFileSync(join(dir, "node_modules/evstore/README.md"), "utf8");
  const recipe = readme.match(/```capnp\n([\s\S]*?)```/)[1];
  const evstoreModules = recipe.split("\n").filter((l) => /^\s*\(name = "(evstore|node_modules\/evstore\/)/.test(l));
  assert.equal(evstoreModules.length, 4, "the recipe lists the evstore module and the package's three files");
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "util.js", esModule = embed "util.js"),
${evstoreModules.join("\n")}
  ],
  compatibilityDate = "2025-01-01",
);
`,
  );
  const child = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
  try {
    let res;
    for (let i = 0; i < 100 && !res; i++) {
      res = await fetch(`http://127.0.0.1:${port}/`).catch(() => new Promise((r) => setTimeout(r, 100)).then(() => undefined));
    }
    assert.ok(res, "workerd answered");
    assert.deepEqual(await res.json(), { total: 42, expectedRevision: 0, conflict: "WRONG_EXPECTED_REVISION" });
  } finally {
    child.kill();
  }
});

test("Vite + TypeScript: tsc checks the app against the package's types, Vite builds it, Chromium runs it", async () => {
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true, lib: ["ES2022", "DOM"], types: [], skipLibCheck: false },
      files: ["main.ts", "readme.ts"],
    }),
  );
  // The README's TypeScript example, with its @ts-expect-error line, type-checks as written.
  const readme = readFileSync(join(dir, "node_modules/evstore/README.md"), "utf8");
  writeFileSync(join(dir, "readme.ts"), `${readme.match(/```ts\n([\s\S]*?)```/)[1]}\nexport {};\n`);
  writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><pre id="out"></pre><script type="module" src="./main.ts"></script>\n`);
  writeFileSync(
    join(dir, "main.ts"),
    `import { EventStore, EventStoreError, NO_STREAM, type RecordedEvent } from "evstore";
type CartEvent = { type: "ItemAdded"; data: { qty: number } } | { type: "CartCleared"; data?: null };
const store = await EventStore.open<CartEvent>({ storage: "indexeddb", name: "vite-ts" });
await store.append("Cart-1", [{ type: "ItemAdded", data: { qty: 2 } }, { type: "CartCleared" }], { expectedRevision: NO_STREAM });
const { state, expectedRevision } = await store.aggregateStream("Cart-1", {
  initialState: () => 0,
  evolve: (n, e: RecordedEvent<CartEvent>) => (e.type === "ItemAdded" ? n + e.data.qty : 0),
});
let code = "";
try {
  await store.append("Cart-1", [{ type: "CartCleared" }], { expectedRevision: NO_STREAM });
} catch (e) {
  code = e instanceof EventStoreError ? e.code : "?";
}
document.getElementById("out")!.textContent = JSON.stringify({ state, expectedRevision, code, persisted: typeof store.persistStorage });
`,
  );
  sh(bin("tsc"), ["-p", join(dir, "tsconfig.json")]);
  sh(bin("vite"), ["build", dir, "--outDir", join(dir, "dist"), "--logLevel", "warn"], { cwd: dir });
  const srv = await server({ root: join(dir, "dist") });
  const browser = await launch();
  try {
    const page = await openPage(browser, `${srv.url}/`);
    await page.waitForFunction(() => document.getElementById("out").textContent !== "", null, { timeout: 15_000 });
    assert.deepEqual(JSON.parse(await page.textContent("#out")), { state: 0, expectedRevision: 1, code: "WRONG_EXPECTED_REVISION", persisted: "function" });
  } finally {
    await browser.close();
    await srv.close();
  }
});

test("Vite dev server: the same app runs unbundled, the wasm found through the dependency optimizer", async () => {
  const port = await freePort();
  const dev = spawn(bin("vite"), ["--host", "127.0.0.1", "--port", String(port), "--strictPort", "--logLevel", "warn"], { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    for (let i = 0; i < 100; i++) {
      if (await page.goto(`http://127.0.0.1:${port}/`).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.waitForFunction(() => document.getElementById("out")?.textContent, null, { timeout: 20_000 });
    assert.deepEqual(JSON.parse(await page.textContent("#out")), { state: 0, expectedRevision: 1, code: "WRONG_EXPECTED_REVISION", persisted: "function" });
  } finally {
    await browser.close();
    dev.kill();
  }
});

test("wrangler dev: the README's Durable Object recipe (the workerd entry, the wasm bundled, SQLite storage)", async () => {
  const wr = join(dir, "wrangler-app");
  mkdirSync(wr, { recursive: true });
  writeFileSync(
    join(wr, "worker.js"),
    `import { DurableObject } from "cloudflare:workers";
import { EventStore, EventStoreError, NO_STREAM } from "evstore";

export class Tenant extends DurableObject {
  store = this.ctx.blockConcurrencyWhile(() =>
    EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage }));

  async fetch() {
    const store = await this.store;
    const r = await store.append("Order-1", [{ type: "Placed", data: { n: 1 } }]);
    const conflict = await store.append("Order-1", [{ type: "X" }], { expectedRevision: NO_STREAM }).catch((e) => e instanceof EventStoreError && e.code);
    const { state, expectedRevision } = await store.aggregateStream("Order-1", { initialState: () => 0, evolve: (n) => n + 1 });
    return Response.json({ position: r.position, conflict, state, expectedRevision });
  }
}
export default {
  fetch: (request, env) => env.TENANT.get(env.TENANT.idFromName("t1")).fetch(request),
};
`,
  );
  writeFileSync(
    join(wr, "wrangler.toml"),
    `name = "evstore-recipe"
main = "worker.js"
compatibility_date = "2025-01-01"

[[durable_objects.bindings]]
name = "TENANT"
class_name = "Tenant"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Tenant"]
`,
  );
  const port = await freePort();
  const child = spawn(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(wr, "state")], {
    cwd: wr,
    detached: true, // its own process group: wrangler starts workerd, both are stopped below
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
  });
  try {
    const get = async () => {
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        if (res?.ok) return res.json();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail("wrangler dev did not answer");
    };
    assert.deepEqual(await get(), { position: 0, conflict: "WRONG_EXPECTED_REVISION", state: 1, expectedRevision: 0 });
    assert.deepEqual(await get(), { position: 1, conflict: "WRONG_EXPECTED_REVISION", state: 2, expectedRevision: 1 });
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
});
