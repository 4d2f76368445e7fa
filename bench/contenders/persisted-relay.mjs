// The persisted relay: the reference of bench/sync.mjs's latency goal (issue 24, goal 4). The
// minimal relay (bench/sync-relay.mjs: a plain JS Durable Object forwarding each WebSocket message
// to the tenant's other sockets) with persistence in each page, as an app that keeps its events
// would have it at the least: the sending page writes the event to raw IndexedDB in one readwrite
// transaction, and sends it once that transaction completes; the receiving page writes it the
// same way and hands it to its handler once that transaction completes. The transactions use the
// browser's default durability, as evstore's IndexedDB storage does unless told otherwise.
// Runs in a browser page (tests/js/sync/pages/device.html imports it from /bench/contenders/).

function openDb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const events = req.result.createObjectStore("events", { keyPath: "id" });
      events.createIndex("stream", "streamId");
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Writes `event` in one readwrite transaction; resolves once it completed. */
function persist(db, event) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("events", "readwrite");
    tx.objectStore("events").put(event);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("aborted"));
  });
}

/**
 * Opens the relay socket `url` (with the JWT `token`) and the IndexedDB database `name`; calls
 * `onEvent(event)` for each event of another page, once stored here. Resolves to `{ send(event) }`:
 * stores the event, then sends it (resolves once sent).
 */
export async function openPersistedRelay({ url, token, name, onEvent }) {
  const db = await openDb(name);
  const ws = await new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["evstore.sync.v4", `bearer.${token}`]);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("relay socket failed"));
  });
  // Received events are stored in arrival order, each in its own transaction (as they come).
  ws.onmessage = (m) => {
    const event = JSON.parse(m.data);
    persist(db, event).then(() => onEvent(event));
  };
  return {
    async send(event) {
      await persist(db, event);
      ws.send(JSON.stringify(event));
    },
    close() {
      ws.close();
      db.close();
    },
  };
}
