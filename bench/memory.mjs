// In-memory scenarios (Node): every contender does the same work, interleaved, repeated.
import { memoryContenders } from "./contenders/memory.mjs";
import { payload, summarise } from "./stats.mjs";

const ev = (i) => ({ type: "OrderPlaced", data: payload(i), metadata: { correlationId: `c-${i}` } });
const REFERENCE = "plain JS reference";

/** Appends `n` single events over `streams` streams, with an exact expected revision each. */
async function singles(c, s, n, streams, offset = 0) {
  const revs = new Array(streams).fill(null);
  for (let i = 0; i < n; i++) {
    const k = i % streams;
    revs[k] = await c.append(s, `Order-${offset}-${k}`, [ev(i)], revs[k]);
  }
}

async function batches(c, s, n, size, streams) {
  const revs = new Array(streams).fill(null);
  for (let b = 0; b < n / size; b++) {
    const k = b % streams;
    revs[k] = await c.append(s, `Order-${k}`, Array.from({ length: size }, (_, j) => ev(b * size + j)), revs[k]);
  }
}

/** A store holding one stream of `n` events, "Order-big". */
async function bigStream(c, n) {
  const s = await c.open();
  let rev = null;
  for (let b = 0; b < n / 100; b++) rev = await c.append(s, "Order-big", Array.from({ length: 100 }, (_, j) => ev(b * 100 + j)), rev);
  return s;
}

/** The scenarios; `size` scales them (1 = the sizes). */
export function memoryScenarios(size = 1) {
  const N = Math.round(100_000 * size);
  const S = Math.max(10, Math.round(1_000 * size));
  const STREAM = Math.round(10_000 * size);
  return [
    {
      key: "singles",
      title: `Append ${N} single events over ${S} streams (expected revision each)`,
      events: N,
      run: async (c) => {
        const s = await c.open();
        const t = performance.now();
        await singles(c, s, N, S);
        const ms = performance.now() - t;
        await c.close?.(s);
        return ms;
      },
    },
    {
      key: "batches",
      title: `Append ${N} events in batches of 100`,
      events: N,
      run: async (c) => {
        const s = await c.open();
        const t = performance.now();
        await batches(c, s, N, 100, S);
        const ms = performance.now() - t;
        await c.close?.(s);
        return ms;
      },
    },
    {
      key: "singlesStored",
      title: `Append ${Math.round(N / 10)} single events with ${N} events already stored`,
      events: Math.round(N / 10),
      setup: async (c) => {
        const s = await c.open();
        await batches(c, s, N, 100, S);
        return s;
      },
      run: async (c, s, round) => {
        const t = performance.now();
        await singles(c, s, Math.round(N / 10), S, round + 1);
        return performance.now() - t;
      },
    },
    {
      key: "readStream",
      repeat: 3, // reads are short, so one GC pause swings a round: three times the rounds
      title: `Read one ${STREAM}-event stream`,
      events: STREAM,
      setup: (c) => bigStream(c, STREAM),
      run: async (c, s) => {
        const t = performance.now();
        const events = await c.readStream(s, "Order-big");
        if (events.length !== STREAM) throw new Error(`read ${events.length}`);
        return performance.now() - t;
      },
    },
    {
      key: "readAll",
      repeat: 3, // reads are short, so one GC pause swings a round: three times the rounds
      title: `Read the whole log (${N} events) in pages of 1,000`,
      events: N,
      reads: "readAllPage",
      setup: async (c) => {
        const s = await c.open();
        await batches(c, s, N, 100, S);
        return s;
      },
      run: async (c, s) => {
        const t = performance.now();
        let n = 0;
        for (let from = 0; ; from += 1000) {
          const page = await c.readAllPage(s, from, 1000);
          n += page.length;
          if (page.length < 1000) break;
        }
        if (n !== N) throw new Error(`read ${n}`);
        return performance.now() - t;
      },
    },
    {
      key: "aggregate",
      repeat: 3, // reads are short, so one GC pause swings a round: three times the rounds
      title: `Aggregate (fold) a ${STREAM}-event stream`,
      events: STREAM,
      setup: (c) => bigStream(c, STREAM),
      run: async (c, s) => {
        const t = performance.now();
        const state = await c.aggregate(s, "Order-big", (st, e) => ({ total: st.total + e.data.total, n: st.n + 1 }), () => ({ total: 0, n: 0 }));
        if (state.n !== STREAM) throw new Error(`folded ${state.n}`);
        return performance.now() - t;
      },
    },
  ];
}

/** Runs every scenario, contenders interleaved in each of `rounds` rounds. */
export async function runMemory({ size = 1, rounds = 5, log = () => {} } = {}) {
  const out = [];
  for (const sc of memoryScenarios(size)) {
    const samples = Object.fromEntries(Object.keys(memoryContenders).map((k) => [k, []]));
    const states = {};
    for (const [name, c] of Object.entries(memoryContenders)) {
      if (sc.reads && !c[sc.reads]) continue;
      if (sc.setup) states[name] = await sc.setup(c);
    }
    for (let r = 0; r < rounds * (sc.repeat ?? 1); r++) {
      for (const [name, c] of Object.entries(memoryContenders)) {
        if (sc.reads && !c[sc.reads]) continue;
        globalThis.gc?.(); // (node --expose-gc) nobody's sample pays for the garbage of another's
        samples[name].push(await sc.run(c, states[name], r));
      }
    }
    for (const [name, c] of Object.entries(memoryContenders)) if (states[name]) await c.close?.(states[name]);
    const results = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.length ? summarise(xs, sc.events) : null]));
    out.push({ key: sc.key, title: sc.title, reference: REFERENCE, events: sc.events, results, where: "Node" });
    log(out[out.length - 1]);
  }
  return out;
}
