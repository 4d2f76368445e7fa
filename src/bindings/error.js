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
