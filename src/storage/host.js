// The JS side of the JS-hosted storages, in one module (one file for the page to load): IndexedDB
// requests and records, the IndexedDB-only store methods, and the Durable Object's SQL.

// ---- IndexedDB --------------------------------------------------------------------------------
// IDBRequest → Promise, so Rust can await a request (microtask resolution keeps the
// transaction active, as with the `idb` library).
export function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One event record: the row codec's fields by name (src/row.rs); payloads stay JSON text.
export function makeRecord(position, id, streamId, type, revision, data, metadata, createdAt) {
  return { position, id, streamId, type, revision, data, metadata, createdAt };
}

/** `records` without husks (`removed: 1`); the same array when it holds none. */
function liveRecords(records) {
  for (let i = 0; i < records.length; i++) {
    if (records[i].removed === 1) return records.filter((r) => r.removed !== 1);
  }
  return records;
}

/** A `getAll` request → a Promise of its live records (husks filtered out in JS). */
export function settleLive(request) {
  return settle(request).then(liveRecords);
}

/** How many records one `getAll` of a removal reads at a time. */
const HUSK_BATCH = 2000;

/**
 * Husks, in the transaction of `index` (the `stream` index of `events`), the live events of
 * `streamId` with revisions in [from, to], created before `createdBefore` (ms) and at a position
 * at or below `through` (+∞: no bound): each record is replaced, under its own key, by
 * `{ position, id, streamId, revision, removed: 1 }`, so its type, payloads and createdAt are gone
 * from the store while heads, `locate` and the unique indexes stay as they were. Records are read
 * in batches with `getAll` and the puts issued without waiting for them (no record crosses into
 * wasm). Resolves with how many were husked, once the last batch was read and every put issued.
 * (A cursor with `update` per record took ~5.7x as long in Chromium: 10,000 records 6.8 s
 * against 1.2 s; most of what remains is IndexedDB's cost per written record.)
 */
export function idbHusk(index, streamId, from, to, createdBefore, through) {
  const store = index.objectStore;
  const upper = to > Number.MAX_SAFE_INTEGER ? Infinity : to;
  return new Promise((resolve, reject) => {
    let husked = 0;
    const next = (lower) => {
      const request = index.getAll(IDBKeyRange.bound([streamId, lower], [streamId, upper]), HUSK_BATCH);
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        try {
          const records = request.result;
          for (const r of records) {
            if (r.removed === 1 || !(r.createdAt < createdBefore) || r.position > through) continue;
            store.put({ position: r.position, id: r.id, streamId: r.streamId, revision: r.revision, removed: 1 });
            husked++;
          }
          const last = records.length < HUSK_BATCH ? upper : records[records.length - 1].revision;
          if (last >= upper) resolve(husked);
          else next(last + 1);
        } catch (e) {
          reject(e);
        }
      };
    };
    try {
      if (from > upper) resolve(0);
      else next(from);
    } catch (e) {
      reject(e);
    }
  });
}


// The methods only an IndexedDB store has: navigator.storage, where the runtime has it.
async function persistStorage() {
  return (await globalThis.navigator?.storage?.persist?.()) ?? false;
}

async function storageEstimate() {
  const e = (await globalThis.navigator?.storage?.estimate?.()) ?? {};
  return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
}

/** Gives an IndexedDB store `persistStorage()` and `storageEstimate()`. */
export function addStorageMethods(store) {
  Object.defineProperties(store, {
    persistStorage: { value: persistStorage, configurable: true },
    storageEstimate: { value: storageEstimate, configurable: true },
  });
}

// ---- Durable Object SQL -----------------------------------------------------------------------
// The Durable Object storage's SQL, over `ctx.storage` of a SQLite-backed object. Every
// statement is synchronous; cursors are consumed at once. Tables are prefixed `evstore_` so they
// never clash with the application's own tables in the same object.
//
// Removed events are husked by an UPDATE that blanks their columns: no table holds their data
// afterwards. SQLite may still keep the old bytes in freed space of the database file until it
// reuses it; `PRAGMA secure_delete` would zero them, but the Durable Object SQL API refuses it
// (`not authorized: SQLITE_AUTH` in workerd, as are `PRAGMA auto_vacuum`/`incremental_vacuum`,
// and `VACUUM` cannot run inside its implicit transaction), so it is not attempted.

const SCHEMA_VERSION = 4;

const EVENT_COLUMNS =
  "position, id, stream_id AS streamId, type, revision, data, metadata, created_at AS createdAt";

// Each step brings the schema from version i to i + 1.
const UPGRADES = [
  [
    `CREATE TABLE evstore_events (
       position INTEGER PRIMARY KEY,
       id TEXT NOT NULL UNIQUE,
       stream_id TEXT NOT NULL,
       type TEXT NOT NULL,
       revision INTEGER NOT NULL,
       data TEXT NOT NULL,
       metadata TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       UNIQUE (stream_id, revision))`,
    "CREATE TABLE evstore_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE evstore_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
  ],
  // 2: checkpoints live in the meta area, under `checkpoint/{name}` (src/storage/checkpoint.rs).
  [
    "INSERT OR REPLACE INTO evstore_meta (key, value) SELECT 'checkpoint/' || name, CAST(position AS TEXT) FROM evstore_checkpoints",
    "DROP TABLE evstore_checkpoints",
  ],
  // 3: removed events (stream lifecycle) stay as husks: id, stream, revision and position kept
  // (heads, idempotency and the unique constraints work as before), everything else blanked.
  // The bump also keeps an older evstore, which would read husks as events, out.
  [
    "ALTER TABLE evstore_events ADD COLUMN removed INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX evstore_events_created ON evstore_events (stream_id, created_at) WHERE removed = 0",
  ],
  // 4: reads of a selection of streams (scoped tokens, partial sync) go through the live events
  // of those streams in position order: `stream_id = ? AND position BETWEEN ? AND ?` is a range
  // of this index, delivered in log order, so a frame of 10 streams out of a 1M-event tenant
  // reads those streams' rows from the frame's first position on, and no others. Neither the
  // unique (stream_id, revision) index nor evstore_events_created can bound positions: with them
  // every read of a stream visits all its events (a live feed on a long stream, each frame).
  // Measured in workerd (200,000 rows, 1,000 streams): raw inserts 2.6 s -> 3.6 s, file +21%.
  ["CREATE INDEX evstore_events_stream ON evstore_events (stream_id, position) WHERE removed = 0"],
];

/** Whether `storage` is a Durable Object storage with the SQL API and synchronous transactions. */
export function hasSql(storage) {
  return (
    storage != null &&
    typeof storage === "object" &&
    typeof storage.sql?.exec === "function" &&
    typeof storage.transactionSync === "function"
  );
}

/**
 * Creates or upgrades the schema (in one transaction). Throws if the data was written by a newer
 * evstore. Returns the schema version.
 */
export function openSchema(storage) {
  return storage.transactionSync(() => {
    const sql = storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS evstore_schema (key TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    const row = sql.exec("SELECT version FROM evstore_schema WHERE key = 'schema'").toArray()[0];
    const version = row ? row.version : 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `this Durable Object's data was written by a newer evstore (schema version ${version}, above ${SCHEMA_VERSION}); this version cannot open it without risking damage`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) for (const statement of UPGRADES[v]) sql.exec(statement);
    sql.exec("INSERT OR REPLACE INTO evstore_schema (key, version) VALUES ('schema', ?)", SCHEMA_VERSION);
    return SCHEMA_VERSION;
  });
}

/** The stream's last revision ever written (husks count), or -1. */
export function streamHead(storage, streamId) {
  const row = storage.sql
    .exec("SELECT revision FROM evstore_events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1", streamId)
    .toArray()[0];
  return row ? row.revision : -1;
}

/** The log's last position ever written (husks count), or -1. */
export function logHead(storage) {
  const row = storage.sql.exec("SELECT position FROM evstore_events ORDER BY position DESC LIMIT 1").toArray()[0];
  return row ? row.position : -1;
}

/** For each id, `[streamId, revision, position, removed]` where it is stored, or null. */
export function locate(storage, ids) {
  return ids.map((id) => {
    const row = storage.sql
      .exec("SELECT stream_id, revision, position, removed FROM evstore_events WHERE id = ?", id)
      .toArray()[0];
    return row ? [row.stream_id, row.revision, row.position, row.removed !== 0] : null;
  });
}

const bound = (n) => Math.min(n, Number.MAX_SAFE_INTEGER);

/** The stream's live records with revisions in [from, to], ascending. */
export function readStream(storage, streamId, from, to) {
  return storage.sql
    .exec(
      `SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE stream_id = ? AND revision BETWEEN ? AND ? AND removed = 0 ORDER BY revision`,
      streamId,
      bound(from),
      bound(to),
    )
    .toArray();
}

/** The log's live records with positions in [from, to], ascending. */
export function readLog(storage, from, to) {
  return storage.sql
    .exec(`SELECT ${EVENT_COLUMNS} FROM evstore_events WHERE position BETWEEN ? AND ? AND removed = 0 ORDER BY position`, bound(from), bound(to))
    .toArray();
}

/** The most terms the Durable Object's SQLite allows in a compound SELECT. */
const MAX_TERMS = 5;

/**
 * The queries of `readSelected`: `[sql, args]` each. A range is `[stream]` (that stream id) or
 * `[prefix, end]` (the stream ids from `prefix` up to `end`, exclusive; `end` null: no upper
 * bound). Each range is one term reading the `evstore_events_stream` index (live events by
 * stream id, then position): a stream's rows come in position order straight from the index; a
 * prefix's rows are the index's range of those stream ids, sorted by position. The terms of a
 * query (up to `MAX_TERMS`) are merged by SQLite in position order, which stops at `max` rows.
 * `["", null]`, every stream, is the plain log read.
 */
export function selectedQueries(ranges, from, to, backwards, max) {
  const span = "position BETWEEN ? AND ? AND removed = 0";
  const select = `SELECT ${EVENT_COLUMNS} FROM evstore_events`;
  const indexed = `${select} INDEXED BY evstore_events_stream WHERE`;
  const terms = ranges.map((range) => {
    if (range.length === 1) return [`${indexed} stream_id = ? AND ${span}`, [range[0], bound(from), bound(to)]];
    if (range[0] === "" && range[1] == null) return [`${select} WHERE ${span}`, [bound(from), bound(to)]];
    if (range[1] == null) return [`${indexed} stream_id >= ? AND ${span}`, [range[0], bound(from), bound(to)]];
    return [`${indexed} stream_id >= ? AND stream_id < ? AND ${span}`, [range[0], range[1], bound(from), bound(to)]];
  });
  const queries = [];
  for (let i = 0; i < terms.length; i += MAX_TERMS) {
    const group = terms.slice(i, i + MAX_TERMS);
    queries.push([
      `${group.map(([q]) => q).join(" UNION ALL ")} ORDER BY position ${backwards ? "DESC" : "ASC"} LIMIT ?`,
      [...group.flatMap(([, args]) => args), bound(max)],
    ]);
  }
  return queries;
}

/**
 * The live records at positions [from, to] of the streams in `ranges` (see `selectedQueries`),
 * ascending: the first `max` of them, or the last `max` when `backwards`. Every cursor is read
 * to its end (an open one would keep its table locked).
 */
export function readSelected(storage, ranges, from, to, backwards, max) {
  if (max <= 0 || ranges.length === 0) return [];
  const queries = selectedQueries(ranges, from, to, backwards, max);
  let rows = storage.sql.exec(queries[0][0], ...queries[0][1]).toArray();
  if (queries.length > 1) {
    for (const [q, args] of queries.slice(1)) rows = rows.concat(storage.sql.exec(q, ...args).toArray());
    rows.sort(backwards ? (a, b) => b.position - a.position : (a, b) => a.position - b.position);
    rows.length = Math.min(rows.length, max);
  }
  return backwards ? rows.reverse() : rows;
}

/** `[key, value]` of every meta entry whose key starts with `prefix`, in key order. */
export function scanMeta(storage, prefix) {
  const out = [];
  for (const r of storage.sql.exec("SELECT key, value FROM evstore_meta WHERE key >= ? ORDER BY key", prefix)) {
    if (!r.key.startsWith(prefix)) break;
    out.push([r.key, r.value]);
  }
  return out;
}

/** The meta value under `key`, or undefined. */
export function getMeta(storage, key) {
  return storage.sql.exec("SELECT value FROM evstore_meta WHERE key = ?", key).toArray()[0]?.value;
}

/**
 * Husks staged removals: `[streamId, from, to, createdBefore, through]` (the last two null when
 * absent). Type, data, metadata and createdAt are blanked in the row; id, stream, revision and
 * position stay.
 */
function husk(sql, [streamId, from, to, createdBefore, through]) {
  let statement =
    "UPDATE evstore_events SET type = '', data = 'null', metadata = '{}', created_at = 0, removed = 1 WHERE stream_id = ? AND revision BETWEEN ? AND ? AND removed = 0";
  const args = [streamId, bound(from), bound(to)];
  if (createdBefore != null) {
    statement += " AND created_at < ?";
    args.push(bound(createdBefore));
  }
  if (through != null) {
    statement += " AND position <= ?";
    args.push(bound(through));
  }
  sql.exec(statement, ...args);
}

/**
 * Writes the records, then the removals (see `husk`; they may husk records of this commit), then
 * the meta changes (`[key, value | null]`), in one synchronous transaction: all or nothing, also
 * if the runtime is killed halfway. Returns "ok", or "conflict" when a unique constraint refused
 * the write (a taken id, or a position or revision written by another writer); other failures
 * throw.
 */
export function commit(storage, records, meta, removals = []) {
  try {
    storage.transactionSync(() => {
      const sql = storage.sql;
      for (const r of records) {
        sql.exec(
          "INSERT INTO evstore_events (position, id, stream_id, type, revision, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          r.position, r.id, r.streamId, r.type, r.revision, r.data, r.metadata, r.createdAt,
        );
      }
      for (const removal of removals) husk(sql, removal);
      for (const [key, value] of meta) {
        if (value == null) sql.exec("DELETE FROM evstore_meta WHERE key = ?", key);
        else sql.exec("INSERT OR REPLACE INTO evstore_meta (key, value) VALUES (?, ?)", key, value);
      }
    });
    return "ok";
  } catch (e) {
    if (/UNIQUE constraint failed|SQLITE_CONSTRAINT/.test(String(e?.message))) return "conflict";
    throw e;
  }
}
