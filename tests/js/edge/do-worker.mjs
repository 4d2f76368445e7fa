// A Cloudflare worker whose Durable Object runs one case of the package's contract suite on
// `storage: "durable-object"` (the object's own SQLite), one fresh object per case; and a small
// append/read API on a named object for the persistence tests.
import { DurableObject } from "cloudflare:workers";
import { EventStore } from "evstore";
import { cases } from "./contract.mjs";

export class ContractCase extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/case") {
      const open = (o = {}) =>
        typeof o === "object" && o !== null
          ? EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage, ...o })
          : EventStore.open(o);
      try {
        await cases(open)[url.searchParams.get("name")]();
        return Response.json(null);
      } catch (e) {
        return Response.json(String(e?.stack ?? e));
      }
    }
    if (url.pathname === "/schema-1") return Response.json(await this.fromSchemaOne());
    this.store ??= await EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage });
    if (url.pathname === "/append") {
      const { streamId, events, expectedRevision } = await request.json();
      try {
        return Response.json(await this.store.append(streamId, events, { expectedRevision }));
      } catch (e) {
        return Response.json({ error: { code: e.code, message: e.message, causeName: e.cause?.name } }, { status: 409 });
      }
    }
    if (url.pathname === "/all") return Response.json(await this.store.readAll());
    if (url.pathname === "/fill") return Response.json(await this.fill(await request.json()));
    if (url.pathname === "/tombstone" || url.pathname === "/delete") {
      const { streamId } = await request.json();
      const started = performance.now();
      try {
        const result = url.pathname === "/tombstone" ? await this.store.tombstoneStream(streamId) : await this.store.deleteStream(streamId);
        return Response.json({ ...result, ms: performance.now() - started });
      } catch (e) {
        return Response.json({ error: { code: e.code, message: e.message } }, { status: 409 });
      }
    }
    if (url.pathname === "/state") return Response.json(await this.state(await request.json()));
    if (url.pathname === "/kv") {
      // A storage without the SQL API is refused clearly.
      try {
        await EventStore.open({ storage: "durable-object", durableObjectStorage: { get() {} } });
        return Response.json("opened");
      } catch (e) {
        return Response.json({ name: e.name, code: e.code, message: e.message });
      }
    }
    return new Response("not found", { status: 404 });
  }

  /** Appends `count` events carrying `marker` (in data and metadata) to `streamId`, `batch` per append. */
  async fill({ streamId, count, batch, marker }) {
    for (let i = 0; i < count; i += batch) {
      const events = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({ type: "Marked", data: { marker, n: i + j }, metadata: { marker } }));
      await this.store.append(streamId, events);
    }
    return { revision: await this.store.streamRevision(streamId) };
  }

  /**
   * What the store and its tables hold of `streamId`: how readStream answers (the number of events,
   * or the error code), its events and tombstones in readAll, and how many rows of any `evstore_`
   * table contain `marker` (raw SQL, every column).
   */
  async state({ streamId, marker }) {
    let read;
    try {
      read = { events: (await this.store.readStream(streamId)).length };
    } catch (e) {
      read = { code: e.code, streamId: e.streamId };
    }
    const log = await this.store.readAll();
    const ofStream = log.filter((e) => e.streamId === streamId);
    const sql = this.ctx.storage.sql;
    let markerRows = 0;
    for (const { name } of sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evstore!_%' ESCAPE '!'").toArray()) {
      for (const row of sql.exec(`SELECT * FROM "${name}"`)) if (JSON.stringify(row).includes(marker)) markerRows++;
    }
    return {
      read,
      marked: ofStream.filter((e) => e.type === "Marked").length,
      tombstones: ofStream.filter((e) => e.type === "$streamDeleted").length,
      markerRows,
    };
  }

  /**
   * Writes the tables as evstore's schema version 1 wrote them (three events, checkpoint "proj"
   * at 1), then opens the store twice: what a subscription on "proj" delivers each time, the
   * log, and where the checkpoint now lives.
   */
  async fromSchemaOne() {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE evstore_schema (key TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    sql.exec("INSERT INTO evstore_schema (key, version) VALUES ('schema', 1)");
    sql.exec(`CREATE TABLE evstore_events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL,
      type TEXT NOT NULL, revision INTEGER NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created_at INTEGER NOT NULL,
      UNIQUE (stream_id, revision))`);
    sql.exec("CREATE TABLE evstore_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec("CREATE TABLE evstore_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)");
    for (let p = 0; p < 3; p++) {
      sql.exec("INSERT INTO evstore_events VALUES (?, ?, 'Doc-1', ?, ?, '{}', '{}', 1)", p, `0190b6c6-0000-7000-8000-00000000000${p}`, `E${p}`, p);
    }
    sql.exec("INSERT INTO evstore_checkpoints (name, position) VALUES ('proj', 1)");
    const resumed = async () => {
      const store = await EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage });
      const types = await new Promise((resolve) => {
        const seen = [];
        const sub = store.subscribe((e) => void seen.push(e.type), { checkpoint: "proj", onCaughtUp: () => (sub.unsubscribe(), resolve(seen)) });
      });
      const all = (await store.readAll()).map((e) => e.type);
      await store.close();
      return { types, all };
    };
    const first = await resumed();
    const again = await resumed();
    const legacy = sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'evstore_checkpoints'").one().n;
    const moved = sql.exec("SELECT value FROM evstore_meta WHERE key = 'checkpoint/proj'").one().value;
    const version = sql.exec("SELECT version FROM evstore_schema WHERE key = 'schema'").one().version;
    return { first, again, legacy, moved, version };
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/cases") return Response.json(Object.keys(cases(() => {})));
    const name = url.searchParams.get("object") ?? url.searchParams.get("name");
    const stub = env.CASES.get(env.CASES.idFromName(`${url.searchParams.get("run") ?? ""}/${name}`));
    return stub.fetch(request);
  },
};
