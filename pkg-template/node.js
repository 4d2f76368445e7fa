// Entry for Node.js (ESM): the wasm is read from disk and instantiated when this module loads. If
// that fails, the first `EventStore.open()` tries again and rejects with a STORAGE_ERROR.
import { readFileSync } from "node:fs";
import { initSync } from "./index.js";

try {
  initSync({ module: readFileSync(new URL("./evstore_wasm_bg.wasm", import.meta.url)) });
} catch {
  // Reported by EventStore.open (see index.js).
}

// Node < 22 has no global WebSocket: sync uses the "ws" package when the app has it installed.
if (typeof globalThis.WebSocket !== "function") {
  try {
    globalThis[Symbol.for("evstore.WebSocket")] = (await import("ws")).default;
  } catch {
    // Not installed: synced stores say so in their status (or take sync.WebSocket).
  }
}

export * from "./index.js";
