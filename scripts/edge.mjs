// `make edge`: runs the edge service locally in workerd (npm) on 127.0.0.1:${EDGE_PORT:-8787},
// its Durable Objects' SQLite in ${EDGE_DATA:-.edge-data} (kept across restarts). Without
// EVSTORE_JWT_SECRET (and without EVSTORE_JWKS) it uses a development secret kept in the data
// directory (created on first run) and prints it with a sample token and a curl line.
// Ctrl-C / SIGTERM stop workerd and exit.
import { edgeDataDir, startLocalEdge } from "./edge-local.mjs";
import { claimsFor, signHs256 } from "./edge-token.mjs";

const port = Number(process.env.EDGE_PORT || 8787);
const dataDir = edgeDataDir();

let stopping = false;
let edge;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  if (edge) edge.stop(signal === "SIGINT" ? "SIGINT" : "SIGTERM").then(() => process.exit(0));
  else process.exitCode = 0;
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

try {
  edge = await startLocalEdge({ port, dataDir });
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
edge.exited.then(({ code, signal }) => {
  if (!stopping) console.error(`workerd exited (${signal ?? code})`);
  process.exit(stopping ? 0 : code ?? 1);
});
if (stopping) {
  await edge.stop();
  process.exit(0);
}

// Say how to use it.
const { base, env } = edge;
console.log(`\nevstore edge service on ${base}  (data: ${edge.dataDir})`);
if (edge.devSecret) {
  const token = signHs256(claimsFor({ tenant: "demo", sub: "dev", ttl: 7 * 24 * 3600 }), env.EVSTORE_JWT_SECRET);
  console.log(`development secret (EVSTORE_JWT_SECRET, kept in ${edge.secretFile}):\n  ${env.EVSTORE_JWT_SECRET}`);
  console.log(`sample token (tenant "demo", scopes read+append, valid 7 days):\n  ${token}`);
  console.log("try:");
  console.log(`  curl -s -X POST ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}" \\`);
  console.log(`    -H 'Content-Type: application/json' -d '{"events":[{"type":"OrderPlaced","data":{"total":10}}],"expectedRevision":"any"}'`);
  console.log(`  curl -s ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}"`);
  console.log(`more tokens: node scripts/edge-token.mjs --data ${edge.dataDir} --tenant <tenant> [--scope read] [--ttl seconds]`);
} else {
  console.log("tokens are verified with EVSTORE_JWT_SECRET / EVSTORE_JWKS from the environment");
}
console.log("Ctrl-C stops it.\n");
