// `wrangler deploy --dry-run` of edge/wrangler.toml, offline: proves the deploy bundle builds
// (the Worker, the package imported as "evstore" with its .wasm, the Durable Object class) and
// reports its size against Cloudflare's 3 MB (free plan, compressed) upload limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { REPO, tempDir } from "./harness.mjs";

test("wrangler deploy --dry-run bundles the edge service with the package's wasm", async () => {
  const outdir = tempDir("evstore-wrangler-");
  const home = tempDir("evstore-wrangler-home-");
  const { stdout, stderr } = await promisify(execFile)(join(REPO, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: join(REPO, "edge"),
    env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    timeout: 120_000,
  });
  const output = stdout + stderr;
  assert.match(output, /--dry-run: exiting now/, output);
  assert.match(output, /env\.TENANTS \(TenantStore\)\s+Durable Object/, output);
  const files = readdirSync(outdir);
  const worker = readFileSync(join(outdir, "worker.js"), "utf8");
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `one wasm module: ${files}`);
  assert.match(worker, /TenantStore = class|class TenantStore/);
  assert.match(worker, /export \{[^}]*TenantStore/);
  assert.ok(worker.includes(wasm[0]), "the bundle imports the wasm module wrangler emitted");
  const bytes = (f) => statSync(join(outdir, f)).size;
  const gz = (f) => gzipSync(readFileSync(join(outdir, f)), { level: 9 }).length;
  const total = bytes("worker.js") + bytes(wasm[0]);
  const totalGz = gz("worker.js") + gz(wasm[0]);
  const upload = output.match(/Total Upload: ([^\n]+)/)?.[1];
  console.log(`edge bundle: worker.js ${bytes("worker.js")} B + wasm ${bytes(wasm[0])} B = ${total} B (${totalGz} B gzip; wrangler: ${upload})`);
  assert.ok(totalGz < 3_000_000, "under the free plan's 3 MB compressed upload limit");
});
