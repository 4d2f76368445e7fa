// The seam between the edge service's shared logic (this directory: no runtime API beyond Web
// `Request`/`Response`, WebCrypto and timers) and a host that runs it. A host implements two
// things, described here: the `Tenants` that `respond` routes to, and for each tenant it runs, a
// `Host` from which it builds a `Tenant` (./tenant.js). Hosts today: the Worker with one Durable
// Object per tenant (../worker.js, ../tenant.js, ../sync.js); a Node.js process on PostgreSQL
// (server/: tenants.js, sockets.js, http.js). This module holds only these types.

/**
 * How `respond` reaches a tenant: `get(tenant)` returns the tenant's object (a Durable Object
 * stub, or an in-process `Tenant`). The id was taken from the route and checked against the
 * verified token; the object checks it again against its pinned tenant.
 * @typedef {object} Tenants
 * @property {(tenant: string) => TenantCalls} get
 */

/**
 * The calls `respond` makes on a tenant's object: `Tenant`'s methods of the same names. Each
 * answers `{ status, body }` (body: JSON text), except `fetch`, which takes the WebSocket
 * upgrade `respond` builds (`https://tenant.internal/sync` with the verified identity in
 * IDENTITY_HEADER, never a header of the client's request) and answers it.
 * @typedef {Pick<import("./tenant.js").Tenant, "append" | "readStream" | "readAll" | "getStreamMetadata" | "setStreamMetadata" | "deleteStream" | "fetch">} TenantCalls
 */

/**
 * What a host gives the `Tenant` of one tenant. All socket work of a tenant must reach that one
 * `Tenant` (its feed keeps one queue per tenant: a socket's catch-up and its live events never
 * interleave), and the host hands each socket's messages and closes to it
 * (`webSocketMessage`, `webSocketClose`, `webSocketError`). Answering `{"type":"ping"}` with
 * `{"type":"pong"}` is the host's job too (the Durable Object's runtime does it without waking the
 * object).
 * @typedef {object} Host
 * @property {Record<string, string | undefined>} env The EVSTORE_* settings.
 * @property {import("evstore").EventStore} store The tenant's opened store.
 * @property {string} epoch The log's identity (edge/PROTOCOL.md), made once with the log and kept.
 * @property {Pinning} pinned The tenant this store belongs to.
 * @property {() => Iterable<Socket>} sockets The tenant's open sockets (those `accept` made).
 * @property {(attachment: object, protocol: string | null) => Response} accept Opens a socket
 *   for an upgrade the `Tenant` admitted: stores `attachment` on it and answers the 101 (with
 *   `protocol` as `Sec-WebSocket-Protocol` when not null). A host whose `Response` cannot carry a
 *   101 answers an object with `status: 101` that it recognises: `respond` passes a 101 through
 *   untouched.
 * @property {(promise: Promise<unknown>) => void} waitUntil Keeps the host alive until `promise`
 *   settles (the fan-out after a commit).
 */

/**
 * The pinned tenant: a store serves one tenant, set at its first admitted call and never changed.
 * @typedef {object} Pinning
 * @property {() => string | null} get The pinned tenant, or null before the first call (synchronous).
 * @property {(tenant: string) => string | Promise<string>} pin Pins `tenant` unless a tenant is
 *   pinned already (atomically: the first writer wins), and returns the pinned one.
 */

/**
 * A sync socket as the feed uses it (the Durable Object's WebSocket has these; another host wraps
 * its sockets). One object per socket, the same on every call: the feed keys per-socket state on
 * it. Its attachment is a JSON-serialisable object (or null once the feed is done with the socket).
 * @typedef {object} Socket
 * @property {(text: string) => void} send Throws when the socket is closed.
 * @property {(code: number, reason: string) => void} close
 * @property {number} bufferedAmount Bytes queued to go out.
 * @property {number} readyState 1 while open (WebSocket.OPEN).
 * @property {(attachment: object | null) => void} serializeAttachment
 * @property {() => object | null} deserializeAttachment
 */

export {};
