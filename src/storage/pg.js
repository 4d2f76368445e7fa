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
// read one state, a read transaction pins the tenant's head in its first read (in the same query,
// `head` null below) and bounds every later read by it (`head` a number): commits of a tenant are
// serialised by its row lock and set the head in the same transaction, so every event at or below
// a head that was read is committed, and what a read transaction sees is the log up to that head
// (only later removals may show through). A write transaction's head is the one it read under the
// lock.
//
// Each read below also brings the meta values under `keys` (what the transaction was told it will
// read next, `prefetch_meta`), so that the core's get of a stream's lifecycle record costs no round
// trip of its own. A read answers `{ head, meta, value }`: the head it read at (the pinned one, or
// the one given), the values under `keys` (null: none) and its result.

/** The head of tenant $1 (-1: no row), as a read pins it. */
const TENANT_HEAD = "coalesce((SELECT head FROM evstore_tenants WHERE tenant = $1), -1)";

/**
 * Runs a read of tenant `tenant` at `head` (null: pin it), bringing the meta values under `keys`.
 * `build(h, arg)` returns the read's SQL (null: none), with `h` the SQL of the head and `arg(v)`
 * adding a parameter ($1 is the tenant); `order` is the column the rows are ordered by (with its
 * direction). The head and the values come from one-row subqueries (evaluated once) joined
 * laterally to the read, so a read of no rows still answers one row, of nulls but for them.
 */
async function folded(q, tenant, head, keys, build, order) {
  const params = [tenant];
  const arg = (v) => `$${params.push(v)}`;
  const pinned = head == null;
  if (!pinned && keys.length === 0) {
    const sql = build(`${arg(head)}::bigint`, arg);
    return { head, meta: [], value: sql == null ? [] : await q(sql, params) };
  }
  const h = pinned ? TENANT_HEAD : `${arg(head)}::bigint`;
  const columns = [`${h} AS "evstore.head"`];
  keys.forEach((key, i) => columns.push(`(SELECT value FROM evstore_meta WHERE tenant = $1 AND key = ${arg(key)}) AS "evstore.m${i}"`));
  const inner = build('x."evstore.head"', arg);
  const sql =
    inner == null
      ? `SELECT ${columns.join(", ")}`
      : `SELECT x.*, e.* FROM (SELECT ${columns.join(", ")}) x LEFT JOIN LATERAL (${inner}) e ON true${order ? ` ORDER BY e.${order}` : ""}`;
  const rows = await q(sql, params);
  const first = rows[0];
  const value = inner == null ? [] : first[Object.keys(first).find((k) => !k.startsWith("evstore."))] === null ? [] : rows;
  return { head: Number(first["evstore.head"]), meta: keys.map((_, i) => first[`evstore.m${i}`] ?? null), value };
}

/** The tenant's head (the last position ever written, husks count, or -1) and the values under `keys`. */
export function pgLogHead(q, tenant, head, keys) {
  return folded(q, tenant, head, keys, () => null);
}

/** Value: the stream's last revision ever written (husks count) at or below the head, or -1. */
export async function pgStreamHead(q, tenant, head, keys, streamId) {
  const read = await folded(
    q,
    tenant,
    head,
    keys,
    (h, arg) =>
      `SELECT revision FROM evstore_events WHERE tenant = $1 AND stream_id = ${arg(streamId)} AND position <= ${h} ORDER BY revision DESC LIMIT 1`,
  );
  read.value = read.value.length ? read.value[0].revision : -1;
  return read;
}

/** Value: for each id, `[streamId, revision, position, removed]` where it is stored at or below the head, or null. */
export async function pgLocate(q, tenant, head, keys, ids) {
  const read = await folded(
    q,
    tenant,
    head,
    keys,
    (h, arg) =>
      ids.length === 0
        ? null
        : `SELECT id::text AS id, stream_id, revision, position, removed FROM evstore_events WHERE tenant = $1 AND id = ANY(${arg(ids)}::uuid[]) AND position <= ${h}`,
  );
  const found = new Map(read.value.map((r) => [r.id, [r.stream_id, r.revision, r.position, r.removed !== 0]]));
  read.value = ids.map((id) => found.get(id) ?? null);
  return read;
}

/** Value: the stream's live records with revisions in [from, to] at or below the head, ascending. */
export function pgReadStream(q, tenant, head, keys, streamId, from, to) {
  return folded(
    q,
    tenant,
    head,
    keys,
    (h, arg) =>
      (head != null && head < 0) || from > to
        ? null
        : `SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND stream_id = ${arg(streamId)} AND revision BETWEEN ${arg(bound(from))} AND ${arg(bound(to))} AND position <= ${h} AND removed = 0 ORDER BY revision`,
    "revision",
  );
}

/** Value: the log's live records with positions in [from, min(to, head)], ascending. */
export function pgReadLog(q, tenant, head, keys, from, to) {
  return folded(
    q,
    tenant,
    head,
    keys,
    (h, arg) =>
      from > (head == null ? to : Math.min(to, head))
        ? null
        : `SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND position BETWEEN ${arg(bound(from))} AND least(${arg(bound(to))}, ${h}) AND removed = 0 ORDER BY position`,
    "position",
  );
}

/**
 * Value: the live records at positions [from, min(to, head)] of the streams in `ranges`,
 * ascending: the first `max` of them, or the last `max` when `backwards`. A range is `[stream]`
 * (that stream id) or `[prefix, end]` (the stream ids from `prefix` up to `end`, exclusive; `end`
 * null: no upper bound); `["", null]` is every stream (the plain log read). Each range is one term
 * reading the `evstore_events_live` index (live events by tenant, stream id, then position),
 * limited to `max`; PostgreSQL merges the terms in position order and stops at `max` rows.
 */
export async function pgReadSelected(q, tenant, head, keys, ranges, from, to, backwards, max) {
  const order = backwards ? "DESC" : "ASC";
  const read = await folded(
    q,
    tenant,
    head,
    keys,
    (h, arg) => {
      if (max <= 0 || ranges.length === 0 || from > (head == null ? to : Math.min(to, head))) return null;
      const [lo, hi, limit] = [arg(bound(from)), `least(${arg(bound(to))}, ${h})`, arg(bound(max))];
      const terms = ranges.map((range) => {
        let where;
        if (range.length === 1) where = `stream_id = ${arg(range[0])}`;
        else if (range[0] === "" && range[1] == null) where = "true";
        else if (range[1] == null) where = `stream_id >= ${arg(range[0])}`;
        else where = `stream_id >= ${arg(range[0])} AND stream_id < ${arg(range[1])}`;
        return `(SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE tenant = $1 AND ${where} AND position BETWEEN ${lo} AND ${hi} AND removed = 0 ORDER BY position ${order} LIMIT ${limit})`;
      });
      return terms.length === 1 ? terms[0] : `${terms.join(" UNION ALL ")} ORDER BY position ${order} LIMIT ${limit}`;
    },
    `position ${order}`,
  );
  if (backwards) read.value.reverse();
  return read;
}

/** `[key, value]` of every meta entry whose key starts with `prefix` (up to `end`, exclusive; null: none), in key order. */
export async function pgScanMeta(q, tenant, prefix, end) {
  const rows =
    end == null
      ? await q("SELECT key, value FROM evstore_meta WHERE tenant = $1 AND key >= $2 ORDER BY key", [tenant, prefix])
      : await q("SELECT key, value FROM evstore_meta WHERE tenant = $1 AND key >= $2 AND key < $3 ORDER BY key", [tenant, prefix, end]);
  return rows.filter((r) => r.key.startsWith(prefix)).map((r) => [r.key, r.value]);
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
 * Commits a write transaction: the records (one multi-row INSERT, with the tenant's new head and
 * the announcement), the removals (they may husk records of this commit), the meta changes
 * (`[key, value | null]`), and, when it wrote anything, its announcement (`pg_notify`, delivered
 * on commit). Resolves "ok", or
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
      // The records, the new head and the announcement in one statement (one round trip); a
      // unique violation fails all of it.
      await q(
        `WITH inserted AS (
           INSERT INTO evstore_events (tenant, position, id, stream_id, revision, type, data, metadata, created_at)
           SELECT $1, * FROM unnest($4::bigint[], $5::uuid[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[])),
         moved AS (UPDATE evstore_tenants SET head = $2 WHERE tenant = $1)
         SELECT ${ANNOUNCE}`,
        [
          tenant,
          head,
          handle.origin,
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
    // Later statements see the records: a removal may husk records of this commit.
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
    if (!records.length && (meta.length || removals.length)) await q(`SELECT ${ANNOUNCE}`, [tenant, head, handle.origin]);
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
