// Entry for browsers, bundlers (Vite, webpack, esbuild), Deno, Node and workerd (the last two via
// node.js / workerd.js). The build appends this to wasm-bindgen's glue (scripts/bundle-entry.mjs),
// so a page loads this one file and then the wasm. In browsers the wasm is fetched next to this
// file on the first `EventStore.open()`: users never call an `init()` themselves.
import __wbg_init, { EventStore } from "./evstore_wasm.js";

let ready;
const open = EventStore.open;
EventStore.open = async function (options) {
  // `wasm` is the glue's instance (this code shares its module scope): set already when node.js
  // or workerd.js initialised synchronously, where there is nothing to fetch.
  if (wasm === undefined) {
    await (ready ??= __wbg_init({ module_or_path: new URL("./evstore_wasm_bg.wasm", import.meta.url) }));
  }
  return open.call(this, options);
};
