// The JS half of the contract suite's Durable Object factory (tests/contract/durable_object.rs).
// The object that runs the suite (tests/js/edge/do-suite-worker.mjs) puts its `ctx.storage` in
// `globalThis.__evstoreContractStorage` first.

/** That storage with every `evstore_` table dropped (in one transaction), so a case starts empty. */
export function emptiedStorage() {
  const storage = globalThis.__evstoreContractStorage;
  if (!storage) throw new Error("no Durable Object storage: this suite runs inside workerd (tests/js/edge/do-suite.test.mjs)");
  storage.transactionSync(() => {
    const tables = storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evstore!_%' ESCAPE '!'").toArray();
    for (const { name } of tables) storage.sql.exec(`DROP TABLE "${name}"`);
  });
  return storage;
}

/**
 * The emptied storage behind a recorder of its SQL: every `sql.exec` is kept (query, arguments,
 * cursor) for `selectedReads`.
 */
export function recordingStorage() {
  const real = emptiedStorage();
  const log = [];
  globalThis.__evstoreRecordedSql = log;
  const sql = {
    exec(query, ...args) {
      const cursor = real.sql.exec(query, ...args);
      log.push({ query, args, cursor });
      return cursor;
    },
  };
  return { sql, transactionSync: (f) => real.transactionSync(f) };
}

/**
 * The queries recorded since the last call that select by stream (`stream_id` with `position
 * BETWEEN`): per query `[rows SQLite read for it, its EXPLAIN QUERY PLAN details joined by " | "]`.
 */
export function selectedReads() {
  const log = globalThis.__evstoreRecordedSql ?? [];
  const storage = globalThis.__evstoreContractStorage;
  const reads = log
    .filter(({ query }) => query.startsWith("SELECT") && /stream_id .*position BETWEEN/.test(query))
    .map(({ query, args, cursor }) => {
      const plan = storage.sql.exec(`EXPLAIN QUERY PLAN ${query}`, ...args).toArray().map((r) => r.detail);
      return [cursor.rowsRead, plan.join(" | ")];
    });
  log.length = 0;
  return reads;
}
