// A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir, `pg_ctl start` on a free
// 127.0.0.1 port (its socket in the same dir), trust auth for the user `evstore`; `stop()` kills it
// (`pg_ctl stop -m immediate`) and removes the dir. A cluster left running when the process exits
// (a test crashed before its `after`) is stopped on exit too. When the tests run as root (CI
// containers), the cluster runs as the unprivileged `postgres` user: PostgreSQL refuses root.
// The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin (scripts/setup.sh
// installs the `postgresql` package when neither has them).
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { poolDatabase } from "../../../server/db.js";

/** The path of PostgreSQL's `name` binary (initdb, pg_ctl), or null when it is not installed. */
export function postgresBin(name) {
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, name))) return join(dir, name);
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  for (const v of versions) if (existsSync(join(root, v, "bin", name))) return join(root, v, "bin", name);
  return null;
}

/** A port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The uid and gid of `user`, from /etc/passwd. */
function account(user) {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`the tests run as root and there is no ${user} user to run PostgreSQL as`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Starts a cluster. Resolves with `{ port, url, pool(max), database(max), stop() }`: `url` is a
 * `postgres://` URL of its database `evstore`, `pool(max)` a new `pg.Pool` on it, `database(max)`
 * a new database object (server/db.js) on a new pool; `stop` closes the database objects (their
 * listeners hold a client of their pool), then the pools.
 */
export async function startCluster() {
  const initdb = postgresBin("initdb");
  const pgCtl = postgresBin("pg_ctl");
  if (!initdb || !pgCtl) throw new Error("PostgreSQL is not installed (initdb, pg_ctl): run scripts/setup.sh");
  const dir = mkdtempSync(join(tmpdir(), "evstore-pg-"));
  const data = join(dir, "data");
  const socket = join(dir, "socket");
  mkdirSync(socket);
  const root = process.getuid?.() === 0;
  if (root) {
    const { uid, gid } = account("postgres");
    chownSync(dir, uid, gid);
    chownSync(socket, uid, gid);
  }
  const run = (bin, args) =>
    execFileSync(root ? "runuser" : bin, root ? ["-u", "postgres", "--", bin, ...args] : args, { stdio: "pipe", cwd: dir });
  let started = false;
  const stopServer = () => {
    if (!started) return;
    started = false;
    try {
      run(pgCtl, ["stop", "-D", data, "-m", "immediate", "-w"]);
    } catch {
      // already gone
    }
  };
  const onExit = () => {
    stopServer();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  const pools = [];
  const databases = [];
  try {
    run(initdb, ["-D", data, "-U", "evstore", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let port;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        const options = `-p ${port} -k ${socket} -c listen_addresses=127.0.0.1 -c fsync=off`;
        run(pgCtl, ["start", "-D", data, "-w", "-t", "60", "-l", join(dir, "log"), "-o", options]);
        started = true;
        break;
      } catch (e) {
        if (attempt >= 2) throw new Error(`pg_ctl start failed: ${e.stderr ?? e.message}\n${readFileSync(join(dir, "log"), "utf8")}`);
      }
    }
    const admin = new pg.Client({ host: "127.0.0.1", port, user: "evstore", database: "postgres" });
    await admin.connect();
    await admin.query("CREATE DATABASE evstore");
    await admin.end();
    const url = `postgres://evstore@127.0.0.1:${port}/evstore`;
    return {
      port,
      url,
      pool(max = 10) {
        const pool = new pg.Pool({ connectionString: url, max });
        pools.push(pool);
        return pool;
      },
      database(max = 10) {
        const database = poolDatabase(this.pool(max));
        databases.push(database);
        return database;
      },
      async stop() {
        await Promise.allSettled(databases.map((d) => d.close()));
        await Promise.allSettled(pools.map((p) => p.end()));
        process.removeListener("exit", onExit);
        onExit();
      },
    };
  } catch (e) {
    process.removeListener("exit", onExit);
    onExit();
    throw e;
  }
}
