// What only the PostgreSQL storage does: tenants of one database are isolated, two stores of one
// tenant (two server processes) append concurrently with dense positions and nothing lost, an
// acknowledged append is in the tables (read with plain SQL) and announced by NOTIFY, a taken id
// written through another store is idempotent, the open options are checked, and tables of a newer
// evstore are refused. On a real PostgreSQL cluster (and PGlite where it applies).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { EventStore } from "evstore";
import { pgliteDatabase } from "../../../server/db.js";
import { startCluster } from "./cluster.mjs";

const open = (database, tenant, o = {}) => EventStore.open({ storage: "postgres", database, tenant, ...o });

/** Rejects with an EventStoreError of `code`, or fails. */
async function rejectsWith(promise, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, "EventStoreError");
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/**
 * `writers` appenders per store, each making `appends` appends of 1–3 events to streams shared by
 * both stores, all at once; returns every acknowledged result with what it wrote.
 */
async function concurrentAppends(stores, writers, appends) {
  const acked = [];
  await Promise.all(
    stores.flatMap((store, s) =>
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < appends; i++) {
          const events = Array.from({ length: 1 + ((s + w + i) % 3) }, (_, k) => ({ type: "Counted", data: { s, w, i, k } }));
          const result = await store.append(`Counter-${(w + i) % 4}`, events);
          acked.push({ result, events });
        }
      }),
    ),
  );
  return acked;
}

/** Checks that the log is dense and holds every acknowledged event, at its position. */
async function assertDenseAndKept(store, acked) {
  const log = await store.readAll();
  const written = acked.reduce((n, a) => n + a.events.length, 0);
  assert.equal(log.length, written, "every acknowledged event, and nothing else");
  assert.deepEqual(log.map((e) => e.position), log.map((_, i) => i), "positions are dense");
  for (const { result, events } of acked) {
    const first = result.position - events.length + 1;
    events.forEach((e, k) => assert.deepEqual(log[first + k].data, e.data, `position ${first + k}`));
  }
  const revisions = new Map();
  for (const e of log) {
    const next = revisions.get(e.streamId) ?? 0;
    assert.equal(e.revision, next, `${e.streamId} revisions are dense`);
    revisions.set(e.streamId, next + 1);
  }
}

describe("PostgreSQL", () => {
  let cluster;
  let db;
  before(async () => {
    cluster = await startCluster();
    db = cluster.database();
  });
  after(() => cluster?.stop());

  test("two tenants in one database are isolated", async () => {
    const a = await open(db, "iso-a");
    const b = await open(db, "iso-b");
    await a.append("Order-1", [{ type: "Placed", data: 1 }, { type: "Paid", data: 2 }]);
    await b.append("Order-1", [{ type: "Placed", data: 3 }]);
    assert.deepEqual((await a.readAll()).map((e) => [e.position, e.data]), [[0, 1], [1, 2]]);
    assert.deepEqual((await b.readAll()).map((e) => [e.position, e.data]), [[0, 3]]);
    assert.equal(await b.streamRevision("Order-1"), 0);
    await b.deleteStream("Order-1");
    assert.equal((await a.readStream("Order-1")).length, 2, "a deletion in one tenant leaves the other's stream");
    const [{ count }] = await db.query("SELECT count(*)::int AS count FROM evstore_events WHERE tenant = 'iso-a'");
    assert.equal(count, 2);
  });

  test("two stores of one tenant (two server processes) appending at once: dense positions, nothing lost", async () => {
    // Each store on a pool of its own, as two processes would be.
    const stores = [await open(cluster.database(4), "busy"), await open(cluster.database(4), "busy")];
    const acked = await concurrentAppends(stores, 4, 15);
    await assertDenseAndKept(stores[0], acked);
    const [{ head }] = await db.query("SELECT head FROM evstore_tenants WHERE tenant = 'busy'");
    assert.equal(head, (await stores[1].readAll()).length - 1, "the head row is the last position");
  });

  test("an acknowledged append is in the tables, and NOTIFY announces it after the commit", async () => {
    const listener = cluster.pool(1);
    const client = await listener.connect();
    const payloads = [];
    client.on("notification", (n) => n.channel === "evstore" && payloads.push(n.payload));
    await client.query("LISTEN evstore");
    try {
      const store = await open(db, "acked");
      const id = "0190a8e4-7b3c-7d2e-8f00-000000000077";
      await store.append("Cart-1", [{ type: "Added", data: { sku: "a" } }]);
      const r = await store.append("Cart-1", [{ type: "Added", data: { sku: "b", n: 1.5 }, metadata: { by: "x" }, id }]);
      assert.deepEqual(r, { nextExpectedRevision: 1, position: 1 });
      // A plain query, on a connection of its own.
      const plain = new (await import("pg")).default.Client({ connectionString: cluster.url });
      await plain.connect();
      const { rows } = await plain.query("SELECT position, id, stream_id, revision, type, data, metadata, removed FROM evstore_events WHERE tenant = 'acked' ORDER BY position");
      await plain.end();
      assert.deepEqual(
        rows.map((row) => [Number(row.position), row.stream_id, Number(row.revision), row.type, row.removed]),
        [[0, "Cart-1", 0, "Added", 0], [1, "Cart-1", 1, "Added", 0]],
      );
      assert.equal(rows[1].id, id);
      assert.deepEqual(JSON.parse(rows[1].data), { sku: "b", n: 1.5 }, "data is the appended JSON text");
      assert.deepEqual(JSON.parse(rows[1].metadata), { by: "x" });
      const end = Date.now() + 5000;
      while (payloads.length < 2 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(payloads.map((p) => JSON.parse(p)), [["acked", 0, db.origin], ["acked", 1, db.origin]], "[tenant, head, origin]");
    } finally {
      client.release();
    }
  });

  test("an id taken through another store of the tenant: the retry is idempotent, a different stream is DUPLICATE_EVENT_ID", async () => {
    const a = await open(db, "ids");
    const b = await open(cluster.database(2), "ids");
    const id = "0190a8e4-7b3c-7d2e-8f00-000000000042";
    const first = await a.append("S-1", [{ type: "E", id }]);
    // b does not look ids up first (the unique constraint refuses the row: a conflict, then a
    // decision with the ids looked up).
    assert.deepEqual(await b.append("S-1", [{ type: "E", id }]), first);
    await rejectsWith(b.append("S-2", [{ type: "E", id }]), "DUPLICATE_EVENT_ID");
    assert.equal((await b.readAll()).length, 1, "nothing else was written");
  });
});

describe("PGlite", () => {
  let pglite;
  let db;
  before(async () => {
    pglite = await PGlite.create();
    db = pgliteDatabase(pglite);
  });
  after(() => pglite?.close());

  test("two stores of one tenant appending at once: dense positions, nothing lost", async () => {
    const stores = [await open(db, "busy"), await open(db, "busy")];
    const acked = await concurrentAppends(stores, 3, 10);
    await assertDenseAndKept(stores[1], acked);
  });

  test("open: a missing or malformed database or tenant is INVALID_ARGUMENT", async () => {
    await rejectsWith(EventStore.open({ storage: "postgres", tenant: "t" }), "INVALID_ARGUMENT", /database/);
    await rejectsWith(open({ query() {} }, "t"), "INVALID_ARGUMENT", /database/);
    await rejectsWith(open("postgres://localhost/x", "t"), "INVALID_ARGUMENT", /database/);
    await rejectsWith(EventStore.open({ storage: "postgres", database: db }), "INVALID_ARGUMENT", /tenant/);
    await rejectsWith(open(db, ""), "INVALID_ARGUMENT", /tenant/);
    await rejectsWith(open(db, 7), "INVALID_ARGUMENT", /tenant/);
    await rejectsWith(open(db, "t", { tennant: "x" }), "INVALID_ARGUMENT", /tennant/);
    assert.deepEqual(await db.query("SELECT tenant FROM evstore_tenants WHERE tenant IN ('t', '')"), [], "a refused open creates no tenant");
  });

  test("tables of a newer evstore are refused with STORAGE_ERROR, and left as they are", async () => {
    const other = await PGlite.create();
    try {
      const fresh = pgliteDatabase(other);
      await open(fresh, "t");
      await fresh.query("UPDATE evstore_schema SET version = 99 WHERE key = 'schema'");
      await rejectsWith(open(fresh, "t"), "STORAGE_ERROR", /newer evstore/);
      assert.deepEqual(await fresh.query("SELECT version FROM evstore_schema"), [{ version: 99 }]);
    } finally {
      await other.close();
    }
  });

  test("round trips: a stream read is one query, an append one transaction of three statements", async () => {
    // Every statement sent, outside a transaction ("Q") or inside one ("T"); each transaction
    // adds its BEGIN and COMMIT.
    const sent = [];
    let transactions = 0;
    const counted = {
      query: (sql, params) => (sent.push(`Q ${sql}`), db.query(sql, params)),
      transaction: (fn) => (transactions++, db.transaction((q) => fn((sql, params) => (sent.push(`T ${sql}`), q(sql, params))))),
    };
    const store = await open(counted, "counted");
    await store.append("Order-1", [{ type: "Placed" }, { type: "Paid" }]);
    await store.append("Kept-1", [{ type: "A" }, { type: "B" }, { type: "C" }]);
    await store.setStreamMetadata("Kept-1", { maxCount: 2 });
    await store.append("Tagged-1", [{ type: "A" }]);
    await store.setStreamMetadata("Tagged-1", { custom: { owner: "ops" } });
    const measure = async (call) => {
      sent.length = 0;
      transactions = 0;
      const result = await call();
      return { result, sent: [...sent], transactions };
    };

    const read = await measure(() => store.readStream("Order-1"));
    assert.deepEqual(read.result.map((e) => e.type), ["Placed", "Paid"]);
    assert.equal(read.sent.length, 1, `readStream: the head, the events and the stream's record in one query:\n${read.sent.join("\n")}`);
    assert.equal(read.transactions, 0);

    const tagged = await measure(() => store.readStream("Tagged-1"));
    assert.deepEqual(tagged.result.map((e) => e.type), ["A"]);
    assert.equal(tagged.sent.length, 1, `a record that hides nothing, read along:\n${tagged.sent.join("\n")}`);

    // A record that hides events: the core then reads the stream's head and its visible range.
    const kept = await measure(() => store.readStream("Kept-1"));
    assert.deepEqual(kept.result.map((e) => e.type), ["B", "C"], "the record read along hides what maxCount drops");
    assert.equal(kept.sent.length, 3, kept.sent.join("\n"));

    const none = await measure(() => store.readStream("Nothing-1"));
    assert.deepEqual(none.result, []);
    assert.equal(none.sent.length, 1, none.sent.join("\n"));

    await store.readAll(); // loads the registry of lifecycle records (once: its reads are not counted)
    const all = await measure(() => store.readAll());
    assert.equal(all.result.length, 7, "every event but the one maxCount hides");
    assert.equal(all.sent.length, 1, all.sent.join("\n"));

    const appended = await measure(() => store.append("Order-1", [{ type: "Shipped" }], { expectedRevision: 1 }));
    assert.deepEqual(appended.result, { nextExpectedRevision: 2, position: 8 });
    assert.equal(appended.transactions, 1);
    assert.equal(
      appended.sent.length,
      3,
      `append: the lock, the stream's head with its record, the insert with the new head:\n${appended.sent.join("\n")}`,
    );
    await rejectsWith(store.append("Order-1", [{ type: "Late" }], { expectedRevision: 1 }), "WRONG_EXPECTED_REVISION");
  });

  test("a failing query is a STORAGE_ERROR with the database's error as its cause; nothing is written", async () => {
    const other = await PGlite.create();
    try {
      const fresh = pgliteDatabase(other);
      const store = await open(fresh, "t");
      await store.append("S-1", [{ type: "E" }]);
      await fresh.query("ALTER TABLE evstore_events RENAME TO evstore_events_away");
      await assert.rejects(store.readAll(), (e) => {
        assert.equal(e.code, "STORAGE_ERROR", e.message);
        assert.match(e.message, /evstore_events/);
        assert.ok(e.cause instanceof Error, "the database's error is the cause");
        return true;
      });
      await rejectsWith(store.append("S-1", [{ type: "E" }]), "STORAGE_ERROR");
      await fresh.query("ALTER TABLE evstore_events_away RENAME TO evstore_events");
      assert.equal((await store.readAll()).length, 1, "the failed append wrote nothing");
      assert.deepEqual(await store.append("S-1", [{ type: "E" }]), { nextExpectedRevision: 1, position: 1 }, "the tenant's lock was released");
    } finally {
      await other.close();
    }
  });
});
