// The Durable Object storage in real workerd: the package's contract suite on
// `storage: "durable-object"` (one fresh SQLite-backed object per case), and durability across a
// SIGKILL of the runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repo, startWorkerd } from "./workerd.mjs";

const pkg = join(repo, "pkg");
const modules = [
  ["worker.mjs", join(repo, "tests/js/edge/do-worker.mjs"), "esModule"],
  ["contract.mjs", join(repo, "tests/js/contract.mjs"), "esModule"],
  ["evstore", join(pkg, "workerd.js"), "esModule"],
  ["workerd-store.js", join(pkg, "workerd-store.js"), "esModule"],
  ["evstore_workerd_bg.wasm", join(pkg, "evstore_workerd_bg.wasm"), "wasm"],
];
const durableObjects = [{ binding: "CASES", className: "ContractCase" }];

async function withWorkerd(dataDir, run) {
  const edge = await startWorkerd({ dir: join(repo, "target/workerd-do"), modules, durableObjects, dataDir });
  try {
    return await run(edge);
  } finally {
    await edge.stop();
  }
}

test("workerd: the contract suite passes on the Durable Object storage", async () => {
  const data = mkdtempSync(join(tmpdir(), "evstore-do-"));
  try {
    await withWorkerd(data, async ({ url }) => {
      const names = await (await fetch(`${url}/cases`)).json();
      assert.ok(names.length > 30, "the suite has its cases");
      const failed = [];
      for (const name of names) {
        const failure = await (await fetch(`${url}/case?name=${encodeURIComponent(name)}&run=contract`)).json();
        if (failure) failed.push([name, failure]);
      }
      assert.deepEqual(failed, []);
    });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("workerd: every acknowledged append survives a SIGKILL; a storage without SQL is refused", async () => {
  const data = mkdtempSync(join(tmpdir(), "evstore-do-"));
  const append = (url, streamId, events, expectedRevision = "any") =>
    fetch(`${url}/append?object=durable`, { method: "POST", body: JSON.stringify({ streamId, events, expectedRevision }) });
  try {
    const acked = [];
    const edge = await startWorkerd({ dir: join(repo, "target/workerd-do"), modules, durableObjects, dataDir: data });
    try {
      for (let i = 0; i < 20; i++) {
        const res = await append(edge.url, `Order-${i % 3}`, [{ type: "Placed", data: { i } }, { type: "Priced", data: { i } }]);
        assert.equal(res.status, 200);
        acked.push(await res.json());
      }
      // A write that fails keeps the SQLite error as its cause.
      const dup = await (await append(edge.url, "Order-0", [{ type: "Placed", id: "0190a8e4-7b3c-7d2e-8f00-000000000001" }, { type: "Placed", id: "0190a8e4-7b3c-7d2e-8f00-000000000001" }])).json();
      assert.equal(dup.error.code, "DUPLICATE_EVENT_ID");
      const kv = await (await fetch(`${edge.url}/kv?object=kv`)).json();
      assert.equal(kv.code, "INVALID_ARGUMENT");
      assert.match(kv.message, /durableObjectStorage/);
      // In flight when the runtime dies: these may or may not be acknowledged.
      const inFlight = Array.from({ length: 10 }, (_, i) => append(edge.url, "Late-1", [{ type: "A", data: i }, { type: "B", data: i }]).then((r) => r.json()).catch(() => null));
      await edge.kill();
      for (const r of await Promise.all(inFlight)) if (r && !r.error) acked.push(r);
    } finally {
      await edge.stop();
    }
    await withWorkerd(data, async ({ url }) => {
      const log = await (await fetch(`${url}/all?object=durable`)).json();
      assert.deepEqual(log.map((e) => e.position), log.map((_, i) => i), "positions are dense");
      for (const a of acked) assert.ok(log[a.position], `acknowledged position ${a.position} is present`);
      const byStream = new Map();
      for (const e of log) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
      for (const [stream, events] of byStream) {
        assert.deepEqual(events.map((e) => e.revision), events.map((_, i) => i), `${stream}: contiguous revisions`);
        assert.equal(events.length % 2, 0, `${stream}: only whole batches`);
      }
      assert.ok(log.length >= 40);
    });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("workerd: data written by the previous version (schema 1: checkpoints in their own table) opens with its events and checkpoints", async () => {
  const data = mkdtempSync(join(tmpdir(), "evstore-do-"));
  try {
    await withWorkerd(data, async ({ url }) => {
      const out = await (await fetch(`${url}/schema-1?object=schema-1`)).json();
      assert.deepEqual(out, {
        first: { types: ["E2"], all: ["E0", "E1", "E2"] },
        again: { types: [], all: ["E0", "E1", "E2"] },
        legacy: 0,
        moved: "2",
        version: 4,
      });
    });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
