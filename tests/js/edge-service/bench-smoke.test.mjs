// A smoke pass of bench/edge.mjs (small counts): both services start, every operation succeeds,
// the final head is checked inside the benchmark, and it prints a ratio for every metric.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "./harness.mjs";

test("bench/edge.mjs --smoke measures evstore against the reference", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, "bench/edge.mjs"), "--smoke"], { cwd: REPO, timeout: 120_000 });
  for (const metric of ["append 1 event", "append 100 events", "read stream, 100 events", "read \\$all, 100 events", "cold start"]) {
    assert.match(stdout, new RegExp(`${metric}.*\\s\\d+\\.\\d\\dx`), `${metric} in:\n${stdout}`);
  }
});
