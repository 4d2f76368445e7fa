// The IndexedDB contenders (run in a browser page), each with the same guarantees: one readwrite
// transaction per append, the expected revision checked against the stream head read through a
// [streamId, revision] index inside that transaction, a dense global position, unique event ids.
import { EventStore } from "evstore";
import Dexie from "dexie";

const conflict = () => Object.assign(new Error("wrong expected revision"), { code: "WRONG_EXPECTED_REVISION" });

/** A hand-written raw IndexedDB event log: the reference. */
const raw = {
  async open(name) {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => {
        const events = req.result.createObjectStore("events", { keyPath: "position" });
        events.createIndex("stream", ["streamId", "revision"], { unique: true });
        events.createIndex("id", "id", { unique: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  },
  append(db, streamId, events, rev) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction("events", "readwrite");
      const store = tx.objectStore("events");
      const range = IDBKeyRange.bound([streamId, 0], [streamId, Infinity]);
      let head, last, pending = 2, result;
      const write = () => {
        const current = head ?? null;
        if (current !== rev) {
          tx.abort();
          return reject(conflict());
        }
        let position = last == null ? 0 : last + 1;
        let revision = current == null ? 0 : current + 1;
        const createdAt = Date.now();
        for (const e of events) {
          store.add({ position: position++, id: e.id ?? crypto.randomUUID(), streamId, type: e.type, revision: revision++, data: e.data ?? null, metadata: e.metadata ?? {}, createdAt });
        }
        result = revision - 1;
      };
      const done = () => --pending === 0 && write();
      store.index("stream").openKeyCursor(range, "prev").onsuccess = (ev) => {
        head = ev.target.result ? ev.target.result.key[1] : null;
        done();
      };
      store.openKeyCursor(null, "prev").onsuccess = (ev) => {
        last = ev.target.result ? ev.target.result.key : null;
        done();
      };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
    });
  },
  readStream(db, streamId) {
    return new Promise((resolve, reject) => {
      const req = db.transaction("events").objectStore("events").index("stream").getAll(IDBKeyRange.bound([streamId, 0], [streamId, Infinity]));
      req.onsuccess = () => resolve(withDates(req.result));
      req.onerror = () => reject(req.error);
    });
  },
  readAllPage(db, from, max) {
    return new Promise((resolve, reject) => {
      const req = db.transaction("events").objectStore("events").getAll(IDBKeyRange.lowerBound(from), max);
      req.onsuccess = () => resolve(withDates(req.result));
      req.onerror = () => reject(req.error);
    });
  },
  close: (db) => db.close(),
};

/** The contract's recorded events carry `createdAt` as a `Date`: every contender converts. */
const withDates = (records) => records.map((r) => ({ ...r, createdAt: new Date(r.createdAt) }));

/** The same log with Dexie. */
const dexie = {
  async open(name) {
    const db = new Dexie(name);
    db.version(1).stores({ events: "position, &[streamId+revision], &id" });
    await db.open();
    return db;
  },
  append(db, streamId, events, rev) {
    return db.transaction("rw", db.events, async () => {
      const headEvent = await db.events.where("[streamId+revision]").between([streamId, Dexie.minKey], [streamId, Dexie.maxKey]).last();
      const head = headEvent ? headEvent.revision : null;
      if (head !== rev) throw conflict();
      const lastEvent = await db.events.orderBy("position").last();
      let position = lastEvent ? lastEvent.position + 1 : 0;
      let revision = head == null ? 0 : head + 1;
      const createdAt = Date.now();
      await db.events.bulkAdd(
        events.map((e) => ({ position: position++, id: e.id ?? crypto.randomUUID(), streamId, type: e.type, revision: revision++, data: e.data ?? null, metadata: e.metadata ?? {}, createdAt })),
      );
      return revision - 1;
    });
  },
  readStream: async (db, streamId) =>
    withDates(await db.events.where("[streamId+revision]").between([streamId, Dexie.minKey], [streamId, Dexie.maxKey]).toArray()),
  readAllPage: async (db, from, max) => withDates(await db.events.where("position").aboveOrEqual(from).limit(max).toArray()),
  close: (db) => db.close(),
};

/** evstore on IndexedDB, through the package. */
const evstore = {
  open: (name) => EventStore.open({ storage: "indexeddb", name }),
  append: (s, streamId, events, rev) => s.append(streamId, events, { expectedRevision: rev ?? "no_stream" }).then((r) => r.nextExpectedRevision),
  readStream: (s, streamId) => s.readStream(streamId),
  readAllPage: (s, from, max) => s.readAll({ fromPosition: from, maxCount: max }),
  close: (s) => s.close(),
};

export const idbContenders = { "raw IndexedDB": raw, "evstore IndexedDB": evstore, Dexie: dexie };
