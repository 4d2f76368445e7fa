// What a browser fetches, per configuration, and the edge service's upload (issue 24, goal 1).
//
// browserSizes(): the files a page loads for a store opened without `sync` (local) and with it
// (synced) — the package's entry JS, the JS it imports and the wasm it fetches at open() — each
// file gzipped alone at level 9 (as a server sends them), summed. THE place that lists them: when
// the build is split, change the lists here and every size line follows.
//
// edgeUploadSize(): the edge service as `wrangler deploy --dry-run` of edge/ bundles it (worker
// JS + wasm), raw and gzip; EDGE_BEFORE is that size at f152993, the goal's reference.
//
//   node bench/sizes.mjs   (prints both; run `make package` first)
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The files each browser configuration fetches, relative to the repository. */
export const BROWSER_FILES = {
  local: ["pkg/index.js", "pkg/local.js", "pkg/evstore_local_bg.wasm"],
  synced: ["pkg/index.js", "pkg/synced.js", "pkg/evstore_wasm_bg.wasm"],
};

/** The server build: what workerd, Node and Deno load. */
export const SERVER_FILES = ["pkg/server.js", "pkg/evstore_server_bg.wasm"];

/**
 * The edge upload at f152993 (main before issue 24), measured with edgeUploadSize() on 2026-12-07
 * (wrangler's dry-run bundle of edge/: worker JS + the server build's wasm).
 */
export const EDGE_BEFORE = { commit: "f152993", raw: 663_993, gzip: 255_984 };

/** `{ files, raw, gzip }` of `files` (paths relative to the repository), each gzipped alone at level 9. */
function measure(files, root = REPO) {
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const path = join(root, f);
    if (!existsSync(path)) throw new Error(`bench/sizes.mjs: ${f} is missing: run \`make package\` first`);
    const bytes = readFileSync(path);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

/** `{ files, raw, gzip }` of the server build. */
export const serverSize = () => measure(SERVER_FILES);

/** `{ local: { files, raw, gzip }, synced: { files, raw, gzip } }`: bytes a page fetches per configuration. */
export function browserSizes() {
  return { local: measure(BROWSER_FILES.local), synced: measure(BROWSER_FILES.synced) };
}

/** `{ files, raw, gzip }` of the edge service's upload, as `wrangler deploy --dry-run` bundles edge/. */
export function edgeUploadSize() {
  const work = mkdtempSync(join(tmpdir(), "evstore-edge-size-"));
  try {
    const out = join(work, "out");
    const home = join(work, "home");
    execFileSync(join(REPO, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
      cwd: join(REPO, "edge"),
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    });
    const upload = readdirSync(out).filter((f) => f.endsWith(".js") || f.endsWith(".wasm"));
    const m = measure(upload, out);
    return { ...m, files: upload.map((f) => relative(out, join(out, f))) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [name, s] of Object.entries(browserSizes())) console.log(`browser, ${name.padEnd(6)} ${kib(s.raw)} raw, ${kib(s.gzip)} gzip: ${s.files.join(" + ")}`);
  const e = edgeUploadSize();
  console.log(`edge upload    ${kib(e.raw)} raw, ${kib(e.gzip)} gzip (${e.raw} B, ${e.gzip} B gzip): ${e.files.join(" + ")}`);
}
