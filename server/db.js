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
// it after the stores.

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

/** The query interface over a node-postgres `pg.Pool`. */
export function poolDatabase(pool) {
  return {
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
  return {
    async query(sql, params = []) {
      return (await pglite.query(sql, params, options)).rows;
    },
    transaction(fn) {
      return pglite.transaction((tx) => fn(async (sql, params = []) => (await tx.query(sql, params, options)).rows));
    },
  };
}
