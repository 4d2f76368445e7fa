// Benchmark of the edge service over HTTP: evstore's TenantStore against a hand-written plain-JS
// Durable Object on the same SQLite with the same guarantees (bench/edge-reference.mjs, the
// reference = 1.00x), both behind the same Worker (auth, routing, validation), both in workerd on
// 127.0.0.1, measured in one run, alternating rounds. Reports ratios (evstore's time per operation
// over the reference's; ≤ 1.2x is the goal): single-event appends, batches of 100, stream and $all
// reads of 100 events, and cold start (workerd start → first acknowledged append).
//
// Then evstore alone (the reference has no deletion): "delete a 10,000-event stream" through
// `DELETE /t/{t}/streams/{id}` (soft) and `…&hard=true` (tombstone): the request's time, in ms and
// µs per removed event.
//
//   node bench/edge.mjs [--smoke]
import { join } from "node:path";
import { REPO, startEdge, token, SECRET } from "../tests/js/edge-service/harness.mjs";

const smoke = process.argv.includes("--smoke");
const N = smoke ? { single: 40, batches: 4, reads: 40, cold: 1, rounds: 1, deleted: 1000 } : { single: 2000, batches: 60, reads: 1000, cold: 3, rounds: 3, deleted: 10_000 };
const CONCURRENCY = 4;
const t = token("bench", { exp: Math.floor(Date.now() / 1000) + 24 * 3600 });
const KINDS = {
  evstore: {},
  reference: { entry: join(REPO, "bench/edge-reference.mjs"), className: "ReferenceStore" },
};

async function post(base, stream, events) {
  const res = await fetch(`${base}/t/bench/streams/${stream}`, {
    method: "POST",
    headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
    body: JSON.stringify({ events, expectedRevision: "any" }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`append: ${res.status} ${body}`);
  return JSON.parse(body);
}

async function get(base, path) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${t}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`read: ${res.status} ${body}`);
  return JSON.parse(body);
}

/** Runs `count` operations with CONCURRENCY in flight; returns operations per second. */
async function rate(count, op) {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await op(next++);
  }));
  return count / ((performance.now() - start) / 1000);
}

const event = (i) => ({ type: "ItemAdded", data: { sku: `sku-${i}`, qty: i % 7, note: "a typical small payload" }, metadata: { correlationId: `c-${i}` } });

async function measure(kind) {
  const edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET }, config: KINDS[kind] });
  try {
    await post(edge.base, "Warm-1", [event(0)]);
    const single = await rate(N.single, (i) => post(edge.base, `Order-${i % 50}`, [event(i)]));
    const batch = await rate(N.batches, (i) => post(edge.base, `Batch-${i % 10}`, Array.from({ length: 100 }, (_, j) => event(j))));
    const stream = await rate(N.reads, (i) => get(edge.base, `/t/bench/streams/Batch-${i % 10}?maxCount=100`));
    const all = await rate(N.reads, (i) => get(edge.base, `/t/bench/all?fromPosition=${(i * 37) % 1000}&maxCount=100`));
    const check = await get(edge.base, "/t/bench/all?direction=backwards&maxCount=1");
    const expected = 1 + N.single + N.batches * 100;
    if (check.events[0].position !== expected - 1) throw new Error(`${kind}: head ${check.events[0].position}, expected ${expected - 1}`);
    return { "append 1 event (appends/s)": single, "append 100 events (events/s)": batch * 100, "read stream, 100 events (reads/s)": stream, "read $all, 100 events (reads/s)": all };
  } finally {
    await edge.stop();
  }
}

async function coldStart(kind) {
  const started = performance.now();
  const edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET }, config: KINDS[kind] });
  try {
    await post(edge.base, "Cold-1", [event(0)]);
    return performance.now() - started;
  } finally {
    await edge.stop();
  }
}

const best = { evstore: {}, reference: {} };
for (let round = 0; round < N.rounds; round++) {
  for (const kind of round % 2 ? ["reference", "evstore"] : ["evstore", "reference"]) {
    for (const [k, v] of Object.entries(await measure(kind))) best[kind][k] = Math.max(best[kind][k] ?? 0, v);
  }
}
const cold = { evstore: Infinity, reference: Infinity };
for (let i = 0; i < N.cold; i++) for (const kind of ["evstore", "reference"]) cold[kind] = Math.min(cold[kind], await coldStart(kind));

const rows = Object.keys(best.evstore).map((metric) => [metric, best.evstore[metric], best.reference[metric], best.reference[metric] / best.evstore[metric]]);
console.log(`edge service over HTTP (${CONCURRENCY} clients in flight, best of ${N.rounds} rounds${smoke ? ", smoke" : ""}); ratio = evstore's time / the reference's (1.00x = as fast as hand-written SQL)`);
console.log(["metric".padEnd(36), "evstore".padStart(10), "reference".padStart(10), "ratio".padStart(7)].join(" "));
for (const [metric, e, r, ratio] of rows) console.log([metric.padEnd(36), e.toFixed(0).padStart(10), r.toFixed(0).padStart(10), `${ratio.toFixed(2)}x`.padStart(7)].join(" "));
console.log(["cold start → first append (ms)".padEnd(36), cold.evstore.toFixed(0).padStart(10), cold.reference.toFixed(0).padStart(10), `${(cold.evstore / cold.reference).toFixed(2)}x`.padStart(7)].join(" "));

/** Fills a stream with N.deleted events (batches of 1,000), then times its deletion; per kind and round. */
async function deletions() {
  const edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET } });
  const times = { soft: [], hard: [] };
  try {
    for (let round = 0; round < N.rounds; round++) {
      for (const kind of ["soft", "hard"]) {
        const stream = `Deleted-${kind}-${round}`;
        for (let i = 0; i < N.deleted; i += 1000) await post(edge.base, stream, Array.from({ length: Math.min(1000, N.deleted - i) }, (_, j) => event(i + j)));
        const started = performance.now();
        const res = await fetch(`${edge.base}/t/bench/streams/${stream}?expectedRevision=${N.deleted - 1}${kind === "hard" ? "&hard=true" : ""}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${t}` },
        });
        const ms = performance.now() - started;
        if (res.status !== 200) throw new Error(`delete: ${res.status} ${await res.text()}`);
        times[kind].push(ms);
      }
    }
  } finally {
    await edge.stop();
  }
  return times;
}

const deleted = await deletions();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\nevstore alone: delete a ${N.deleted.toLocaleString("en")}-event stream over HTTP (median of ${N.rounds}; min–max)`);
for (const [kind, xs] of Object.entries(deleted)) {
  const m = median(xs);
  console.log(`  ${(kind === "soft" ? "soft delete (DELETE)" : "tombstone (DELETE &hard=true)").padEnd(32)} ${m.toFixed(0).padStart(6)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}), ${((m * 1000) / N.deleted).toFixed(1)} µs/event`);
}

// Full runs leave their figures for bench/goals24.mjs (issue 24's goal summary).
if (!smoke) {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(REPO, "bench/results"), { recursive: true });
  writeFileSync(join(REPO, "bench/results/edge.json"), JSON.stringify({ finishedAt: new Date().toISOString(), rounds: N.rounds, best, cold, deleted }, null, 2));
}
