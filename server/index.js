// evstore's self-hosted server (`evstore/server`): the edge service's shared logic
// (edge/src/service/respond.js: routes, auth, CORS, limits, the sync feed) hosted in Node.js on
// PostgreSQL — each tenant a log in one database (server/db.js), its sync sockets on npm `ws`.
//
//   const { database, close } = await openDatabase({ url: process.env.DATABASE_URL, dataDir: ".server-data/pgdata" });
//   const server = createServer({ database });
//   await server.listen(8788);          // or: mount server.handle(request) → Response in your own app
//   …
//   await server.close(); await close();

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { dirname } from "node:path";
import { errorResponse } from "../edge/src/service/http.js";
import { limits } from "../edge/src/service/limits.js";
import { respond } from "../edge/src/service/respond.js";
import { poolDatabase, pgliteDatabase } from "./db.js";
import { toRequest, writeResponse } from "./http.js";
import { serveUpgrades } from "./sockets.js";
import { Tenants } from "./tenants.js";

export { poolDatabase, pgliteDatabase };

const NOSNIFF = { "x-content-type-options": "nosniff" };

/**
 * A server of the service over `database` (server/db.js), with the EVSTORE_* settings of `env`
 * and `maxEventBytes` (default: the edge's limit) for its stores, closing a tenant idle for
 * `idleTenantMs` (default 10 minutes: no call, no socket): `handle(request)` answers a Web
 * `Request` (a WebSocket upgrade only through `httpServer`), `httpServer` is the Node server
 * (not listening until `listen`), and `close()` stops accepting, closes the sync sockets (1001),
 * waits for pending work and closes the stores (not the database: its opener closes it).
 */
export function createServer({ database, env = process.env, maxEventBytes, idleTenantMs } = {}) {
  if (!database || typeof database.query !== "function" || typeof database.transaction !== "function") {
    throw new TypeError("createServer needs { database }: poolDatabase(pool), pgliteDatabase(pglite) or openDatabase(…).database");
  }
  const tenants = new Tenants({ database, env, maxEventBytes, idleTenantMs });
  const { maxBodyBytes } = limits(env);
  const handle = (request) => respond(request, env, tenants);

  const serveRequest = async (req, res) => {
    let response, request;
    try {
      request = toRequest(req, maxBodyBytes);
    } catch {
      return writeResponse(errorResponse(400, "INVALID_ARGUMENT", "malformed request", {}, NOSNIFF), res);
    }
    try {
      response = await handle(request);
      if (response.status === 101) {
        // An upgrade header without `Connection: upgrade` reaches here: not a WebSocket handshake.
        response.socket?.drop?.();
        response = errorResponse(400, "INVALID_ARGUMENT", "GET /t/{tenant}/sync expects a WebSocket upgrade", {}, NOSNIFF);
      }
    } catch (e) {
      console.error("evstore server: a request failed", e);
      response = errorResponse(500, "STORAGE_ERROR", "the request failed", {}, NOSNIFF);
    }
    await writeResponse(response, res);
  };
  const httpServer = createHttpServer((req, res) => tenants.waitUntil(serveRequest(req, res)));
  const upgrades = serveUpgrades(httpServer, handle, maxBodyBytes);

  let closed = null;
  return {
    handle,
    httpServer,
    /** Listens on `host:port` (port 0: a free one); resolves to the port. */
    listen(port, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        const failed = (e) => reject(e);
        httpServer.once("error", failed);
        httpServer.listen(port, host, () => {
          httpServer.off("error", failed);
          resolve({ port: httpServer.address().port });
        });
      });
    },
    close() {
      closed ??= (async () => {
        upgrades.close();
        const stopped = httpServer.listening ? new Promise((resolve) => httpServer.close(() => resolve())) : Promise.resolve();
        httpServer.closeIdleConnections?.();
        await tenants.close();
        httpServer.closeAllConnections?.();
        await stopped;
      })();
      return closed;
    },
  };
}

/**
 * The database the server runs on: with `url` (`postgres://…` or `postgresql://…`) a `pg.Pool` on
 * that PostgreSQL, else PGlite (PostgreSQL embedded in this process) kept in `dataDir` (in memory
 * without one). `close()` ends what it opened (after the server's `close`).
 */
export async function openDatabase({ url, dataDir } = {}) {
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: url });
    const database = poolDatabase(pool);
    return { database, close: closer(database, () => pool.end()) };
  }
  if (url) throw new TypeError(`DATABASE_URL must start with postgres:// or postgresql:// (got ${JSON.stringify(url.split(":")[0])}…)`);
  const { PGlite } = await import("@electric-sql/pglite");
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  let pglite;
  try {
    pglite = await PGlite.create(dataDir);
  } catch (e) {
    unlock();
    throw e;
  }
  const database = pgliteDatabase(pglite);
  return { database, close: closer(database, () => pglite.close().finally(unlock)) };
}

/**
 * Claims PGlite's `dataDir` for this process: `<dataDir>.lock` holds its pid. PGlite is PostgreSQL
 * in one process, so a second process on the same directory would corrupt it: it is refused while
 * the holder lives (a lock left by a killed process is taken over). Returns the release.
 */
function lockDataDir(dataDir) {
  const file = `${dataDir.replace(/\/+$/, "")}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    const holder = Number.parseInt(readFileSync(file, "utf8"), 10);
    if (holder > 0 && holder !== process.pid && alive(holder)) {
      throw new Error(`${dataDir} is in use by process ${holder}: an embedded PostgreSQL (PGlite) serves one process; stop that server, or run several on one PostgreSQL with DATABASE_URL`);
    }
    rmSync(file, { force: true });
  }
}

/** Whether process `pid` exists. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/** Closes `database`'s listener (when it has one), then its connection(s) by `end`, once. */
function closer(database, end) {
  let done = null;
  return () =>
    (done ??= (async () => {
      await database.close?.();
      await end();
    })());
}
