// Size of the package, cold start in Node, scaling, and stores dropped without close() (each
// sample in a fresh process).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";
import { browserSizes } from "./sizes.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const pkg = join(repo, "pkg");

export function sizes() {
  const measure = (files) => {
    const buf = Buffer.concat(files.map((f) => readFileSync(f)));
    return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
  };
  const wasm = measure([join(pkg, "evstore_wasm_bg.wasm")]);
  const glue = measure([join(pkg, "index.js")]);
  // local / synced: what a page fetches without and with `sync` (bench/sizes.mjs, issue 24 goal 1).
  const { local, synced } = browserSizes();
  return { wasm, glue, total: { raw: wasm.raw + glue.raw, gzip: wasm.gzip + glue.gzip, brotli: wasm.brotli + glue.brotli }, local, synced };
}

export function nodeColdStart(samples = 10) {
  const script = `const t = performance.now(); const { EventStore } = await import("evstore"); const s = await EventStore.open(); await s.append("s", [{ type: "E" }]); console.log(performance.now() - t);`;
  const xs = [];
  for (let i = 0; i < samples; i++) xs.push(Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repo }).toString()));
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

export function scaling(sizesToRun, contenders = ["evstore memory", "plain JS reference"]) {
  const out = [];
  for (const N of sizesToRun) {
    for (const name of contenders) {
      const line = execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=8192", join(repo, "bench/scaling.mjs"), name, String(N)], { cwd: repo }).toString();
      out.push(JSON.parse(line));
    }
  }
  return out;
}

/**
 * Stores dropped without close() (bench/dropped.mjs): `pairs` pairs of child processes, the
 * closing and the never-closed variant interleaved, each doing `rounds` rounds of a fresh memory
 * store with `n` single appends. Per variant: the median over its processes of the total append
 * time, of each round's time, and of the RSS after each round.
 */
export function droppedStores({ rounds = 20, n = 10_000, pairs = 3 } = {}) {
  const samples = { closing: [], "never-closed": [] };
  for (let p = 0; p < pairs; p++) {
    for (const variant of p % 2 ? ["never-closed", "closing"] : ["closing", "never-closed"]) {
      const line = execFileSync(process.execPath, [join(repo, "bench/dropped.mjs"), variant, String(rounds), String(n)], { cwd: repo }).toString();
      samples[variant].push(JSON.parse(line));
    }
  }
  const variant = (xs) => {
    const totals = xs.map((x) => x.ms.reduce((a, b) => a + b, 0));
    const perRound = (key) => Array.from({ length: rounds }, (_, r) => median(xs.map((x) => x[key][r])));
    return { totalMs: { median: median(totals), min: Math.min(...totals), max: Math.max(...totals) }, roundMs: perRound("ms"), rss: perRound("rss") };
  };
  return { rounds, n, pairs, closing: variant(samples.closing), neverClosed: variant(samples["never-closed"]) };
}
