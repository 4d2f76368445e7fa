// Reading events out of the store in bounded pieces: a read answer or a WebSocket frame holds at
// most a number of events and stops after the event that takes it past a byte budget (so one very
// large event still goes out, alone). Events are serialised once, as the contract's JSON
// (`createdAt` as an ISO-8601 string).

const CHUNK = 250;
const encoder = new TextEncoder();

/** UTF-8 length of a string (exact; fast for ASCII). */
export function utf8Length(text) {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).byteLength;
}

/**
 * Serialised events read with `read({ from, direction, maxCount })` (readStream or readAll), where
 * `key` ("revision" or "position") orders them. Returns `{ parts, bytes, last }`: `parts` are the
 * events' JSON texts, `last` the last event read (or null).
 */
export async function collectEvents(read, key, { from, direction = "forwards", maxCount }, { maxEvents, maxBytes }) {
  const backwards = direction === "backwards";
  let remaining = Math.min(maxCount ?? Infinity, maxEvents);
  let cursor = from ?? (backwards ? "end" : "start");
  const parts = [];
  let bytes = 0;
  let last = null;
  while (remaining > 0) {
    const want = Math.min(remaining, CHUNK);
    const chunk = await read({ from: cursor, direction, maxCount: want });
    for (const event of chunk) {
      const text = JSON.stringify(event);
      parts.push(text);
      bytes += utf8Length(text) + 1;
      last = event;
      remaining--;
      if (bytes >= maxBytes) remaining = 0;
      if (remaining === 0) break;
    }
    if (chunk.length < want || last === null) break;
    const next = last[key] + (backwards ? -1 : 1);
    if (next < 0) break;
    cursor = next;
  }
  return { parts, bytes, last };
}
