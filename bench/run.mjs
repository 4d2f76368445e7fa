// `make bench`: every contender side by side in one run, interleaved and repeated; medians,
// min–max, events/s and time ratios to the reference. Writes bench/results/latest.{json,md}.
// Ends with the "Goals (issue 12)" block (bench/goals.mjs), which also holds the goal of issue 22
// (reads with a schema, bench/schema.mjs); bench/repeat.mjs runs this N times.
// `--smoke` runs tiny sizes (a check that the harness works, used by `make test`).
import { writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runMemory } from "./memory.mjs";
import { runBrowser } from "./browser.mjs";
import { runSchema } from "./schema.mjs";
import { sizes, nodeColdStart, scaling, droppedStores } from "./node-extra.mjs";
import { goals, goalLines } from "./goals.mjs";
import { textTable, markdownTable } from "./stats.mjs";
import { EventStore } from "evstore";
import { sameStoreLatency, catchUp, fill } from "./subscriptions.mjs";

const smoke = process.argv.includes("--smoke");
const size = smoke ? 0.02 : 1;
const rounds = smoke ? 1 : 5;
const print = (s) => (s.deletes ? printDeletes(s.deletes) : console.log(`${textTable(s)}\n`));
const deleteLines = (d) => [
  `IndexedDB, Chromium: delete a ${d.events.toLocaleString("en")}-event stream (evstore alone; median, min–max):`,
  ...["soft", "hard"].map((k) => `  ${(k === "soft" ? "deleteStream" : "tombstoneStream").padEnd(16)} ${d[k].median.toFixed(0)} ms (${d[k].min.toFixed(0)}–${d[k].max.toFixed(0)}), ${((d[k].median * 1000) / d.events).toFixed(1)} µs/event`),
];
function printDeletes(d) {
  console.log(`${deleteLines(d).join("\n")}\n`);
}
const startedAt = new Date().toISOString();

console.log(`evstore benchmarks${smoke ? " (smoke sizes)" : ""} — ${startedAt}\n`);
const memory = await runMemory({ size, rounds, log: print });
const schema = await runSchema({ size, rounds, log: print });
const browser = await runBrowser({ size, rounds, log: print });
const size_ = sizes();
const coldNode = nodeColdStart(smoke ? 2 : 10);
const scale = scaling(smoke ? [2_000] : [10_000, 100_000, 1_000_000]);
const nodeSubs = {
  sameStoreMemory: await sameStoreLatency(await EventStore.open(), smoke ? 20 : 1000),
  catchUpMemory: await (async () => {
    const s = await EventStore.open();
    const n = smoke ? 2000 : 100_000;
    await fill(s, n);
    return catchUp(s, n);
  })(),
};
const subs = { node: nodeSubs, chromium: browser.subscriptions };
const dropped = droppedStores(smoke ? { rounds: 5, n: 1_000, pairs: 1 } : { rounds: 20, n: 25_000, pairs: 3 });

const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
const extra = [
  "Package size (wasm + JS glue):",
  `  wasm ${kb(size_.wasm.raw)} raw, ${kb(size_.wasm.gzip)} gzip, ${kb(size_.wasm.brotli)} brotli`,
  `  glue ${kb(size_.glue.raw)} raw, ${kb(size_.glue.gzip)} gzip, ${kb(size_.glue.brotli)} brotli`,
  `  total ${kb(size_.total.raw)} raw, ${kb(size_.total.gzip)} gzip, ${kb(size_.total.brotli)} brotli`,
  `Cold start, import → ready store → first append: Node median ${coldNode.median.toFixed(1)} ms (${coldNode.min.toFixed(1)}–${coldNode.max.toFixed(1)}), Chromium median ${browser.coldStartMs.median.toFixed(1)} ms (${browser.coldStartMs.min.toFixed(1)}–${browser.coldStartMs.max.toFixed(1)})`,
  `Cold start in Chromium on IndexedDB (empty cache): evstore median ${browser.coldStartIndexedDbMs.median.toFixed(1)} ms (${browser.coldStartIndexedDbMs.min.toFixed(1)}–${browser.coldStartIndexedDbMs.max.toFixed(1)}) vs Dexie import → open → first write ${browser.coldStartDexieMs.median.toFixed(1)} ms (${browser.coldStartDexieMs.min.toFixed(1)}–${browser.coldStartDexieMs.max.toFixed(1)}): ${(browser.coldStartIndexedDbMs.median / browser.coldStartDexieMs.median).toFixed(2)}x (goal ≤ 1.2x)`,
  "Scaling (memory; 10,000 single appends and one 1,000-event read at each store size):",
  ...scale.map((s) => `  ${s.name.padEnd(20)} N=${String(s.N).padEnd(8)} append ${s.appendUs.toFixed(2)} µs/event, read ${s.readUs.toFixed(2)} µs/event, ${s.bytesPerEvent.toFixed(0)} bytes/event stored (RSS)`),
  "Subscriptions — latency from append resolving to the handler (ms: median / p99 / max over n):",
  ...[
    ["same store, memory, Node", subs.node.sameStoreMemory],
    ["same tab, memory, Chromium", subs.chromium.sameTabMemory],
    ["same tab, IndexedDB, Chromium", subs.chromium.sameTabIndexedDb],
    ["across tabs, IndexedDB, Chromium", subs.chromium.crossTabIndexedDb],
  ].map(([what, l]) => `  ${what.padEnd(34)} ${l.median.toFixed(3)} / ${l.p99.toFixed(3)} / ${l.max.toFixed(3)} (n=${l.n})`),
  "Subscriptions — catch-up from the start to onCaughtUp vs readAll in pages of 1,000 over the same events:",
  ...[
    ["memory, Node", subs.node.catchUpMemory],
    ["IndexedDB, Chromium", subs.chromium.catchUpIndexedDb],
  ].map(([what, c]) => `  ${what.padEnd(22)} ${c.events} events: subscribe ${c.subscribeMs.toFixed(0)} ms, readAll ${c.readAllMs.toFixed(0)} ms (subscribe/readAll ${c.ratio.toFixed(2)}x)`),
  ...deleteLines(browser.deletes),
  `Memory stores dropped without close(): ${dropped.rounds} rounds, each a fresh store with ${dropped.n} single appends, then close() or not (no gc() call); ${dropped.pairs} process(es) per variant, interleaved; medians:`,
  ...[
    ["closing", dropped.closing],
    ["never closed", dropped.neverClosed],
  ].map(([what, v]) => {
    const at = [1, 5, 10, 20].filter((r) => r <= dropped.rounds);
    const mb = (b) => (b / 1024 / 1024).toFixed(1);
    return `  ${what.padEnd(13)} appends ${v.totalMs.median.toFixed(0)} ms in all (${v.totalMs.min.toFixed(0)}–${v.totalMs.max.toFixed(0)}), round 1 ${v.roundMs[0].toFixed(0)} ms, last round ${v.roundMs.at(-1).toFixed(0)} ms; RSS after round ${at.join("/")}: ${at.map((r) => mb(v.rss[r - 1])).join(" / ")} MB (growth +${mb(v.rss.at(-1) - v.rss[0])} MB)`;
  }),
  `  never closed ÷ closing: appends ${(dropped.neverClosed.totalMs.median / dropped.closing.totalMs.median).toFixed(2)}x, RSS after the last round ${(dropped.neverClosed.rss.at(-1) / dropped.closing.rss.at(-1)).toFixed(2)}x`,
].join("\n");
console.log(extra);

const scenarios = [...memory, ...schema, ...browser.scenarios];
const results = { startedAt, smoke, node: process.version, scenarios, deletes: browser.deletes, sizes: size_, coldStart: { node: coldNode, chromium: browser.coldStartMs, chromiumIndexedDb: browser.coldStartIndexedDbMs, dexie: browser.coldStartDexieMs }, scaling: scale, subscriptions: subs, dropped };
results.goals = goals(results);
const goalBlock = goalLines(results.goals).join("\n");
console.log(`\n${goalBlock}`);
const dir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const base = smoke ? "smoke" : "latest";
writeFileSync(`${dir}${base}.json`, JSON.stringify(results, null, 2));
writeFileSync(`${dir}${base}.md`, [`# evstore benchmarks (${startedAt})`, "", ...scenarios.map(markdownTable), "", "```", extra, "```", "## Goals (issue 12)", "```", goalBlock, "```", ""].join("\n\n"));
console.log(`\nwrote bench/results/${base}.json and ${base}.md`);
