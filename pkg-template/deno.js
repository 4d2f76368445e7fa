// Entry for Deno: the wasm is imported as a compiled module (a source-phase import), which Deno
// allows without any permission flag, unlike reading the file from disk.
import source wasmModule from "./evstore_wasm_bg.wasm";
import { initSync } from "./index.js";

initSync({ module: wasmModule });

export * from "./index.js";
