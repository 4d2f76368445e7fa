// The JS side of the heap storage (src/storage/heap.rs): a JS host's memory store keeps its
// events on the JS heap, as the same records the other JS-hosted storages read (src/codec.js
// turns them into the contract's objects with one JSON.parse per payload). The garbage collector
// sees every byte, so a store dropped without close() is reclaimed like any JS object.
//
// Wasm reaches the log through a handle. Once the log is attached to the JS store object, the
// store object is the one strong path to it, so dropping the store frees its events at the next
// collection. A reference held by wasm would be a GC root until the store's finalizer runs (which
// waits for a macrotask: a loop of awaited appends never yields one), and a WeakRef keeps its
// target alive until the microtask queue drains. So the handle references an attached log only
// while something uses it: each method call on the store object lends it for the call's
// synchronous part (all of a memory store's I/O), and what runs on without the store object (a
// subscription, a sync engine) holds it until it ends.
//
/** One store's events, indexes and meta area. */
export class HeapLog {
  constructor() {
    this.records = []; // by position
    this.streams = new Map(); // stream id → the stream's records, by revision
    this.ids = new Map(); // event id → record
    this.types = new Map(); // one string per event type
    this.meta = new Map();
    this.metaKeys = []; // the meta keys, sorted (prefix scans)
    this.commits = 0;
    this.writing = false; // a transaction holds uncommitted writes
    this.undo = []; // how to take them back, oldest first: n (puts), { removed }, { key, value }
    this.lastType = undefined; // the type of the last event written (most runs share one)
    this.duplicate = false; // one of them met a stored id
  }
}

/** A handle to a new empty log (holding it until `heapAttach`). */
export function heapNew() {
  return { log: new HeapLog(), lent: null, held: null, holds: 0 };
}

/**
 * Makes `store` (the JS store object) the owner of the log: its methods lend the log to the
 * handle while they run; otherwise the handle references it only while held.
 */
export function heapAttach(handle, store) {
  const log = handle.log;
  const proto = Object.getPrototypeOf(store);
  for (const key of Reflect.ownKeys(proto)) {
    const method = Object.getOwnPropertyDescriptor(proto, key).value;
    if (key === "constructor" || typeof method !== "function") continue;
    Object.defineProperty(store, key, {
      configurable: true,
      writable: true,
      value: function () {
        const previous = handle.lent;
        handle.lent = log;
        try {
          return method.apply(this, arguments);
        } finally {
          handle.lent = previous;
        }
      },
    });
  }
  handle.log = null;
}

/** Keeps the log referenced until the matching `heapRelease` (a subscription, a sync engine). */
export function heapHold(handle) {
  handle.held = L(handle);
  handle.holds++;
}

export function heapRelease(handle) {
  if (--handle.holds === 0) handle.held = null;
}

/**
 * The handle's log: before it is attached, lent by the store call that runs, or held by a
 * subscription or sync engine. Nothing else can reach it; if something does, that is a bug, and
 * it fails loudly rather than reading (or writing) an empty log in silence.
 */
function L(handle) {
  const log = handle.log ?? handle.lent ?? handle.held;
  if (log === null) throw new Error("evstore: the memory store's log was reached outside a call of its store (a bug in evstore; please report it)");
  return log;
}

/** How many write transactions have committed (a transaction's snapshot token). */
export function heapCommits(handle) {
  return L(handle).commits;
}

/** Makes the caller the one transaction with uncommitted writes; false if another one is. */
export function heapClaim(handle) {
  const log = L(handle);
  if (log.writing) return false;
  log.writing = true;
  log.undo.length = 0;
  log.duplicate = false;
  return true;
}

/** The stream's last revision, or -1. */
export function heapStreamHead(handle, streamId) {
  const log = L(handle);
  const stream = log.streams.get(streamId);
  return stream === undefined ? -1 : stream.length - 1;
}

/** The log's last position, or -1. */
export function heapLogHead(handle) {
  const log = L(handle);
  return log.records.length - 1;
}

/** For each id, `[streamId, revision, position]` where it is stored, or null. */
export function heapLocate(handle, ids) {
  const log = L(handle);
  return ids.map((id) => {
    const r = log.ids.get(id);
    return r === undefined ? null : [r.streamId, r.revision, r.position];
  });
}

/** The stream's records with revisions in [from, to], ascending. */
export function heapReadStream(handle, streamId, from, to) {
  const log = L(handle);
  const stream = log.streams.get(streamId);
  return stream === undefined ? [] : stream.slice(from, to + 1);
}

/** The log's records with positions in [from, to], ascending. */
export function heapReadLog(handle, from, to) {
  const log = L(handle);
  return log.records.slice(from, to + 1);
}

function insert(log, record) {
  log.ids.set(record.id, record);
  const stream = log.streams.get(record.streamId);
  if (stream === undefined) log.streams.set(record.streamId, [record]);
  else stream.push(record);
  log.records.push(record);
}

/**
 * Writes an event the core numbered: `text` holds its id, stream id and type one after another
 * (their lengths given); `data` and `metadata` come as strings of their own, so that each is a
 * flat string (JSON.parse reads a slice of a larger string ~10% slower). Stream ids and types
 * are shared across records; an id that is already stored writes nothing and makes the commit
 * conflict.
 */
export function heapPut(handle, position, revision, createdAt, text, idLen, streamLen, data, metadata) {
  const log = L(handle);
  const id = text.slice(0, idLen);
  let streamId = text.slice(idLen, idLen + streamLen);
  let type = text.slice(idLen + streamLen);
  if (log.ids.has(id)) {
    log.duplicate = true;
    return;
  }
  const stream = log.streams.get(streamId);
  if (stream !== undefined) streamId = stream[0].streamId;
  if (type === log.lastType) type = log.lastType;
  else {
    const shared = log.types.get(type);
    if (shared === undefined) log.types.set(type, type);
    else type = shared;
    log.lastType = type;
  }
  const record = { position, id, streamId, type, revision, data, metadata, createdAt };
  log.ids.set(id, record);
  if (stream === undefined) log.streams.set(streamId, [record]);
  else stream.push(record);
  log.records.push(record);
  // Consecutive puts are undone together: one count.
  const undo = log.undo;
  if (typeof undo[undo.length - 1] === "number") undo[undo.length - 1]++;
  else undo.push(1);
}

function truncate(log, from) {
  const removed = log.records.splice(from);
  for (let i = removed.length - 1; i >= 0; i--) {
    const r = removed[i];
    log.ids.delete(r.id);
    const stream = log.streams.get(r.streamId);
    stream.pop();
    if (stream.length === 0) log.streams.delete(r.streamId);
  }
  return removed;
}

/** Deletes every event at a position at or after `from`. */
export function heapTruncate(handle, from) {
  const log = L(handle);
  log.undo.push({ removed: truncate(log, Math.min(from, log.records.length)) });
}

/** The meta value under `key`, or undefined. */
export function heapGetMeta(handle, key) {
  const log = L(handle);
  return log.meta.get(key);
}

/** `[key, value]` of every meta entry whose key starts with `prefix`, in key order. */
export function heapScanMeta(handle, prefix) {
  const log = L(handle);
  const keys = log.metaKeys;
  const out = [];
  for (let i = lowerBound(keys, prefix); i < keys.length && keys[i].startsWith(prefix); i++) {
    out.push([keys[i], log.meta.get(keys[i])]);
  }
  return out;
}

function lowerBound(keys, key) {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function setMeta(log, key, value) {
  const had = log.meta.has(key);
  if (value == null) {
    if (had) {
      log.meta.delete(key);
      log.metaKeys.splice(lowerBound(log.metaKeys, key), 1);
    }
  } else {
    if (!had) {
      const keys = log.metaKeys;
      if (keys.length === 0 || keys[keys.length - 1] < key) keys.push(key);
      else keys.splice(lowerBound(keys, key), 0, key);
    }
    log.meta.set(key, value);
  }
}

/** Stores `value` (text) under `key`; null deletes it. */
export function heapPutMeta(handle, key, value) {
  const log = L(handle);
  log.undo.push({ key, value: log.meta.get(key) });
  setMeta(log, key, value);
}

/** Ends the writing transaction: true, or false on a conflict (its writes stay for `heapRollback`). */
export function heapCommit(handle, beganAt) {
  const log = L(handle);
  if (log.duplicate || log.commits !== beganAt) return false;
  log.commits++;
  log.writing = false;
  log.undo.length = 0;
  return true;
}

/** Takes back the writing transaction's writes, newest first. */
export function heapRollback(handle) {
  const log = L(handle);
  for (let i = log.undo.length - 1; i >= 0; i--) {
    const u = log.undo[i];
    if (typeof u === "number") truncate(log, log.records.length - u);
    else if (u.removed !== undefined) for (const r of u.removed) insert(log, r);
    else setMeta(log, u.key, u.value);
  }
  log.undo.length = 0;
  log.writing = false;
  log.duplicate = false;
}

/** Releases every stored event (a closed store is never read again). */
export function heapClose(handle) {
  const log = L(handle);
  Object.assign(log, new HeapLog());
}
