// The JS half of the payload boundary: one JSON text crosses per call, in each direction.
// Encoding happens at call time, so later mutation of the caller's objects cannot reach the
// store; decoding builds fresh objects on every read, so mutating a result cannot either.

function replacer(key, value) {
  switch (typeof value) {
    case "function":
    case "symbol":
    case "bigint":
      throw new TypeError(`${key ? `"${key}"` : "value"} is a ${typeof value}, which is not JSON`);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`${key ? `"${key}"` : "value"} is ${value}, which is not JSON`);
      }
  }
  return value;
}

const RS = "\x1e";

/**
 * Encodes an append's events as one string for one crossing into wasm: per event 4 fields, each
 * followed by U+001E: type and id as JSON (strings come quoted), data and metadata as JSON text;
 * an absent field is empty. JSON.stringify escapes control characters, so no field contains
 * U+001E. The rules (what a valid type, id or metadata is) are checked in Rust.
 */
export function encodeEvents(events) {
  if (!Array.isArray(events)) {
    throw new TypeError("events must be an array");
  }
  let out = "";
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      throw new TypeError(`events[${i}] must be an object`);
    }
    try {
      out +=
        json(e.type) + RS +
        (e.id == null ? "" : json(e.id)) + RS +
        (e.data === undefined ? "" : JSON.stringify(e.data, replacer)) + RS +
        (e.metadata == null ? "" : JSON.stringify(e.metadata, replacer)) + RS;
    } catch (err) {
      const what = err instanceof TypeError && /circular/i.test(err.message) ? "a cyclic structure" : err.message;
      throw new TypeError(`events[${i}]: ${what}`);
    }
  }
  return out;
}

// A string field as JSON; "" when absent; "!" (never valid JSON) for any other value, which Rust
// then rejects with a message naming the field.
function json(value) {
  return typeof value === "string" ? JSON.stringify(value) : value === undefined ? "" : "!";
}

/** Decodes recorded events from one JSON array text; `createdAt` becomes a `Date`. */
export function decodeEvents(text) {
  const events = JSON.parse(text);
  for (let i = 0; i < events.length; i++) {
    events[i].createdAt = new Date(events[i].createdAt);
  }
  return events;
}

/** The result object of `append`. */
export function appendResult(nextExpectedRevision, position) {
  return { nextExpectedRevision, position };
}
