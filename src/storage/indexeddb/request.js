// IDBRequest → Promise, so Rust can await a request (microtask resolution keeps the
// transaction active, as with the `idb` library).
export function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// `{ name, message }` of a DOMException or Error, for error mapping.
export function errorName(error) {
  return error && typeof error === "object" && typeof error.name === "string" ? error.name : "";
}

// One event record. The payloads stay JSON text: stored as written, returned as stored.
export function makeRecord(position, id, streamId, type, revision, data, metadata, createdAt) {
  return { position, id, streamId, type, revision, data, metadata, createdAt };
}

// Packs records into one string for one crossing into wasm: per record 8 fields, each followed by
// U+001E. No field can contain U+001E: ids are UUIDs, numbers are digits, stream ids and types
// are JSON-quoted (which escapes control characters), and data and metadata are JSON text.
export function packRecords(records) {
  let out = "";
  for (const r of records) {
    out += `${r.position}\x1e${r.id}\x1e${JSON.stringify(r.streamId)}\x1e${JSON.stringify(r.type)}\x1e${r.revision}\x1e${r.data}\x1e${r.metadata}\x1e${r.createdAt}\x1e`;
  }
  return out;
}

// navigator.storage, where the runtime has it.
export async function persist() {
  return (await globalThis.navigator?.storage?.persist?.()) ?? false;
}
export async function estimate() {
  const e = (await globalThis.navigator?.storage?.estimate?.()) ?? {};
  return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
}

// Event records → the contract's recorded events, for JS callers: payloads are parsed straight
// from the stored JSON text (fresh objects on every read), with no trip through wasm.
export function recordsToEvents(records, reverse) {
  const n = records.length;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = records[reverse ? n - 1 - i : i];
    out[i] = {
      id: r.id,
      streamId: r.streamId,
      type: r.type,
      revision: r.revision,
      position: r.position,
      data: JSON.parse(r.data),
      metadata: JSON.parse(r.metadata),
      createdAt: new Date(r.createdAt),
    };
  }
  return out;
}
