// The benchmark's reference: a hand-written plain-JS Durable Object over the same SQLite API with
// the same guarantees as evstore's — one `transactionSync` per append (all or nothing), dense
// positions (INTEGER PRIMARY KEY), expected-revision checks, durable idempotency by event id (a
// retry of stored ids in order answers the stored result), unique ids, the same validation and
// the same read answers. It sits behind the same Worker (auth, routing, body checks), so the
// benchmark compares only the stores. Runs as workerd's entry module (name "entry.js").
import { DurableObject } from "cloudflare:workers";
import { collectEvents } from "./service/events.js";
import { MAX_EVENT_BYTES, MAX_READ_BYTES, MAX_READ_EVENTS } from "./service/limits.js";

export { default } from "./worker.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const encoder = new TextEncoder();

class Failure extends Error {
  constructor(status, code, message, fields = {}) {
    super(message);
    Object.assign(this, { status, code, fields });
  }
}
const invalid = (message) => new Failure(400, "INVALID_ARGUMENT", message);

function uuidV7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class ReferenceStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL, revision INTEGER NOT NULL,
      type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created_at INTEGER NOT NULL,
      UNIQUE (stream_id, revision))`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS edge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.tenant = this.sql.exec("SELECT value FROM edge_meta WHERE key = 'tenant'").toArray()[0]?.value ?? null;
  }

  admit(identity, scope) {
    if (this.tenant === null) {
      this.sql.exec("INSERT OR IGNORE INTO edge_meta (key, value) VALUES ('tenant', ?)", identity.tenant);
      this.tenant = identity.tenant;
    }
    if (this.tenant !== identity.tenant) throw new Failure(403, "FORBIDDEN", "this store refuses requests for another tenant");
    if (!identity.scopes.includes(scope)) throw new Failure(403, "FORBIDDEN", `the token lacks the "${scope}" scope`);
  }

  answer(work) {
    try {
      const result = work();
      if (result instanceof Promise) return result.then((r) => ({ status: 200, body: r }), (e) => this.failure(e));
      return { status: 200, body: typeof result === "string" ? result : JSON.stringify(result) };
    } catch (e) {
      return this.failure(e);
    }
  }

  failure(e) {
    if (!(e instanceof Failure)) throw e;
    return { status: e.status, body: JSON.stringify({ error: { code: e.code, message: e.message, ...e.fields } }) };
  }

  append(identity, streamId, { events, expectedRevision }) {
    return this.answer(() => {
      this.admit(identity, "append");
      if (typeof streamId !== "string" || streamId === "" || streamId.length > 256 || streamId.startsWith("$")) throw invalid("bad stream id");
      if (!["any", "no_stream", "stream_exists"].includes(expectedRevision) && !(Number.isSafeInteger(expectedRevision) && expectedRevision >= 0)) {
        throw invalid("bad expectedRevision");
      }
      const rows = events.map((e, i) => {
        if (typeof e.type !== "string" || e.type === "") throw invalid(`events[${i}].type must be a non-empty string`);
        if (e.metadata != null && (typeof e.metadata !== "object" || Array.isArray(e.metadata))) throw invalid(`events[${i}].metadata must be an object`);
        if (e.id != null && (typeof e.id !== "string" || !UUID.test(e.id))) throw invalid(`events[${i}].id is not a UUID`);
        const data = JSON.stringify(e.data ?? null);
        const metadata = JSON.stringify(e.metadata ?? {});
        if (encoder.encode(data).length + encoder.encode(metadata).length > MAX_EVENT_BYTES) {
          throw new Failure(400, "EVENT_TOO_LARGE", `events[${i}] is too large`, { eventIndex: i });
        }
        return { id: e.id != null ? e.id.toLowerCase() : uuidV7(), type: e.type, data, metadata };
      });
      const ids = new Set(rows.map((r) => r.id));
      if (ids.size !== rows.length) throw new Failure(409, "DUPLICATE_EVENT_ID", "an id appears twice", { eventId: rows.find((r, i) => rows.findIndex((x) => x.id === r.id) !== i).id });
      return this.ctx.storage.transactionSync(() => {
        // Idempotency: every id already stored, in this stream, in order and contiguous.
        const stored = rows.map((r) => this.sql.exec("SELECT stream_id, revision, position FROM events WHERE id = ?", r.id).toArray()[0]);
        if (stored.some(Boolean)) {
          const retry = stored.every((s, i) => s && s.stream_id === streamId && s.revision === stored[0].revision + i);
          if (retry) return { nextExpectedRevision: stored.at(-1).revision, position: stored.at(-1).position };
          throw new Failure(409, "DUPLICATE_EVENT_ID", "event id already stored", { eventId: rows[stored.findIndex(Boolean)].id });
        }
        const current = this.sql.exec("SELECT MAX(revision) AS r FROM events WHERE stream_id = ?", streamId).one().r;
        const ok =
          expectedRevision === "any" ||
          (expectedRevision === "no_stream" && current === null) ||
          (expectedRevision === "stream_exists" && current !== null) ||
          expectedRevision === current;
        if (!ok) {
          throw new Failure(409, "WRONG_EXPECTED_REVISION", "wrong expected revision", {
            streamId,
            expectedRevision,
            actualRevision: current ?? "no_stream",
          });
        }
        let position = (this.sql.exec("SELECT MAX(position) AS p FROM events").one().p ?? -1) + 1;
        let revision = (current ?? -1) + 1;
        const now = Date.now();
        for (const r of rows) {
          this.sql.exec(
            "INSERT INTO events (position, id, stream_id, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            position++, r.id, streamId, revision++, r.type, r.data, r.metadata, now,
          );
        }
        return { nextExpectedRevision: revision - 1, position: position - 1 };
      });
    });
  }

  recorded(rows) {
    return rows.map((r) => ({
      id: r.id,
      streamId: r.stream_id,
      type: r.type,
      revision: r.revision,
      position: r.position,
      data: JSON.parse(r.data),
      metadata: JSON.parse(r.metadata),
      createdAt: new Date(r.created_at),
    }));
  }

  read(where, order, bindings, key, { from, direction = "forwards", maxCount }) {
    const backwards = direction === "backwards";
    const read = async ({ from: f, maxCount: n }) => {
      const bound = f === "start" ? (backwards ? -1 : 0) : f === "end" ? (backwards ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER) : f;
      const cmp = backwards ? "<=" : ">=";
      return this.recorded(
        this.sql.exec(`SELECT * FROM events WHERE ${where} ${key} ${cmp} ? ORDER BY ${key} ${backwards ? "DESC" : "ASC"} LIMIT ?`, ...bindings, bound, n).toArray(),
      );
    };
    return collectEvents(read, key, { from, direction, maxCount }, { maxEvents: MAX_READ_EVENTS, maxBytes: MAX_READ_BYTES }).then(
      ({ parts }) => `{"events":[${parts.join(",")}]}`,
    );
  }

  readStream(identity, streamId, options) {
    return this.answer(() => {
      this.admit(identity, "read");
      return this.read("stream_id = ? AND", "revision", [streamId], "revision", options);
    });
  }

  readAll(identity, options) {
    return this.answer(() => {
      this.admit(identity, "read");
      return this.read("", "position", [], "position", options);
    });
  }
}
