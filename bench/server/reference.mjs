// The server benchmark's reference (bench/server.mjs): a hand-written plain-JS HTTP server over
// node-postgres with the same guarantees as evstore's server on PostgreSQL for the routes the
// benchmark measures — `POST /t/{tenant}/streams/{id}`, `GET /t/{tenant}/streams/{id}` and
// `GET /t/{tenant}/all`:
//  - a JWT (HS256, EVSTORE_JWT_SECRET) verified on every request: signature, `tid`/`sub`/`exp`
//    (and `nbf`), the route's tenant and the `scope` claim;
//  - the same route and body validation (edge/src/service/routes.js, shared as bench/edge-reference.mjs
//    shares the Worker) and the same per-event checks as bench/edge-reference.mjs;
//  - one database transaction per append that first locks the tenant's head row (`SELECT … FOR
//    UPDATE`; the row is created at the tenant's first append), so appends of one tenant from any
//    process run one after another and positions are dense (no sequence);
//    `expectedRevision` "any" / "no_stream" / "stream_exists" / exact; idempotency by event id (a
//    retry of stored ids, in order, in this stream, answers the stored result; any other stored id
//    is DUPLICATE_EVENT_ID); the new head announced with `pg_notify` in the same transaction, as
//    evstore does for its live feed; the answer only after COMMIT (`synchronous_commit` as the
//    cluster has it);
//  - its own tables (`ref_` prefix) with evstore's unique constraints: (tenant, position),
//    (tenant, id), (tenant, stream_id, revision);
//  - reads answered as evstore answers them (the same JSON, capped at 1,000 events and 8 MiB).
// It has no sync socket, deletion, stream metadata or scoped-stream tokens.
//
//   DATABASE_URL=postgres://… EVSTORE_JWT_SECRET=… SERVER_PORT=0 node bench/server/reference.mjs
// prints `listening <port>` on stdout once it accepts connections; SIGTERM closes it.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import pg from "pg";
import { HttpError, badRequest } from "../../edge/src/service/http.js";
import { DEFAULT_MAX_BATCH_EVENTS, DEFAULT_MAX_BODY_BYTES, MAX_EVENT_BYTES, MAX_READ_BYTES, MAX_READ_EVENTS } from "../../edge/src/service/limits.js";
import { appendBody, matchRoute, readOptions } from "../../edge/src/service/routes.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reference's tables; created once, by the first process (an advisory lock orders concurrent starts). */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ref_tenants (tenant text COLLATE "C" PRIMARY KEY, head bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ref_events (
     tenant text COLLATE "C" NOT NULL, position bigint NOT NULL, id uuid NOT NULL,
     stream_id text COLLATE "C" NOT NULL, revision bigint NOT NULL, type text NOT NULL,
     data text NOT NULL, metadata text NOT NULL, created_at bigint NOT NULL,
     PRIMARY KEY (tenant, position), UNIQUE (tenant, id), UNIQUE (tenant, stream_id, revision))`,
];

class Failure extends HttpError {}
const forbidden = (message) => new Failure(403, "FORBIDDEN", message);
const unauthenticated = (message) => new Failure(401, "UNAUTHENTICATED", message);

// ── auth ─────────────────────────────────────────────────────────────────────────────────────

const SCOPES = ["read", "append", "delete"];

function jsonPart(part) {
  try {
    const value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The claims of an HS256 token signed with `secret` (a Buffer), or a 401. */
export function verifyHs256(header, secret, now = Date.now() / 1000) {
  const m = header === undefined ? null : /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  if (!m) throw unauthenticated(header === undefined ? "missing bearer token" : "malformed token");
  const parts = m[1].split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) throw unauthenticated("malformed token");
  const head = jsonPart(parts[0]);
  const claims = jsonPart(parts[1]);
  if (!head || !claims) throw unauthenticated("malformed token");
  if (head.alg !== "HS256" || head.crit !== undefined) throw unauthenticated("unsupported token algorithm");
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthenticated("bad token signature");
  const { tid, sub, exp, nbf, scope } = claims;
  if (typeof tid !== "string" || tid === "" || typeof sub !== "string" || sub === "" || typeof exp !== "number") throw unauthenticated("malformed token");
  if (scope !== undefined && typeof scope !== "string") throw unauthenticated("malformed token");
  if (exp <= now) throw unauthenticated("token expired");
  if (nbf !== undefined && !(typeof nbf === "number" && nbf <= now + 60)) throw unauthenticated("token not yet valid");
  return { tid, scopes: scope === undefined ? SCOPES : SCOPES.filter((s) => scope.split(" ").includes(s)) };
}

// ── appends ──────────────────────────────────────────────────────────────────────────────────

/** A time-ordered UUID (v7), as evstore gives events appended without an id. */
function uuidV7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Buffer.from(b).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The rows of an append's events, checked: `{ id, type, data, metadata }` with data/metadata as JSON text. */
function eventRows(events) {
  const rows = events.map((e, i) => {
    if (typeof e.type !== "string" || e.type === "") throw badRequest(`events[${i}].type must be a non-empty string`);
    if (e.metadata != null && (typeof e.metadata !== "object" || Array.isArray(e.metadata))) throw badRequest(`events[${i}].metadata must be an object`);
    if (e.metadata != null && Object.keys(e.metadata).some((k) => k.startsWith("$"))) throw badRequest(`events[${i}].metadata uses a reserved key`);
    if (e.id != null && (typeof e.id !== "string" || !UUID.test(e.id))) throw badRequest(`events[${i}].id is not a UUID`);
    const data = JSON.stringify(e.data ?? null);
    const metadata = JSON.stringify(e.metadata ?? {});
    if (Buffer.byteLength(data) + Buffer.byteLength(metadata) > MAX_EVENT_BYTES) {
      throw new Failure(400, "EVENT_TOO_LARGE", `events[${i}] is too large`, { eventIndex: i });
    }
    return { id: e.id != null ? e.id.toLowerCase() : uuidV7(), type: e.type, data, metadata };
  });
  const seen = new Set();
  for (const r of rows) {
    if (seen.has(r.id)) throw new Failure(409, "DUPLICATE_EVENT_ID", "an id appears twice in the append", { eventId: r.id });
    seen.add(r.id);
  }
  return rows;
}

function checkExpected(expectedRevision) {
  if (["any", "no_stream", "stream_exists"].includes(expectedRevision)) return;
  if (!(Number.isSafeInteger(expectedRevision) && expectedRevision >= 0)) throw badRequest("expectedRevision must be \"any\", \"no_stream\", \"stream_exists\" or a revision");
}

/** One append: one transaction, the tenant's head row locked first. Resolves `{ nextExpectedRevision, position }`. */
async function append(pool, tenant, streamId, { events, expectedRevision }) {
  if (streamId === "" || streamId.startsWith("$")) throw badRequest("bad stream id");
  checkExpected(expectedRevision);
  const rows = eventRows(events);
  const ids = rows.map((r) => r.id);
  const client = await pool.connect();
  let broken;
  try {
    await client.query("BEGIN");
    // The tenant's head row, locked until COMMIT (created at the tenant's first append).
    let locked = (await client.query("SELECT head FROM ref_tenants WHERE tenant = $1 FOR UPDATE", [tenant])).rows;
    if (!locked.length) {
      await client.query("INSERT INTO ref_tenants (tenant, head) VALUES ($1, -1) ON CONFLICT (tenant) DO NOTHING", [tenant]);
      locked = (await client.query("SELECT head FROM ref_tenants WHERE tenant = $1 FOR UPDATE", [tenant])).rows;
    }
    const head = Number(locked[0].head);
    const found = (
      await client.query(
        `SELECT (SELECT max(revision) FROM ref_events WHERE tenant = $1 AND stream_id = $2) AS current,
                (SELECT json_agg(json_build_object('id', id, 'stream', stream_id, 'revision', revision, 'position', position))
                   FROM ref_events WHERE tenant = $1 AND id = ANY($3::uuid[])) AS stored`,
        [tenant, streamId, ids],
      )
    ).rows[0];
    let answer;
    if (found.stored !== null) {
      // Idempotency: every id stored, in this stream, in order and contiguous → the stored result.
      const byId = new Map(found.stored.map((s) => [s.id, s]));
      const stored = ids.map((id) => byId.get(id));
      const retry = stored.every((s, i) => s && s.stream === streamId && s.revision === stored[0].revision + i);
      if (!retry) throw new Failure(409, "DUPLICATE_EVENT_ID", "event id already stored", { eventId: ids[stored.findIndex(Boolean)] });
      answer = { nextExpectedRevision: stored.at(-1).revision, position: stored.at(-1).position };
    } else {
      const current = found.current === null ? null : Number(found.current);
      const ok =
        expectedRevision === "any" ||
        (expectedRevision === "no_stream" && current === null) ||
        (expectedRevision === "stream_exists" && current !== null) ||
        expectedRevision === current;
      if (!ok) {
        throw new Failure(409, "WRONG_EXPECTED_REVISION", "wrong expected revision", { streamId, expectedRevision, actualRevision: current ?? "no_stream" });
      }
      const first = (current ?? -1) + 1;
      const now = Date.now();
      await client.query(
        `WITH written AS (
           INSERT INTO ref_events (tenant, position, id, stream_id, revision, type, data, metadata, created_at)
           SELECT $1, $2::bigint + n - 1, id, $3, $4::bigint + n - 1, type, data, metadata, $5
             FROM unnest($6::uuid[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS e(id, type, data, metadata, n)),
         moved AS (UPDATE ref_tenants SET head = $2::bigint + $10 - 1 WHERE tenant = $1 RETURNING head)
         SELECT pg_notify('evstore_ref', $1 || ',' || head::text) FROM moved`,
        [tenant, head + 1, streamId, first, now, ids, rows.map((r) => r.type), rows.map((r) => r.data), rows.map((r) => r.metadata), rows.length],
      );
      answer = { nextExpectedRevision: first + rows.length - 1, position: head + rows.length };
    }
    await client.query("COMMIT");
    return answer;
  } catch (e) {
    await client.query("ROLLBACK").catch((rollbackFailed) => (broken = rollbackFailed));
    if (e?.code === "23505") throw new Failure(409, "DUPLICATE_EVENT_ID", "event id already stored", {});
    throw e;
  } finally {
    client.release(broken);
  }
}

// ── reads ────────────────────────────────────────────────────────────────────────────────────

const READ_COLUMNS = "id::text, stream_id, type, revision, position, data, metadata, created_at";

/** `{"events":[…]}` as evstore writes it, capped at MAX_READ_EVENTS events and MAX_READ_BYTES. */
function eventsBody(rows) {
  let out = '{"events":[';
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const text = `{"id":"${r.id}","streamId":${JSON.stringify(r.stream_id)},"type":${JSON.stringify(r.type)},"revision":${r.revision},"position":${r.position},"data":${r.data},"metadata":${r.metadata},"createdAt":"${new Date(Number(r.created_at)).toISOString()}"}`;
    out += i ? `,${text}` : text;
    bytes += Buffer.byteLength(text) + 1;
    if (bytes >= MAX_READ_BYTES) break;
  }
  return `${out}]}`;
}

/** A read of `key` ("revision" in a stream, "position" in the tenant's log) from `from`, either direction. */
async function read(pool, where, params, key, { from, direction = "forwards", maxCount }) {
  const backwards = direction === "backwards";
  const limit = Math.min(maxCount ?? MAX_READ_EVENTS, MAX_READ_EVENTS);
  if (limit === 0) return '{"events":[]}';
  // No bound from the near end; nothing lies beyond the far end.
  const start = from === "start" ? (backwards ? -1 : null) : from === "end" ? (backwards ? null : Number.MAX_SAFE_INTEGER) : (from ?? null);
  const bound = start === null ? "" : ` AND ${key} ${backwards ? "<=" : ">="} $${params.length + 1}`;
  const sql = `SELECT ${READ_COLUMNS} FROM ref_events WHERE ${where}${bound} ORDER BY ${key} ${backwards ? "DESC" : "ASC"} LIMIT ${limit}`;
  return eventsBody((await pool.query(sql, start === null ? params : [...params, start])).rows);
}

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────────

/** The request's body as JSON (declared application/json, at most DEFAULT_MAX_BODY_BYTES). */
function jsonBody(req) {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") return Promise.reject(new Failure(415, "INVALID_ARGUMENT", "the request body must be sent as Content-Type: application/json"));
  return new Promise((resolve, reject) => {
    const chunks = [];
    let total = 0;
    req.on("data", (c) => {
      total += c.length;
      if (total > DEFAULT_MAX_BODY_BYTES) {
        reject(new Failure(413, "INVALID_ARGUMENT", "request body over the limit"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => {
      try {
        resolve(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks))));
      } catch (e) {
        reject(badRequest(`request body is not valid JSON: ${e.message}`));
      }
    });
  });
}

async function route(pool, secret, req) {
  const auth = verifyHs256(req.headers.authorization, secret);
  const url = new URL(req.url, "http://reference");
  const r = matchRoute(req.method, url.pathname);
  if (r.name !== "append" && r.name !== "readStream" && r.name !== "readAll") throw new Failure(404, "NOT_FOUND", `the reference has no ${r.name} route`);
  const a = Buffer.from(auth.tid);
  const b = Buffer.from(r.tenant);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw forbidden("the token is not valid for this tenant");
  if (!auth.scopes.includes(r.scope)) throw forbidden(`the token lacks the "${r.scope}" scope`);
  if (r.name === "append") return JSON.stringify(await append(pool, r.tenant, r.streamId, appendBody(await jsonBody(req), DEFAULT_MAX_BATCH_EVENTS)));
  if (r.name === "readStream") return read(pool, "tenant = $1 AND stream_id = $2", [r.tenant, r.streamId], "revision", readOptions(url, "fromRevision"));
  return read(pool, "tenant = $1", [r.tenant], "position", readOptions(url, "fromPosition"));
}

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(body);
}

/** Starts the reference on `port` (0: any free one): `{ port, close() }`. */
export async function startReference({ databaseUrl, secret, port = 0, host = "127.0.0.1" }) {
  if (!secret || Buffer.byteLength(secret) < 32) throw new Error("the reference needs EVSTORE_JWT_SECRET of at least 32 bytes");
  const key = Buffer.from(secret, "utf8");
  const pool = new pg.Pool({ connectionString: databaseUrl });
  const setup = await pool.connect();
  try {
    await setup.query("BEGIN");
    await setup.query("SELECT pg_advisory_xact_lock(7265660)"); // "ref"
    for (const statement of SCHEMA) await setup.query(statement);
    await setup.query("COMMIT");
  } finally {
    setup.release();
  }
  const server = createServer((req, res) => {
    route(pool, key, req).then(
      (body) => send(res, 200, body),
      (e) => {
        if (!(e instanceof HttpError)) console.error("reference: unexpected error:", e);
        const d = e instanceof HttpError ? e : { status: 500, code: "STORAGE_ERROR", message: "the service failed to complete the request", fields: {} };
        send(res, d.status, JSON.stringify({ error: { code: d.code, message: d.message, ...d.fields } }));
      },
    );
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    port: server.address().port,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startReference({
    databaseUrl: process.env.DATABASE_URL,
    secret: process.env.EVSTORE_JWT_SECRET,
    port: Number(process.env.SERVER_PORT ?? 0),
  });
  console.log(`listening ${running.port}`);
  const stop = () => running.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
