// Live across processes: two database objects on one PostgreSQL (two pools, as two server
// processes would hold) with a store of one tenant on each. A subscription on one gets what the
// other appends, live; a lifecycle change through one is seen by the other's reads once its
// wake-up arrived; the listener reconnects after its connection is killed and nothing committed
// meanwhile is lost; watchers of other tenants and of the committing object are not woken;
// `close()` ends the listener. On a throwaway cluster, and on PGlite (in one process) where it
// applies.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { EventStore } from "evstore";
import { pgliteDatabase, poolDatabase } from "../../../server/db.js";
import { startCluster } from "./cluster.mjs";

const open = (database, tenant) => EventStore.open({ storage: "postgres", database, tenant });

/** How long a test waits for something that must happen before it fails. */
const PATIENCE_MS = 10_000;

/** `promise`, or a rejection naming `what` after PATIENCE_MS. */
function within(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), PATIENCE_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves at the next wake-up of `tenant`'s watchers on `db` (watching from now on). */
function nextWake(db, tenant) {
  return within(
    new Promise((resolve) => {
      const unwatch = db.watch(tenant, () => {
        unwatch();
        resolve();
      });
    }),
    `a wake-up of ${tenant}`,
  );
}

/** A watcher of `tenant` on `db` that counts its wake-ups: `{ count, until(n), unwatch }`. */
function counter(db, tenant) {
  const waiting = [];
  const c = { count: 0 };
  c.unwatch = db.watch(tenant, () => {
    c.count++;
    for (const w of waiting.splice(0)) {
      if (c.count >= w.n) w.resolve();
      else waiting.push(w);
    }
  });
  c.until = (n) =>
    c.count >= n ? Promise.resolve() : within(new Promise((resolve) => waiting.push({ n, resolve })), `${n} wake-ups of ${tenant}`);
  return c;
}

/** A subscription from the start (with `options`): `{ seen, caughtUp, until(n), sub }`. */
function follow(store, options = {}) {
  const seen = [];
  const waiting = [];
  let caughtUp;
  const caught = new Promise((resolve) => (caughtUp = resolve));
  const sub = store.subscribe(
    (e) => {
      seen.push(e);
      for (const w of waiting.splice(0)) {
        if (seen.length >= w.n) w.resolve();
        else waiting.push(w);
      }
    },
    { ...options, onCaughtUp: () => caughtUp() },
  );
  return {
    seen,
    sub,
    caughtUp: within(caught, "the subscription's catch-up"),
    until(n) {
      if (seen.length >= n) return Promise.resolve();
      return within(new Promise((resolve) => waiting.push({ n, resolve })), `${n} events in the subscription`);
    },
  };
}

/**
 * The cases both implementations run. `pair()` gives `{ a, b }`: two database objects on one
 * database whose listeners are up (a new watcher gets no wake-up until something happens).
 */
function shared(pair) {
  test("a subscription on store A receives, live, an event appended through store B", async () => {
    const { a, b } = pair();
    const [sa, sb] = [await open(a, "live"), await open(b, "live")];
    const f = follow(sa);
    await f.caughtUp;
    await sb.append("Chat-1", [{ type: "Said", data: { text: "hi" } }]);
    await f.until(1);
    assert.deepEqual(f.seen.map((e) => [e.position, e.streamId, e.data]), [[0, "Chat-1", { text: "hi" }]]);
    await sa.append("Chat-1", [{ type: "Said", data: { text: "own" } }]);
    await sb.append("Chat-1", [{ type: "Said", data: { text: "again" } }]);
    await f.until(3);
    assert.deepEqual(f.seen.map((e) => e.data.text), ["hi", "own", "again"], "in order, no gap, no duplicate");
    f.sub.unsubscribe();
    await sa.close();
    await sb.close();
  });

  test("maxCount set through store B hides events in store A's reads once A was woken", async () => {
    const { a, b } = pair();
    const [sa, sb] = [await open(a, "life"), await open(b, "life")];
    await sb.append("Order-1", [1, 2, 3].map((n) => ({ type: "E", data: n })));
    assert.deepEqual((await sa.readStream("Order-1")).map((e) => e.data), [1, 2, 3], "A's registry is loaded");
    assert.equal((await sa.readAll()).length, 3);
    // Registered after the store's own watcher: when it is woken, the store was woken before.
    const woken = nextWake(a, "life");
    await sb.setStreamMetadata("Order-1", { maxCount: 1 });
    await woken;
    assert.deepEqual((await sa.readStream("Order-1")).map((e) => e.data), [3]);
    assert.deepEqual((await sa.readAll()).filter((e) => e.streamId === "Order-1").map((e) => e.data), [3]);
    await sa.close();
    await sb.close();
  });

  test("maxAge set through store B: A's readAll hides what aged out once A was woken (its registry reloaded)", async () => {
    const { a, b } = pair();
    const [sa, sb] = [await open(a, "aging"), await open(b, "aging")];
    await sb.append("Temp-1", [{ type: "E", data: 1 }]);
    const [event] = await sa.readAll(); // A's registry: no stream with retention
    const woken = nextWake(a, "aging");
    await sb.setStreamMetadata("Temp-1", { maxAge: 1 });
    await woken;
    // Until the event is older than maxAge: then only a reloaded registry hides it in readAll.
    const due = new Date(event.createdAt).getTime() + 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 50));
    assert.deepEqual((await sa.readAll()).map((e) => e.streamId), ["$$Temp-1"]);
    assert.deepEqual(await sa.readStream("Temp-1"), []);
    await sa.close();
    await sb.close();
  });

  test("watchers of another tenant and of the committing object are not woken", async () => {
    const { a, b } = pair();
    const [own, other] = [await open(a, "iso-x"), await open(b, "iso-x")];
    const x = counter(a, "iso-x");
    const y = counter(a, "iso-y");
    const xOnB = counter(b, "iso-x");
    await own.append("S-1", [{ type: "E" }]); // through A: A's watchers are not told
    await own.setStreamMetadata("S-1", { maxCount: 5 });
    const woken = x.until(1);
    await other.append("S-1", [{ type: "E" }]); // through B: A's are
    await woken;
    // One connection delivers the announcements in commit order: A's own came before B's.
    assert.equal(x.count, 1, "woken once, by B's commit only");
    assert.equal(y.count, 0, "another tenant's watcher is not woken");
    await xOnB.until(2); // B's watcher, by A's two commits
    assert.deepEqual((await own.readAll()).map((e) => e.position), [0, 1, 2]);
    for (const c of [x, y, xOnB]) c.unwatch();
    await own.close();
    await other.close();
  });

  test("an unwatched watcher is not woken; a closed store's wake-up is unregistered", async () => {
    const { a, b } = pair();
    const [sa, sb] = [await open(a, "closing"), await open(b, "closing")];
    const gone = counter(a, "closing");
    gone.unwatch();
    await sa.close();
    const later = counter(a, "closing");
    await sb.append("S-1", [{ type: "E" }]);
    await later.until(1);
    assert.equal(gone.count, 0, "an unwatched watcher is not woken");
    later.unwatch();
    await sb.close();
  });

  test("a commit that writes only meta entries (a subscription's checkpoint) is announced", async () => {
    const { a, b } = pair();
    const [sa, sb] = [await open(a, "meta-only"), await open(b, "meta-only")];
    await sb.append("S-1", [{ type: "E" }]);
    const x = counter(b, "meta-only");
    const f = follow(sa, { checkpoint: "reader" });
    await f.caughtUp; // the checkpoint of position 0 is saved through A: no event written
    await x.until(1);
    assert.deepEqual((await sb.readAll()).map((e) => e.position), [0], "only meta was written");
    f.sub.unsubscribe();
    x.unwatch();
    await sa.close();
    await sb.close();
  });
}

describe("PostgreSQL", () => {
  let cluster;
  let a;
  let b;
  const pools = [];
  /** A pool whose connections carry `name` (pg_stat_activity.application_name). */
  const pool = (name) => {
    const p = new pg.Pool({ connectionString: cluster.url, application_name: name, max: 4 });
    pools.push(p);
    return p;
  };
  /** The pids of `name`'s backends that listen (their last statement was the LISTEN). */
  const listeners = async (name) =>
    (await cluster.pool(1).query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN evstore'", [name])).rows.map((r) => r.pid);
  let admin;

  before(async () => {
    cluster = await startCluster();
    admin = cluster.pool(1);
    a = poolDatabase(pool("live-a"));
    b = poolDatabase(pool("live-b"));
    // The first watch starts the listener; once it listens, every watcher is woken once.
    await Promise.all([nextWake(a, "-"), nextWake(b, "-")]);
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled(pools.map((p) => p.end()));
    await cluster?.stop();
  });

  shared(() => ({ a, b }));

  test("the listener reconnects after its connection is killed; what was committed meanwhile is delivered", async () => {
    const [sa, sb] = [await open(a, "reconnect"), await open(b, "reconnect")];
    const f = follow(sa);
    await f.caughtUp;
    await sb.append("S-1", [{ type: "E", data: 0 }]);
    await f.until(1);
    const idle = counter(a, "reconnect-idle"); // a tenant nobody writes to
    const [pid] = await listeners("live-a");
    assert.ok(pid, "A listens on a connection of its pool");
    assert.deepEqual((await admin.query("SELECT pg_terminate_backend($1) AS done", [pid])).rows, [{ done: true }]);
    // Wait until the backend is gone, then commit while A does not listen (at least not on it).
    await within(
      (async () => {
        while ((await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rows.length) await new Promise((r) => setTimeout(r, 10));
      })(),
      "the listener's backend to end",
    );
    await sb.append("S-1", [1, 2].map((n) => ({ type: "E", data: n })));
    await sb.append("S-2", [{ type: "E", data: 3 }]);
    await f.until(4);
    assert.deepEqual(f.seen.map((e) => [e.position, e.data]), [[0, 0], [1, 1], [2, 2], [3, 3]], "caught up, in order, nothing lost");
    await idle.until(1); // every watcher is woken once when A listens again
    assert.equal(idle.count, 1);
    const [again] = await listeners("live-a");
    assert.ok(again && again !== pid, "A listens on a new connection");
    // And it is live again.
    await sb.append("S-1", [{ type: "E", data: 4 }]);
    await f.until(5);
    assert.equal(f.seen[4].data, 4);
    idle.unwatch();
    f.sub.unsubscribe();
    await sa.close();
    await sb.close();
  });

  test("close() ends the listener: a process that watched can exit", async () => {
    const db = fileURLToPath(new URL("../../../server/db.js", import.meta.url));
    const script = `
      import pg from "pg";
      import { poolDatabase } from ${JSON.stringify(db)};
      const pool = new pg.Pool({ connectionString: ${JSON.stringify(cluster.url)}, application_name: "live-exit" });
      const database = poolDatabase(pool);
      await new Promise((resolve) => database.watch("t", resolve));
      console.log("listening");
      await database.close();
      await pool.end();
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("../../..", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    try {
      const code = await within(new Promise((resolve) => child.on("exit", resolve)), "the process to exit on its own");
      assert.equal(code, 0);
      assert.equal(out.trim(), "listening");
      assert.deepEqual(await listeners("live-exit"), [], "no listener left");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("PGlite", () => {
  let pglite;
  let a;
  let b;
  before(async () => {
    pglite = await PGlite.create();
    // Two database objects on one PGlite: the in-process analogue of two processes' pools.
    a = pgliteDatabase(pglite);
    b = pgliteDatabase(pglite);
    await Promise.all([nextWake(a, "-"), nextWake(b, "-")]);
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await pglite?.close();
  });

  shared(() => ({ a, b }));

  test("close() ends the listener: its watchers are not woken after", async () => {
    const c = pgliteDatabase(pglite);
    await nextWake(c, "-");
    const before = counter(c, "after-close");
    const store = await open(b, "after-close");
    const woken = before.until(1);
    await store.append("S-1", [{ type: "E" }]);
    await woken;
    await c.close();
    const seen = counter(b, "after-close"); // to know the next announcement was delivered
    const other = await open(a, "after-close");
    await other.append("S-1", [{ type: "E" }]);
    await seen.until(1);
    assert.equal(before.count, 1, "not woken after close()");
    assert.doesNotThrow(() => c.watch("after-close", () => assert.fail("woken after close()"))());
    seen.unwatch();
    await store.close();
    await other.close();
  });
});
