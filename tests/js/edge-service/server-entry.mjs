// The Node server as the edge-service suites start it (harness.mjs `startEdge` with
// EVSTORE_HOST=server): server/index.js on PGlite in `$SERVER_DATA/pgdata`, on `$SERVER_PORT`, with
// the EVSTORE_* settings exactly as given (no development secret: a suite that sets none, or a bad
// one, gets the service's own answer, as workerd gives it). Each tenant whose store the server
// opens is appended to `$SERVER_DATA/tenants-opened` (harness.mjs `objectFiles`: the tenants
// created, as workerd's object files are). SIGTERM: close, exit 0.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, openDatabase } from "../../../server/index.js";

const dataDir = process.env.SERVER_DATA;
const db = await openDatabase({ dataDir: join(dataDir, "pgdata") });
const inner = db.database;
const database = {
  origin: inner.origin,
  async query(sql, params) {
    // The host reads a tenant's epoch once, right after opening its store.
    if (sql.startsWith("SELECT epoch FROM evstore_tenants")) appendFileSync(join(dataDir, "tenants-opened"), `${params[0]}\n`);
    return inner.query(sql, params);
  },
  transaction: (fn) => inner.transaction(fn),
  ...(inner.watch ? { watch: (tenant, wake) => inner.watch(tenant, wake) } : {}),
};
const server = createServer({ database, env: process.env });
await server.listen(Number(process.env.SERVER_PORT));
process.on("SIGTERM", async () => {
  await server.close();
  await db.close();
  process.exit(0);
});
