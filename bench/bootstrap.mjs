// Benchmark of a fresh device's bootstrap (issue 24, goal 6): a fresh Chromium IndexedDB store
// opened with `sync` on a tenant of 100,000 events seeded over HTTP, timed from EventStore.open()
// until its confirmed position is the server's head, against the floor: the same page fetching
// `GET /t/{tenant}/all` page by page (1,000 events, the most one answer holds: edge/src/service/
// limits.js MAX_READ_EVENTS) and writing each page into a fresh raw IndexedDB database in one
// readwrite transaction (default durability, as evstore's default; object store keyed by
// position, with the raw reference's stream and id indexes). Same tenant, same token, one page
// (bench/pages/bootstrap.html), the local edge service in workerd. One warm-up of each side
// (discarded: the first also loads the wasm and warms the Durable Object), then rounds with the
// two sides alternating, each on fresh databases; medians and ranges; goal ≤ 1.1x the floor.
// Every sample is checked (not timed): the side ended at the head holding every event.
// Full runs write bench/results/bootstrap.json (read by bench/goals24.mjs).
//
//   node bench/bootstrap.mjs [--smoke] [--rounds N] [--events N]
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SECRET, startEdge, token } from "../tests/js/edge-service/harness.mjs";
import { launch, server } from "../tests/js/browser/harness.mjs";
import { median, payload } from "./stats.mjs";
import { bootstrapGoals, goalLines } from "./goals.mjs";

const smoke = process.argv.includes("--smoke");
const numberArg = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? null : Number(process.argv[i + 1]);
};
const N = smoke ? { events: 500, batch: 100, rounds: 1, warmup: 0 } : { events: 100_000, batch: 1000, rounds: 3, warmup: 1 };
if (numberArg("--rounds")) N.rounds = numberArg("--rounds");
if (numberArg("--events")) N.events = numberArg("--events");
const PAGE_SIZE = 1000;
const STREAMS = 100;
const exp = () => Math.floor(Date.now() / 1000) + 24 * 3600;

/** Seeds `tenant` with N.events events over HTTP: appends of N.batch events, the streams taking turns, four requests in flight. */
async function seed(base, tenant, jwt) {
  const batches = Math.ceil(N.events / N.batch);
  let next = 0;
  const worker = async () => {
    while (next < batches) {
      const b = next++;
      const n = Math.min(N.batch, N.events - b * N.batch);
      const events = Array.from({ length: n }, (_, j) => ({ id: crypto.randomUUID(), type: "ItemAdded", data: payload(b * N.batch + j), metadata: { correlationId: `c-${b}` } }));
      const res = await fetch(`${base}/t/${tenant}/streams/List-${b % STREAMS}`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`seeding: ${res.status} ${body}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const res = await fetch(`${base}/t/${tenant}/all?direction=backwards&maxCount=1`, { headers: { authorization: `Bearer ${jwt}` } });
  const head = (await res.json()).events[0]?.position ?? null;
  if (head !== N.events - 1) throw new Error(`seeding: the service's head is ${head}, not ${N.events - 1}`);
  return head;
}

const started = Date.now();
const startedAt = new Date().toISOString();
let edge;
let srv;
let browser;
const results = { startedAt, smoke, events: N.events, pageSize: PAGE_SIZE, rounds: N.rounds, evstore: [], floor: [], warmup: {} };
try {
  edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET } });
  const tenant = `bootstrap-${process.pid}`;
  const jwt = token(tenant, { exp: exp() });
  let t = performance.now();
  const head = await seed(edge.base, tenant, jwt);
  results.seedMs = performance.now() - t;
  console.error(`  [seeded ${N.events} events in ${results.seedMs.toFixed(0)} ms]`);
  srv = await server();
  browser = await launch();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[bench page] ${e.message}`));
  await page.goto(`${srv.url}/bench/pages/bootstrap.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");

  let sample = 0;
  const run = async (kind) => {
    const name = `boot-${kind}-${++sample}`;
    const base = `${edge.base}/t/${tenant}`;
    const out =
      kind === "evstore"
        ? await page.evaluate((a) => window.evstoreBootstrap(a), { name, url: base, token: jwt, head })
        : await page.evaluate((a) => window.floorBootstrap(a), { name, base, token: jwt, head, pageSize: PAGE_SIZE });
    if (out.last !== head || out.count !== N.events) throw new Error(`${kind}: ended at position ${out.last} holding ${out.count} events; the server's head is ${head} (${N.events} events)`);
    await page.evaluate((prefix) => window.dropDatabases(prefix), name);
    console.error(`  [${name}] ${out.ms.toFixed(0)} ms`);
    return out.ms;
  };
  for (let w = 0; w < N.warmup; w++) {
    results.warmup.evstore = await run("evstore");
    results.warmup.floor = await run("floor");
  }
  for (let r = 0; r < N.rounds; r++) {
    for (const kind of r % 2 ? ["floor", "evstore"] : ["evstore", "floor"]) results[kind].push(await run(kind));
  }
  await context.close();
} finally {
  await browser?.close();
  await srv?.close();
  await edge?.stop();
}

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const cell = (s) => `${f(s.median)} ms [${f(s.min)}–${f(s.max)}]`;
const [e, fl] = [spread(results.evstore), spread(results.floor)];
const n = N.events.toLocaleString("en");
console.log(`bootstrap of a fresh Chromium device on ${n} events (${N.rounds} round${N.rounds > 1 ? "s" : ""} after ${N.warmup} warm-up of each${smoke ? ", smoke sizes" : ""}; median [min–max])`);
console.log(`  evstore IndexedDB, open → confirmed position = head   ${cell(e)}`);
console.log(`  floor: GET /all in pages of ${PAGE_SIZE} → raw IndexedDB   ${cell(fl)}`);
console.log(`  ratio of the medians ${(e.median / fl.median).toFixed(2)}x; per round ${results.evstore.map((x, i) => (x / results.floor[i]).toFixed(2) + "x").join(", ")}`);
if (N.warmup) console.log(`  warm-up (not in the figures): evstore ${f(results.warmup.evstore)} ms, floor ${f(results.warmup.floor)} ms`);
console.log(`  seeding over HTTP: ${f(results.seedMs)} ms; every sample checked: it ended at the head holding all ${n} events`);
console.log(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(["", ...goalLines(bootstrapGoals(results), `Goal of the bootstrap (issue 24, goal 6${smoke ? "; smoke sizes, not a measurement" : ""})`)].join("\n"));
if (!smoke) {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}bootstrap.json`, JSON.stringify(results, null, 2));
  console.log("wrote bench/results/bootstrap.json");
}
