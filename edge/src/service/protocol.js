// Names shared by the Worker and the Durable Object: the sync subprotocol, WebSocket close codes,
// and the internal header through which the Worker hands the verified identity to the object.

/** The WebSocket subprotocol of the sync/live-feed protocol (edge/PROTOCOL.md). */
export const SYNC_PROTOCOL = "evstore.sync.v4";
/**
 * Subprotocols of older versions: still accepted at the upgrade, so that an old client hears
 * why it is refused (an error frame naming the version, then close code 4426) instead of a
 * failed handshake it would take for being offline.
 */
export const OLD_SYNC_PROTOCOLS = ["evstore.sync.v1", "evstore.sync.v2", "evstore.sync.v3"];

/**
 * Close codes (4000–4999 are the application's) this host decides: the token expired or is invalid
 * / forbidden. The protocol's own (4401 for an expired token, 4426 for an older client) are
 * decided by the core's SyncServer.
 */
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** The socket's time is up (its maximum lifetime, or it did not read its frames): reconnect. */
export const CLOSE_RECONNECT = 4408;
/** The client sent messages faster than the service allows. */
export const CLOSE_TOO_MANY_MESSAGES = 4429;

/**
 * Set by the Worker on its own request to the object, from the verified token: never copied from
 * the client (the Worker builds a fresh request, so a client-supplied header never arrives).
 */
export const IDENTITY_HEADER = "x-evstore-identity";

/** `{ tenant, sub, exp, scopes }` ↔ header value (URI-encoded JSON: header values are bytes). */
export const encodeIdentity = (identity) => encodeURIComponent(JSON.stringify(identity));
export const decodeIdentity = (value) => JSON.parse(decodeURIComponent(value));
