// Types of `evstore/server`: the self-hosted server (Node.js on PostgreSQL) — the edge service's
// routes, auth, CORS, limits and sync protocol over one database shared by every tenant.
import type { PostgresDatabase } from "./index.js";

/** Node's `http.Server` (typed here without depending on `@types/node`: cast it to `import("node:http").Server`). */
export interface HttpServer {
  readonly listening: boolean;
  address(): { port: number; address: string; family: string } | string | null;
  on(event: string, listener: (...args: any[]) => void): this;
}

/** A database as the server uses it: the store's query interface, plus cross-process wake-ups when it has them. */
export interface ServerDatabase extends PostgresDatabase {
  /** A random id of this database object. */
  readonly origin?: string;
  /** Calls `wake()` after another database object's commit of `tenant`; returns the unwatch function. */
  watch?(tenant: string, wake: () => void): () => void;
  /** Ends the listener (the pool or PGlite is closed by its owner). */
  close?(): Promise<void> | void;
}

export interface CreateServerOptions {
  /** The database every tenant's log lives in: `poolDatabase(pool)`, `pgliteDatabase(pglite)` or `openDatabase(…).database`. */
  database: ServerDatabase;
  /** The EVSTORE_* settings (`EVSTORE_JWT_SECRET` or `EVSTORE_JWKS`, limits, CORS…); default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Largest event (`data` + `metadata` as JSON) in bytes; default the edge's limit (512 KiB). */
  maxEventBytes?: number;
  /** A tenant without calls or open sockets for this long is closed (reopened at its next call); default 600,000 ms. */
  idleTenantMs?: number;
}

export interface EvstoreServer {
  /** The service's answer to a Web `Request` (a WebSocket upgrade is served only through `httpServer`). */
  handle(request: Request): Promise<Response>;
  /** The Node HTTP server (requests and WebSocket upgrades), not listening until `listen`. */
  readonly httpServer: HttpServer;
  /** Listens on `host:port` (default host 127.0.0.1; port 0: a free one) and resolves to the port. */
  listen(port: number, host?: string): Promise<{ port: number }>;
  /** Stops accepting, closes the sync sockets (1001), waits for pending work and closes the stores (not the database). */
  close(): Promise<void>;
}

/** A server of the evstore service over `database`. */
export function createServer(options: CreateServerOptions): EvstoreServer;

export interface OpenDatabaseOptions {
  /** `postgres://…` (or `postgresql://…`): a `pg.Pool` on that PostgreSQL (peer dependency `pg`). */
  url?: string;
  /** Without `url`: the embedded PostgreSQL (peer dependency `@electric-sql/pglite`) kept in this directory (in memory without one). */
  dataDir?: string;
}

/** Opens the database for `createServer`; `close()` ends it (after the server's `close`). */
export function openDatabase(options?: OpenDatabaseOptions): Promise<{ database: ServerDatabase; close(): Promise<void> }>;

/** The query interface over a node-postgres `pg.Pool`. */
export function poolDatabase(pool: unknown): ServerDatabase;

/** The query interface over a PGlite instance. */
export function pgliteDatabase(pglite: unknown): ServerDatabase;
