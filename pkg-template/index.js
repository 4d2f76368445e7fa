// Entry for browsers, bundlers (Vite, webpack, esbuild) and Deno: the wasm is fetched next to this
// file on the first `EventStore.open()`, so users never call an `init()` themselves.
import init, { EventStore } from "./evstore_wasm.js";

let ready;
const open = EventStore.open;
EventStore.open = async function (options) {
  await (ready ??= init({ module_or_path: new URL("./evstore_wasm_bg.wasm", import.meta.url) }));
  return open.call(this, options);
};

export { EventStore };
