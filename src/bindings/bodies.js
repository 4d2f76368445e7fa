// The JS half of src/bindings/bodies.rs: read answers `{"events":[…]}` written straight from the
// stored records of each page (the row codec's fields; `data` and `metadata` are JSON text), so no
// payload crosses into wasm and no event object is built. The text of an event is the contract's
// recorded event as `JSON.stringify` writes it (the stored payload text as it was appended).

const encoder = new TextEncoder();

/** UTF-8 length of a string (exact; fast for ASCII). */
function utf8Length(text) {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).byteLength;
}

/** A read answer being written: at most `maxEvents` events, up to the one that reaches `maxBytes`. */
export function bodyStart(maxEvents, maxBytes) {
  return { parts: [], bytes: 0, remaining: maxEvents, maxBytes, last: -1 };
}

/**
 * Writes the stored `records` (ascending; in reverse when `reverse`) to `body` until its limits,
 * keeping in `body.last` the `key` ("revision" or "position") of the last one written. Returns the
 * events `body` may still take (0 once a limit is reached).
 */
export function bodyWrite(body, records, reverse, key) {
  const n = records.length;
  for (let i = 0; i < n && body.remaining > 0; i++) {
    const r = records[reverse ? n - 1 - i : i];
    const text = `{"id":${JSON.stringify(r.id)},"streamId":${JSON.stringify(r.streamId)},"type":${JSON.stringify(r.type)},"revision":${r.revision},"position":${r.position},"data":${r.data},"metadata":${r.metadata},"createdAt":"${new Date(r.createdAt).toISOString()}"}`;
    body.parts.push(text);
    body.bytes += utf8Length(text) + 1;
    body.last = r[key];
    body.remaining = body.bytes >= body.maxBytes ? 0 : body.remaining - 1;
  }
  return body.remaining;
}

/** The key of the last event written, or -1. */
export function bodyLast(body) {
  return body.last;
}

/** The answer's text. */
export function bodyText(body) {
  return `{"events":[${body.parts.join(",")}]}`;
}
