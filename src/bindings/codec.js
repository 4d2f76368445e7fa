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

/** Encodes an append's events as one JSON array text; throws a TypeError naming the event. */
export function encodeEvents(events) {
  if (!Array.isArray(events)) {
    throw new TypeError("events must be an array");
  }
  const parts = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new TypeError(`events[${i}] must be an object`);
    }
    try {
      parts[i] = JSON.stringify(
        { type: event.type, id: event.id, data: event.data, metadata: event.metadata },
        replacer,
      );
    } catch (e) {
      const what = e instanceof TypeError && /circular/i.test(e.message) ? "a cyclic structure" : e.message;
      throw new TypeError(`events[${i}]: ${what}`);
    }
  }
  return "[" + parts.join(",") + "]";
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
