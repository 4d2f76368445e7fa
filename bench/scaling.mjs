// One scaling sample in a fresh process: fill a store to N events, then measure the cost of
// 10,000 more single appends and of reading 1,000 events, and the memory per stored event.
// Usage: node bench/scaling.mjs <contender> <N>   → prints one JSON line.
import { memoryContenders } from "./contenders/memory.mjs";
import { payload } from "./stats.mjs";

const [name, nText] = process.argv.slice(2);
const N = Number(nText);
const c = memoryContenders[name];
const ev = (i) => ({ type: "OrderPlaced", data: payload(i), metadata: { correlationId: `c-${i}` } });
const mem = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m.rss;
};
const before = mem();
const s = await c.open();
const streams = 1000;
const revs = new Array(streams).fill(null);
for (let b = 0; b < N / 100; b++) {
  const k = b % streams;
  revs[k] = await c.append(s, `Order-${k}`, Array.from({ length: 100 }, (_, j) => ev(b * 100 + j)), revs[k]);
}
const filled = mem();
const M = 10_000;
const t = performance.now();
for (let i = 0; i < M; i++) revs[i % streams] = await c.append(s, `Order-${i % streams}`, [ev(i)], revs[i % streams]);
const appendUs = ((performance.now() - t) * 1000) / M;
const t2 = performance.now();
const page = c.readAllPage ? await c.readAllPage(s, Math.floor(N / 2), 1000) : await c.readStream(s, "Order-1");
const readUs = ((performance.now() - t2) * 1000) / page.length;
console.log(JSON.stringify({ name, N, appendUs, readUs, bytesPerEvent: (filled - before) / N }));
