// Subscription figures, runtime-neutral (Node and browser pages run the same code): latency from
// `append` resolving to the handler being called, and catch-up throughput vs readAll.
import { median } from "./stats.mjs";

const now = () => performance.timeOrigin + performance.now();

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function latencySummary(xs) {
  return { median: median(xs), p99: percentile(xs, 99), max: Math.max(...xs), n: xs.length };
}

/**
 * Same-store latency: one event at a time; the handler's time minus the time `append` resolved.
 * (On the memory storage the handler can run before the append's promise settles: that counts
 * as 0.)
 */
export async function sameStoreLatency(store, n) {
  const latencies = [];
  let resolvedAt = 0;
  let release;
  const sub = store.subscribe(
    () => {
      const t = now();
      queueMicrotask(() => {
        latencies.push(Math.max(0, t - resolvedAt));
        release();
      });
    },
    { after: "end" },
  );
  for (let i = 0; i < n; i++) {
    const delivered = new Promise((r) => (release = r));
    resolvedAt = Infinity;
    await store.append("Latency-1", [{ type: "Ping", data: i }]);
    resolvedAt = now();
    await delivered;
  }
  sub.unsubscribe();
  return latencySummary(latencies);
}

/** Catch-up: a subscriber from the start to onCaughtUp vs readAll in pages of 1,000. */
export async function catchUp(store, n) {
  let t = performance.now();
  let read = 0;
  for (let from = 0; ; from += 1000) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1000 });
    read += page.length;
    if (page.length < 1000) break;
  }
  const readAllMs = performance.now() - t;
  let seen = 0;
  t = performance.now();
  await new Promise((resolve) => {
    const sub = store.subscribe(() => { seen++; }, { onCaughtUp: () => { sub.unsubscribe(); resolve(); } });
  });
  const subscribeMs = performance.now() - t;
  if (seen !== n || read !== n) throw new Error(`caught up on ${seen}, read ${read}, expected ${n}`);
  return { events: n, readAllMs, subscribeMs, ratio: subscribeMs / readAllMs };
}

export async function fill(store, n) {
  for (let b = 0; b < n / 100; b++) {
    await store.append(`Order-${b % 100}`, Array.from({ length: 100 }, (_, j) => ({ type: "OrderPlaced", data: { i: b * 100 + j, note: "catch-up payload of a realistic size" } })));
  }
}
