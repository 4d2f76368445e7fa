// Runs the edge service locally in workerd (npm): shared by `make edge` (scripts/edge.mjs) and
// `make demo` (scripts/demo.mjs). Without EVSTORE_JWT_SECRET (and without EVSTORE_JWKS) the
// service verifies tokens with a development secret kept in `<dataDir>/dev-secret` (created on
// first use, readable by its owner only), so tokens minted earlier keep working after a restart.
// A secret shorter than the service accepts (32 bytes) is refused before workerd starts.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MIN_SECRET_BYTES } from "../edge/src/service/auth.js";
import { REPO, writeWorkerdConfig } from "../edge/workerd-config.mjs";

/**
 * The data directory of `make edge`, `make demo` and scripts/edge-token.mjs: `$EDGE_DATA`, else
 * `.edge-data`. A relative one is taken from the repository root, where make runs them, so that
 * each script finds the same directory (and development secret) from wherever it is started.
 */
export function edgeDataDir(env = process.env) {
  return resolve(REPO, env.EDGE_DATA || ".edge-data");
}

/**
 * The environment workerd runs with: `env` plus, when it names neither EVSTORE_JWT_SECRET nor
 * EVSTORE_JWKS, the development secret of `dataDir`. `devSecret` tells which case it was.
 */
export function edgeEnvironment(dataDir, env = process.env) {
  const out = { ...env };
  const given = out.EVSTORE_JWT_SECRET ? Buffer.byteLength(out.EVSTORE_JWT_SECRET, "utf8") : null;
  if (given !== null && given < MIN_SECRET_BYTES) {
    throw new Error(`EVSTORE_JWT_SECRET is ${given} bytes: the edge service needs at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -base64 32\`), or unset it for a development secret`);
  }
  if (out.EVSTORE_JWT_SECRET || out.EVSTORE_JWKS) return { env: out, devSecret: false };
  const file = join(dataDir, "dev-secret");
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  out.EVSTORE_JWT_SECRET = readFileSync(file, "utf8").trim();
  return { env: out, devSecret: true };
}

/**
 * `stop(signal = "SIGTERM")` for a spawned `child` whose exit `exited` resolves: sends `signal`,
 * then SIGKILL after `graceMs`, and resolves with the exit (at once when it already exited).
 */
export function childStopper(child, exited, graceMs = 3000) {
  return async (signal = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
}

/**
 * Starts workerd with the edge service on `host:port`, its objects in `dataDir`. Resolves once the
 * socket answers: `{ base, env, devSecret, secretFile, child, exited, stop() }`. `stdio` is passed
 * to spawn (default: workerd's output goes to ours).
 */
export async function startLocalEdge({ port = 8787, dataDir = ".edge-data", env = process.env, host = "127.0.0.1", stdio = ["ignore", "inherit", "inherit"] } = {}) {
  dataDir = resolve(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const { env: childEnv, devSecret } = edgeEnvironment(dataDir, env);
  const config = writeWorkerdConfig({ configFile: join(dataDir, "workerd.capnp"), port, dataDir, address: host });
  const child = spawn(join(REPO, "node_modules/.bin/workerd"), ["serve", config], { env: childEnv, stdio });
  const exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
  const base = `http://${host}:${port}`;
  const stop = childStopper(child, exited);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`workerd exited before answering on ${base}`);
    if (await fetch(`${base}/`).then(() => true, () => false)) break;
    if (i >= 400) {
      await stop("SIGKILL");
      throw new Error(`workerd did not answer on ${base} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, dataDir, env: childEnv, devSecret, secretFile: join(dataDir, "dev-secret"), child, exited, stop };
}
