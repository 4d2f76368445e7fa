// Entry for Cloudflare workerd / wrangler: the server build (server.js, evstore_server_bg.wasm: the
// Durable Object storage and the server half of sync). The runtime hands the compiled wasm module to
// the import (code generation from bytes is not allowed there).
import wasm from "./evstore_server_bg.wasm";
import { initSync } from "./server.js";

initSync({ module: wasm });

export * from "./server.js";
