// One sample of "stores dropped without close()", in a fresh process: each round opens a fresh
// memory store, appends `n` single events (expected revision each) and then either closes it
// ("closing") or just lets it go out of scope ("never-closed": no close(), no gc() — whether the
// collector reclaims it on its own is the point). Prints one JSON line: each round's append time
// and the process's RSS after each round.
// Sizes (bench/run.mjs): 20 rounds of 25,000. At d977ed2 the never-closed variant's RSS grows by
// ~9 MB a round and its appends slow down ~1.6x from about round 7 on; at 10,000 a round the
// slowdown only shows in the last few rounds.
// Usage: node bench/dropped.mjs <closing|never-closed> <rounds> <n>
import { EventStore } from "evstore";
import { payload } from "./stats.mjs";

const [variant, roundsText, nText] = process.argv.slice(2);
if (variant !== "closing" && variant !== "never-closed") throw new Error(`unknown variant ${variant}`);
const rounds = Number(roundsText);
const n = Number(nText);
const streams = 100;
const ev = (i) => ({ type: "OrderPlaced", data: payload(i), metadata: { correlationId: `c-${i}` } });

/** One round; the store is local to this call, so nothing refers to it once it returns. */
async function round(r) {
  const s = await EventStore.open({ storage: "memory" });
  const revs = new Array(streams).fill(null);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const k = i % streams;
    revs[k] = (await s.append(`Order-${r}-${k}`, [ev(i)], { expectedRevision: revs[k] ?? "no_stream" })).nextExpectedRevision;
  }
  const ms = performance.now() - t;
  if (variant === "closing") await s.close();
  return ms;
}

const ms = [];
const rss = [];
for (let r = 0; r < rounds; r++) {
  ms.push(await round(r));
  rss.push(process.memoryUsage().rss);
}
console.log(JSON.stringify({ variant, rounds, n, ms, rss }));
