// The PostgreSQL storage's SQL (src/storage/postgres/mod.rs). It runs over one small query
// interface, implemented by server/db.js for a `pg.Pool` and for PGlite:
//
//   db = { query(sql, params) → Promise<rows>, transaction(async (q) => …) → Promise<fn's result> }
//   q(sql, params) → Promise<rows>    (a query inside that transaction)
//
// Rows are plain objects; int8 (bigint) columns come back as JS numbers (db.js converts them).
// A transaction's function throwing rolls it back, and `transaction` rejects with what it threw.
// Optional: `db.origin` (an id of the database object, sent with each commit's announcement) and
// `db.watch(tenant, wake) → unwatch` (wakes after other database objects' commits; `pgWatch`).
//
// Every commit that wrote anything (events, meta, removals) is announced, on commit, by
// `pg_notify('evstore', payload)` with payload the JSON text `[tenant, head, origin]`: the
// tenant, its head after the commit, and the committing database object's `origin` (null without
// one), so that a process can drop its own announcements.
//
// Every tenant is a log in the same database (`tenant` column). Tables (schema version 1):
//   evstore_schema  (key, version): the schema version row, key 'schema'.
//   evstore_tenants (tenant, head, epoch, pinned): one row per tenant. `head` is the position of the
//     tenant's last event (-1: none); every write transaction locks it first (`FOR UPDATE`), so the
//     write transactions of one tenant, from any process, run one after another and positions stay
//     dense. `epoch` (the log's identity, PROTOCOL.md) and `pinned` belong to the server host.
//   evstore_events  (tenant, position, id, stream_id, revision, type, data, metadata, created_at,
//     removed): unique (tenant, position), (tenant, id), (tenant, stream_id, revision), as the
//     Durable Object's constraints; payloads as JSON text (the bytes appended, not jsonb); a removed
//     event stays as a husk (type '', data 'null', metadata '{}', created_at 0, removed 1).
//   evstore_meta    (tenant, key, value): the storage seam's meta area.
// Stream ids and meta keys use the "C" collation: prefix ranges and key order are byte order, as
// the core expects, whatever the database's locale.

const SCHEMA_VERSION = 1;

/** The advisory lock that serialises schema creation and upgrades of concurrent opens. */
const SCHEMA_LOCK = 0x65767374; // "evst"

// Each step brings the schema from version i to i + 1.
const UPGRADES = [
  [
    `CREATE TABLE evstore_tenants (
       tenant text COLLATE "C" PRIMARY KEY,
       head bigint NOT NULL DEFAULT -1,
       epoch text NOT NULL,
       pinned boolean NOT NULL DEFAULT true)`,
    `CREATE TABLE evstore_events (
       tenant text COLLATE "C" NOT NULL,
       position bigint NOT NULL,
       id uuid NOT NULL,
       stream_id text COLLATE "C" NOT NULL,
       revision bigint NOT NULL,
       type text NOT NULL,
       data text NOT NULL,
       metadata text NOT NULL,
       created_at bigint NOT NULL,
       removed smallint NOT NULL DEFAULT 0,
       PRIMARY KEY (tenant, position),
       UNIQUE (tenant, id),
       UNIQUE (tenant, stream_id, revision))`,
    // Reads of a selection of streams (scoped tokens, partial sync): each stream's live events in
    // position order, a range of this index (as the Durable Object's evstore_events_stream).
    "CREATE INDEX evstore_events_live ON evstore_events (tenant, stream_id, position) WHERE removed = 0",
    `CREATE TABLE evstore_meta (
       tenant text COLLATE "C" NOT NULL,
       key text COLLATE "C" NOT NULL,
       value text NOT NULL,
       PRIMARY KEY (tenant, key))`,
  ],
];

const EVENT_COLUMNS =
  'position, id::text AS id, stream_id AS "streamId", type, revision, data, metadata, created_at AS "createdAt"';

/** Whether `db` has the query interface (`query` and `transaction` functions). */
export function pgHasInterface(db) {
  return db != null && typeof db === "object" && typeof db.query === "function" && typeof db.transaction === "function";
}

/**
 * Creates or upgrades the tables (one transaction, under an advisory lock: concurrent opens wait
 * for each other) and the tenant's row. Rejects if the data was written by a newer evstore.
 */
export function pgOpen(db, tenant) {
  return db.transaction(async (q) => {
    await q("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await q("CREATE TABLE IF NOT EXISTS evstore_schema (key text PRIMARY KEY, version integer NOT NULL)");
    const row = (await q("SELECT version FROM evstore_schema WHERE key = 'schema'"))[0];
    const version = row ? Number(row.version) : 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `this database's evstore tables were written by a newer evstore (schema version ${version}, above ${SCHEMA_VERSION}); this version cannot open them without risking damage`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) for (const statement of UPGRADES[v]) await q(statement);
    if (version < SCHEMA_VERSION) {
      await q(
        "INSERT INTO evstore_schema (key, version) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version",
        [SCHEMA_VERSION],
      );
    }
    await q("INSERT INTO evstore_tenants (tenant, epoch) VALUES ($1, gen_random_uuid()::text) ON CONFLICT (tenant) DO NOTHING", [tenant]);
  });
}

/** Queries outside a transaction (a read transaction's reads). */
export function pgReader(db) {
  return (sql, params) => db.query(sql, params);
}

const bound = (n) => Math.min(n, Number.MAX_SAFE_INTEGER);

// A read transaction's reads are separate queries, each seeing what is committed when it runs. To
// read one state, a read transaction first reads the tenant's head (`pgLogHead`) and bounds every
// later read by it (`head` below): commits of a tenant are serialised by its row lock and set the
// head in the same transaction, so every event at or below a head that was read is committed, and
// what a read transaction sees is the log up to that head (only later removals may show through).
// A write transaction's head is the one it read under the lock.

/** The tenant's head: the last position ever written (husks count), or -1. */
export async function pgLogHead(q, tenant) {
  const rows = await q("SELECT head FROM evstore_tenants WHERE tenant = $1", [tenant]);
  return rows.length ? rows[0].head : -1;
}

/**
 * `pgLogHead` issued at the start of a read transaction, which may never wait for it (a read of
 * the meta area only): its failure is observed here, and reported to whoever awaits it.
 */
export function pgPin(q, tenant) {
  const head = pgLogHead(q, tenant);
  head.catch(() => {});
  return head;
}

/** The stream's last revision ever written (husks count) at or below `head`, or -1. */
export async function pgStreamHead(q, tenant, head, streamId) {
  const rows = await q(
    "SELECT revision FROM evstore_events WHERE tenant = $1 AND stream_id = $2 AND position <= $3 ORDER BY revision DESC LIMIT 1",
    [tenant, streamId, head],
  );
  return rows.length ? rows[0].revision : -1;
}

/** For each id, `[streamId, revision, position, removed]` where it is stored at or below `head`, or null (one query). */
export async function pgLocate(q, tenant, head, ids) {
  if (ids.length === 0) return [];
  const rows = await q(
    "SELECT id::text AS id, stream_id, revision, position, removed FROM evstore_events WHERE tenant = $1 AND id = ANY($2::uuid[]) AND position <= $3",
    [tenant, ids, head],
  );
  const found = new Map(rows.map((r) => [r.id, [r.stream_id, r.revision, r.position, r.removed !== 0]]));
  return ids.map((id) => found.get(id) ?? null);
}

/** The stream's live records with revisions in [from, to] at or below `head`, ascending. */
export async function pgReadStream(q, tenant, head, streamId, from, to) {
  if (head < 0 || from > to) return [];
  return q(
    `SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND stream_id = $2 AND revision BETWEEN $3 AND $4 AND position <= $5 AND removed = 0 ORDER BY revision`,
    [tenant, streamId, bound(from), bound(to), head],
  );
}

/** The log's live records with positions in [from, min(to, head)], ascending. */
export async function pgReadLog(q, tenant, head, from, to) {
  to = Math.min(to, head);
  if (from > to) return [];
  return q(
    `SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND position BETWEEN $2 AND $3 AND removed = 0 ORDER BY position`,
    [tenant, bound(from), to],
  );
}

/**
 * The live records at positions [from, min(to, head)] of the streams in `ranges`, ascending: the
 * first `max` of them, or the last `max` when `backwards`. A range is `[stream]` (that stream id)
 * or `[prefix, end]` (the stream ids from `prefix` up to `end`, exclusive; `end` null: no upper
 * bound); `["", null]` is every stream (the plain log read). Each range is one term reading the
 * `evstore_events_live` index (live events by tenant, stream id, then position), limited to `max`;
 * PostgreSQL merges the terms in position order and stops at `max` rows (one query).
 */
export async function pgReadSelected(q, tenant, head, ranges, from, to, backwards, max) {
  to = Math.min(to, head);
  if (max <= 0 || ranges.length === 0 || from > to) return [];
  const order = backwards ? "DESC" : "ASC";
  const params = [tenant, bound(from), to, bound(max)];
  const arg = (v) => `$${params.push(v)}`;
  const terms = ranges.map((range) => {
    let where;
    if (range.length === 1) where = `stream_id = ${arg(range[0])}`;
    else if (range[0] === "" && range[1] == null) where = "true";
    else if (range[1] == null) where = `stream_id >= ${arg(range[0])}`;
    else where = `stream_id >= ${arg(range[0])} AND stream_id < ${arg(range[1])}`;
    return `(SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND ${where} AND position BETWEEN $2 AND $3 AND removed = 0 ORDER BY position ${order} LIMIT $4)`;
  });
  const sql = terms.length === 1 ? terms[0] : `${terms.join(" UNION ALL ")} ORDER BY position ${order} LIMIT $4`;
  const rows = await q(sql, params);
  return backwards ? rows.reverse() : rows;
}

/** `[key, value]` of every meta entry whose key starts with `prefix` (up to `end`, exclusive; null: none), in key order. */
export async function pgScanMeta(q, tenant, prefix, end) {
  const rows =
    end == null
      ? await q("SELECT key, value FROM evstore_meta WHERE tenant = $1 AND key >= $2 ORDER BY key", [tenant, prefix])
      : await q("SELECT key, value FROM evstore_meta WHERE tenant = $1 AND key >= $2 AND key < $3 ORDER BY key", [tenant, prefix, end]);
  return rows.filter((r) => r.key.startsWith(prefix)).map((r) => [r.key, r.value]);
}

/** The meta value under `key`, or undefined. */
export async function pgGetMeta(q, tenant, key) {
  return (await q("SELECT value FROM evstore_meta WHERE tenant = $1 AND key = $2", [tenant, key]))[0]?.value;
}

/** What a write transaction's function throws to roll it back. */
const ROLLBACK = Symbol("evstore: roll back");
/** What the commit throws when the staged records do not continue the tenant's head. */
const CONFLICT = Symbol("evstore: conflict");

/**
 * Begins a write transaction of `tenant`: one database transaction that first locks the tenant's
 * row (`SELECT head … FOR UPDATE`). Resolves with its handle `{ q, head, finish }` once the lock
 * is held: `q` runs the transaction's reads, `head` is the tenant's head under the lock, and
 * `finish(work)` ends it — `work(q)` runs and then the transaction commits, or `finish(null)`
 * rolls it back. The handle's `done` settles when the transaction has ended.
 */
export function pgBeginWrite(db, tenant) {
  return new Promise((resolve, reject) => {
    let finish;
    const decided = new Promise((r) => (finish = r));
    const done = db.transaction(async (q) => {
      const rows = await q("SELECT head FROM evstore_tenants WHERE tenant = $1 FOR UPDATE", [tenant]);
      if (!rows.length) throw new Error(`the tenant ${JSON.stringify(tenant)} has no row in evstore_tenants (was it deleted?)`);
      resolve({ q, head: rows[0].head, origin: typeof db.origin === "string" ? db.origin : null, finish, done });
      const work = await decided;
      if (!work) throw ROLLBACK;
      await work(q);
    });
    // A failure before the lock was held rejects the begin; a rollback asked for is no failure.
    done.catch((e) => {
      if (e !== ROLLBACK) reject(e);
    });
  });
}

/** Rolls back a write transaction that will not commit (synchronous: the rollback runs later). */
export function pgAbortWrite(handle) {
  handle.finish(null);
}

/**
 * Husks a staged removal `[streamId, from, to, createdBefore, through]` (the last two null when
 * absent): type, data, metadata and createdAt blanked; id, stream, revision and position stay.
 */
function husk(q, tenant, [streamId, from, to, createdBefore, through]) {
  let sql =
    "UPDATE evstore_events SET type = '', data = 'null', metadata = '{}', created_at = 0, removed = 1 WHERE tenant = $1 AND stream_id = $2 AND revision BETWEEN $3 AND $4 AND removed = 0";
  const params = [tenant, streamId, bound(from), bound(to)];
  if (createdBefore != null) sql += ` AND created_at < $${params.push(bound(createdBefore))}`;
  if (through != null) sql += ` AND position <= $${params.push(bound(through))}`;
  return q(sql, params);
}

/** The announcement of a commit of tenant $1, head $2, by the database object of origin $3. */
const ANNOUNCE = "pg_notify('evstore', json_build_array($1::text, $2::bigint, $3::text)::text)";

/**
 * Commits a write transaction: the records (one multi-row INSERT), the removals (they may husk
 * records of this commit), the meta changes (`[key, value | null]`), the tenant's new head, and,
 * when it wrote anything, its announcement (`pg_notify`, delivered on commit). Resolves "ok", or
 * "conflict" when the records do not continue the head or a unique constraint refused a row
 * (SQLSTATE 23505): nothing was written. Other failures reject.
 */
export async function pgCommitWrite(handle, tenant, records, meta, removals) {
  handle.finish(async (q) => {
    let head = handle.head;
    for (const r of records) {
      if (r.position !== head + 1) throw CONFLICT;
      head = r.position;
    }
    if (records.length) {
      await q(
        `INSERT INTO evstore_events (tenant, position, id, stream_id, revision, type, data, metadata, created_at)
         SELECT $1, * FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bigint[])`,
        [
          tenant,
          records.map((r) => r.position),
          records.map((r) => r.id),
          records.map((r) => r.streamId),
          records.map((r) => r.revision),
          records.map((r) => r.type),
          records.map((r) => r.data),
          records.map((r) => r.metadata),
          records.map((r) => r.createdAt),
        ],
      );
    }
    for (const removal of removals) await husk(q, tenant, removal);
    for (const [key, value] of meta) {
      if (value == null) await q("DELETE FROM evstore_meta WHERE tenant = $1 AND key = $2", [tenant, key]);
      else {
        await q(
          "INSERT INTO evstore_meta (tenant, key, value) VALUES ($1, $2, $3) ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value",
          [tenant, key, value],
        );
      }
    }
    if (records.length) {
      // The new head and its announcement in one statement (one round trip).
      await q(`WITH moved AS (UPDATE evstore_tenants SET head = $2 WHERE tenant = $1) SELECT ${ANNOUNCE}`, [tenant, head, handle.origin]);
    } else if (meta.length || removals.length) {
      await q(`SELECT ${ANNOUNCE}`, [tenant, head, handle.origin]);
    }
  });
  try {
    await handle.done;
    return "ok";
  } catch (e) {
    if (e === CONFLICT || e?.code === "23505") return "conflict";
    throw e;
  }
}

/**
 * Registers `wake` with the database's `watch(tenant, wake)` and returns its unwatch function, or
 * null when the database has no `watch` (it wakes nobody). Throws what `watch` threw.
 */
export function pgWatch(db, tenant, wake) {
  if (typeof db.watch !== "function") return null;
  const unwatch = db.watch(tenant, () => wake());
  return typeof unwatch === "function" ? unwatch : null;
}

/** Calls an unwatch function `pgWatch` returned (null: nothing to undo). */
export function pgUnwatch(unwatch) {
  if (typeof unwatch === "function") unwatch();
}
