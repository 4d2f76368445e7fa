// IDBRequest → Promise, so Rust can await a request (microtask resolution keeps the
// transaction active, as with the `idb` library).
export function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One event record: the row codec's fields by name (src/row.rs); payloads stay JSON text.
export function makeRecord(position, id, streamId, type, revision, data, metadata, createdAt) {
  return { position, id, streamId, type, revision, data, metadata, createdAt };
}

