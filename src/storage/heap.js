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
/**
 * One store's events, indexes and meta area. An event's slot in `records` (by position) is its
 * record, a husk `{ position, id, streamId, revision, removed: 1 }` once it was removed (a new
 * object: the original's type and payload strings become garbage), or `undefined` where this log
 * never held an event (a hole: a synced device that never received an event the server removed).
 * A stream's array holds its records and husks by revision; its revisions may have holes too.
 */
export class HeapLog {
  constructor() {
    this.records = []; // by position: record, husk, or undefined (a hole)
    this.streams = new Map(); // stream id → the stream's records and husks, ascending by revision
    this.ids = new Map(); // event id → record or husk
    this.types = new Map(); // one string per event type
    this.meta = new Map();
    this.metaKeys = []; // the meta keys, sorted (prefix scans)
    this.commits = 0;
    this.writing = false; // a transaction holds uncommitted writes
    // How to take them back, oldest first: n (the log's length before a run of puts),
    // { removed } (a truncated tail), { husked } (records a removal replaced), { key, value }.
    this.undo = [];
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

/** The stream's last revision ever written (husks count), or -1. */
export function heapStreamHead(handle, streamId) {
  const log = L(handle);
  const stream = log.streams.get(streamId);
  return stream === undefined ? -1 : stream[stream.length - 1].revision;
}

/** The log's last position ever written (husks count), or -1. */
export function heapLogHead(handle) {
  const log = L(handle);
  return log.records.length - 1;
}

/** For each id, `[streamId, revision, position, removed]` where it is stored, or null. */
export function heapLocate(handle, ids) {
  const log = L(handle);
  return ids.map((id) => {
    const r = log.ids.get(id);
    return r === undefined ? null : [r.streamId, r.revision, r.position, r.removed === 1];
  });
}

/** The index of the first entry of `stream` (ascending by revision) at or above `revision`. */
function revisionBound(stream, revision) {
  let lo = 0;
  let hi = stream.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (stream[mid].revision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The stream's live records with revisions in [from, to], ascending (husks skipped). */
export function heapReadStream(handle, streamId, from, to) {
  const log = L(handle);
  const stream = log.streams.get(streamId);
  const out = [];
  if (stream === undefined) return out;
  for (let i = revisionBound(stream, from); i < stream.length; i++) {
    const r = stream[i];
    if (r.revision > to) break;
    if (r.removed !== 1) out.push(r);
  }
  return out;
}

/** The log's live records with positions in [from, to], ascending (husks and holes skipped). */
export function heapReadLog(handle, from, to) {
  const records = L(handle).records;
  const end = Math.min(to, records.length - 1);
  const out = [];
  for (let p = from; p <= end; p++) {
    const r = records[p];
    if (r !== undefined && r.removed !== 1) out.push(r);
  }
  return out;
}

/** Writes `record` (or a husk) at its position, past any hole, and indexes it. */
function insert(log, record) {
  log.ids.set(record.id, record);
  const stream = log.streams.get(record.streamId);
  if (stream === undefined) log.streams.set(record.streamId, [record]);
  else stream.push(record);
  const records = log.records;
  while (records.length < record.position) records.push(undefined);
  records.push(record);
}

/**
 * Writes an event the core numbered: `text` holds its id, stream id and type one after another
 * (their lengths given); `data` and `metadata` come as strings of their own, so that each is a
 * flat string (JSON.parse reads a slice of a larger string ~10% slower). Stream ids and types
 * are shared across records; an id that is already stored writes nothing and makes the commit
 * conflict. Positions and revisions increase but need not be dense: the positions skipped become
 * holes.
 */
export function heapPut(handle, position, revision, createdAt, text, idLen, streamLen, data, metadata) {
  const id = text.slice(0, idLen);
  put(L(handle), position, revision, createdAt, id, text.slice(idLen, idLen + streamLen), text.slice(idLen + streamLen), data, metadata);
}

/**
 * `heapPut` of the `k`th event of the append `encodeAppend` (src/codec.js) encoded last, whose
 * stream id, type, data and metadata strings are `kept.strings` (the core checked that they are
 * the ones it numbered): only the id crosses out of wasm. Each payload is flattened (the encoder
 * built it piece by piece; a flat string is smaller and parses faster).
 */
export function heapPutKept(handle, position, revision, createdAt, id, kept, k) {
  const s = kept.strings;
  const data = s[3 * k + 2];
  const metadata = s[3 * k + 3];
  data.charCodeAt(0);
  metadata.charCodeAt(0);
  put(L(handle), position, revision, createdAt, id, s[0], s[3 * k + 1], data, metadata);
}

/** `heapStreamHead` of the stream of the append `encodeAppend` encoded last (`kept.strings[0]`). */
export function heapStreamHeadKept(handle, kept) {
  return heapStreamHead(handle, kept.strings[0]);
}

function put(log, position, revision, createdAt, id, streamId, type, data, metadata) {
  if (log.ids.has(id) || position < log.records.length) {
    log.duplicate = true;
    return;
  }
  const stream = log.streams.get(streamId);
  if (stream !== undefined) {
    if (stream[stream.length - 1].revision >= revision) {
      log.duplicate = true;
      return;
    }
    streamId = stream[0].streamId;
  }
  if (type === log.lastType) type = log.lastType;
  else {
    const shared = log.types.get(type);
    if (shared === undefined) log.types.set(type, type);
    else type = shared;
    log.lastType = type;
  }
  // Consecutive puts are undone together: back to the log's length before the first of them.
  const undo = log.undo;
  if (typeof undo[undo.length - 1] !== "number") undo.push(log.records.length);
  insert(log, { position, id, streamId, type, revision, data, metadata, createdAt });
}

/** Cuts the log back to `from` positions; returns what was cut (holes included), ascending. */
function truncate(log, from) {
  const removed = log.records.splice(from);
  for (let i = removed.length - 1; i >= 0; i--) {
    const r = removed[i];
    if (r === undefined) continue;
    log.ids.delete(r.id);
    const stream = log.streams.get(r.streamId);
    stream.pop();
    if (stream.length === 0) log.streams.delete(r.streamId);
  }
  return removed;
}

/** Deletes every event at a position at or after `from` (husks included). */
export function heapTruncate(handle, from) {
  const log = L(handle);
  log.undo.push({ removed: truncate(log, Math.min(from, log.records.length)) });
}

/**
 * Husks the live events of `streamId` with revisions in [from, to], created before
 * `createdBefore` (ms) and at a position at or below `through` (+∞ for either: no such bound):
 * id, stream id, revision and position stay, type, data, metadata and createdAt go. Returns how
 * many were husked.
 */
export function heapRemove(handle, streamId, from, to, createdBefore, through) {
  const log = L(handle);
  const stream = log.streams.get(streamId);
  if (stream === undefined) return 0;
  const husked = [];
  for (let i = revisionBound(stream, from); i < stream.length; i++) {
    const r = stream[i];
    if (r.revision > to) break;
    if (r.removed === 1 || !(r.createdAt < createdBefore) || r.position > through) continue;
    const husk = { position: r.position, id: r.id, streamId: r.streamId, revision: r.revision, removed: 1 };
    stream[i] = husk;
    log.records[r.position] = husk;
    log.ids.set(r.id, husk);
    husked.push(r);
  }
  if (husked.length > 0) log.undo.push({ husked });
  return husked.length;
}

/** Puts husked records back in place of their husks (a rollback). */
function unhusk(log, husked) {
  for (const r of husked) {
    const stream = log.streams.get(r.streamId);
    stream[revisionBound(stream, r.revision)] = r;
    log.records[r.position] = r;
    log.ids.set(r.id, r);
  }
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
    if (typeof u === "number") truncate(log, u);
    else if (u.removed !== undefined) for (const r of u.removed) r === undefined ? log.records.push(undefined) : insert(log, r);
    else if (u.husked !== undefined) unhusk(log, u.husked);
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
