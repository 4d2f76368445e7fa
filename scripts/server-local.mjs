// Runs the self-hosted server (scripts/server.mjs) as a child process: shared by `make server`'s
// tests and anything that needs a local server. Its data directory holds the embedded PostgreSQL
// (PGlite, in `<dataDir>/pgdata`, unless a DATABASE_URL is given) and, without EVSTORE_JWT_SECRET
// and EVSTORE_JWKS, the development secret (`<dataDir>/dev-secret`, as `make edge` keeps it).
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO } from "../edge/workerd-config.mjs";
import { childStopper, edgeEnvironment } from "./edge-local.mjs";

/**
 * The data directory of `make server`: `$SERVER_DATA`, else `.server-data`; a relative one is
 * taken from the repository root, where make runs it.
 */
export function serverDataDir(env = process.env) {
  return resolve(REPO, env.SERVER_DATA || ".server-data");
}

/**
 * Starts `node scripts/server.mjs` on `host:port` with its data in `dataDir` (default
 * `serverDataDir(env)`) and on `databaseUrl` when given (else PGlite in the data directory).
 * Resolves once it answers HTTP: `{ base, port, dataDir, env, devSecret, secretFile, child,
 * exited, stop(signal) }`. `stdio` is passed to spawn (default: the server's output goes to ours).
 */
export async function startLocalServer({ port = 8788, dataDir, databaseUrl, env = process.env, host = "127.0.0.1", stdio = ["ignore", "inherit", "inherit"] } = {}) {
  dataDir = resolve(dataDir ?? serverDataDir(env));
  mkdirSync(dataDir, { recursive: true });
  const { env: serverEnv, devSecret } = edgeEnvironment(dataDir, env);
  const childEnv = { ...serverEnv, SERVER_PORT: String(port), SERVER_HOST: host, SERVER_DATA: dataDir };
  if (databaseUrl) childEnv.DATABASE_URL = databaseUrl;
  else delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [join(REPO, "scripts/server.mjs")], { env: childEnv, stdio, cwd: REPO });
  const exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
  const base = `http://${host}:${port}`;
  const stop = childStopper(child, exited, 10_000);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited before answering on ${base}`);
    if (await fetch(`${base}/`).then(() => true, () => false)) break;
    if (i >= 600) {
      await stop("SIGKILL");
      throw new Error(`the server did not answer on ${base} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, port, dataDir, env: childEnv, devSecret, secretFile: join(dataDir, "dev-secret"), child, exited, stop };
}
