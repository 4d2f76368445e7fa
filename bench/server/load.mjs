// The load of the server benchmark (bench/server.mjs): an HTTP client (node:http, keep-alive)
// that spreads requests round-robin over a contender's processes, the append and read workloads
// (N concurrent clients), and the check after each append run that the tenant's positions are
// dense and every acknowledged append is stored where its answer said.
import { Agent, request as httpRequest } from "node:http";
import { payload } from "../stats.mjs";

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** One request: `{ status, text }`. */
function call(base, method, path, jwt, body) {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${jwt}`, ...(text === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(text) }) },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

/**
 * A client of one contender: its processes' base URLs, taken in turn (a tiny round-robin balancer),
 * and a tenant's token.
 */
export function client(bases, jwt, tenant) {
  let turn = 0;
  const next = () => bases[turn++ % bases.length];
  const ok = async (method, path, body) => {
    const res = await call(next(), method, path, jwt, body);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.text;
  };
  return {
    tenant,
    append: async (stream, events, expectedRevision) => JSON.parse(await ok("POST", `/t/${tenant}/streams/${encodeURIComponent(stream)}`, { events, expectedRevision })),
    get: (path) => ok("GET", `/t/${tenant}${path}`),
  };
}

/** Runs `count` operations with `clients` in flight (`op(i, client)`); returns operations per second. */
export async function rate(count, clients, op) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (next < count) await op(next++, c);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const event = (i) => ({ id: crypto.randomUUID(), type: "OrderPlaced", data: payload(i), metadata: { correlationId: `c-${i}` } });

/**
 * Single-event appends, `count` in all by `clients` clients. `shared`: every client appends to the
 * same 4 streams with `expectedRevision: "any"`; else each client to its own 4 streams with the
 * exact expected revision (`no_stream` first). Returns `{ rate, acked: [{ id, position }] }`.
 */
export async function appends(http, count, clients, shared) {
  const acked = [];
  const revisions = new Map();
  const rateOf = await rate(count, clients, async (i, c) => {
    const stream = shared ? `Shared-${i % 4}` : `Own-${c}-${i % 4}`;
    const e = event(i);
    const expected = shared ? "any" : (revisions.get(stream) ?? "no_stream");
    const answer = await http.append(stream, [e], expected);
    if (!shared) revisions.set(stream, answer.nextExpectedRevision);
    acked.push({ id: e.id, position: answer.position });
  });
  return { rate: rateOf, acked };
}

/** Seeds `stream` with 100 events in one append. */
export function seedStream(http, stream) {
  return http.append(stream, Array.from({ length: 100 }, (_, j) => event(j)), "no_stream");
}

/**
 * Reads: `count` reads of a 100-event stream (`stream`) or of 100-event pages of the tenant's log
 * (`head`: its last position), every answer checked (100 events, in order; pages from the position
 * asked for). Returns reads per second.
 */
export function reads(http, count, clients, { stream, head }) {
  return rate(count, clients, async (i) => {
    if (stream) {
      const { events } = JSON.parse(await http.get(`/streams/${stream}?maxCount=100`));
      if (events.length !== 100 || events.some((e, k) => e.revision !== k)) throw new Error(`read of ${stream}: ${events.length} events, not revisions 0–99`);
    } else {
      const from = (i * 37) % (head - 99);
      const { events } = JSON.parse(await http.get(`/all?fromPosition=${from}&maxCount=100`));
      if (events.length !== 100 || events.some((e, k) => e.position !== from + k)) throw new Error(`read of $all from ${from}: not positions ${from}–${from + 99}`);
    }
  });
}

/**
 * Checks a tenant's rows in `table` (evstore_events or ref_events) after an append run: positions
 * 0…count-1 with no gap, `expected` rows in all, and each acknowledged `{ id, position }` stored.
 */
export async function verify(pool, table, tenant, expected, acked) {
  const [{ n, first, last }] = (await pool.query(`SELECT count(*)::int AS n, min(position)::int AS first, max(position)::int AS last FROM ${table} WHERE tenant = $1`, [tenant])).rows;
  if (n !== expected || first !== 0 || last !== n - 1) throw new Error(`${table} of ${tenant}: ${n} rows at positions ${first}–${last}, expected ${expected} dense from 0`);
  const [{ found }] = (
    await pool.query(`SELECT count(*)::int AS found FROM ${table} t JOIN unnest($2::uuid[], $3::bigint[]) AS a(id, position) ON t.id = a.id AND t.position = a.position WHERE t.tenant = $1`, [
      tenant,
      acked.map((a) => a.id),
      acked.map((a) => a.position),
    ])
  ).rows;
  if (found !== acked.length) throw new Error(`${table} of ${tenant}: ${acked.length - found} of ${acked.length} acknowledged appends are not where their answers said`);
}
