// The small query interface evstore's PostgreSQL storage runs on (`EventStore.open({ storage:
// "postgres", database, tenant })`; the SQL is in src/storage/pg.js):
//
//   database = {
//     query(sql, params) → Promise<rows>,                 // one statement, outside a transaction
//     transaction(async (q) => …) → Promise<its result>,  // q(sql, params) → Promise<rows>
//   }
//
// `transaction` runs the function in one database transaction and commits when it resolves; when
// it throws, the transaction rolls back and `transaction` rejects with what it threw. Rows are
// plain objects keyed by column name, and int8 (bigint) values are JS numbers: node-postgres gives
// them as strings, so they are converted here, once, for every query (positions and revisions stay
// far below 2^53).
//
// Two implementations: `poolDatabase(pool)` over node-postgres (`pg.Pool`, a real PostgreSQL; a
// transaction takes one client of the pool for BEGIN … COMMIT/ROLLBACK), and `pgliteDatabase(pglite)`
// over PGlite (`@electric-sql/pglite`, PostgreSQL embedded in the process, in memory or in a data
// directory; its transactions run one at a time). The caller owns the pool or the PGlite and closes
// it after the stores, and after this object's `close()`.
//
// Live across processes: both implementations also have
//
//   origin                    // a random id of this database object, sent with its commits
//   watch(tenant, wake) → unwatch()
//   close() → Promise         // ends the listener (not the pool or the PGlite)
//
// `wake()` is called after another database object's commit of `tenant` (any commit: events,
// stream metadata, deletes; src/storage/pg.js announces each with `pg_notify('evstore',
// '[tenant, head, origin]')`), learned through `LISTEN evstore`. Commits made through this same
// object are not announced to its watchers (they already know). The listener starts at the first
// `watch`; once it listens, and again each time it listens after its connection was lost, every
// watcher is woken once: commits made while nobody listened are then read by the watchers (a
// wake-up is a hint to read, never data; spurious ones are allowed, lost ones are not). Over a
// `pg.Pool` the listener is one client of the pool, kept for as long as the object lives (it
// takes one slot of the pool's `max`, and `pool.end()` waits for it: call `close()` first),
// reconnected with backoff (50 ms doubling to 2 s) after an error or the end of its connection;
// over PGlite it is `pglite.listen` (in the process). After `close()`, `watch` wakes nobody.

import { randomUUID } from "node:crypto";

/** PostgreSQL's type id of int8 (bigint). */
const INT8 = 20;

/** A node-postgres result's rows, with int8 columns as numbers. */
function rowsOf(result) {
  const int8 = result.fields.filter((f) => f.dataTypeID === INT8).map((f) => f.name);
  if (int8.length) {
    for (const row of result.rows) for (const name of int8) if (row[name] != null) row[name] = Number(row[name]);
  }
  return result.rows;
}

/** The channel every commit is announced on (src/storage/pg.js). */
const CHANNEL = "evstore";

/** The first and the longest wait before the pool's listener tries to connect again. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

/**
 * The watchers of one database object: `{ origin, watch, close }` of the interface, over a
 * listener `start(deliver, listening) → stop()` that calls `deliver(payload)` for each
 * announcement and `listening()` each time it has begun to listen (again). The listener starts at
 * the first `watch`.
 */
function watchers(start) {
  const origin = randomUUID();
  const byTenant = new Map(); // tenant → Set of { wake }
  let stop = null;
  let closed = false;
  const wakeAll = (entries) => {
    for (const entry of entries) {
      try {
        entry.wake();
      } catch (e) {
        console.error("evstore: a database watcher's wake() threw", e);
      }
    }
  };
  const deliver = (payload) => {
    let tenant, from;
    try {
      [tenant, , from] = JSON.parse(payload);
    } catch {
      return; // not an evstore announcement
    }
    if (from === origin) return;
    const entries = byTenant.get(tenant);
    if (entries) wakeAll([...entries]);
  };
  const listening = () => {
    if (!closed) wakeAll([...byTenant.values()].flatMap((entries) => [...entries]));
  };
  return {
    origin,
    watch(tenant, wake) {
      if (typeof wake !== "function") throw new TypeError("watch(tenant, wake): wake must be a function");
      if (closed) return () => {}; // a closed database wakes nobody
      const entry = { wake };
      let entries = byTenant.get(tenant);
      if (!entries) byTenant.set(tenant, (entries = new Set()));
      entries.add(entry);
      stop ??= start(deliver, listening);
      return () => {
        entries.delete(entry);
        if (entries.size === 0 && byTenant.get(tenant) === entries) byTenant.delete(tenant);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      byTenant.clear();
      await stop?.();
    },
  };
}

/**
 * `LISTEN evstore` on a client of `pool`, kept: on an error or the end of its connection the
 * client is discarded and another one connects after a backoff.
 */
function poolListener(pool) {
  return (deliver, listening) => {
    let stopped = false;
    let drop = null; // discards the listening client
    let timer = null;
    let delay = RETRY_FIRST_MS;
    let connecting = null;
    const retry = () => {
      if (stopped || timer) return;
      timer = setTimeout(() => {
        timer = null;
        connecting = connect();
      }, delay);
      timer.unref?.(); // a reconnect alone does not keep the process alive
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    };
    const connect = async () => {
      let c;
      try {
        c = await pool.connect();
      } catch {
        retry();
        return;
      }
      if (stopped) {
        c.release(true);
        return;
      }
      let lost = false;
      const onLost = (e) => {
        if (lost) return;
        lost = true;
        c.removeListener("notification", onNotification);
        if (drop === onLost) drop = null;
        // Discarded rather than returned to the pool: the connection may still listen.
        c.release(e instanceof Error ? e : new Error("the listener's connection ended"));
        retry();
      };
      const onNotification = (n) => {
        if (n.channel === CHANNEL) deliver(n.payload);
      };
      c.on("notification", onNotification);
      c.on("error", onLost);
      c.on("end", onLost);
      try {
        await c.query(`LISTEN ${CHANNEL}`);
      } catch (e) {
        onLost(e);
        return;
      }
      if (lost) return;
      if (stopped) {
        onLost();
        return;
      }
      drop = onLost;
      delay = RETRY_FIRST_MS;
      listening();
    };
    connecting = connect();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      timer = null;
      await connecting;
      drop?.();
    };
  };
}

/** The query interface over a node-postgres `pg.Pool`. */
export function poolDatabase(pool) {
  return {
    ...watchers(poolListener(pool)),
    async query(sql, params = []) {
      return rowsOf(await pool.query(sql, params));
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken;
      try {
        await client.query("BEGIN");
        const result = await fn(async (sql, params = []) => rowsOf(await client.query(sql, params)));
        await client.query("COMMIT");
        return result;
      } catch (e) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackFailed) {
          broken = rollbackFailed; // the connection is unusable: the pool discards it
        }
        throw e;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** The query interface over a PGlite instance. */
export function pgliteDatabase(pglite) {
  // PGlite already parses int8 as a number; the parser is set anyway so that this never depends
  // on its default.
  const options = { parsers: { [INT8]: Number } };
  // PGlite's `listen` runs in the process: no connection to lose, so it listens once.
  const listener = (deliver, listening) => {
    const unlisten = pglite.listen(CHANNEL, deliver).then((u) => {
      listening();
      return u;
    });
    unlisten.catch((e) => console.error("evstore: PGlite could not LISTEN", e));
    return async () => {
      const u = await unlisten.catch(() => null);
      await u?.();
    };
  };
  return {
    ...watchers(listener),
    async query(sql, params = []) {
      return (await pglite.query(sql, params, options)).rows;
    },
    transaction(fn) {
      return pglite.transaction((tx) => fn(async (sql, params = []) => (await tx.query(sql, params, options)).rows));
    },
  };
}
