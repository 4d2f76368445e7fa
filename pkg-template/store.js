// The store's JS around one wasm build: the build appends this to that build's wasm-bindgen glue
// (scripts/bundle-entry.mjs), so this code shares the glue's module scope (`wasm`, `__wbg_init`,
// `Subscription`, `EventStoreError`). Three entries are made of it: server.js (the server build:
// Deno, Node and workerd, via deno.js / node.js / workerd.js), and for browsers local.js (the build
// without the sync client, and without the sync host below) and synced.js (the build with it), which
// index.js, the browsers' entry, imports at the first open that needs each. The wasm is fetched
// next to this file on the first `EventStore.open()`: users never call an `init()` themselves.
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
  // (index.js's early fetch of the default wasm carries its URL.)
  if (isThenable(source)) return typeof source.url === "string" ? source.url : "a promised Response";
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

// ---- The server build's methods on the browser build ------------------------------------------
// The browser build (index.js) leaves out the server half of sync (cargo feature `server`); the
// server build (server.js: the workerd, Node and Deno entries) has it. Called on the browser
// build, its methods reject with an INVALID_ARGUMENT that says so, never "is not a function".

/** The store's methods only the server build has, and whether each returns a promise. */
const SERVER_METHODS = { acceptPush: "async", syncServer: "sync" };
for (const [name, kind] of Object.entries(SERVER_METHODS)) {
  if (typeof EventStore.prototype[name] === "function") continue;
  EventStore.prototype[name] = function () {
    const error = invalid(`${name} is the server half of sync, which the browser build of evstore leaves out: call it where "evstore" resolves to the server build (workerd, Node.js or Deno)`);
    if (kind === "async") return Promise.reject(error);
    throw error;
  };
}

const open = EventStore.open;
EventStore.open = async function (options) {
  let source;
  if (options !== null && typeof options === "object" && hasOwn(options, "wasm")) {
    ({ wasm: source, ...options } = options); // `wasm` is handled here; the core sees the rest
    if (source !== undefined) checkWasmSource(source);
  }
  let sync;
  if (options !== null && typeof options === "object" && hasOwn(options, "sync") && options.sync !== undefined) {
    if (syncHost === null) throw invalid("this copy of evstore has no sync client: open synced stores through the package's entry");
    sync = syncHost.check(options.sync);
    // The core learns that appends are queued, and which streams the device holds (it checks them).
    options = { ...options, sync: { streams: options.sync.streams } };
  }
  // `wasm` is the glue's instance: set already when node.js, deno.js or workerd.js initialised
  // synchronously, where there is nothing to load.
  if (wasm === undefined) await (loading ??= load(source));
  if (sync) sync.WebSocket ??= await syncHost.webSocket();
  let store;
  try {
    store = await open.call(this, options);
  } catch (e) {
    if (e instanceof EventStoreError) throw e;
    throw storeError("STORAGE_ERROR", `could not open the store: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (sync) {
    const engine = store.__syncEngine;
    delete store.__syncEngine;
    const shared = options.storage === "indexeddb" ? `evstore-sync:${options.name ?? "evstore"}` : null;
    store.sync = syncHost.start(engine, sync, shared);
  }
  return store;
};

/**
 * The sync host's entry points (the section below), `null` in an entry built without it
 * (local.js: scripts/bundle-entry.mjs leaves the section out).
 */
let syncHost = null;

// ---- Sync -------------------------------------------------------------------------------------
// The host of the core's sync state machine (src/sync/, driven through `SyncEngine`): the
// WebSocket of protocol v4 (edge/PROTOCOL.md), reconnection with backoff, token renewal, one
// syncing tab per IndexedDB database (Web Locks; the other tabs follow through the storage's
// cross-tab wake-ups), and the `store.sync` API of the contract. It only moves texts: the engine
// reads every frame (`receiveText`) and writes every message (`outgoing`, `ping`, `auth`).

const SYNC_KEYS = ["url", "token", "streams", "WebSocket"];
/** The sync subprotocol this client speaks (edge/PROTOCOL.md); its messages carry `"v": 4`. */
const SYNC_PROTOCOL = "evstore.sync.v4";
/** Whether `ws` is closing or closed: a browser logs a console error for a send then (it does not throw). */
const closing = (ws) => ws.readyState > 1;

const PUSH_TIMEOUT_MS = 20000;
const MAX_BACKOFF_MS = 10000;
/** While not pushing, status reads after local appends are coalesced over this long. */
const STATUS_COALESCE_MS = 25;
/** Keep-alive: a ping when the socket was quiet this long; no frame within as long again (two
 * pings unanswered): dead, dropped at once. A dead link is noticed within 2.5 × this. */
const HEARTBEAT_MS = 5000;
/** A socket not open this long after it was created (a handshake on a dead link) is dropped. */
const CONNECT_TIMEOUT_MS = 10000;
/** `sync.token()` not settled this long: treated as offline (its result, if it comes, is unused). */
const TOKEN_TIMEOUT_MS = 10000;
/** The probe of why a socket did not open (HTTP) gives up after this long: offline. */
const PROBE_TIMEOUT_MS = 5000;

function checkSyncOptions(sync) {
  if (sync === null || typeof sync !== "object" || Array.isArray(sync)) throw invalid("sync must be an object { url, token }");
  for (const key of Object.keys(sync)) {
    if (!SYNC_KEYS.includes(key)) {
      throw invalid(`unknown option "${key}" in sync options (accepted: ${SYNC_KEYS.map((k) => `"${k}"`).join(", ")})${suggestion(key, SYNC_KEYS)}`);
    }
  }
  let url;
  try {
    url = new URL(sync.url);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw invalid(`sync.url must be the tenant's base URL on the edge service, like "https://edge.example.com/t/acme", got ${JSON.stringify(sync.url)}`);
  }
  if (typeof sync.token !== "function") throw invalid("sync.token must be a function that returns the JWT (or a promise of it)");
  if (sync.WebSocket !== undefined && typeof sync.WebSocket !== "function") throw invalid("sync.WebSocket must be a WebSocket class");
  // The runtime's, else (see `fallbackWebSocket`) the "ws" package in Node 20. With none, the
  // store still opens and works offline; its status says why it cannot sync.
  const WebSocketImpl = sync.WebSocket ?? globalThis.WebSocket ?? null;
  const base = url.href.replace(/\/+$/, "");
  return { base, socket: `${base.replace(/^http/, "ws")}/sync`, token: sync.token, WebSocket: WebSocketImpl };
}

let fallback;
/** The Node entry's loader of the "ws" package (Node 20), run once; null where none or not installed. */
function fallbackWebSocket() {
  const load = globalThis[Symbol.for("evstore.loadWebSocket")];
  return load ? (fallback ??= load().catch(() => null)) : null;
}

/** The `exp` claim of a JWT (seconds), without verifying it; null when unreadable. */
function tokenExpiry(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))).exp;
    return Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}

/** Rejects with a STORAGE_ERROR ("offline") when `promise` takes longer than `ms`. */
function withTimeout(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(storeError("STORAGE_ERROR", `${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Why `sync.token()` gave no JWT, as `lastError`: an auth failure (UNAUTHENTICATED) when it
 * resolved to something else than a string or threw an EventStoreError UNAUTHENTICATED or
 * FORBIDDEN (that code); anything else it threw (e.g. fetch's TypeError) or a timeout is a
 * network failure: offline, STORAGE_ERROR, with the cause.
 */
function tokenError(cause) {
  const auth = cause instanceof EventStoreError && (cause.code === "UNAUTHENTICATED" || cause.code === "FORBIDDEN");
  return storeError(auth ? cause.code : "STORAGE_ERROR", `sync.token() failed: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
}

/** `sync.token()`, bounded by TOKEN_TIMEOUT_MS; rejects (see `tokenError`) unless it gives a JWT. */
async function fetchToken(token) {
  const jwt = await withTimeout(Promise.resolve().then(token), TOKEN_TIMEOUT_MS, "sync.token()");
  if (typeof jwt !== "string" || jwt === "") throw storeError("UNAUTHENTICATED", `it must resolve to a JWT string, got ${jwt === "" ? "an empty string" : typeof jwt}`);
  return jwt;
}

class Sync {
  #engine;
  #config;
  #closed = false;
  #leader = false;
  #ws = null;
  #serial = Promise.resolve();
  #attempt = 0;
  #lastError = null;
  #statusListeners = new Set();
  #conflictListeners = new Set();
  #flushers = [];
  #announced = new Set();
  #announcing = Promise.resolve();
  #last = "";
  #timers = new Set();
  #wakeSleep = null;
  #releaseLock = null;
  #channel = null;
  #relayed = null; // a follower tab: the leader's state and error

  constructor(engine, config, shared) {
    this.#engine = engine;
    this.#config = config;
    // A local append's push, built from memory as its transaction commits: sent at once.
    engine.onPush(() => this.#send());
    if (shared && globalThis.navigator?.locks && typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(shared);
      this.#channel.onmessage = (m) => this.#relay(m.data);
      this.#channel.postMessage({ hello: true });
      navigator.locks
        .request(shared, () => (this.#closed ? undefined : new Promise((release) => {
          this.#releaseLock = release;
          this.#lead();
        })))
        .catch(() => {});
    } else {
      this.#lead();
    }
    this.#watch();
    this.#online = () => this.#wakeSleep?.();
    // The network went away: a socket may stay open for minutes on a dead link; close it now.
    this.#offline = () => this.#abandon?.("offline");
    globalThis.addEventListener?.("online", this.#online);
    globalThis.addEventListener?.("offline", this.#offline);
    this.#check(); // the queue left by an earlier session, before any connection
  }

  #online;
  #offline;
  #lastFrameAt = 0;
  /** Drops the current socket (connecting or open) as dead, without waiting for it to close. */
  #abandon = null;

  /** `{ state, pending, conflicts, confirmedPosition, lastError }`. */
  status() {
    const s = this.#engine.status();
    const state = this.#leader || !this.#relayed ? s.state : this.#relayed.state;
    const lastError = this.#leader || !this.#relayed ? this.#lastError : this.#relayed.lastError;
    return { state, pending: s.pending, conflicts: s.conflicts, confirmedPosition: s.confirmedPosition, lastError };
  }

  /** Calls `listener(status)` on every change; returns `{ unsubscribe }`. */
  onStatus(listener) {
    if (typeof listener !== "function") throw invalid("onStatus needs a function");
    this.#statusListeners.add(listener);
    return { unsubscribe: () => this.#statusListeners.delete(listener) };
  }

  /** Calls `listener(conflict)` for each stream that becomes held; returns `{ unsubscribe }`. */
  onConflict(listener) {
    if (typeof listener !== "function") throw invalid("onConflict needs a function");
    this.#conflictListeners.add(listener);
    return { unsubscribe: () => this.#conflictListeners.delete(listener) };
  }

  /** Resolves once nothing pushable is queued: everything confirmed or held as a conflict. */
  flush() {
    if (this.#closed) return Promise.reject(storeError("CLOSED", "the store is closed"));
    return new Promise((resolve, reject) => {
      this.#flushers.push({ resolve, reject });
      this.#check();
    });
  }

  /**
   * The held streams, each with `discard()` and `retry(events, { expectedRevision, causedBy })`;
   * `pending` and `theirs` are upcast like every read.
   */
  async conflicts() {
    const list = await this.#engine.conflicts();
    return list.map((c) => this.#conflict(c));
  }

  #conflict(c) {
    const engine = this.#engine;
    const after = () => (this.#announce(), this.#changed());
    return Object.assign(c, {
      discard: () => engine.discard(c.streamId).then(after),
      retry: (events, options) => nullRevision(options) ?? engine.retry(c.streamId, events, options).then((r) => (after(), r)),
    });
  }

  // ---- leader: the connection -------------------------------------------------------------

  async #lead() {
    this.#leader = true;
    if (!this.#config.WebSocket) {
      this.#lastError = storeError("STORAGE_ERROR", 'this runtime has no WebSocket, so the store cannot sync: pass one as sync.WebSocket (in Node 20, the "ws" package\'s)');
      this.#emit();
      return;
    }
    while (!this.#closed) {
      await this.#connectOnce();
      if (this.#closed) break;
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.#attempt++, 8)) * (0.5 + Math.random() / 2);
      await this.#sleep(delay);
    }
  }

  #sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      this.#timers.add(t);
      const self = this;
      function done() {
        clearTimeout(t);
        self.#timers.delete(t);
        if (self.#wakeSleep === done) self.#wakeSleep = null;
        resolve();
      }
      this.#wakeSleep = done;
    });
  }

  async #connectOnce() {
    const engine = this.#engine;
    engine.connecting();
    this.#emit();
    let jwt;
    try {
      jwt = await fetchToken(this.#config.token);
    } catch (cause) {
      this.#lastError = tokenError(cause);
      engine.disconnected();
      this.#check();
      return;
    }
    if (this.#closed) return;
    let ws;
    try {
      ws = new this.#config.WebSocket(this.#config.socket, [SYNC_PROTOCOL, `bearer.${jwt}`]);
    } catch (cause) {
      this.#lastError = storeError("STORAGE_ERROR", `could not open the sync socket: ${cause?.message ?? cause}`, cause);
      engine.disconnected();
      this.#emit();
      return;
    }
    let opened = false;
    let over = false;
    await new Promise((resolve) => {
      // The socket's end, once: its close event, or `#abandon` (a dead link: not waiting for the
      // close handshake, which a dead link never completes).
      const end = (code) => {
        if (over) return;
        over = true;
        this.#abandon = null;
        clearTimeout(handshake);
        this.#timers.delete(handshake);
        this.#queue(async () => {
          if (this.#ws === ws) this.#ws = null;
          engine.disconnected();
          if (code === 4401) this.#lastError ??= storeError("UNAUTHENTICATED", "the sync token expired or was refused");
          if (code === 4403) this.#lastError ??= storeError("FORBIDDEN", "the sync token is not valid for this tenant");
          if (!opened && !this.#closed) await this.#probe(jwt);
          this.#emit();
        }).then(resolve, resolve);
      };
      this.#abandon = (reason) => {
        try {
          if (typeof ws.terminate === "function") ws.terminate(); // the "ws" package: no close handshake
          else ws.close(4000, reason);
        } catch {
          // already closing
        }
        end(4000);
      };
      const handshake = setTimeout(() => opened || this.#abandon?.("handshake timed out"), CONNECT_TIMEOUT_MS);
      this.#timers.add(handshake);
      ws.onopen = () => {
        opened = true;
        this.#queue(async () => {
          if (this.#closed || over) return ws.close(1000);
          this.#ws = ws;
          this.#lastFrameAt = Date.now();
          await engine.connected();
          this.#send();
          this.#renewal(jwt);
          this.#heartbeat(ws);
          this.#emit();
        });
      };
      ws.onmessage = (m) => {
        this.#lastFrameAt = Date.now();
        this.#queue(() => this.#frame(ws, typeof m.data === "string" ? m.data : String(m.data)));
      };
      ws.onerror = () => {};
      ws.onclose = (event) => end(event.code);
    });
    this.#check();
  }

  /** Why a socket did not open: offline, or the token was refused (HTTP 401/403). */
  async #probe(jwt) {
    try {
      const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
      const r = await fetch(`${this.#config.base}/all?maxCount=1`, { headers: { authorization: `Bearer ${jwt}` }, signal });
      if (r.status === 401 || r.status === 403) {
        const body = await withTimeout(r.json(), PROBE_TIMEOUT_MS, "the probe").catch(() => ({}));
        const code = r.status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN";
        this.#lastError = storeError(code, body?.error?.message ?? `the edge service answered ${r.status}`);
      }
    } catch {
      // unreachable: offline
    }
  }

  /** Renews the socket's token before it expires, in place. */
  #renewal(jwt) {
    const exp = tokenExpiry(jwt);
    if (exp === null) return;
    const wait = Math.max(1000, (exp * 1000 - Date.now()) * 0.8);
    const t = setTimeout(async () => {
      this.#timers.delete(t);
      const ws = this.#ws;
      if (!ws || this.#closed) return;
      try {
        const next = await fetchToken(this.#config.token);
        if (this.#ws !== ws || closing(ws)) return;
        ws.send(this.#engine.auth(next));
        this.#renewal(next);
      } catch (cause) {
        this.#lastError = tokenError(cause);
        this.#emit();
      }
    }, Math.min(wait, 2 ** 31 - 1));
    this.#timers.add(t);
  }

  #queue(task) {
    const run = this.#serial.then(task);
    this.#serial = run.catch((e) => {
      this.#lastError = e instanceof EventStoreError ? e : storeError("STORAGE_ERROR", String(e?.message ?? e), e);
      this.#emit();
    });
    return this.#serial;
  }

  #send() {
    const ws = this.#ws;
    if (!ws || closing(ws)) return; // onclose follows; the next connection sends again
    const { texts, push } = this.#engine.outgoing();
    for (const text of texts) {
      try {
        ws.send(text);
      } catch {
        return; // closing: onclose follows
      }
    }
    if (push) this.#watchPush(ws);
  }

  /**
   * A push unanswered for too long: the link is presumed dead (a socket delivers in order or
   * closes), so the socket is closed; the next connection pushes the queue again (event ids make
   * that safe).
   */
  #watchPush(ws) {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#ws === ws && this.#engine.pushInFlight()) this.#abandon?.("push unanswered");
    }, PUSH_TIMEOUT_MS);
    this.#timers.add(t);
  }

  /** Pings a quiet socket (answered by the service without waking it); closes a silent one. */
  #heartbeat(ws) {
    const t = setInterval(() => {
      if (this.#ws !== ws) return clearInterval(t), this.#timers.delete(t);
      const quiet = Date.now() - this.#lastFrameAt;
      if (quiet > 2 * HEARTBEAT_MS) this.#abandon?.("no answer to keep-alive");
      else if (quiet > HEARTBEAT_MS && !closing(ws)) {
        try {
          ws.send(this.#engine.ping());
        } catch {
          // closing
        }
      }
    }, HEARTBEAT_MS / 2);
    this.#timers.add(t);
  }

  async #frame(ws, text) {
    if (ws !== this.#ws) return;
    try {
      await this.#handle(ws, text);
    } catch (cause) {
      // A frame this client cannot read: never a silent stop. Reported, the queue kept, and the
      // connection made again (with backoff) from the confirmed position.
      if (ws !== this.#ws) return;
      this.#lastError = storeError("STORAGE_ERROR", `a frame from the sync service could not be applied: ${cause?.message ?? cause}`, cause);
      this.#ws = null; // the frames that follow on this socket (a caughtUp) are not taken
      this.#engine.disconnected();
      this.#abandon?.("unreadable frame");
      this.#emit();
    }
  }

  async #handle(ws, text) {
    const { held, caughtUp, error } = await this.#engine.receiveText(text);
    if (error) {
      this.#lastError = storeError(error.code, error.message);
      // A missing scope keeps the socket open server-side: close it and back off.
      if (error.code === "FORBIDDEN") ws.close(4403, "forbidden");
    }
    if (caughtUp) {
      this.#attempt = 0;
      this.#lastError = null;
    }
    this.#send();
    this.#emit();
    this.#check(held.length > 0);
  }

  // ---- every tab: changes of the store --------------------------------------------------------

  async #watch() {
    let generation = this.#engine.generation();
    while (!this.#closed) {
      await this.#engine.changed(generation);
      if (this.#closed) break;
      // Only this tab's handling of frames wrote (it pushed and reported already): nothing to do,
      // and no reads competing with the subscriptions those writes woke.
      if (this.#leader && this.#engine.receivedOnlySince(generation)) {
        generation = this.#engine.generation();
        continue;
      }
      // Connected, this tab pushes at once. Otherwise only the status needs the change: one
      // read per burst of appends is enough (a read between two appends would delay the second).
      if (!(this.#leader && this.#ws)) await new Promise((r) => setTimeout(r, STATUS_COALESCE_MS));
      // Read before handling: a change during the handling wakes the next round.
      generation = this.#engine.generation();
      await this.#changed(!this.#leader);
    }
  }

  /** Local appends (this tab or another) or sync writes: push if leading, report. */
  #changed(heldChanged = false) {
    return this.#queue(async () => {
      if (this.#leader && this.#ws) {
        await this.#engine.pump();
        this.#send();
      }
      this.#check(heldChanged);
    });
  }

  #check(heldChanged = false) {
    this.#engine.refresh().then(async (s) => {
      if (this.#flushers.length && (await this.#engine.pushable()) === 0) {
        for (const f of this.#flushers.splice(0)) f.resolve();
      }
      // The held streams are compared as sets (one resolved while another became held keeps the
      // count) when they may have changed: a frame held streams, a conflict was resolved here,
      // or (a follower tab, which sees only the store) the store changed.
      if (heldChanged || s.conflicts !== this.#announced.size) this.#announce();
      this.#emit();
    }, () => {});
  }

  /** Announces the streams held now and not yet announced; forgets those no longer held. */
  #announce() {
    this.#announcing = this.#announcing.then(() => this.#announceHeld());
  }

  async #announceHeld() {
    const list = await this.#engine.conflicts().catch((e) => {
      // An upcaster that fails on a held event (UPCAST_FAILED) must not go unseen; `conflicts()`
      // rejects with it too.
      if (e?.code !== "CLOSED") console.error("evstore: the held streams could not be read for onConflict:", e);
      return null;
    });
    if (!list) return;
    const now = new Set(list.map((c) => c.streamId));
    for (const c of list) {
      if (this.#announced.has(c.streamId)) continue;
      this.#announced.add(c.streamId);
      for (const listener of [...this.#conflictListeners]) {
        try {
          listener(this.#conflict(c));
        } catch (e) {
          console.error("evstore: an onConflict listener threw", e);
        }
      }
    }
    for (const s of this.#announced) if (!now.has(s)) this.#announced.delete(s);
  }

  #emit() {
    const status = this.status();
    const key = JSON.stringify({ ...status, lastError: status.lastError && [status.lastError.code, status.lastError.message] });
    if (key === this.#last) return;
    this.#last = key;
    if (this.#leader && this.#channel && !this.#closed) {
      const e = status.lastError;
      this.#channel.postMessage({ state: status.state, lastError: e && { code: e.code, message: e.message } });
    }
    for (const listener of [...this.#statusListeners]) {
      try {
        listener(status);
      } catch (e) {
        console.error("evstore: an onStatus listener threw", e);
      }
    }
  }

  #relay(data) {
    if (this.#leader) {
      if (data?.hello) {
        const s = this.status();
        const e = s.lastError;
        this.#channel.postMessage({ state: s.state, lastError: e && { code: e.code, message: e.message } });
      }
      return;
    }
    if (data && typeof data.state === "string") {
      const e = data.lastError;
      this.#relayed = { state: data.state, lastError: e ? storeError(e.code, e.message) : null };
      this.#emit();
    }
  }

  /** Stops syncing (the store closes): the socket, the timers, the lock. */
  stop() {
    if (this.#closed) return;
    this.#closed = true;
    globalThis.removeEventListener?.("online", this.#online);
    globalThis.removeEventListener?.("offline", this.#offline);
    try {
      if (this.#ws) this.#ws.close(1000, "closed");
      else this.#abandon?.("closed"); // still connecting
    } catch {
      // already closed
    }
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#wakeSleep?.();
    this.#releaseLock?.();
    this.#channel?.close();
    this.#channel = null;
    for (const f of this.#flushers.splice(0)) f.reject(storeError("CLOSED", "the store was closed before the queue was flushed"));
  }
}

syncHost = { check: checkSyncOptions, webSocket: fallbackWebSocket, start: (engine, sync, shared) => new Sync(engine, sync, shared) };
// ---- End of the sync host ---------------------------------------------------------------------

// ---- Conveniences ---------------------------------------------------------------------------

const aggregateStream = EventStore.prototype.aggregateStream;
/** `{ state, revision, expectedRevision }`: `expectedRevision` is ready for the next append. */
EventStore.prototype.aggregateStream = function (streamId, options) {
  return aggregateStream.call(this, streamId, options).then((result) => {
    result.expectedRevision = result.revision ?? NO_STREAM;
    return result;
  });
};

/**
 * A conflict's `retry(events, { expectedRevision: null })`: a rejected promise. An append reads an
 * absent revision as "any"; in a retry, `null` would silently drop the check the conflict is about
 * (a conflict's `actualRevision` is a number or "no_stream", never null).
 */
function nullRevision(options) {
  if (options === null || typeof options !== "object" || options.expectedRevision !== null) return undefined;
  return Promise.reject(invalid('expectedRevision must be "any", "no_stream", "stream_exists" or a revision number, got null (a conflict\'s actualRevision is a number or "no_stream")'));
}

/** Where `EventStore.open` (src/bindings/open.rs) leaves the store's compiled schema. */
const SCHEMA = Symbol.for("evstore.schema");

// Live `events()` iterators per store, ended when the store is closed (a closed store's
// subscriptions stop without reporting an error).
const iterators = new WeakMap();
const close = EventStore.prototype.close;
EventStore.prototype.close = function () {
  this.sync?.stop();
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
 * The events come as `subscribe` builds them: upcast by the store's `schema`.
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
 * once the stored events are folded (also for a stream with no events), then again after new
 * events of the stream. Calls are coalesced: the events delivered together (a page of a read,
 * the events of one append or of one synced frame) are all folded before one call, made in a
 * microtask, so a device catching up on thousands of events calls `onChange` a handful of times.
 * `expectedRevision` is `"no_stream"` or the revision. `onError` receives what `evolve` or
 * `onChange` threw, or a storage failure; the watch then stops.
 *
 * Lifecycle events about the stream never reach `evolve`: a `$metadata` event (retention, a soft
 * delete) folds the stream again from its first visible event, and `$streamDeleted` (a tombstone)
 * reports an `EventStoreError` with code `STREAM_DELETED` and `streamId` to `onError` and stops.
 * With a `schema`, an event written by a newer app (its stored version above the schema's)
 * reports `SCHEMA_TOO_NEW` (`streamId`, `type`, `version`) to `onError` and stops, without an
 * `onChange` of the state folded before it.
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
  let state;
  let revision;
  let live;
  let sub;
  let stopped = false;
  let due = false; // a live event was folded and onChange has not been called since
  const notify = () => {
    due = false;
    onChange(state, { expectedRevision: revision ?? NO_STREAM, revision });
  };
  const stop = () => {
    stopped = true;
    sub.unsubscribe();
  };
  // The coalesced call: what it throws stops the watch, as a throw in the handler would.
  const flush = () => {
    if (!due || stopped) return;
    try {
      notify();
    } catch (e) {
      stop();
      const error = e instanceof Error ? e : new Error("watchAggregate's onChange threw a non-Error value", { cause: e });
      if (onError) onError(error);
      else console.error("evstore: a watch stopped:", error);
    }
  };
  // A tombstone, or an event of a newer app: the watch stops with `error`, and no state folded
  // before it is shown (it would look current).
  const fail = (error) => {
    stop();
    if (onError) onError(error);
    else console.error("evstore: a watch stopped:", error);
  };
  const deleted = () => fail(new EventStoreError(`stream "${streamId}" was deleted (tombstoned)`, "STREAM_DELETED", { streamId }));
  // The store's compiled schema (src/codec.js): the subscription delivers events upcast; one
  // written by a newer app arrives as stored and must not be folded.
  const schema = this[SCHEMA];
  // The position of the newest `$metadata` event that made the watch fold again: a fresh
  // subscription delivers the stream's latest `$metadata` once more, which must not restart it.
  let refolded = -1;
  const apply = (next, event) => {
    state = next;
    revision = event.revision;
    if (live && !due) {
      due = true;
      queueMicrotask(flush);
    }
  };
  // Folds one event; a throw first shows the state folded so far, then stops the watch.
  const fold = (event) => {
    if (event.type === "$streamDeleted" && event.streamId === streamId) return deleted();
    if (event.type === "$metadata" && event.streamId === `$$${streamId}`) {
      // Retention or a soft delete may have removed events already folded: fold again.
      if (event.position <= refolded) return;
      refolded = event.position;
      sub.unsubscribe();
      start(); // its onCaughtUp calls onChange with the new fold
      return;
    }
    const tooNew = schema === undefined ? null : schema.tooNew(event);
    if (tooNew !== null) return fail(tooNew);
    let next;
    try {
      next = evolve(state, event);
    } catch (e) {
      flush();
      if (stopped) return; // onChange threw first: that is what stopped the watch
      throw e;
    }
    if (isThenable(next)) return next.then((s) => apply(s, event));
    apply(next, event);
  };
  // Folds the stream from its first event. On a synced store, a rebase (events of the stream
  // confirmed elsewhere, re-decided or discarded) folds it again from the start.
  const start = () => {
    state = initialState();
    revision = null;
    live = false;
    due = false;
    sub = this.subscribe(fold, {
      streamId,
      onCaughtUp: () => {
        live = true;
        notify();
      },
      onRebase: () => {
        sub.unsubscribe();
        start();
      },
      ...(onError === undefined ? {} : { onError }),
    });
  };
  start();
  const watch = { unsubscribe: stop };
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
