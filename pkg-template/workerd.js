// Entry for Cloudflare workerd / wrangler: the runtime hands the compiled wasm module to the import
// (code generation from bytes is not allowed there).
import wasm from "./evstore_wasm_bg.wasm";
import { initSync } from "./index.js";

initSync({ module: wasm });

export * from "./index.js";
