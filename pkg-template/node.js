// Entry for Node.js (ESM): the wasm is read from disk and instantiated when this module loads. If
// that fails, the first `EventStore.open()` tries again and rejects with a STORAGE_ERROR.
import { readFileSync } from "node:fs";
import { initSync } from "./index.js";

try {
  initSync({ module: readFileSync(new URL("./evstore_wasm_bg.wasm", import.meta.url)) });
} catch {
  // Reported by EventStore.open (see index.js).
}

export * from "./index.js";
