// The package's entry for browsers and bundlers (Vite, webpack, esbuild). It holds what every
// store shares — the constants, EventStoreError, the server build's stand-ins — and loads the
// store's code at the first open that needs it: local.js, over the wasm build without the sync
// client (most of the package's size, which a store that never syncs does not fetch), or
// synced.js, over the build with it (pkg-template/store.js, scripts/build-package.sh). A page can
// hold stores of both: each copy has its own wasm instance, and every store is an EventStore.
// scripts/browser-entry.mjs builds pkg/index.js from this file: EventStoreError comes from
// src/codec.js, and a stand-in is added for each class only the server build has.

/** Expected-revision values (KurrentDB's names), and where reads start. */
export const ANY = "any";
export const NO_STREAM = "no_stream";
export const STREAM_EXISTS = "stream_exists";
export const START = "start";
export const END = "end";

/* EventStoreError */

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const copies = { local: () => import("./local.js"), synced: () => import("./synced.js") };
/** Each copy's wasm, next to this file (the URLs the copies default to). */
const wasmOf = {
  local: () => new URL("./evstore_local_bg.wasm", import.meta.url),
  synced: () => new URL("./evstore_wasm_bg.wasm", import.meta.url),
};

/**
 * The default wasm of copy `name`, fetched now, while its JS is imported, rather than after: a
 * promise of the Response that carries its URL (for the copy's error message).
 */
function fetchWasm(name) {
  const url = wasmOf[name]();
  const response = fetch(url);
  response.catch(() => {}); // reported by the copy when it awaits it
  return Object.assign(response, { url: url.href });
}
const loading = {}; // copy → its module's promise
const loaded = {}; // copy → its module

/** The module of copy `name`, imported at the first call (again after a failed import). */
function copy(name) {
  loading[name] ??= copies[name]().then(
    (module) => (loaded[name] = module),
    (cause) => {
      loading[name] = undefined;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new EventStoreError(`could not load evstore's ${name} build: ${why}`, "STORAGE_ERROR", { cause });
    },
  );
  return loading[name];
}

/**
 * A `wasm` option compiled, to tell which build it is; `undefined` when it cannot be (the copy then
 * loads it itself and reports why, as it would have).
 */
async function compiled(source) {
  try {
    let given = await source;
    if (given instanceof WebAssembly.Module) return given;
    if (typeof given === "string" || given instanceof URL) {
      if (new URL(given, globalThis.location?.href).protocol === "file:") return undefined;
      given = await fetch(given);
    } else if (typeof Request === "function" && given instanceof Request) {
      given = await fetch(given.clone());
    }
    if (typeof Response === "function" && given instanceof Response) {
      if (!given.ok) return undefined;
      given = await given.clone().arrayBuffer();
    }
    if (given instanceof ArrayBuffer || ArrayBuffer.isView(given)) return await WebAssembly.compile(given);
  } catch {
    // The copy loads it again, and says what failed.
  }
  return undefined;
}

/** Whether a compiled module is the build with the sync client. */
const hasSyncClient = (module) => WebAssembly.Module.exports(module).some((e) => e.name === "__wbg_syncengine_free");

/**
 * Which copy opens a store with `options` (`module`: its `wasm`, compiled): the one with sync for a
 * synced store, and for any store once the page has it (the build with sync opens every store: no
 * second wasm to fetch); else the build a given module is; else the one without sync.
 */
function copyFor(options, module) {
  const synced = options !== null && typeof options === "object" && hasOwn(options, "sync") && options.sync !== undefined;
  if (synced || loading.synced !== undefined) return "synced";
  return module !== undefined && hasSyncClient(module) ? "synced" : "local";
}

/** `value` is an instance of class `name` of a loaded copy. */
const ofCopies = (name, value) => Object.values(loaded).some((module) => value instanceof module[name]);

/** An event store (CONTRACT.md): `await EventStore.open(options)`. */
export class EventStore {
  constructor() {
    throw new EventStoreError("an EventStore is made by `await EventStore.open(options)`", "INVALID_ARGUMENT");
  }

  static async open(options) {
    let module;
    const object = options !== null && typeof options === "object";
    if (object && options.wasm !== undefined) {
      module = await compiled(options.wasm);
      if (module !== undefined) options = { ...options, wasm: module };
    }
    const name = copyFor(options, module);
    // The copy's first load: its wasm is fetched beside its JS (browsers; Node reads files).
    const defaults = options === undefined || (object && options.wasm === undefined);
    if (loading[name] === undefined && defaults && globalThis.location?.protocol?.startsWith("http")) {
      options = { ...options, wasm: fetchWasm(name) };
    }
    return (await copy(name)).EventStore.open(options);
  }

  static [Symbol.hasInstance](value) {
    return ofCopies("EventStore", value);
  }
}

/** A subscription (`store.subscribe`): made by stores only. */
export class Subscription {
  constructor() {
    throw new EventStoreError("a Subscription is made by `store.subscribe(...)`", "INVALID_ARGUMENT");
  }

  static [Symbol.hasInstance](value) {
    return ofCopies("Subscription", value);
  }
}

/**
 * A stand-in for a class only the server build has: constructing it or calling any of its
 * static methods throws an INVALID_ARGUMENT that says so.
 */
function serverOnly(name) {
  const refuse = () => {
    throw new EventStoreError(`${name} is part of the server half of sync, which the browser build of evstore leaves out: use it where "evstore" resolves to the server build (workerd, Node.js or Deno)`, "INVALID_ARGUMENT");
  };
  const standIn = { [name]: class {} }[name];
  return new Proxy(standIn, {
    construct: refuse,
    apply: refuse,
    get: (target, key, receiver) => (key in target || typeof key !== "string" ? Reflect.get(target, key, receiver) : refuse),
  });
}
