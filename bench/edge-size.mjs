// The edge service's upload size against Cloudflare's limits (3 MB compressed on the free plan,
// 10 MB paid), built the way a deployment would: the wasm without IndexedDB
// (`--no-default-features --features durable-object`, in target/edge-only), wasm-bindgen and
// wasm-opt -Oz as in scripts/build-package.sh, then `wrangler deploy --dry-run` of edge/ against
// that package. Compare with the full package (both storages) that `make package` builds.
//
//   node bench/edge-size.mjs
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { REPO } from "../edge/workerd-config.mjs";

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"], ...options }).toString();
const env = { ...process.env, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` };
const work = mkdtempSync(join(tmpdir(), "evstore-edge-size-"));
try {
  run("cargo", ["build", "--quiet", "--release", "--lib", "--target", "wasm32-unknown-unknown", "--no-default-features", "--features", "durable-object", "--target-dir", "target/edge-only"], { env });
  // A package like pkg/, with the edge-only wasm.
  const pkg = join(work, "node_modules/evstore");
  mkdirSync(pkg, { recursive: true });
  run("wasm-bindgen", ["--target", "web", "--out-dir", pkg, "--out-name", "evstore_wasm", "--no-typescript", "--weak-refs", "target/edge-only/wasm32-unknown-unknown/release/evstore.wasm"], { env });
  run(join(REPO, "node_modules/.bin/wasm-opt"), ["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue", join(pkg, "evstore_wasm_bg.wasm"), "-o", join(pkg, "evstore_wasm_bg.wasm")]);
  for (const f of readdirSync(join(REPO, "pkg-template"))) cpSync(join(REPO, "pkg-template", f), join(pkg, f));
  run(process.execPath, [join(REPO, "scripts/bundle-entry.mjs"), pkg]);
  // edge/ next to that node_modules, so "evstore" resolves to it.
  cpSync(join(REPO, "edge"), join(work, "edge"), { recursive: true });
  const sizes = {};
  for (const [name, dir] of [["edge-only wasm", join(work, "edge")], ["full package", join(REPO, "edge")]]) {
    const out = join(work, `out-${Object.keys(sizes).length}`);
    const home = join(work, "home");
    run(join(REPO, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    });
    const files = readdirSync(out).filter((f) => f.endsWith(".js") || f.endsWith(".wasm"));
    const raw = files.reduce((n, f) => n + statSync(join(out, f)).size, 0);
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
    sizes[name] = { raw, gz };
  }
  console.log("edge service upload (worker.js + wasm, as wrangler bundles it):");
  for (const [name, { raw, gz }] of Object.entries(sizes)) {
    console.log(`  ${name.padEnd(16)} ${(raw / 1024).toFixed(0).padStart(5)} KiB, ${(gz / 1024).toFixed(0).padStart(4)} KiB gzip = ${((gz / 3_000_000) * 100).toFixed(1)}% of the free plan's 3 MB`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
