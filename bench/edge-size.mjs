// The package's wasm builds (scripts/build-package.sh) and the edge service's upload size against
// Cloudflare's limits (3 MB compressed on the free plan, 10 MB paid), as bench/sizes.mjs measures
// them (each file gzipped alone):
//   - the browser builds, what a page or a bundler loads: without sync (index.js + local.js +
//     evstore_local_bg.wasm) and with it (index.js + synced.js + evstore_wasm_bg.wasm);
//   - the server build (server.js + evstore_server_bg.wasm: the Durable Object storage and the
//     server half of sync), what workerd, Node and Deno load;
//   - the edge service as `wrangler deploy --dry-run` of edge/ bundles it (worker.js + the server
//     build's wasm).
// Run `make package` first; it measures pkg/ as built.
//
//   node bench/edge-size.mjs
import { browserSizes, edgeUploadSize, serverSize } from "./sizes.mjs";

const browser = browserSizes();
const sizes = {
  "browser, local": browser.local,
  "browser, synced": browser.synced,
  "server build": serverSize(),
  "edge upload": edgeUploadSize(),
};
const kib = (n) => (n / 1024).toFixed(0);
console.log("package builds (entry JS + wasm) and the edge service upload (worker.js + wasm, as wrangler bundles it):");
for (const [name, { raw, gzip }] of Object.entries(sizes)) {
  console.log(`  ${name.padEnd(16)} ${kib(raw).padStart(5)} KiB, ${kib(gzip).padStart(4)} KiB gzip`);
}
console.log(`  the upload is ${((sizes["edge upload"].gzip / 3_000_000) * 100).toFixed(1)}% of the free plan's 3 MB`);
