// The reference for in-memory stores: a plain JS Map-of-arrays event log with the same guarantees
// as evstore — an expected-revision check per append, a stream index, a dense global order, an
// id per event (unique across the store), and events copied in and out (JSON) so that stored
// events stay immutable. This is the practical limit for an in-memory store driven from JS.

export class ReferenceStore {
  log = [];
  streams = new Map();
  ids = new Set();

  async append(streamId, events, { expectedRevision = "any" } = {}) {
    const stream = this.streams.get(streamId);
    const head = stream ? stream.length - 1 : null;
    const ok =
      expectedRevision === "any" ||
      (expectedRevision === "no_stream" && head === null) ||
      (expectedRevision === "stream_exists" && head !== null) ||
      expectedRevision === head;
    if (!ok) throw Object.assign(new Error("wrong expected revision"), { code: "WRONG_EXPECTED_REVISION" });
    const records = events.map((e) => {
      const id = e.id ?? crypto.randomUUID();
      if (this.ids.has(id)) throw Object.assign(new Error("duplicate id"), { code: "DUPLICATE_EVENT_ID" });
      return { id, type: e.type, data: JSON.stringify(e.data ?? null), metadata: JSON.stringify(e.metadata ?? {}) };
    });
    const positions = stream ?? [];
    const createdAt = Date.now();
    for (const r of records) {
      this.ids.add(r.id);
      r.streamId = streamId;
      r.revision = positions.length;
      r.position = this.log.length;
      r.createdAt = createdAt;
      positions.push(this.log.length);
      this.log.push(r);
    }
    if (!stream) this.streams.set(streamId, positions);
    const last = records[records.length - 1];
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  #out(r) {
    return { id: r.id, streamId: r.streamId, type: r.type, revision: r.revision, position: r.position, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata), createdAt: new Date(r.createdAt) };
  }

  async readStream(streamId, { fromRevision = 0, maxCount = Infinity } = {}) {
    const positions = this.streams.get(streamId) ?? [];
    const out = [];
    for (let i = fromRevision; i < positions.length && out.length < maxCount; i++) out.push(this.#out(this.log[positions[i]]));
    return out;
  }

  async readAll({ fromPosition = 0, maxCount = Infinity } = {}) {
    const out = [];
    for (let i = fromPosition; i < this.log.length && out.length < maxCount; i++) out.push(this.#out(this.log[i]));
    return out;
  }
}
