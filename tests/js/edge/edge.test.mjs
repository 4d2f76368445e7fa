// The built package in edge runtimes, each running the same contract suite as Node and Chromium:
// Deno (npm package `deno`) and Cloudflare's workerd (npm package `workerd`), both offline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { cases } from "../contract.mjs";
import { bin, repo, startWorkerd } from "./workerd.mjs";

const names = Object.keys(cases(() => {}));

function assertAllPassed(results, runtime) {
  assert.deepEqual(Object.keys(results).sort(), [...names].sort(), `${runtime} ran every case`);
  const failed = Object.entries(results).filter(([, f]) => f);
  assert.deepEqual(failed, [], `${runtime}: failed cases`);
}

test("Deno: the contract suite passes through import \"evstore\"", () => {
  const out = execFileSync(bin("deno"), ["run", "--allow-read", "--allow-env", join(repo, "tests/js/edge/deno-contract.mjs")], {
    cwd: repo,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    timeout: 120_000,
  });
  assertAllPassed(JSON.parse(out.toString().trim().split("\n").at(-1)), "Deno");
});

test("workerd: the contract suite passes in a Cloudflare worker (the package's workerd entry)", async () => {
  const pkg = join(repo, "pkg");
  const edge = await startWorkerd({
    dir: join(repo, "target/workerd"),
    modules: [
      ["worker.mjs", join(repo, "tests/js/edge/worker.mjs"), "esModule"],
      ["contract.mjs", join(repo, "tests/js/contract.mjs"), "esModule"],
      ["evstore", join(pkg, "workerd.js"), "esModule"],
      ["workerd-store.js", join(pkg, "workerd-store.js"), "esModule"],
      ["evstore_workerd_bg.wasm", join(pkg, "evstore_workerd_bg.wasm"), "wasm"],
    ],
  });
  try {
    const res = await fetch(`${edge.url}/`);
    assertAllPassed(await res.json(), "workerd");
  } finally {
    await edge.stop();
  }
});
