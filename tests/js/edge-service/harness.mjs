// Test harness for the edge service: runs the real service in workerd (npm) on a free 127.0.0.1
// port with a temporary data directory, mints JWTs (HS256, RS256, ES256 and deliberately bad
// ones) with node:crypto, and kills every process it started — also when a test fails.
import { spawn } from "node:child_process";
import { createHmac, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, writeWorkerdConfig } from "../../../edge/workerd-config.mjs";
import { freePort } from "../edge/workerd.mjs";

export { REPO, freePort };
export const SECRET = "test-secret-with-enough-entropy-0123456789";

/**
 * EVSTORE_HOST=server: `startEdge` starts the self-hosted Node server (server/) instead of workerd,
 * so that the host-independent suites (Makefile SERVICE_SUITES) run against both hosts.
 */
export const ON_SERVER = process.env.EVSTORE_HOST === "server";


const running = new Set();
const tempDirs = new Set();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = "evstore-edge-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Starts the edge service: `{ base, port, dataDir, stop(), kill(signal) }`. `env` holds the
 * EVSTORE_* settings (default: the HS256 test secret); `config` more options of
 * writeWorkerdConfig (the benchmark's reference object). Resolves once the socket answers.
 */
export async function startEdge({ env = { EVSTORE_JWT_SECRET: SECRET }, dataDir = tempDir(), port, config: configOptions = {} } = {}) {
  port ??= await freePort();
  const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  let proc;
  if (ON_SERVER) {
    // The Node server on PGlite in the data directory (./server-entry.mjs), with `env` as given.
    // The data directory starts as a copy of a fresh PGlite cluster: its initdb takes ~10 s here.
    if (!existsSync(join(dataDir, "pgdata"))) cpSync(await pgliteTemplate(), join(dataDir, "pgdata"), { recursive: true });
    proc = spawn(process.execPath, [join(REPO, "tests/js/edge-service/server-entry.mjs")], { env: { ...childEnv, SERVER_PORT: String(port), SERVER_DATA: dataDir }, stdio: ["ignore", "pipe", "pipe"] });
  } else {
    const config = writeWorkerdConfig({ configFile: join(dataDir, "workerd.capnp"), port, dataDir, ...configOptions });
    proc = spawn(join(REPO, "node_modules/.bin/workerd"), ["serve", config, ...(process.env.EDGE_DEBUG ? ["--verbose"] : [])], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  }
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  proc.stdout.on("data", (d) => (stderr += d));
  running.add(proc);
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => {
    running.delete(proc);
    resolve({ code, signal });
  }));
  const base = `http://127.0.0.1:${port}`;
  const host = ON_SERVER ? "the server" : "workerd";
  const edge = {
    base,
    port,
    dataDir,
    proc,
    exited,
    get stderr() {
      return stderr;
    },
    /** Stops the service (SIGTERM, then SIGKILL) and waits for it. */
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    /** Kills the service with `signal` (default SIGKILL) and waits for it. */
    async kill(signal = "SIGKILL") {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`${host} exited: ${stderr}`);
      if (await fetch(`${base}/`).then(() => true, () => false)) break;
      if (i > 600) throw new Error(`${host} did not answer: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await edge.kill();
    throw e;
  }
  return edge;
}

/**
 * A fresh, cleanly closed PGlite data directory (no evstore tables yet), made once per PGlite
 * version in the repository's .cache and copied for each server.
 */
async function pgliteTemplate() {
  const { version } = JSON.parse(readFileSync(join(REPO, "node_modules/@electric-sql/pglite/package.json"), "utf8"));
  const template = join(REPO, ".cache", `pglite-template-${version}`);
  if (existsSync(template)) return template;
  mkdirSync(join(REPO, ".cache"), { recursive: true });
  const building = mkdtempSync(`${template}.tmp-`);
  const { PGlite } = await import("@electric-sql/pglite");
  const pglite = await PGlite.create(building);
  await pglite.close();
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process made it first
  }
  return template;
}

/**
 * The SQLite files of the service's Durable Objects (one per object ever created); on the server
 * (ON_SERVER), the tenants whose stores it opened (./server-entry.mjs).
 */
export function objectFiles(dataDir) {
  if (ON_SERVER) {
    const file = join(dataDir, "tenants-opened");
    return existsSync(file) ? [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean))].sort() : [];
  }
  const root = join(dataDir, "objects");
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".sqlite")) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

// ── tokens ──────────────────────────────────────────────────────────────────────────────────

const b64url = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
export const now = () => Math.floor(Date.now() / 1000);

/** Claims for `tenant`, valid for an hour unless overridden. */
export const claims = (tenant, extra = {}) => ({ tid: tenant, sub: "user-1", exp: now() + 3600, ...extra });

/** A JWT with any header and claims, signed by `signer(bytes) → Buffer` (default: HS256 with SECRET). */
export function jwt(header, body, signer = hs256(SECRET)) {
  const signed = `${b64url(header)}.${b64url(body)}`;
  return `${signed}.${signer(Buffer.from(signed)).toString("base64url")}`;
}

export const hs256 = (secret) => (data) => createHmac("sha256", Buffer.from(secret, "utf8")).update(data).digest();

/** HS256 token for `tenant` with the test secret. */
export const token = (tenant, extra = {}, secret = SECRET) => jwt({ alg: "HS256", typ: "JWT" }, claims(tenant, extra), hs256(secret));

/** Key pairs for RS256 and ES256 and their public JWKS (kids "rsa-1" and "ec-1"). */
export function keyPairs() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwks = {
    keys: [
      { ...rsa.publicKey.export({ format: "jwk" }), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...ec.publicKey.export({ format: "jwk" }), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  return {
    jwks: JSON.stringify(jwks),
    rs256: (data) => cryptoSign("sha256", data, rsa.privateKey),
    es256: (data) => cryptoSign("sha256", data, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
    rsaPublicPem: rsa.publicKey.export({ format: "pem", type: "spki" }),
  };
}

// ── HTTP ────────────────────────────────────────────────────────────────────────────────────

/** A request to the service: `{ status, body, headers }` with the body parsed as JSON when it is JSON. */
export async function call(edge, method, path, { token: t, body, headers = {} } = {}) {
  const res = await fetch(edge.base + path, {
    method,
    headers: { ...(t === undefined ? {} : { authorization: `Bearer ${t}` }), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export const uuid = () => crypto.randomUUID();
