// Entry for browsers, bundlers (Vite, webpack, esbuild), Deno, Node and workerd (the last three via
// deno.js / node.js / workerd.js). The build appends this to wasm-bindgen's glue
// (scripts/bundle-entry.mjs), so a page loads this one file and then the wasm, and this code
// shares the glue's module scope (`wasm`, `__wbg_init`, `Subscription`, `EventStoreError`). In
// browsers the wasm is fetched next to this file on the first `EventStore.open()`: users never
// call an `init()` themselves.
import __wbg_init, { EventStore } from "./evstore_wasm.js";

/** Expected-revision values (KurrentDB's names), and where reads start. */
export const ANY = "any";
export const NO_STREAM = "no_stream";
export const STREAM_EXISTS = "stream_exists";
export const START = "start";
export const END = "end";

// The one place that builds errors raised by this file (`EventStoreError` is the class of
// src/codec.js, which scripts/bundle-entry.mjs puts in this module's scope).
const storeError = (code, message, cause) => new EventStoreError(message, code, cause === undefined ? undefined : { cause });
const invalid = (message) => storeError("INVALID_ARGUMENT", message);
const isThenable = (v) => v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// `; did you mean "x"?` for a near miss (edit distance ≤ 2), as the core's messages say.
function suggestion(key, accepted) {
  const distance = (a, b) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length];
  };
  const best = accepted.map((k) => [distance(key.toLowerCase(), k.toLowerCase()), k]).sort((x, y) => x[0] - y[0])[0];
  return best && best[0] <= 2 ? `; did you mean "${best[1]}"?` : "";
}

// ---- Loading the wasm on the first open -------------------------------------------------------

let loading;

// What `open({ wasm })` accepts: a URL (or string), a Request, a Response (or a promise of one),
// the module's bytes, or a compiled WebAssembly.Module.
function checkWasmSource(source) {
  const ok =
    typeof source === "string" ||
    source instanceof URL ||
    (typeof Request === "function" && source instanceof Request) ||
    (typeof Response === "function" && source instanceof Response) ||
    source instanceof ArrayBuffer ||
    ArrayBuffer.isView(source) ||
    source instanceof WebAssembly.Module ||
    isThenable(source);
  if (!ok) throw invalid("wasm must be a URL, a string, a Request, a Response, bytes (ArrayBuffer or a typed array) or a WebAssembly.Module");
}

function describeSource(source) {
  if (typeof source === "string" || source instanceof URL) return String(source);
  if (typeof Request === "function" && source instanceof Request) return source.url;
  if (typeof Response === "function" && source instanceof Response) return source.url || "a Response";
  if (source instanceof WebAssembly.Module) return "a WebAssembly.Module";
  if (isThenable(source)) return "a promised Response";
  return "the given bytes";
}

async function instantiate(source) {
  // A file: URL (Node, when node.js could not read the wasm synchronously): read it from disk.
  if (source instanceof URL && source.protocol === "file:") {
    const fs = globalThis.process?.getBuiltinModule?.("node:fs/promises");
    if (fs) source = await fs.readFile(source);
  }
  source = await source;
  if (typeof Response === "function" && source instanceof Response && !source.ok) {
    throw new Error(`HTTP ${source.status} ${source.statusText}`.trim());
  }
  await __wbg_init({ module_or_path: source });
}

function load(source) {
  const from = source ?? new URL("./evstore_wasm_bg.wasm", import.meta.url);
  return instantiate(from).catch((cause) => {
    loading = undefined; // a later open may try again (e.g. back online, or another `wasm`)
    const why = cause instanceof Error ? cause.message : String(cause);
    throw storeError("STORAGE_ERROR", `could not load evstore's WebAssembly module from ${describeSource(from)}: ${why}`, cause);
  });
}

const open = EventStore.open;
EventStore.open = async function (options) {
  let source;
  if (options !== null && typeof options === "object" && hasOwn(options, "wasm")) {
    ({ wasm: source, ...options } = options); // `wasm` is handled here; the core sees the rest
    if (source !== undefined) checkWasmSource(source);
  }
  // `wasm` is the glue's instance: set already when node.js, deno.js or workerd.js initialised
  // synchronously, where there is nothing to load.
  if (wasm === undefined) await (loading ??= load(source));
  try {
    return await open.call(this, options);
  } catch (e) {
    if (e instanceof EventStoreError) throw e;
    throw storeError("STORAGE_ERROR", `could not open the store: ${e instanceof Error ? e.message : String(e)}`, e);
  }
};

// ---- Conveniences ---------------------------------------------------------------------------

const aggregateStream = EventStore.prototype.aggregateStream;
/** `{ state, revision, expectedRevision }`: `expectedRevision` is ready for the next append. */
EventStore.prototype.aggregateStream = function (streamId, options) {
  return aggregateStream.call(this, streamId, options).then((result) => {
    result.expectedRevision = result.revision ?? NO_STREAM;
    return result;
  });
};

// Live `events()` iterators per store, ended when the store is closed (a closed store's
// subscriptions stop without reporting an error).
const iterators = new WeakMap();
const close = EventStore.prototype.close;
EventStore.prototype.close = function () {
  const result = close.call(this);
  for (const end of iterators.get(this) ?? []) end();
  return result;
};

/**
 * `for await (const event of store.events(filters))`: the same filters, `after`, `checkpoint`
 * and `onCaughtUp` as `subscribe`. The consumer pulls: the subscription's handler waits until
 * the loop asks for the next event, so at most one event is buffered, and with a `checkpoint`
 * an event counts as handled once the loop body finished with it. `break`, `return` or a throw
 * in the loop releases the subscription; a failure of the subscription rejects the iteration.
 */
EventStore.prototype.events = function (options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== "object" || Array.isArray(options)) throw invalid("events options must be an object");
  if (hasOwn(options, "onError")) throw invalid("events() takes no onError: a failure rejects the iteration");
  const store = this;
  const buffered = []; // delivered, not yet taken: { event, release }
  const waiters = []; // next() calls waiting for an event: { resolve, reject }
  let release; // lets the subscription go on once the consumer asks for more
  let failure;
  let done = false;
  let sub;

  const end = () => {
    if (done) return;
    done = true;
    sub?.unsubscribe();
    iterators.get(store)?.delete(end);
    // Settle everything: pending handler promises (so the delivery loop exits) and waiters.
    release?.();
    release = undefined;
    for (const b of buffered.splice(0)) b.release();
    for (const w of waiters.splice(0)) failure === undefined ? w.resolve({ value: undefined, done: true }) : w.reject(failure);
  };
  const handler = (event) =>
    new Promise((resolve) => {
      if (done) return resolve();
      const w = waiters.shift();
      if (!w) return void buffered.push({ event, release: resolve });
      // Further waiters mean the consumer already asked for the events after this one.
      if (waiters.length) resolve();
      else release = resolve;
      w.resolve({ value: event, done: false });
    });
  sub = this.subscribe(handler, {
    ...options,
    onError: (error) => {
      failure = error;
      const w = waiters.shift();
      if (w) {
        failure = undefined;
        w.reject(error);
      }
      end();
    },
  });
  if (!iterators.has(store)) iterators.set(store, new Set());
  iterators.get(store).add(end);

  const iterator = {
    next() {
      const r = release;
      release = undefined;
      r?.(); // the consumer came back: the event handed out last is handled
      const b = buffered.shift();
      if (b) {
        release = b.release;
        return Promise.resolve({ value: b.event, done: false });
      }
      if (failure !== undefined) {
        const f = failure;
        failure = undefined;
        return Promise.reject(f);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    return(value) {
      end();
      return Promise.resolve({ value, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  if (Symbol.asyncDispose) iterator[Symbol.asyncDispose] = () => iterator.return().then(() => {});
  return iterator;
};

/**
 * A live aggregate: folds the stream, calls `onChange(state, { expectedRevision, revision })`
 * once the stored events are folded (also for a stream with no events), then again after each
 * new event of the stream. `expectedRevision` is `"no_stream"` or the revision. `onError`
 * receives what `evolve` or `onChange` threw, or a storage failure; the watch then stops.
 */
EventStore.prototype.watchAggregate = function (streamId, options, onChange) {
  if (options === null || typeof options !== "object") throw invalid("watchAggregate needs options { initialState, evolve }");
  if (typeof streamId !== "string") throw invalid("streamId must be a string");
  const { initialState, evolve, onError } = options;
  for (const [key, value] of Object.entries({ initialState, evolve, onChange })) {
    if (typeof value !== "function") throw invalid(`watchAggregate needs ${key} as a function`);
  }
  const accepted = ["initialState", "evolve", "onError"];
  for (const key of Object.keys(options)) {
    if (!accepted.includes(key)) {
      throw invalid(`unknown option "${key}" in watchAggregate options (accepted: ${accepted.map((k) => `"${k}"`).join(", ")})${suggestion(key, accepted)}`);
    }
  }
  let state = initialState();
  let revision = null;
  let live = false;
  const notify = () => onChange(state, { expectedRevision: revision ?? NO_STREAM, revision });
  const apply = (next, event) => {
    state = next;
    revision = event.revision;
    if (live) notify();
  };
  const sub = this.subscribe(
    (event) => {
      const next = evolve(state, event);
      if (isThenable(next)) return next.then((s) => apply(s, event));
      apply(next, event);
    },
    {
      streamId,
      onCaughtUp: () => {
        live = true;
        notify();
      },
      ...(onError === undefined ? {} : { onError }),
    },
  );
  const watch = { unsubscribe: () => sub.unsubscribe() };
  if (Symbol.dispose) watch[Symbol.dispose] = watch.unsubscribe;
  return watch;
};

// `using sub = store.subscribe(...)` stops the subscription (the glue's default would only free
// the Rust object and leave delivery running).
if (Symbol.dispose) {
  Subscription.prototype[Symbol.dispose] = function () {
    this.unsubscribe();
  };
  // `using store = await EventStore.open()` closes the store.
  EventStore.prototype[Symbol.dispose] = function () {
    this.close();
  };
}
if (Symbol.asyncDispose) {
  EventStore.prototype[Symbol.asyncDispose] = function () {
    return this.close();
  };
}
