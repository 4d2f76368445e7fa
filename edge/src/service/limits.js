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
// The sync protocol's own limits (frame size, client message size) are the core's constants
// (src/sync/feed.rs FRAME_BYTES, src/sync/protocol.rs MAX_CLIENT_MESSAGE_BYTES).

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

/** Most open sync sockets per tenant (EVSTORE_MAX_SOCKETS_PER_TENANT; default 1000). More: 429. */
export const DEFAULT_MAX_SOCKETS_PER_TENANT = 1000;
/** Most open sync sockets per token `sub` in a tenant (EVSTORE_MAX_SOCKETS_PER_SUB; default 100). More: 429. */
export const DEFAULT_MAX_SOCKETS_PER_SUB = 100;
/** Messages a socket may send per second, in bursts of as many (EVSTORE_MAX_SOCKET_MESSAGES_PER_SECOND; default 100). */
export const DEFAULT_MAX_SOCKET_MESSAGES_PER_SECOND = 100;
/** Longest life of a sync socket, in seconds (EVSTORE_MAX_SOCKET_LIFETIME; default 24 h): then it is closed (4408). */
export const DEFAULT_MAX_SOCKET_LIFETIME = 24 * 3600;
/** Bytes a socket may have waiting to go out before the server waits for the client to read. */
export const SOCKET_HIGH_WATER_BYTES = 1 * MiB;
/** Bytes of frames a socket is sent before the object yields to its other work (HTTP requests, newer pulls). */
export const SOCKET_STEP_BYTES = 256 * 1024;
/** How long the server waits for a socket over SOCKET_HIGH_WATER_BYTES to drain before closing it (4408). */
export const SOCKET_DRAIN_MS = 10_000;

/** The sync sockets' limits in force for `env`. */
export function socketLimits(env) {
  return {
    maxSocketsPerTenant: positiveInt(env.EVSTORE_MAX_SOCKETS_PER_TENANT, DEFAULT_MAX_SOCKETS_PER_TENANT),
    maxSocketsPerSub: positiveInt(env.EVSTORE_MAX_SOCKETS_PER_SUB, DEFAULT_MAX_SOCKETS_PER_SUB),
    maxMessagesPerSecond: positiveInt(env.EVSTORE_MAX_SOCKET_MESSAGES_PER_SECOND, DEFAULT_MAX_SOCKET_MESSAGES_PER_SECOND),
    maxSocketLifetime: positiveInt(env.EVSTORE_MAX_SOCKET_LIFETIME, DEFAULT_MAX_SOCKET_LIFETIME),
  };
}
