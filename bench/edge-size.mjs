// The package's two wasm builds (scripts/build-package.sh) and the edge service's upload size
// against Cloudflare's limits (3 MB compressed on the free plan, 10 MB paid):
//   - the browser build (index.js + evstore_wasm_bg.wasm: IndexedDB, no server half), what a page
//     or a bundler loads;
//   - the server build (server.js + evstore_server_bg.wasm: the Durable Object storage and the
//     server half of sync), what workerd, Node and Deno load;
//   - the edge service as `wrangler deploy --dry-run` of edge/ bundles it (worker.js + the server
//     build's wasm).
// Run `make package` first; it measures pkg/ as built.
//
//   node bench/edge-size.mjs
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { REPO } from "../edge/workerd-config.mjs";

const pkg = join(REPO, "pkg");
if (!existsSync(join(pkg, "server.js"))) throw new Error("bench/edge-size.mjs measures pkg/: run `make package` first");

/** Raw and gzip (level 9) bytes of `files`. */
const measure = (files) => ({
  raw: files.reduce((n, f) => n + statSync(f).size, 0),
  gz: files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0),
});

const work = mkdtempSync(join(tmpdir(), "evstore-edge-size-"));
try {
  const out = join(work, "out");
  const home = join(work, "home");
  execFileSync(join(REPO, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
    cwd: join(REPO, "edge"),
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
  });
  const upload = readdirSync(out).filter((f) => f.endsWith(".js") || f.endsWith(".wasm")).map((f) => join(out, f));
  const sizes = {
    "browser build": measure([join(pkg, "index.js"), join(pkg, "evstore_wasm_bg.wasm")]),
    "server build": measure([join(pkg, "server.js"), join(pkg, "evstore_server_bg.wasm")]),
    "edge upload": measure(upload),
  };
  const kib = (n) => (n / 1024).toFixed(0);
  console.log("package builds (entry JS + wasm) and the edge service upload (worker.js + wasm, as wrangler bundles it):");
  for (const [name, { raw, gz }] of Object.entries(sizes)) {
    console.log(`  ${name.padEnd(14)} ${kib(raw).padStart(5)} KiB, ${kib(gz).padStart(4)} KiB gzip`);
  }
  console.log(`  the upload is ${((sizes["edge upload"].gz / 3_000_000) * 100).toFixed(1)}% of the free plan's 3 MB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
