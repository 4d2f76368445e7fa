// `make server`: the self-hosted server (server/index.js) on 127.0.0.1:${SERVER_PORT:-8788}, on the
// PostgreSQL of DATABASE_URL, else on an embedded PostgreSQL (PGlite) kept in
// ${SERVER_DATA:-.server-data}/pgdata. Without EVSTORE_JWT_SECRET (and without EVSTORE_JWKS) it
// uses a development secret kept in the data directory (created on first run) and prints it with a
// sample token and curl lines, like `make edge`. Ctrl-C / SIGTERM: the sync sockets are closed
// (1001), pending work finishes, the database is closed, exit 0.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createServer, openDatabase } from "../server/index.js";
import { edgeEnvironment } from "./edge-local.mjs";
import { claimsFor, signHs256 } from "./edge-token.mjs";
import { serverDataDir } from "./server-local.mjs";

const port = Number(process.env.SERVER_PORT || 8788);
const host = process.env.SERVER_HOST || "127.0.0.1";
const dataDir = serverDataDir();
const url = process.env.DATABASE_URL || "";

let env, devSecret, db, server;
try {
  mkdirSync(dataDir, { recursive: true });
  ({ env, devSecret } = edgeEnvironment(dataDir, process.env));
  db = await openDatabase({ url, dataDir: join(dataDir, "pgdata") });
  server = createServer({ database: db.database, env });
  await server.listen(port, host);
} catch (e) {
  console.error(`evstore server: ${e.message}`);
  await server?.close().catch(() => {});
  await db?.close().catch(() => {});
  process.exit(1);
}

let stopping = null;
const stop = () =>
  (stopping ??= (async () => {
    try {
      await server.close();
      await db.close();
      process.exit(0);
    } catch (e) {
      console.error(`evstore server: stopping failed: ${e.message}`);
      process.exit(1);
    }
  })());
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

// Say how to use it.
const base = `http://${host}:${port}`;
const where = url ? `PostgreSQL at ${url.replace(/\/\/[^@/]*@/, "//…@")}` : `PGlite in ${join(dataDir, "pgdata")}`;
console.log(`\nevstore server on ${base}  (data: ${where})`);
if (devSecret) {
  const token = signHs256(claimsFor({ tenant: "demo", sub: "dev", ttl: 7 * 24 * 3600 }), env.EVSTORE_JWT_SECRET);
  console.log(`development secret (EVSTORE_JWT_SECRET, kept in ${join(dataDir, "dev-secret")}):\n  ${env.EVSTORE_JWT_SECRET}`);
  console.log(`sample token (tenant "demo", scopes read+append, valid 7 days):\n  ${token}`);
  console.log("try:");
  console.log(`  curl -s -X POST ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}" \\`);
  console.log(`    -H 'Content-Type: application/json' -d '{"events":[{"type":"OrderPlaced","data":{"total":10}}],"expectedRevision":"any"}'`);
  console.log(`  curl -s ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}"`);
  console.log(`more tokens: node scripts/edge-token.mjs --data ${dataDir} --tenant <tenant> [--scope read] [--ttl seconds]`);
} else {
  console.log("tokens are verified with EVSTORE_JWT_SECRET / EVSTORE_JWKS from the environment");
}
console.log("Ctrl-C stops it.\n");
