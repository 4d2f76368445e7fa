// Size of the package, cold start in Node, and scaling (each sample in a fresh process).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const pkg = join(repo, "pkg");

export function sizes() {
  const measure = (files) => {
    const buf = Buffer.concat(files.map((f) => readFileSync(f)));
    return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
  };
  const wasm = measure([join(pkg, "evstore_wasm_bg.wasm")]);
  const glue = measure([join(pkg, "index.js")]);
  return { wasm, glue, total: { raw: wasm.raw + glue.raw, gzip: wasm.gzip + glue.gzip, brotli: wasm.brotli + glue.brotli } };
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
