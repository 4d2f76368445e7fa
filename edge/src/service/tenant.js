// The service's object for one tenant, shared by the hosts (./host.js): it pins its tenant id at
// first use and refuses calls routed for another tenant with FORBIDDEN, so a routing bug cannot
// leak data. Its calls (from `respond`, or over a Durable Object's RPC) answer `{ status, body }`
// (body: JSON text); the WebSocket live feed arrives through `fetch` and runs in ./feed.js.

import { STREAM_FORBIDDEN, allowsStream, constantTimeEqual } from "./auth.js";
import { LiveFeed } from "./feed.js";
import { describeError, errorBody, errorResponse } from "./http.js";
import { MAX_READ_BYTES, MAX_READ_EVENTS } from "./limits.js";
import { IDENTITY_HEADER, decodeIdentity } from "./protocol.js";

class Refused extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Whether `identity.streams` names `streamId`; an unreadable list names nothing. */
function allowsIdentity(identity, streamId) {
  try {
    return allowsStream(identity, streamId);
  } catch {
    return false;
  }
}

export class Tenant {
  /** `host`: what the host gives this tenant (./host.js `Host`). */
  constructor(host) {
    this.host = host;
    this.store = host.store;
    this.feed = new LiveFeed(host);
  }

  /**
   * Checks `identity` (from `respond`) against the pinned tenant, pinning it at first use: a
   * well-formed UTF-16 tenant id, equal code unit for code unit; then its scope and, for a stream
   * call, its `streams` (again: `respond` checked them first).
   */
  async admit(identity, scope, streamId) {
    if (!identity || typeof identity.tenant !== "string" || identity.tenant === "" || !identity.tenant.isWellFormed()) {
      throw new Refused(403, "FORBIDDEN", "request not routed for a tenant");
    }
    const pinned = this.host.pinned.get() ?? (await this.host.pinned.pin(identity.tenant));
    if (!constantTimeEqual(pinned, identity.tenant)) throw new Refused(403, "FORBIDDEN", "this store refuses requests for another tenant");
    if (scope && !(identity.scopes ?? []).includes(scope)) throw new Refused(403, "FORBIDDEN", `the token lacks the "${scope}" scope`);
    if (streamId !== undefined && !allowsIdentity(identity, streamId)) throw new Refused(403, "FORBIDDEN", STREAM_FORBIDDEN);
  }

  async append(identity, streamId, { events, expectedRevision }) {
    return this.answer(async () => {
      await this.admit(identity, "append", streamId);
      const result = await this.store.append(streamId, events, { expectedRevision });
      this.feed.publish();
      return result;
    });
  }

  async getStreamMetadata(identity, streamId) {
    return this.answer(async () => {
      await this.admit(identity, "read", streamId);
      return this.store.getStreamMetadata(streamId);
    });
  }

  async setStreamMetadata(identity, streamId, { metadata, options }) {
    return this.answer(async () => {
      await this.admit(identity, "append", streamId);
      const result = await this.store.setStreamMetadata(streamId, metadata, options);
      this.feed.publish();
      return result;
    });
  }

  /** A soft delete, or with `hard` a tombstone; each one transaction of the store. */
  async deleteStream(identity, streamId, { expectedRevision, hard }) {
    return this.answer(async () => {
      await this.admit(identity, "delete", streamId);
      const options = { expectedRevision };
      const result = hard ? await this.store.tombstoneStream(streamId, options) : await this.store.deleteStream(streamId, options);
      this.feed.publish();
      return result;
    });
  }

  async readStream(identity, streamId, options) {
    return this.answer(async () => {
      await this.admit(identity, "read", streamId);
      return this.eventsBody({ fromRevision: options.from, direction: options.direction, maxCount: options.maxCount }, streamId);
    });
  }

  async readAll(identity, options) {
    return this.answer(async () => {
      await this.admit(identity, "read");
      // Only the token's streams, at their tenant positions (the others' are holes).
      const read = { fromPosition: options.from, direction: options.direction, maxCount: options.maxCount };
      return this.eventsBody(identity.streams == null ? read : { ...read, streams: identity.streams });
    });
  }

  /**
   * `{"events":[…]}` as JSON text, capped by the read limits: `readStream(streamId, read)`, or
   * without `streamId` `readAll(read)`, written by the store straight from the stored events
   * (one crossing per page; the stored form, never upcast, as sync frames carry it).
   */
  eventsBody(read, streamId) {
    return streamId === undefined
      ? this.store.readAllBody(read, MAX_READ_EVENTS, MAX_READ_BYTES)
      : this.store.readStreamBody(streamId, read, MAX_READ_EVENTS, MAX_READ_BYTES);
  }

  /** Runs `work` and answers `{ status, body }`: 200 with its result, or the contract's error. */
  async answer(work) {
    try {
      const result = await work();
      return { status: 200, body: typeof result === "string" ? result : JSON.stringify(result) };
    } catch (err) {
      const d = err instanceof Refused ? { status: err.status, code: err.code, message: err.message, fields: {} } : describeError(err);
      return { status: d.status, body: JSON.stringify(errorBody(d.code, d.message, d.fields)) };
    }
  }

  /**
   * WebSocket upgrades for the live feed (`respond` has verified the token): `request`, or a URL
   * and `init` as `fetch` takes them.
   */
  async fetch(request, init) {
    if (!(request instanceof Request)) request = new Request(request, init);
    const url = new URL(request.url);
    if (url.pathname !== "/sync" || (request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return errorResponse(404, "NOT_FOUND", "no such route");
    }
    let identity;
    try {
      identity = decodeIdentity(request.headers.get(IDENTITY_HEADER) ?? "");
      await this.admit(identity, null);
    } catch (err) {
      const d = err instanceof Refused ? err : { status: 403, code: "FORBIDDEN", message: "request not routed for a tenant" };
      return errorResponse(d.status, d.code, d.message);
    }
    return this.feed.accept(identity, request.headers.get("sec-websocket-protocol"));
  }

  /** A socket's message, close and error, handed over by the host. */
  webSocketMessage(ws, message) {
    return this.feed.message(ws, message);
  }

  webSocketClose(ws, code, reason) {
    this.feed.closed(ws, code, reason);
  }

  webSocketError(ws) {
    this.feed.closed(ws, 1011, "error");
  }
}
