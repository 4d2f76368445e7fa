// The goals of issue 12 over several runs: runs the whole benchmark (bench/run.mjs) N times
// (default 3), one after the other, and prints per goal the median and min–max of the per-run
// ratios, and the medians of both sides' absolute figures. Saves each run's output and results as
// runK.txt / runK.json, and the summary as summary.md, in --out (default bench/results/repeat/).
// The goals are computed again from each run's results with the current bench/goals.mjs, so
// `--from DIR` re-summarises saved runs (DIR/run*.json) without running anything.
// Usage: node bench/repeat.mjs [N] [--out DIR] [--smoke] | node bench/repeat.mjs --from DIR
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";
import { goals } from "./goals.mjs";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const from = option("--from");
const out = resolve(from ?? option("--out") ?? fileURLToPath(new URL("./results/repeat/", import.meta.url)));
const run = fileURLToPath(new URL("./run.mjs", import.meta.url));
const resultsFile = fileURLToPath(new URL(`./results/${smoke ? "smoke" : "latest"}.json`, import.meta.url));
mkdirSync(out, { recursive: true });

/** One run of bench/run.mjs, its output shown and saved; resolves to its results. */
function once(k) {
  return new Promise((done, fail) => {
    const file = createWriteStream(`${out}/run${k}.txt`);
    // --expose-gc: the memory scenarios collect between rounds, so no contender pays for the
    // garbage of the one before it (the dropped-stores benchmark runs in children without it).
    const child = spawn(process.execPath, ["--expose-gc", run, ...(smoke ? ["--smoke"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    for (const s of [child.stdout, child.stderr]) s.on("data", (d) => (process.stdout.write(d), file.write(d)));
    child.on("close", (code) => {
      file.end();
      if (code !== 0) return fail(new Error(`run ${k} exited with ${code}`));
      const text = readFileSync(resultsFile, "utf8");
      writeFileSync(`${out}/run${k}.json`, text);
      done(JSON.parse(text));
    });
  });
}

const started = Date.now();
const runs = [];
if (from) {
  const saved = readdirSync(out).filter((f) => /^run\d+\.json$/.test(f)).sort((a, b) => parseInt(a.slice(3)) - parseInt(b.slice(3)));
  for (const f of saved) runs.push(JSON.parse(readFileSync(`${out}/${f}`, "utf8")));
} else {
  const n = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== "--out") ?? 3);
  for (let k = 1; k <= n; k++) {
    console.log(`\n=== run ${k} of ${n} ===\n`);
    runs.push(await once(k));
  }
}
const n = runs.length;
for (const r of runs) r.goals = goals(r);

const fmt = (v, unit) => (v == null ? "—" : unit === "x" ? `${v.toFixed(2)}x` : `${v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)} ${unit}`);
const rows = runs[0].goals.map((g0, i) => {
  const gs = runs.map((r) => r.goals[i]);
  const vs = gs.map((g) => g.value).filter((v) => v != null);
  const sides = g0.sides.map((s, j) => `${s.label} ${fmt(median(gs.map((g) => g.sides[j].value)), s.unit)}`).join(", ");
  const met = gs.filter((g) => g.met).length;
  return {
    issue: g0.issue,
    goal: g0.goal,
    reference: g0.reference,
    target: g0.op == null ? "(reported)" : g0.target == null ? "≈ before" : `${g0.op} ${fmt(g0.target, g0.unit)}`,
    median: vs.length ? fmt(median(vs), g0.unit) : "—",
    range: vs.length ? `${fmt(Math.min(...vs), g0.unit)}–${fmt(Math.max(...vs), g0.unit)}` : "",
    met: g0.target == null || g0.op == null ? "—" : `${met}/${gs.length}`,
    sides,
  };
});
const head = ["#", "goal", "reference", "target", "median", "min–max", "runs met", "medians of both sides"];
const summary = [
  `# Goals of issue 12 over ${n} runs of bench/run.mjs${smoke ? " (smoke sizes)" : ""}`,
  "",
  `Runs started ${runs.map((r) => r.startedAt).join(", ")}; Node ${runs[0].node}${from ? "" : `; ${((Date.now() - started) / 60000).toFixed(1)} min in all`}.`,
  "",
  `| ${head.join(" | ")} |`,
  `|${head.map(() => "---").join("|")}|`,
  ...rows.map((r) => `| ${[r.issue, r.goal, r.reference, r.target, r.median, r.range, r.met, r.sides].join(" | ")} |`),
  "",
].join("\n");
writeFileSync(`${out}/summary.md`, summary);
console.log(`\n${summary}\nwrote ${from ? "" : `${out}/run1…${n}.{txt,json} and `}${out}/summary.md`);
