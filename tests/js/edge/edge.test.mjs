// The built package in edge runtimes, each running the same contract suite as Node and Chromium:
// Deno (npm package `deno`) and Cloudflare's workerd (npm package `workerd`), both offline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cases } from "../contract.mjs";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = (name) => join(repo, "node_modules/.bin", name);
const names = Object.keys(cases(() => {}));

/** A port the OS reports free on 127.0.0.1 (workerd takes its address from the config). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

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
  const dir = join(repo, "target/workerd");
  mkdirSync(dir, { recursive: true });
  const pkg = join(repo, "pkg");
  const embed = (file) => JSON.stringify(relative(dir, file));
  const modules = [
    `(name = "worker.mjs", esModule = embed ${embed(join(repo, "tests/js/edge/worker.mjs"))})`,
    `(name = "contract.mjs", esModule = embed ${embed(join(repo, "tests/js/contract.mjs"))})`,
    `(name = "evstore", esModule = embed ${embed(join(pkg, "workerd.js"))})`,
    `(name = "index.js", esModule = embed ${embed(join(pkg, "index.js"))})`,
    `(name = "evstore_wasm_bg.wasm", wasm = embed ${embed(join(pkg, "evstore_wasm_bg.wasm"))})`,
  ];
  const port = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${modules.join(",\n    ")}],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["nodejs_compat"],
);
`,
  );
  const server = spawn(bin("workerd"), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "inherit", "inherit"] });
  try {
    let res;
    for (let i = 0; i < 100 && !res; i++) {
      res = await fetch(`http://127.0.0.1:${port}/`).catch(() => new Promise((r) => setTimeout(r, 100)).then(() => undefined));
    }
    assert.ok(res, "workerd answered");
    assertAllPassed(await res.json(), "workerd");
  } finally {
    server.kill();
  }
});
