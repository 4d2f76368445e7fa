// Entry for Deno: the server build (server.js, evstore_server_bg.wasm; Deno has no IndexedDB). The
// wasm is imported as a compiled module (a source-phase import), which Deno allows without any
// permission flag, unlike reading the file from disk.
import source wasmModule from "./evstore_server_bg.wasm";
import { initSync } from "./server.js";

initSync({ module: wasmModule });

export * from "./server.js";
