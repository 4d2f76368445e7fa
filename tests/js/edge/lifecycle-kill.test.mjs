// A hard delete is all or nothing, also when workerd is SIGKILLed in the middle of it: a Durable
// Object holds 50,000 events carrying a marker in one stream; a tombstone is sent, workerd is
// killed after a delay (several delays, each on fresh data), restarted, and then either every
// event reads back and there is no `$streamDeleted`, or the stream is STREAM_DELETED and no row of
// any `evstore_` table holds the marker. Never a mix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
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
const EVENTS = 50_000;
const STREAM = "Secret-1";

const post = (url, path, body) => fetch(`${url}${path}?object=kill`, { method: "POST", body: JSON.stringify(body) });
const start = (dataDir) => startWorkerd({ dir: join(repo, "target/workerd-kill"), modules, durableObjects, dataDir });

test("workerd: a tombstone of 50,000 events killed with SIGKILL at any moment leaves all of them or none", { timeout: 600_000 }, async (t) => {
  const outcomes = [];
  for (const delay of [0, 20, 40, 60, 80, 100, 130, 160, 200, 250, 300, 600]) {
    const data = mkdtempSync(join(tmpdir(), "evstore-kill-"));
    const marker = `ERASE-ME-${randomUUID()}`;
    try {
      let edge = await start(data);
      try {
        const filled = await (await post(edge.url, "/fill", { streamId: STREAM, count: EVENTS, batch: 5_000, marker })).json();
        assert.equal(filled.revision, EVENTS - 1);
        const reply = post(edge.url, "/tombstone", { streamId: STREAM }).then((r) => r.json()).catch(() => null);
        await new Promise((r) => setTimeout(r, delay));
        await edge.kill();
        const answered = await reply;
        edge = await start(data);
        const state = await (await post(edge.url, "/state", { streamId: STREAM, marker })).json();
        if (state.read.code === undefined) {
          // Not deleted: every event is there, untouched.
          assert.deepEqual(state, { read: { events: EVENTS }, marked: EVENTS, tombstones: 0, markerRows: EVENTS }, `delay ${delay} ms`);
          assert.ok(answered === null || answered.error, `delay ${delay} ms: a tombstone that was acknowledged is gone`);
          outcomes.push(`${delay} ms: kept`);
        } else {
          assert.deepEqual(state, { read: { code: "STREAM_DELETED", streamId: STREAM }, marked: 0, tombstones: 1, markerRows: 0 }, `delay ${delay} ms`);
          outcomes.push(`${delay} ms: deleted${answered ? ` (acknowledged, ${answered.ms.toFixed(0)} ms in the object)` : ""}`);
        }
      } finally {
        await edge.stop();
      }
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }
  for (const o of outcomes) t.diagnostic(o);
});
