// The JS half of the wasm boundary, in one module (one file for the page to load): the row codec
// (src/row.rs documents the format), the append encoding, and the one error class. Used by the
// bindings and by the JS-hosted storages (IndexedDB, Durable Object).

// ---- The row codec ----------------------------------------------------------------------------
// The JS half of the row codec (src/row.rs documents the format): a page of events is one JSON
// text of rows [id, streamId, type, revision, position, data, metadata, createdAt]. Stored
// records — IndexedDB's objects and the Durable Object's SQL rows — have the same fields by
// name, with `data` and `metadata` as JSON text. `recordedEvent` is the one place that builds the
// contract's recorded-event object. Every read builds fresh objects, so mutating a result never
// reaches the store.

/** The contract's recorded event. */
function recordedEvent(id, streamId, type, revision, position, data, metadata, createdAt) {
  return { id, streamId, type, revision, position, data, metadata, createdAt: new Date(createdAt) };
}

/**
 * Rows text (written by Rust) → recorded events, upcast by `schema` (the compiled schema, or
 * `undefined`). Parsing keyless rows beats keyed objects.
 */
export function decodeRows(text, schema) {
  const rows = JSON.parse(text);
  const events = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    events[i] = recordedEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
  }
  if (schema !== undefined) schema.upcast(events, 0);
  return events;
}

/** A stored record → the recorded event (one JSON.parse per payload). */
function recordToEvent(r) {
  return recordedEvent(r.id, r.streamId, r.type, r.revision, r.position, JSON.parse(r.data), JSON.parse(r.metadata), r.createdAt);
}

/** Stored records, ascending → recorded events (descending when `reverse`), upcast by `schema`. */
export function recordsToEvents(records, reverse, schema) {
  const n = records.length;
  const events = new Array(n);
  for (let i = 0; i < n; i++) events[i] = recordToEvent(records[reverse ? n - 1 - i : i]);
  if (schema !== undefined) schema.upcast(events, 0);
  return events;
}

/** The records at `indices` (ascending) → recorded events upcast by `schema`, appended to `out`. */
export function recordsAt(records, indices, out, schema) {
  const from = out.length;
  for (let i = 0; i < indices.length; i++) out.push(recordToEvent(records[indices[i]]));
  if (schema !== undefined) schema.upcast(out, from);
}

// ---- Schema evolution -------------------------------------------------------------------------
// The `schema` open option, compiled: per event type its current version and the steps that
// upcast older data (`upcast[v]`: version v data → v + 1). The three builders above end with
// `schema.upcast`, the one upcasting step of every read; stored events never change.

/** The metadata key that holds an event's schema version. */
const SCHEMA_VERSION = "$schemaVersion";
const MAX_VERSION = 2147483647;

/** The version an event was stored with: its `$schemaVersion` when an integer ≥ 1, else 1. */
function storedVersion(event) {
  const v = event.metadata?.[SCHEMA_VERSION];
  return Number.isInteger(v) && v >= 1 ? v : 1;
}

/** What `Schema#upcast` throws when a step fails (the bindings turn it into `UPCAST_FAILED`). */
export class UpcastFailure extends Error {
  constructor(eventId, type, version, cause) {
    super(`the upcaster of ${type} from version ${version} failed on event ${eventId}`);
    this.name = "UpcastFailure";
    this.eventId = eventId;
    this.type = type;
    this.version = version;
    this.upcastCause = cause;
  }
}

/** `event`'s data run through `entry`'s steps from version `stored` to the current one. */
function runSteps(entry, event, stored) {
  let data = event.data;
  let k = stored;
  try {
    for (; k < entry.version; k++) {
      data = entry.steps[k](data, event);
      if (data === undefined || isThenable(data)) break;
    }
  } catch (e) {
    throw new UpcastFailure(event.id, event.type, k, e);
  }
  if (k < entry.version) {
    const what = data === undefined ? "returned undefined (a step returns the next version's data)" : "returned a promise (steps are synchronous)";
    throw new UpcastFailure(event.id, event.type, k, new TypeError(`schema.${event.type}.upcast[${k}] ${what}`));
  }
  return data;
}

/** A compiled `schema` (see `compileSchema`). */
export class Schema {
  #types;

  constructor(types) {
    this.#types = types;
  }

  /**
   * Upcasts `events[from..]` in place: an event whose type has an entry and whose stored
   * version is at most the entry's gets the steps' data and `$schemaVersion` = the version; one
   * of a newer version stays as stored. A step that throws, returns `undefined` or returns a
   * thenable throws an `UpcastFailure`.
   */
  upcast(events, from) {
    const types = this.#types;
    for (let i = from; i < events.length; i++) {
      const event = events[i];
      const entry = types[event.type];
      if (entry === undefined) continue;
      const stored = storedVersion(event);
      if (stored > entry.version) continue;
      if (stored < entry.version) event.data = runSteps(entry, event, stored);
      // Set (or added last: a plain property add is far cheaper than rebuilding the object).
      event.metadata[SCHEMA_VERSION] = entry.version;
    }
  }

  /** `SCHEMA_TOO_NEW` when `event` was written by a newer app (a fold must not take it), else null. */
  tooNew(event) {
    const entry = this.#types[event.type];
    if (entry === undefined) return null;
    const version = storedVersion(event);
    if (version <= entry.version) return null;
    return new EventStoreError(
      `stream '${event.streamId}' holds a ${event.type} event of schema version ${version}, newer than this app's: update the app to fold it`,
      "SCHEMA_TOO_NEW",
      { streamId: event.streamId, type: event.type, version },
    );
  }

  /** The current versions as JSON text `[[type, version], …]` (the core stamps appends with them). */
  versions() {
    return JSON.stringify(Object.keys(this.#types).map((t) => [t, this.#types[t].version]));
  }
}

/**
 * The `schema` open option → a `Schema`, or `undefined` when absent or empty (no upcasting code
 * runs then). Throws a TypeError naming the type and key for anything it could not honour.
 */
export function compileSchema(raw) {
  if (raw === undefined || raw === null) return undefined;
  if (!plainObject(raw)) throw new TypeError(`schema must be an object of event types ({ ItemAdded: { version, upcast } }), got ${describe(raw)}`);
  const types = Object.create(null);
  let any = false;
  for (const type of Object.keys(raw)) {
    if (type === "" || type.startsWith("$")) {
      throw new TypeError(`schema: type ${JSON.stringify(type)} cannot have a schema (${type === "" ? "empty" : "a system type"})`);
    }
    const entry = raw[type];
    const at = `schema.${type}`;
    if (!plainObject(entry)) throw new TypeError(`${at} must be an object { version, upcast }, got ${describe(entry)}`);
    for (const key of Object.keys(entry)) {
      if (key !== "version" && key !== "upcast") throw new TypeError(`${at} has an unknown key "${key}" (an entry has: version, upcast)`);
    }
    const version = entry.version;
    if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
      throw new TypeError(`${at}.version must be an integer from 1 to ${MAX_VERSION}, got ${describe(version)}`);
    }
    const upcast = entry.upcast ?? {};
    if (!plainObject(upcast)) throw new TypeError(`${at}.upcast must be an object of steps ({ 1: (data) => data }), got ${describe(upcast)}`);
    const steps = new Array(version);
    for (const key of Object.keys(upcast)) {
      const k = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : NaN;
      if (!(k >= 1 && k < version)) {
        const range = version === 1 ? "version 1 takes no steps" : `steps go from 1 to ${version - 1} (version is ${version})`;
        throw new TypeError(`${at}.upcast[${key}]: ${range}; upcast[v] turns version v data into v + 1`);
      }
      if (typeof upcast[key] !== "function") throw new TypeError(`${at}.upcast[${key}] must be a function, got ${describe(upcast[key])}`);
      steps[k] = upcast[key];
    }
    for (let k = 1; k < version; k++) {
      if (steps[k] === undefined) {
        throw new TypeError(`${at}.upcast[${k}] is missing (version ${version} needs a step from each older version: 1 … ${version - 1})`);
      }
    }
    types[type] = { version, steps };
    any = true;
  }
  return any ? new Schema(types) : undefined;
}

function plainObject(v) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return `a ${typeof v}`;
}

/** The records' positions. */
export function recordPositions(records) {
  const out = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) out[i] = records[i].position;
  return out;
}

/** The records' stream ids and types, as JSON text `[[streamId, type], ...]`. */
export function recordHeads(records) {
  return JSON.stringify(records.map((r) => [r.streamId, r.type]));
}

/**
 * What a read-time retention filter needs of each record, without its payloads: JSON text
 * `[[streamId, revision, createdAt], ...]`.
 */
export function recordLifeHeads(records) {
  return JSON.stringify(records.map((r) => [r.streamId, r.revision, r.createdAt]));
}

/** The records whose byte in `keep` is 1 (one byte per record), as a new array. */
export function recordsKept(records, keep) {
  const out = [];
  for (let i = 0; i < records.length; i++) if (keep[i] === 1) out.push(records[i]);
  return out;
}

/** Stored records → rows text for Rust (one crossing; payloads stay the stored text). */
export function recordsToRows(records) {
  let out = "[";
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    out += `${i ? ",[" : "["}"${r.id}",${JSON.stringify(r.streamId)},${JSON.stringify(r.type)},${r.revision},${r.position},${r.data},${r.metadata},${r.createdAt}]`;
  }
  return out + "]";
}

/** How many records a page holds. */
export function recordCount(records) {
  return records.length;
}

// ---- The append encoding and delivery helpers -------------------------------------------------
// The JS half of the payload boundary: one JSON text crosses per call, in each direction.
// Encoding happens at call time, so later mutation of the caller's objects cannot reach the
// store; decoding builds fresh objects on every read, so mutating a result cannot either.

const RS = "\x1e";

/** The fields of an event given to `append`. */
const EVENT_KEYS = ["type", "data", "metadata", "id"];

/**
 * How deep `data` and `metadata` may nest (objects and arrays, the outermost one counted): the
 * same limit in every runtime and over HTTP (edge/src/limits.js MAX_NESTING).
 */
const MAX_DEPTH = 256;

/**
 * `value` as JSON text, refusing (TypeError) what JSON cannot represent faithfully: a function,
 * symbol or BigInt, a non-finite number, a Map, Set, ArrayBuffer or typed array, or nesting deeper
 * than MAX_DEPTH. One pass that validates while it writes, with JSON.stringify's semantics
 * (`toJSON`, own enumerable keys in order, `undefined` skipped in objects and `null` in arrays,
 * boxed primitives unwrapped), so every property — getters included — is read exactly once:
 * what is checked is what is stored. (A JSON.stringify replacer did the same at ~1.4x the cost.)
 */
function payload(value, field) {
  return serialize(value, "", field, []);
}

/**
 * `v` (the value under `key`, a property name or an array index; `ancestors` the objects that
 * hold it) as JSON text, or undefined. Plain objects and arrays (the usual payload) skip the
 * checks for the kinds JSON cannot represent, which only other prototypes can be.
 */
function serialize(v, key, field, ancestors) {
  if (v !== null && typeof v === "object") {
    const toJSON = v.toJSON;
    if (typeof toJSON === "function") v = toJSON.call(v, typeof key === "number" ? String(key) : key);
  }
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`${where(key, field)} is ${v}, which is not JSON`);
      return "" + v;
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return undefined;
    case "object": {
      if (v === null) return "null";
      if (ancestors.length >= MAX_DEPTH) throw new TypeError(`${field} nests deeper than ${MAX_DEPTH} levels`);
      const array = Array.isArray(v);
      if (!array && Object.getPrototypeOf(v) !== Object.prototype) {
        if (
          v instanceof Map || v instanceof Set || v instanceof WeakMap || v instanceof WeakSet ||
          v instanceof ArrayBuffer || ArrayBuffer.isView(v)
        ) {
          throw new TypeError(`${where(key, field)} is a ${v.constructor.name}, which JSON cannot represent (convert it to an object or array)`);
        }
        if (v instanceof Number || v instanceof String || v instanceof Boolean) return JSON.stringify(v);
      }
      if (ancestors.includes(v)) throw new TypeError("Converting circular structure to JSON");
      ancestors.push(v);
      let out;
      if (array) {
        out = "[";
        for (let i = 0, n = v.length; i < n; i++) {
          const item = serialize(v[i], i, field, ancestors);
          out += (i ? "," : "") + (item === undefined ? "null" : item);
        }
        out += "]";
      } else {
        out = "{";
        const keys = Object.keys(v);
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          const item = serialize(v[k], k, field, ancestors);
          if (item !== undefined) out += (out.length > 1 ? "," : "") + quote(k) + ":" + item;
        }
        out += "}";
      }
      ancestors.pop();
      return out;
    }
    default:
      throw new TypeError(`${where(key, field)} is a ${typeof v}, which is not JSON`);
  }
}

/** A JSON string literal: short strings with nothing to escape skip JSON.stringify. */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
function quote(s) {
  return s.length < 64 && PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function where(key, field) {
  return key === "" ? field : `"${String(key)}" in ${field}`;
}

/** Whether `s` is well-formed UTF-16 (no lone surrogate). */
const wellFormed = typeof String.prototype.isWellFormed === "function" ? (s) => s.isWellFormed() : (s) => !/\p{Cs}/u.test(s);

/**
 * Encodes an append's arguments as one string (UTF-8 bytes when long) for one crossing into
 * wasm. Header: the stream id, the expected revision, and `causedBy`'s causation and correlation
 * ids, each followed by U+001E;
 * then per event 4 fields, each followed by U+001E: type and id as JSON (strings come quoted),
 * data and metadata as JSON text. An absent value is empty; "!" (never valid JSON) stands for a
 * value of the wrong kind. JSON.stringify escapes control characters, so no field contains
 * U+001E. The rules (what a valid stream id, expected revision, type, id or metadata is) are
 * checked in Rust. Options with a key other than `expectedRevision` and `causedBy` give null.
 * With `kept` (an object), a successful encoding also sets `kept.strings` to the stream id and
 * each event's type, data and metadata as JS strings, so that the memory storage can store them
 * without reading them back out of wasm.
 */
export function encodeAppend(streamId, events, options, kept) {
  if (options != null && (typeof options !== "object" || Array.isArray(options))) {
    throw new TypeError("append options must be an object");
  }
  if (options != null) {
    // An unknown option: null, and Rust's check names it (with the nearest known one).
    for (const key in options) if (key !== "expectedRevision" && key !== "causedBy" && Object.hasOwn(options, key)) return null;
  }
  const expected = options?.expectedRevision; // every input is read once
  let out = json(streamId, "streamId") + RS + (typeof expected === "number" ? String(expected) : json(expected ?? undefined, "expectedRevision")) + RS;
  out += causation(options?.causedBy);
  if (!Array.isArray(events)) {
    throw new TypeError("events must be an array");
  }
  // The strings as the core will store them, for a storage on the JS heap (`kept`, see heap.js
  // heapPutKept): the stream id, then per event its type, data and metadata text.
  const strings = kept === undefined ? undefined : [streamId];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      throw new TypeError(`events[${i}] must be an object`);
    }
    for (const key in e) {
      // A misspelt field (`dat`) must not be stored as a missing one: refused, as over HTTP.
      if (!EVENT_KEYS.includes(key) && Object.hasOwn(e, key)) {
        throw new TypeError(`events[${i}] has an unknown field "${key}" (an event has: ${EVENT_KEYS.join(", ")})`);
      }
    }
    const { type, id, data, metadata } = e; // each read once: what is checked is what is stored
    try {
      const dataText = data === undefined ? "" : payload(data, "data");
      const metadataText = metadata == null ? "" : payload(metadata, "metadata");
      out += json(type, "type") + RS + (id == null ? "" : json(id, "id")) + RS + dataText + RS + metadataText + RS;
      // (A type that is not a string fails in Rust, and `kept` is then never read.)
      strings?.push(type, dataText === "" ? "null" : dataText, metadataText === "" ? "{}" : metadataText);
    } catch (err) {
      const what = err instanceof TypeError && /circular/i.test(err.message) ? "a cyclic structure" : err.message;
      throw new TypeError(`events[${i}]: ${what}`);
    }
  }
  // Set last, once every getter and toJSON has run (one of them may append on its own).
  if (kept !== undefined) kept.strings = strings;
  // A long text crosses as UTF-8 bytes (TextEncoder is native; the glue copies a string into
  // wasm a character at a time, which costs more than the Uint8Array from 2,048 code units on).
  return out.length < LONG_TEXT ? out : ENCODER.encode(out);
}

/** From how many code units `encodeAppend` gives its text as UTF-8 bytes. */
const LONG_TEXT = 2048;
const ENCODER = new TextEncoder();

/**
 * `causedBy` (a recorded event: an object with a string `id`) as two header fields: the
 * causation id (its id) and the correlation id (its `metadata.correlationId` when that is a
 * string, else its id); two empty fields when absent.
 */
function causation(cause) {
  if (cause === undefined) return RS + RS;
  const id = cause !== null && typeof cause === "object" ? cause.id : undefined;
  if (typeof id !== "string" || id === "") {
    throw new TypeError("causedBy must be a recorded event (an object with a string id), got " +
      (cause === null ? "null" : typeof cause !== "object" ? typeof cause : Array.isArray(cause) ? "an array" : "an object without a string id"));
  }
  const metadata = cause.metadata;
  const correlation = metadata !== null && typeof metadata === "object" && typeof metadata.correlationId === "string" ? metadata.correlationId : id;
  return json(id, "causedBy.id") + RS + json(correlation, "causedBy.metadata.correlationId") + RS;
}

// A string field as JSON; "" when absent; "!" (never valid JSON) for any other value, which Rust
// then rejects with a message naming the field. A lone surrogate is refused here, by name.
function json(value, field) {
  if (typeof value === "string") {
    // Short and plain (no quote, backslash, control character or surrogate): quoted as it is.
    if (value.length < 64 && PLAIN.test(value)) return `"${value}"`;
    if (!wellFormed(value)) throw new TypeError(`${field} contains a lone surrogate (an unpaired UTF-16 code unit), which is not valid Unicode`);
    return JSON.stringify(value);
  }
  return value === undefined ? "" : "!";
}

/** The result object of `append`. */
export function appendResult(nextExpectedRevision, position) {
  return { nextExpectedRevision, position };
}

/**
 * Folds recorded events into `{ state, revision }`; `evolve` may return a Promise. With a
 * `schema`, an event written by a newer app rejects with `SCHEMA_TOO_NEW` before `evolve` sees it.
 */
export async function fold(events, initialState, evolve, schema) {
  let state = initialState();
  for (const event of events) {
    if (schema !== undefined) {
      const tooNew = schema.tooNew(event);
      if (tooNew !== null) throw tooNew;
    }
    state = evolve(state, event);
    if (state !== null && typeof state === "object" && typeof state.then === "function") state = await state;
  }
  return { state, revision: events.length ? events[events.length - 1].revision : null };
}

/** Whether a handler's return value is to be awaited. */
export function isThenable(value) {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
}

/**
 * Calls `handler` on `events[from..to)` in order. Returns -1 when all ran synchronously, -2 when
 * `control.cancelled` was set (by unsubscribe) before an event, or the index of the event whose
 * handler returned a thenable (left in `control.pending` for Rust to await). A handler that
 * throws makes this throw.
 */
export function deliverBatch(events, from, to, handler, control) {
  for (let i = from; i < to; i++) {
    if (control.cancelled) return -2;
    const r = handler(events[i]);
    if (r !== undefined && isThenable(r)) {
      control.pending = r;
      return i;
    }
  }
  return -1;
}

// ---- Errors -----------------------------------------------------------------------------------
// The one error class of evstore in JS. Every failure — the store's, the storage's, loading the
// wasm — is an EventStoreError with the contract's `code` and fields; a storage's own error
// (a DOMException, a SQLite error) is kept as `cause`.
export class EventStoreError extends Error {
  constructor(message, code, fields) {
    super(message, fields && "cause" in fields ? { cause: fields.cause } : undefined);
    this.name = "EventStoreError";
    this.code = code;
    if (fields) {
      for (const key of Object.keys(fields)) if (key !== "cause") this[key] = fields[key];
    }
  }
}

/** A new EventStoreError (called from Rust). */
export function makeError(message, code, fields) {
  return new EventStoreError(message, code, fields);
}

/** `value` as an Error: itself if it is one, else an Error carrying it as `cause`. */
export function asError(value, what) {
  return value instanceof Error ? value : new Error(`${what} threw a non-Error value`, { cause: value });
}

/** Reports a failure nobody listens to. */
export function reportError(message, error) {
  console.error(message, error);
}
