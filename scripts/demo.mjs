// `make demo`: the offline-first shopping list of www/, synced through a local sync service.
//
// Starts two servers on 127.0.0.1 and prints the URLs of two "devices" to open side by side:
//   - the sync service, chosen by BACKEND:
//       edge (default)  the edge service in workerd on ${EDGE_PORT:-8787}, data in ${EDGE_DATA:-.edge-data};
//       server          the self-hosted Node.js server on ${SERVER_PORT:-8788}, on the PostgreSQL of
//                       DATABASE_URL, else on PGlite in ${SERVER_DATA:-.server-data};
//     either as `make edge` / `make server` run it: a development secret in the data directory
//     unless EVSTORE_JWT_SECRET (or EVSTORE_JWKS) is set;
//   - the app server on ${PORT:-8080}: www/ at `/`, the built package at `/pkg/`, and
//       GET /api/config                 → { syncUrl, tenant, access }   where the app syncs to, and
//                                         which devices reach only some streams (ACCESS below)
//       GET /api/dev-token?device=alice → { token, expiresAt }  an HS256 token for tenant "demo"
//     (development only: anyone who can reach the app server gets a token). The server decides
//     what a token reaches: bob's carries a `streams` claim naming one list's items only, and his
//     device syncs just those streams (`sync.streams`): the other list never reaches it.
// The sync service answers CORS only for the app's origins (EVSTORE_ALLOWED_ORIGINS, unless set).
// Ctrl-C / SIGTERM stop both.
//
// As a module (tests): `const demo = await startDemo({ port: 0, edgePort, edgeData })` (or
// `{ backend: "server", serverPort, serverData }`), then `demo.stop()`; `demo.app.close()` stops
// only the app server (an unreachable app server).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { edgeDataDir, startLocalEdge } from "./edge-local.mjs";
import { claimsFor, signHs256 } from "./edge-token.mjs";
import { serve } from "./serve.mjs";
import { listPattern } from "../www/model.js";

export const TENANT = "demo";
export const TOKEN_TTL_SECONDS = 3600;
const DEVICE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/**
 * The demo's access policy: the stream patterns a device's token reaches (its `streams` claim).
 * bob sees the groceries and nothing of the surprise party; a device not named here reaches the
 * whole tenant (no claim).
 */
export const ACCESS = { bob: [listPattern("groceries")] };

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/**
 * The demo's API on the app server: where to sync, and development tokens. `serviceBase()` is the
 * sync service's base URL, undefined while it is starting (then the API answers 503).
 */
export function demoApi({ serviceBase, secret }) {
  return (req, res, url) => {
    if (!url.pathname.startsWith("/api/")) return false;
    if (req.method !== "GET") return json(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "only GET" } }), true;
    if (serviceBase() === undefined) return json(res, 503, { error: { code: "UNAVAILABLE", message: "the sync service is starting: try again in a moment" } }), true;
    if (url.pathname === "/api/config") return json(res, 200, { syncUrl: `${serviceBase()}/t/${TENANT}`, tenant: TENANT, access: ACCESS }), true;
    if (url.pathname === "/api/dev-token") {
      const device = url.searchParams.get("device") ?? "";
      if (!DEVICE.test(device)) {
        return json(res, 400, { error: { code: "INVALID_ARGUMENT", message: "device must be 1–32 of a-z, 0-9, - and _" } }), true;
      }
      const key = secret();
      if (!key) {
        const message = "no EVSTORE_JWT_SECRET: the sync service verifies tokens with EVSTORE_JWKS only, so the demo cannot mint tokens";
        return json(res, 501, { error: { code: "UNAVAILABLE", message } }), true;
      }
      const claims = claimsFor({ tenant: TENANT, sub: `device:${device}`, ttl: TOKEN_TTL_SECONDS, streams: Object.hasOwn(ACCESS, device) ? ACCESS[device] : undefined });
      return json(res, 200, { token: signHs256(claims, key), expiresAt: claims.exp * 1000 }), true;
    }
    return json(res, 404, { error: { code: "NOT_FOUND", message: `no ${url.pathname}` } }), true;
  };
}

/** The sync services the demo can run (`BACKEND`): workerd, or the Node server on PostgreSQL. */
export const BACKENDS = ["edge", "server"];

/** `backend` if it is one of BACKENDS; else throws an error that says what to choose. */
export function checkBackend(backend) {
  if (BACKENDS.includes(backend)) return backend;
  const error = new Error(`BACKEND must be "edge" (the edge service in workerd) or "server" (the Node.js server on PostgreSQL), not ${JSON.stringify(backend)}`);
  error.code = "INVALID_ARGUMENT";
  throw error;
}

/**
 * Starts the app server and the sync service: the edge service in workerd (`backend: "edge"`, on
 * `edgePort` with its data in `edgeData`) or the self-hosted Node server (`backend: "server"`, on
 * `serverPort`, on `databaseUrl` when given, else PGlite in `serverData`). Resolves to
 * `{ url, backend, serviceUrl, devices: { alice, bob }, app, service, stop() }` (`service`: the
 * started process, see scripts/edge-local.mjs and scripts/server-local.mjs); on failure nothing is
 * left running. `serviceStdio` is the service's stdio (default: its output goes to ours).
 */
export async function startDemo({
  backend = "edge",
  port = 8080,
  edgePort = 8787,
  edgeData = ".edge-data",
  serverPort = 8788,
  serverData = ".server-data",
  databaseUrl,
  env = process.env,
  serviceStdio,
} = {}) {
  checkBackend(backend);
  let service;
  const app = await serve({
    port,
    handle: demoApi({ serviceBase: () => service?.base, secret: () => service.env.EVSTORE_JWT_SECRET }),
  });
  const origins = [app.url, `http://localhost:${app.port}`].join(",");
  const serviceEnv = { ...env, EVSTORE_ALLOWED_ORIGINS: env.EVSTORE_ALLOWED_ORIGINS || origins };
  const stdio = serviceStdio ? { stdio: serviceStdio } : {};
  try {
    if (backend === "server") {
      const { startLocalServer } = await import("./server-local.mjs");
      service = await startLocalServer({ port: serverPort, dataDir: serverData, databaseUrl, env: serviceEnv, ...stdio });
    } else {
      service = await startLocalEdge({ port: edgePort, dataDir: edgeData, env: serviceEnv, ...stdio });
    }
  } catch (e) {
    await app.close();
    throw e;
  }
  const device = (name) => `${app.url}/?device=${name}`;
  return {
    url: app.url,
    backend,
    serviceUrl: service.base,
    devices: { alice: device("alice"), bob: device("bob") },
    app,
    service,
    async stop() {
      await Promise.all([app.close(), service.stop()]);
    },
  };
}

/** A database URL as it may be printed: without its password. */
const redacted = (url) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:…@");

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  let backend;
  try {
    backend = checkBackend(env.BACKEND || "edge");
  } catch (e) {
    console.error(`make demo: ${e.message}`);
    process.exit(2);
  }
  const port = Number(env.PORT || 8080);
  const options = { backend, port };
  if (backend === "server") {
    const { serverDataDir } = await import("./server-local.mjs");
    Object.assign(options, { serverPort: Number(env.SERVER_PORT || 8788), serverData: serverDataDir(env), databaseUrl: env.DATABASE_URL || undefined });
  } else {
    Object.assign(options, { edgePort: Number(env.EDGE_PORT || 8787), edgeData: edgeDataDir(env) });
  }
  // The server prints its own banner (`make server`'s): the demo's says what matters here.
  if (backend === "server") options.serviceStdio = ["ignore", "ignore", "inherit"];
  const name = backend === "server" ? "the server (Node.js)" : "the edge service (workerd)";
  let demo;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await demo?.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    demo = await startDemo(options);
  } catch (e) {
    console.error(`make demo: could not start: ${e.message}`);
    if (e.code === "EADDRINUSE") {
      const other = backend === "server" ? "SERVER_PORT=… for the server" : "EDGE_PORT=… for the edge service";
      console.error(`  port ${port} is taken: run with PORT=<another port> (and ${other})`);
    }
    process.exit(1);
  }
  if (stopping) await stop();
  demo.service.exited.then(async ({ code, signal }) => {
    if (stopping) return;
    console.error(`make demo: ${name} exited (${signal ?? code}); stopping`);
    stopping = true;
    await demo.app.close();
    process.exit(1);
  });
  const secret = demo.service.devSecret ? ", development secret" : "";
  const service =
    backend === "server"
      ? `Server        ${demo.serviceUrl}/t/${TENANT}  (Node.js on ${options.databaseUrl ? `PostgreSQL at ${redacted(options.databaseUrl)}` : `PGlite in ${options.serverData}`}${secret})`
      : `Edge service  ${demo.serviceUrl}/t/${TENANT}  (workerd, data in ${options.edgeData}${secret})`;
  const through = backend === "server" ? "the self-hosted server (BACKEND=server: Node.js on PostgreSQL)" : "the local edge service (BACKEND=edge: workerd)";
  console.log(`
evstore demo: an offline-first shopping list, synced through ${through}.

  Open two windows side by side: each is a device with its own IndexedDB database.
    alice  ${demo.devices.alice}   both lists: her token reaches every stream
    bob    ${demo.devices.bob}   the groceries only: his token and device reach ${JSON.stringify(ACCESS.bob)}

  App server    ${demo.url}  (the app, the package, /api/dev-token)
  ${service}

Ctrl-C stops both.
`);
}
