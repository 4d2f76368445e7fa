// Entry for Node.js (ESM): the server build (server.js, evstore_server_bg.wasm; Node has no
// IndexedDB). The wasm is read from disk and instantiated when this module loads. If that fails,
// the first `EventStore.open()` tries again and rejects with a STORAGE_ERROR.
import { readFileSync } from "node:fs";
import { initSync } from "./server.js";

try {
  initSync({ module: readFileSync(new URL("./evstore_server_bg.wasm", import.meta.url)) });
} catch {
  // Reported by EventStore.open (see index.js).
}

// Node < 22 has no global WebSocket: sync uses the "ws" package when the app has it installed,
// imported when the first synced store opens (index.js). No top-level await in this module, so
// that CommonJS apps can `require("evstore")`.
if (typeof globalThis.WebSocket !== "function") {
  globalThis[Symbol.for("evstore.loadWebSocket")] = () => import("ws").then((m) => m.default);
}

export * from "./server.js";
