// The goals of issue 24 in one table, the last lines of `make bench`: each goal with its
// reference, target, measured ratio and met / NOT MET, read off the results the benches left in
// bench/results/ (latest.json: bench/run.mjs; sync.json: bench/sync.mjs; edge.json:
// bench/edge.mjs; bootstrap.json: bench/bootstrap.mjs) and the sizes measured now on pkg/ as
// built (bench/sizes.mjs). A missing results file leaves its goals "not measured".
//
//   node bench/goals24.mjs
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bootstrapGoals, edgeGoals, goalLines, goals, sizeGoals, syncGoals } from "./goals.mjs";
import { browserSizes, EDGE_BEFORE, edgeUploadSize } from "./sizes.mjs";

const dir = fileURLToPath(new URL("./results/", import.meta.url));
const sources = { latest: "bench/run.mjs", sync: "bench/sync.mjs", edge: "bench/edge.mjs", bootstrap: "bench/bootstrap.mjs" };
const read = (name) => (existsSync(`${dir}${name}.json`) ? JSON.parse(readFileSync(`${dir}${name}.json`, "utf8")) : null);
const r = Object.fromEntries(Object.keys(sources).map((k) => [k, read(k)]));

const of24 = (records) => records.filter((g) => /^24\D/.test(String(g.issue)));
const records = [
  ...sizeGoals({ browser: browserSizes(), edge: edgeUploadSize(), edgeBefore: EDGE_BEFORE }),
  ...of24(goals(r.latest ?? { scenarios: [] })),
  ...of24(syncGoals(r.sync ?? {})),
  ...edgeGoals(r.edge),
  ...bootstrapGoals(r.bootstrap),
].map((g) => ({ ...g, issue: `24/${String(g.issue).slice(3)}` }));
// One order: by the issue's goal number, each bench's goals in their own order.
const goalNumber = (g) => Number(g.issue.slice(3));
records.sort((a, b) => goalNumber(a) - goalNumber(b));

const when = (x) => x?.startedAt ?? x?.finishedAt ?? null;
console.log(
  [
    "Sources: sizes measured now on pkg/;",
    ...Object.entries(sources).map(([k, script]) => `  bench/results/${k}.json (${script}): ${r[k] ? `run of ${when(r[k])}${r[k].smoke ? ", SMOKE sizes" : ""}` : "missing — its goals are not measured"}`),
  ].join("\n"),
);
const lines = goalLines(records, "Goals (issue 24)", "each measured in the run of its source above; ratio = evstore (or the goal's side) ÷ reference; n/a = not measured; one run is noisy: compare the medians of several runs");
console.log(["", ...lines].join("\n"));
const count = (met) => records.filter((g) => g.met === met).length;
console.log(`issue 24: ${count(true)} met, ${count(false)} not met, ${records.filter((g) => g.met == null).length} not measured or without target, of ${records.length} lines`);
