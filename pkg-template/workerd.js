// Entry for Cloudflare workerd / wrangler: the workerd build (workerd-store.js,
// evstore_workerd_bg.wasm: the server build without the PostgreSQL storage — the Durable Object
// storage, both halves of sync). The runtime hands the compiled wasm module to the import (code
// generation from bytes is not allowed there).
import wasm from "./evstore_workerd_bg.wasm";
import { initSync } from "./workerd-store.js";

initSync({ module: wasm });

export * from "./workerd-store.js";
