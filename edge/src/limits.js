// The edge service's documented limits (README "At the edge"), with their environment overrides.

const MiB = 1024 * 1024;

/** Largest request body, in bytes (EVSTORE_MAX_BODY_BYTES; default 8 MiB). Larger: 413. */
export const DEFAULT_MAX_BODY_BYTES = 8 * MiB;
/** Most events in one append (EVSTORE_MAX_BATCH_EVENTS; default 1000). More: 400. */
export const DEFAULT_MAX_BATCH_EVENTS = 1000;
/** Largest event (`data` + `metadata` as JSON), in bytes: the store's `maxEventBytes`. More: 400 EVENT_TOO_LARGE. */
export const MAX_EVENT_BYTES = 512 * 1024;
/** How deep an event's `data` and `metadata` may nest (objects and arrays): the JS API's limit. */
export const MAX_NESTING = 256;
/** Most events in one read answer (a larger or absent `maxCount` is capped to it). */
export const MAX_READ_EVENTS = 1000;
/** A read answer stops after the event that takes it past this many bytes of JSON. */
export const MAX_READ_BYTES = 8 * MiB;
/** A WebSocket frame of events stops after the event that takes it past this many bytes. */
export const MAX_FRAME_BYTES = 500 * 1000;
/** Most bytes in one WebSocket message from a client (a push carries ≤ ~512 KiB of events). */
export const MAX_MESSAGE_BYTES = 1 * MiB;

function positiveInt(value, fallback) {
  if (typeof value !== "string" || !/^[1-9][0-9]{0,15}$/.test(value.trim())) return fallback;
  return Number(value.trim());
}

/** The limits in force for `env`. */
export function limits(env) {
  return {
    maxBodyBytes: positiveInt(env.EVSTORE_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    maxBatchEvents: positiveInt(env.EVSTORE_MAX_BATCH_EVENTS, DEFAULT_MAX_BATCH_EVENTS),
  };
}
