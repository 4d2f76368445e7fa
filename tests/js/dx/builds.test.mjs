// The package's wasm builds (scripts/build-package.sh): the browser builds (index.js, IndexedDB,
// no server half of sync; local.js without the sync client, synced.js with it) for browsers and
// bundlers, and the server build (server.js, the Durable Object storage and the server half)
// behind the Node, Deno and workerd entries. Each build's
// entry runs here in Node: "evstore" resolves to the Node entry, pkg/index.js is the browser one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as server from "evstore";
import * as browser from "../../../pkg/index.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

/** One pushed append of protocol v2, as the edge service hands it to `acceptPush`. */
const pushed = () => ({
  seq: 1,
  streamId: "Order-1",
  expectedRevision: "no_stream",
  createdAt: Date.now(),
  events: [{ id: crypto.randomUUID(), type: "Placed", data: { total: 3 }, metadata: {} }],
});

test("the browser build leaves out the server half: acceptPush rejects, syncServer throws, with an INVALID_ARGUMENT that says so", async () => {
  const store = await browser.EventStore.open();
  const error = await store.acceptPush([pushed()]).catch((e) => e);
  assert.ok(error instanceof browser.EventStoreError, `an EventStoreError, got ${error}`);
  assert.equal(error.code, "INVALID_ARGUMENT");
  assert.match(error.message, /acceptPush is the server half of sync.*browser build/);
  assert.deepEqual(await store.readAll(), [], "nothing was written");
  assert.throws(() => store.syncServer("e-1", 100), { name: "EventStoreError", code: "INVALID_ARGUMENT", message: /syncServer is the server half of sync/ });
});

test("the browser entry exports the server build's classes (SyncServer) as stand-ins that refuse with an INVALID_ARGUMENT", () => {
  const refusal = { name: "EventStoreError", code: "INVALID_ARGUMENT", message: /SyncServer is part of the server half of sync.*browser build/ };
  assert.throws(() => new browser.SyncServer(), refusal);
  assert.throws(() => browser.SyncServer.decode("{}"), refusal);
  assert.equal(typeof server.SyncServer.decode, "function", "the server build's is the real class");
});

test("the server build (the Node entry) decides pushed appends and serves sync", async () => {
  const store = await server.EventStore.open();
  assert.ok(store.syncServer("e-1", 100) instanceof server.SyncServer);
  const [outcome] = await store.acceptPush([pushed()]);
  assert.deepEqual(outcome, { result: "ok", nextExpectedRevision: 0, position: 0 });
  assert.deepEqual((await store.readStream("Order-1")).map((e) => e.data), [{ total: 3 }]);
});

test("each build carries its own storages: IndexedDB in the browser build, the Durable Object's in the server build", async () => {
  await assert.rejects(browser.EventStore.open({ storage: "durable-object", durableObjectStorage: {} }), {
    code: "INVALID_ARGUMENT",
    message: /storage must be "memory" or "indexeddb", got "durable-object"/,
  });
  // Node, Deno and workerd have no IndexedDB: refused as where a runtime has none.
  await assert.rejects(server.EventStore.open({ storage: "indexeddb" }), { code: "STORAGE_ERROR", message: /IndexedDB is not available in this runtime/ });
  await assert.rejects(server.EventStore.open({ storage: "durable-object" }), { code: "INVALID_ARGUMENT", message: /needs durableObjectStorage/ });
});

test("a Vite build of an app (tests/js/vite) bundles the browser builds' wasm and nothing of the server build", () => {
  const out = mkdtempSync(join(tmpdir(), "evstore-vite-build-"));
  try {
    execFileSync(join(repo, "node_modules/.bin/vite"), ["build", "--config", join(repo, "tests/js/vite/vite.config.js"), "--outDir", out, "--emptyOutDir"], { stdio: "inherit" });
    const files = readdirSync(out, { recursive: true }).map(String).filter((f) => statSync(join(out, f)).isFile());
    const wasm = files.filter((f) => f.endsWith(".wasm"));
    // Both browser builds, each fetched only by the open that needs it: without and with sync.
    assert.equal(wasm.length, 2, `two wasm files in the build: ${files.join(", ")}`);
    for (const name of ["evstore_local_bg.wasm", "evstore_wasm_bg.wasm"]) {
      const bytes = readFileSync(join(repo, "pkg", name));
      assert.ok(wasm.some((f) => readFileSync(join(out, f)).equals(bytes)), `the browser build ${name}`);
    }
    const serverWasm = readFileSync(join(repo, "pkg/evstore_server_bg.wasm"));
    assert.ok(!files.some((f) => readFileSync(join(out, f)).equals(serverWasm)), "not the server build's");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
