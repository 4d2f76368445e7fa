// The JS half of the row codec (src/row.rs documents the format): a page of events is one JSON
// text of rows [id, streamId, type, revision, position, data, metadata, createdAt]. Stored
// records — IndexedDB's objects and the Durable Object's SQL rows — have the same fields by
// name, with `data` and `metadata` as JSON text. `recordedEvent` is the one place that builds the
// contract's recorded-event object. Every read builds fresh objects, so mutating a result never
// reaches the store.

/** The contract's recorded event. */
function recordedEvent(id, streamId, type, revision, position, data, metadata, createdAt) {
  return { id, streamId, type, revision, position, data, metadata, createdAt: new Date(createdAt) };
}

/** Rows text (written by Rust) → recorded events. Parsing keyless rows beats keyed objects. */
export function decodeRows(text) {
  const rows = JSON.parse(text);
  const events = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    events[i] = recordedEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
  }
  return events;
}

/** Stored records, ascending → recorded events (descending when `reverse`). */
export function recordsToEvents(records, reverse) {
  const n = records.length;
  const events = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = records[reverse ? n - 1 - i : i];
    events[i] = recordedEvent(r.id, r.streamId, r.type, r.revision, r.position, JSON.parse(r.data), JSON.parse(r.metadata), r.createdAt);
  }
  return events;
}

/** Stored records → rows text for Rust (one crossing; payloads stay the stored text). */
export function recordsToRows(records) {
  let out = "[";
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    out += `${i ? ",[" : "["}"${r.id}",${JSON.stringify(r.streamId)},${JSON.stringify(r.type)},${r.revision},${r.position},${r.data},${r.metadata},${r.createdAt}]`;
  }
  return out + "]";
}

/** How many records a page holds. */
export function recordCount(records) {
  return records.length;
}
