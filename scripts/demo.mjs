// `make demo`: the offline-first shopping list of www/, synced through the local edge service.
//
// Starts two servers on 127.0.0.1 and prints the URLs of two "devices" to open side by side:
//   - the edge service in workerd on ${EDGE_PORT:-8787}, data in ${EDGE_DATA:-.edge-data}
//     (as `make edge`: a development secret in the data directory unless EVSTORE_JWT_SECRET is set);
//   - the app server on ${PORT:-8080}: www/ at `/`, the built package at `/pkg/`, and
//       GET /api/config                 → { syncUrl, tenant, access }   where the app syncs to, and
//                                         which devices reach only some streams (ACCESS below)
//       GET /api/dev-token?device=alice → { token, expiresAt }  an HS256 token for tenant "demo"
//     (development only: anyone who can reach the app server gets a token). The server decides
//     what a token reaches: bob's carries a `streams` claim naming one list's items only, and his
//     device syncs just those streams (`sync.streams`): the other list never reaches it.
// The edge service answers CORS only for the app's origins (EVSTORE_ALLOWED_ORIGINS, unless set).
// Ctrl-C / SIGTERM stop both.
//
// As a module (tests): `const demo = await startDemo({ port: 0, edgePort, edgeData })`, then
// `demo.stop()`; `demo.app.close()` stops only the app server (an unreachable app server).
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

/** The demo's API on the app server: where to sync, and development tokens. */
export function demoApi({ edgeBase, secret }) {
  return (req, res, url) => {
    if (!url.pathname.startsWith("/api/")) return false;
    if (req.method !== "GET") return json(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "only GET" } }), true;
    if (url.pathname === "/api/config") return json(res, 200, { syncUrl: `${edgeBase()}/t/${TENANT}`, tenant: TENANT, access: ACCESS }), true;
    if (url.pathname === "/api/dev-token") {
      const device = url.searchParams.get("device") ?? "";
      if (!DEVICE.test(device)) {
        return json(res, 400, { error: { code: "INVALID_ARGUMENT", message: "device must be 1–32 of a-z, 0-9, - and _" } }), true;
      }
      const key = secret();
      if (!key) {
        const message = "no EVSTORE_JWT_SECRET: the edge service verifies tokens with EVSTORE_JWKS only, so the demo cannot mint tokens";
        return json(res, 501, { error: { code: "UNAVAILABLE", message } }), true;
      }
      const claims = claimsFor({ tenant: TENANT, sub: `device:${device}`, ttl: TOKEN_TTL_SECONDS, streams: Object.hasOwn(ACCESS, device) ? ACCESS[device] : undefined });
      return json(res, 200, { token: signHs256(claims, key), expiresAt: claims.exp * 1000 }), true;
    }
    return json(res, 404, { error: { code: "NOT_FOUND", message: `no ${url.pathname}` } }), true;
  };
}

/**
 * Starts the app server and the edge service. Resolves to
 * `{ url, edgeUrl, devices: { alice, bob }, app, edge, stop() }`; on failure nothing is left running.
 */
export async function startDemo({ port = 8080, edgePort = 8787, edgeData = ".edge-data", env = process.env, edgeStdio } = {}) {
  let edge;
  const app = await serve({
    port,
    handle: demoApi({ edgeBase: () => edge.base, secret: () => edge.env.EVSTORE_JWT_SECRET }),
  });
  const origins = [app.url, `http://localhost:${app.port}`].join(",");
  try {
    edge = await startLocalEdge({
      port: edgePort,
      dataDir: edgeData,
      env: { ...env, EVSTORE_ALLOWED_ORIGINS: env.EVSTORE_ALLOWED_ORIGINS || origins },
      ...(edgeStdio ? { stdio: edgeStdio } : {}),
    });
  } catch (e) {
    await app.close();
    throw e;
  }
  const device = (name) => `${app.url}/?device=${name}`;
  return {
    url: app.url,
    edgeUrl: edge.base,
    devices: { alice: device("alice"), bob: device("bob") },
    app,
    edge,
    async stop() {
      await Promise.all([app.close(), edge.stop()]);
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT || 8080);
  const edgePort = Number(process.env.EDGE_PORT || 8787);
  const edgeData = edgeDataDir();
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
    demo = await startDemo({ port, edgePort, edgeData });
  } catch (e) {
    console.error(`make demo: could not start: ${e.message}`);
    if (e.code === "EADDRINUSE") console.error(`  port ${port} is taken: run with PORT=<another port> (and EDGE_PORT=… for the edge service)`);
    process.exit(1);
  }
  if (stopping) await stop();
  demo.edge.exited.then(async ({ code, signal }) => {
    if (stopping) return;
    console.error(`make demo: the edge service (workerd) exited (${signal ?? code}); stopping`);
    stopping = true;
    await demo.app.close();
    process.exit(1);
  });
  console.log(`
evstore demo: an offline-first shopping list, synced through the local edge service.

  Open two windows side by side: each is a device with its own IndexedDB database.
    alice  ${demo.devices.alice}   both lists: her token reaches every stream
    bob    ${demo.devices.bob}   the groceries only: his token and device reach ${JSON.stringify(ACCESS.bob)}

  App server    ${demo.url}  (the app, the package, /api/dev-token)
  Edge service  ${demo.edgeUrl}/t/${TENANT}  (data in ${edgeData}${demo.edge.devSecret ? ", development secret" : ""})

Ctrl-C stops both.
`);
}
