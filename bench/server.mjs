// Benchmark of the self-hosted server (issue 23) on a real PostgreSQL (a throwaway cluster,
// tests/js/postgres/cluster.mjs): evstore's server (scripts/server-local.mjs `startLocalServer`)
// against a hand-written plain-JS + pg server with the same guarantees (bench/server/reference.mjs,
// the reference = 1.00x), each with one process and with two processes on the same database behind
// a round-robin in the client (requests alternate between the two ports). Rounds alternate the
// contenders (each workload runs on both back to back: the machine's load meets both alike); every
// append run uses a fresh tenant. Reports medians over rounds [min–max] and the ratio evstore's
// time / the reference's (goal ≤ 1.2x):
//  - appends/s: CLIENTS concurrent clients appending single events, each to its own 4 streams with
//    the exact expected revision, and all to 4 shared streams with `expectedRevision: "any"`; after
//    each run the tenant's positions are checked dense and every acknowledged append stored;
//  - reads/s: a 100-event stream, and 100-event pages of the tenant's log (`GET /all`);
//  - the server processes' CPU time per operation (/proc), which the machine's other load disturbs less.
// Before measuring, the reference is checked to answer as evstore does (bench/server/parity.mjs).
// Then the sync latency — an HTTP append acknowledged → its event on a live sync socket — on the
// server with one process, with two (append through one, socket on the other), and on the edge
// (workerd, tests/js/edge-service/harness.mjs), in the same run: median and p95.
//
//   node bench/server.mjs [--smoke] [--rounds N] [--only rates|latency]
import pg from "pg";
import { SECRET, freePort, startEdge, tempDir, token } from "../tests/js/edge-service/harness.mjs";
import { startCluster } from "../tests/js/postgres/cluster.mjs";
import { syncLatency } from "./server/latency.mjs";
import { appends, client, reads, seedStream, verify } from "./server/load.mjs";
import { checkParity } from "./server/parity.mjs";
import { cpuMs, startReferenceProcess, track } from "./server/processes.mjs";
import { median } from "./stats.mjs";

const smoke = process.argv.includes("--smoke");
const roundsArg = process.argv.indexOf("--rounds");
const N = smoke
  ? { rounds: 1, clients: 4, appends: 40, reads: 20, latency: 10, warmup: 3, warm: 10 }
  : { rounds: 5, clients: 16, appends: 1000, reads: 1000, latency: 150, warmup: 20, warm: 200 };
if (roundsArg > 0) N.rounds = Number(process.argv[roundsArg + 1]);
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : null; // "rates" or "latency"
const exp = Math.floor(Date.now() / 1000) + 24 * 3600;
const started = Date.now();
let unique = 0;

/** A fresh tenant and its client on `bases`. */
function tenantClient(bases, what) {
  const tenant = `${what}-${process.pid}-${++unique}`;
  return client(bases, token(tenant, { exp }), tenant);
}

/** evstore's server as a child process on a free port, on `databaseUrl`. */
async function startServer(startLocalServer, databaseUrl) {
  const server = await startLocalServer({
    port: await freePort(),
    dataDir: tempDir("evstore-bench-server-"),
    databaseUrl,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EVSTORE_JWT_SECRET: SECRET },
    stdio: ["ignore", "ignore", "inherit"],
  });
  track(server.child);
  return server;
}

/**
 * One run of `workload` on a contender's `bases` (`table` holds its events) with `n` operations:
 * appends to a fresh tenant (then checked), or reads of a tenant `seeded` for the contender.
 * Returns operations per second.
 */
async function measure(pool, { table, bases }, workload, n, seeded) {
  if (workload === "own" || workload === "shared") {
    const http = tenantClient(bases, workload);
    const { rate, acked } = await appends(http, n, N.clients, workload === "shared");
    await verify(pool, table, http.tenant, n, acked);
    return rate;
  }
  return reads(seeded.http, n, N.clients, workload === "stream" ? { stream: "Read-1" } : { head: seeded.head });
}

/** A tenant for the read runs: `events` single-event appends to 4 streams, then a 100-event stream. */
async function seed({ table, bases }, events) {
  const http = tenantClient(bases, "reads");
  const { acked } = await appends(http, events, N.clients, true);
  await verify(pool, table, http.tenant, events, acked);
  await seedStream(http, "Read-1");
  return { http, head: events + 99 };
}

const METRICS = {
  own: `appends/s, ${N.clients} clients, own streams (exact expectedRevision)`,
  shared: `appends/s, ${N.clients} clients, shared streams ("any")`,
  stream: "reads/s, a 100-event stream",
  all: "reads/s, $all pages of 100 events",
};

let cluster;
let pool;
let edge;
const processes = [];
const results = {};
const cpuPerOp = {};
const latency = {};
const failed = {};
try {
  const { startLocalServer } = await import("../scripts/server-local.mjs");
  cluster = await startCluster();
  pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
  const evstore = [await startServer(startLocalServer, cluster.url), await startServer(startLocalServer, cluster.url)];
  const reference = [
    await startReferenceProcess({ databaseUrl: cluster.url, secret: SECRET }),
    await startReferenceProcess({ databaseUrl: cluster.url, secret: SECRET }),
  ];
  processes.push(...evstore, ...reference);
  const parity = `parity-${process.pid}`;
  await checkParity(evstore[0].base, reference[0].base, parity, token(parity, { exp }));
  const contenders = {
    "evstore ×1": { table: "evstore_events", bases: [evstore[0].base], pids: [evstore[0].child.pid] },
    "reference ×1": { table: "ref_events", bases: [reference[0].base], pids: [reference[0].child.pid] },
    "evstore ×2": { table: "evstore_events", bases: evstore.map((s) => s.base), pids: evstore.map((s) => s.child.pid) },
    "reference ×2": { table: "ref_events", bases: reference.map((s) => s.base), pids: reference.map((s) => s.child.pid) },
  };
  // Each workload and process count: evstore and the reference back to back (evstore first in even
  // rounds), so that both meet the same load of the machine; a warm-up run of each first.
  const seeded = {};
  const measureRates = only !== "latency";
  for (const [name, c] of measureRates ? Object.entries(contenders) : []) {
    seeded[name] = await seed(c, Math.max(N.appends, 200));
    for (const w of Object.keys(METRICS)) await measure(pool, c, w, N.warm, seeded[name]);
    results[name] = Object.fromEntries(Object.keys(METRICS).map((w) => [w, []]));
    cpuPerOp[name] = Object.fromEntries(Object.keys(METRICS).map((w) => [w, []]));
  }
  for (let round = 0; measureRates && round < N.rounds; round++) {
    for (const procs of ["×1", "×2"]) {
      for (const w of Object.keys(METRICS)) {
        for (const kind of round % 2 ? ["reference", "evstore"] : ["evstore", "reference"]) {
          const name = `${kind} ${procs}`;
          const n = w === "own" || w === "shared" ? N.appends : N.reads;
          const cpu = cpuMs(contenders[name].pids);
          results[name][w].push(await measure(pool, contenders[name], w, n, seeded[name]));
          cpuPerOp[name][w].push((cpuMs(contenders[name].pids) - cpu) / n);
        }
        const [e, r] = [results[`evstore ${procs}`][w].at(-1), results[`reference ${procs}`][w].at(-1)];
        console.error(`round ${round + 1}/${N.rounds} ${procs} ${w}: evstore ${e.toFixed(0)}/s, reference ${r.toFixed(0)}/s (${(r / e).toFixed(2)}x)`);
      }
    }
  }

  // Sync latency, the three setups alternating per round.
  if (only !== "rates") {
    edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET } });
    const setups = {
      "server ×1": { appendBase: evstore[0].base, socketPort: evstore[0].port },
      "server ×2 (append on one, socket on the other)": { appendBase: evstore[0].base, socketPort: evstore[1].port },
      "edge (workerd)": { appendBase: edge.base, socketPort: edge.port },
    };
    for (const name of Object.keys(setups)) latency[name] = [];
    for (let round = 0; round < N.rounds; round++) {
      const order = round % 2 ? Object.keys(setups).reverse() : Object.keys(setups);
      for (const name of order) {
        const tenant = `latency-${process.pid}-${++unique}`;
        if (failed[name]) continue;
        try {
          latency[name].push(await syncLatency({ ...setups[name], tenant, jwt: token(tenant, { exp }), n: N.latency, warmup: N.warmup }));
        } catch (e) {
          failed[name] = e.message; // reported in the table; the run then exits 1
        }
      }
    }
  }
} finally {
  await edge?.stop();
  for (const p of processes) await p.stop();
  await pool?.end();
  await cluster?.stop();
}

// ---- the report ----------------------------------------------------------------------------------

const f = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const cell = (xs) => `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;
const rows = [];
const ratios = [];
for (const procs of only === "latency" ? [] : ["×1", "×2"]) {
  for (const [k, label] of Object.entries(METRICS)) {
    const e = results[`evstore ${procs}`][k];
    const r = results[`reference ${procs}`][k];
    const ratio = median(r) / median(e); // evstore's time per operation / the reference's
    ratios.push({ label: `${label}, ${procs === "×1" ? "1 process" : "2 processes"}`, ratio });
    const paired = e.map((x, i) => r[i] / x); // each round's back-to-back pair
    rows.push([`${label}, ${procs === "×1" ? "1 process" : "2 processes"}`, cell(e), cell(r), `${ratio.toFixed(2)}x`, `${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)}x`, "≤ 1.20x"]);
  }
}
const cpuRows = [];
for (const procs of only === "latency" ? [] : ["×1", "×2"]) {
  for (const [k, label] of Object.entries(METRICS)) {
    const e = cpuPerOp[`evstore ${procs}`][k].map((ms) => ms * 1000);
    const r = cpuPerOp[`reference ${procs}`][k].map((ms) => ms * 1000);
    cpuRows.push([`${label.replace(/^appends\/s/, "append").replace(/^reads\/s/, "read")}, ${procs === "×1" ? "1 process" : "2 processes"}`, cell(e), cell(r), `${(median(e) / median(r)).toFixed(2)}x`]);
  }
}
const table = (head, body) => {
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => String(r[i]).length)));
  return [head, ...body].map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ")).join("\n");
};
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const latRows = Object.entries(latency).map(([name, runs]) => {
  if (failed[name]) return [name, "n/a", "", failed[name], "", "", ""];
  const ack = runs.flat().map((s) => s.ack);
  const sent = runs.flat().map((s) => s.sent);
  return [name, f(median(ack)), f(percentile(ack, 95)), cell(runs.map((r) => median(r.map((s) => s.ack)))), f(median(sent)), f(percentile(sent, 95)), String(ack.length)];
});

if (only !== "latency") {
  console.log(
    `server benchmark on PostgreSQL (${N.rounds} round${N.rounds > 1 ? "s" : ""}${smoke ? ", smoke sizes" : ""}, ${N.appends} appends and ${N.reads} reads per run, ${N.clients} clients in flight; median of the round figures [min–max]; ratio = evstore's time per operation / the reference's, of the medians; per round: the range of each round's back-to-back pair)`,
  );
  console.log(table(["metric", "evstore", "reference", "ratio", "per round", "goal"], rows));
  console.log("\nCPU of the server processes per operation (µs, user + system, from /proc; PostgreSQL's not counted; less sensitive to the machine's other load than the rates)");
  console.log(table(["operation", "evstore", "reference", "ratio"], cpuRows));
}
if (only !== "rates") {
  console.log(
    `\nsync latency, HTTP append acknowledged → the event on a live sync socket (ms; ${N.latency} events per round and setup after ${N.warmup} warm-up, one at a time; pooled over rounds; negative: the frame came before the answer)`,
  );
  console.log(table(["setup", "median", "p95", "round medians [min–max]", "request → socket median", "p95", "n"], latRows));
}
const missed = ratios.filter((r) => r.ratio > 1.2);
if (only !== "latency") {
  const verdict = missed.length === 0 ? "met on every metric" : `missed on ${missed.map((m) => `${m.label} (${m.ratio.toFixed(2)}x)`).join("; ")}`;
  console.log(`\ngoal (issue 23): evstore's server within 1.2x of the reference — ${verdict}`);
}
console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (Object.keys(failed).length) {
  console.error(`sync latency failed: ${Object.entries(failed).map(([k, v]) => `${k}: ${v}`).join("; ")}`);
  process.exitCode = 1;
}
