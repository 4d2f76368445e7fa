// Entry for Node.js (ESM): the wasm is read from disk and instantiated when this module loads.
import { readFileSync } from "node:fs";
import { initSync, EventStore } from "./index.js";

initSync({ module: readFileSync(new URL("./evstore_wasm_bg.wasm", import.meta.url)) });

export { EventStore };
