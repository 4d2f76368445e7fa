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
 * Which copy opens a store with `options`: the one with sync for a synced store, and for any store
 * once the page has it (the build with sync opens every store; no second wasm to fetch).
 */
function copyFor(options) {
  const given = options !== null && typeof options === "object" ? options : {};
  // A compiled module passed as `wasm` says which build it is.
  if (given.wasm instanceof WebAssembly.Module) {
    return WebAssembly.Module.exports(given.wasm).some((e) => e.name === "__wbg_syncengine_free") ? "synced" : "local";
  }
  if (hasOwn(given, "sync") && given.sync !== undefined) return "synced";
  return loading.synced !== undefined && !hasOwn(given, "wasm") ? "synced" : "local";
}

/** `value` is an instance of class `name` of a loaded copy. */
const ofCopies = (name, value) => Object.values(loaded).some((module) => value instanceof module[name]);

/** An event store (CONTRACT.md): `await EventStore.open(options)`. */
export class EventStore {
  constructor() {
    throw new EventStoreError("an EventStore is made by `await EventStore.open(options)`", "INVALID_ARGUMENT");
  }

  static async open(options) {
    const module = await copy(copyFor(options));
    return module.EventStore.open(options);
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
