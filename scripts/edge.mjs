// `make edge`: runs the edge service locally in workerd (npm) on 127.0.0.1:${EDGE_PORT:-8787},
// its Durable Objects' SQLite in ${EDGE_DATA:-.edge-data} (kept across restarts). Without
// EVSTORE_JWT_SECRET (and without EVSTORE_JWKS) it uses a development secret kept in the data
// directory (created on first run) and prints it with a sample token and a curl line.
// Ctrl-C / SIGTERM stop workerd and exit.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO, writeWorkerdConfig } from "../edge/workerd-config.mjs";
import { claimsFor, signHs256 } from "./edge-token.mjs";

const port = Number(process.env.EDGE_PORT || 8787);
const dataDir = resolve(process.env.EDGE_DATA || ".edge-data");
mkdirSync(dataDir, { recursive: true });

const env = { ...process.env };
let devSecret = false;
if (!env.EVSTORE_JWT_SECRET && !env.EVSTORE_JWKS) {
  const file = join(dataDir, "dev-secret");
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  env.EVSTORE_JWT_SECRET = readFileSync(file, "utf8").trim();
  devSecret = true;
}

const config = writeWorkerdConfig({ configFile: join(dataDir, "workerd.capnp"), port, dataDir });
const workerd = spawn(join(REPO, "node_modules/.bin/workerd"), ["serve", config], { env, stdio: ["ignore", "inherit", "inherit"] });

let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  workerd.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
workerd.on("exit", (code, signal) => {
  if (!stopping) console.error(`workerd exited (${signal ?? code})`);
  process.exit(stopping ? 0 : code ?? 1);
});

// Wait until the socket answers, then say how to use it.
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200 && !stopping; i++) {
  const up = await fetch(`${base}/`).then(() => true, () => false);
  if (up) break;
  await new Promise((r) => setTimeout(r, 50));
}
if (!stopping) {
  console.log(`\nevstore edge service on ${base}  (data: ${dataDir})`);
  if (devSecret) {
    const token = signHs256(claimsFor({ tenant: "demo", sub: "dev", ttl: 7 * 24 * 3600 }), env.EVSTORE_JWT_SECRET);
    console.log(`development secret (EVSTORE_JWT_SECRET, kept in ${join(dataDir, "dev-secret")}):\n  ${env.EVSTORE_JWT_SECRET}`);
    console.log(`sample token (tenant "demo", scopes read+append, valid 7 days):\n  ${token}`);
    console.log("try:");
    console.log(`  curl -s -X POST ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}" \\`);
    console.log(`    -H 'Content-Type: application/json' -d '{"events":[{"type":"OrderPlaced","data":{"total":10}}],"expectedRevision":"any"}'`);
    console.log(`  curl -s ${base}/t/demo/streams/Order-1 -H "Authorization: Bearer ${token}"`);
    console.log(`more tokens: node scripts/edge-token.mjs --tenant <tenant> [--scope read] [--ttl seconds]`);
  } else {
    console.log("tokens are verified with EVSTORE_JWT_SECRET / EVSTORE_JWKS from the environment");
  }
  console.log("Ctrl-C stops it.\n");
}
