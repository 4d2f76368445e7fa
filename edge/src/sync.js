// The WebSocket live feed of a TenantStore (protocol: edge/PROTOCOL.md), on the hibernation API:
// sockets are accepted with `ctx.acceptWebSocket`, each socket's state lives in its serialized
// attachment (`{ sub, exp, scopes, live, cursor }`), and nothing keeps the object awake (no timers:
// token expiry is checked lazily, on each message and before each send).
//
// Every operation on sockets — a pull, an auth renewal, the fan-out after an append — runs in one
// queue, so a socket's catch-up and its live events never interleave: no gap, no duplicate.
// Messages are dispatched by `type` through MESSAGE_HANDLERS: `pull`, `push` and `auth`.

import { AuthError, verifyToken } from "./auth.js";
import { allReader, collectEvents } from "./events.js";
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, limits } from "./limits.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, CLOSE_UPGRADE_REQUIRED, SYNC_VERSION } from "./protocol.js";

const FRAME_EVENTS = 1000;

class ProtocolError extends Error {
  constructor(code, message, fields = {}) {
    super(message);
    this.code = code;
    this.fields = fields;
  }
}

const invalid = (message, fields) => new ProtocolError("INVALID_ARGUMENT", message, fields);

function checkKeys(msg, allowed) {
  for (const key of Object.keys(msg)) {
    if (!allowed.includes(key)) throw invalid(`unknown field "${key}" in a "${msg.type}" message`);
  }
}

/** Handlers of client messages, by `type`: `(feed, ws, state, msg) → state` (runs in the queue). */
const MESSAGE_HANDLERS = {
  /**
   * `{"v":2,"type":"pull","after":<position|null>,"afterId":"…","epoch":"…"}`: catch-up from
   * after `after`, then live. `afterId` (required with `after`) is the id of the client's event
   * at `after`: another event there means this log is not the one the client confirmed (restored
   * from an earlier copy, then grown again), and the pull is refused like an unknown epoch.
   */
  async pull(feed, ws, state, msg) {
    checkKeys(msg, ["v", "type", "after", "afterId", "epoch"]);
    const after = msg.after ?? null;
    if (after !== null && !(Number.isSafeInteger(after) && after >= 0)) throw invalid('"after" must be a position (a non-negative integer) or null');
    if (after !== null && typeof msg.afterId !== "string") throw invalid('"afterId" (the id of the client\'s event at "after") is required with "after"');
    if (!state.scopes.includes("read")) throw new ProtocolError("FORBIDDEN", 'the token lacks the "read" scope');
    if (msg.epoch !== undefined && typeof msg.epoch !== "string") throw invalid('"epoch" must be a string');
    const head = await feed.head();
    // The refusal names what it refused (`after`, `clientEpoch`), so a client can tell an answer to
    // an older pull from one to its latest.
    const refusal = { head, epoch: feed.host.epoch, after, clientEpoch: msg.epoch ?? null };
    if (msg.epoch !== undefined && msg.epoch !== feed.host.epoch) {
      throw invalid(`this log is not the one the client synced with (epoch ${JSON.stringify(msg.epoch)})`, refusal);
    }
    if (after !== null && (head === null || after > head)) {
      throw invalid(`"after" (${after}) is beyond the head of the log (${head})`, refusal);
    }
    if (after !== null && (await feed.idAt(after)) !== msg.afterId.toLowerCase()) {
      throw invalid(`the event at "after" (${after}) is not the one the client holds: this log was restored or replaced`, refusal);
    }
    state.live = false;
    state.cursor = after ?? -1;
    state = await feed.sendFrom(ws, state);
    if (state === null) return null;
    state.live = true;
    if (!feed.send(ws, state, { type: "caughtUp", head: state.cursor < 0 ? null : state.cursor, epoch: feed.host.epoch })) return null;
    return state;
  },

  /**
   * `{"v":2,"type":"push","batch":…,"appends":[…]}`: each queued append of a client decided by
   * the store (`acceptPush`: one transactionSync each, the core's rules), answered with one
   * outcome per append. Committed events go to every live socket first (this one included), so
   * a client usually holds its events before it learns their outcome; it takes positions only
   * from `events` frames either way.
   */
  async push(feed, ws, state, msg) {
    checkKeys(msg, ["v", "type", "batch", "appends"]);
    if (!(Number.isSafeInteger(msg.batch) && msg.batch >= 0)) throw invalid('"batch" must be a non-negative integer');
    if (!Array.isArray(msg.appends) || msg.appends.length === 0) throw invalid('"appends" must be a non-empty array');
    if (!state.scopes.includes("append")) throw new ProtocolError("FORBIDDEN", 'the token lacks the "append" scope');
    for (const append of msg.appends) {
      if (append === null || typeof append !== "object") throw invalid("each pushed append must be an object");
      checkKeys({ type: "push", ...append }, ["type", "seq", "streamId", "expectedRevision", "createdAt", "events"]);
    }
    let outcomes;
    try {
      // Conflicts show the stream's events only to a token that may read them; pushed appends
      // obey the HTTP route's batch limit.
      const policy = { revealTheirs: state.scopes.includes("read"), maxAppendEvents: limits(feed.host.env).maxBatchEvents };
      outcomes = await feed.host.store.acceptPush(msg.appends, policy);
    } catch (err) {
      if (err?.code === "INVALID_ARGUMENT") throw invalid(err.message);
      throw err;
    }
    await feed.fanOut();
    state = ws.deserializeAttachment() ?? state;
    if (!feed.send(ws, state, { type: "pushResult", batch: msg.batch, outcomes })) return null;
    return state;
  },

  /** `{"type":"auth","token":…}`: renews the socket's token in place (same tenant). */
  async auth(feed, ws, state, msg) {
    checkKeys(msg, ["v", "type", "token"]);
    let claims;
    try {
      claims = await verifyToken(msg.token, feed.host.env);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      feed.fail(ws, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", err.message);
      return null;
    }
    if (claims.tid !== feed.host.tenant) {
      feed.fail(ws, CLOSE_FORBIDDEN, "FORBIDDEN", "the token is not valid for this tenant");
      return null;
    }
    state = { ...state, sub: claims.sub, exp: claims.exp, scopes: claims.scopes };
    if (!feed.send(ws, state, { type: "authenticated", exp: claims.exp })) return null;
    return state;
  },
};

export class LiveFeed {
  /** `host`: the TenantStore (`ctx`, `env`, `store`, `tenant`, `epoch`). */
  constructor(host) {
    this.host = host;
    this.queue = Promise.resolve();
    // Keep-alive pings are answered by the runtime without waking a hibernated object.
    host.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  /** Accepts a WebSocket for a verified, admitted identity; answers the 101 with `protocol`. */
  accept(identity, protocol) {
    const [client, server] = Object.values(new WebSocketPair());
    this.host.ctx.acceptWebSocket(server);
    server.serializeAttachment({ sub: identity.sub, exp: identity.exp, scopes: identity.scopes, live: false, cursor: -1 });
    const headers = protocol ? { "sec-websocket-protocol": protocol } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Runs `task` after every queued one; a failure of one task does not stop the queue. */
  enqueue(task) {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  /** A client message: parsed, checked and dispatched by type. */
  message(ws, data) {
    return this.enqueue(async () => {
      let state = ws.deserializeAttachment();
      if (!state) return;
      try {
        if (typeof data !== "string") throw invalid("binary messages are not part of the protocol");
        if (data.length > MAX_MESSAGE_BYTES) throw invalid(`message over ${MAX_MESSAGE_BYTES} bytes`);
        let msg;
        try {
          msg = JSON.parse(data);
        } catch {
          throw invalid("message is not valid JSON");
        }
        if (msg === null || typeof msg !== "object" || Array.isArray(msg)) throw invalid("message must be a JSON object");
        const handler = typeof msg.type === "string" && Object.hasOwn(MESSAGE_HANDLERS, msg.type) ? MESSAGE_HANDLERS[msg.type] : null;
        if (!handler) throw invalid(`unknown message type ${JSON.stringify(msg.type)}`);
        if (msg.type !== "auth" && this.expired(state)) {
          this.fail(ws, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", "token expired");
          return;
        }
        if (msg.type !== "auth" && msg.v !== SYNC_VERSION) {
          // An older client: told in words (its lastError), then closed; it keeps its queue.
          const message = `sync protocol version ${JSON.stringify(msg.v)} is not served here: this server speaks version ${SYNC_VERSION}; update evstore`;
          if (Number.isSafeInteger(msg.v) && msg.v < SYNC_VERSION) return this.fail(ws, CLOSE_UPGRADE_REQUIRED, "INVALID_ARGUMENT", message);
          throw invalid(message);
        }
        state = await handler(this, ws, state, msg);
        if (state) ws.serializeAttachment(state);
      } catch (err) {
        const error = err instanceof ProtocolError
          ? { code: err.code, message: err.message, ...err.fields }
          : { code: "STORAGE_ERROR", message: "the service failed to handle the message" };
        this.send(ws, null, { type: "error", error });
      }
    });
  }

  /** After an append: every live socket gets the events after its cursor. */
  publish() {
    const done = this.enqueue(() => this.fanOut());
    this.host.ctx.waitUntil?.(done.catch(() => {}));
    return done;
  }

  /** Sends every live socket the events after its cursor (runs inside the queue). */
  async fanOut() {
    for (const ws of this.host.ctx.getWebSockets()) {
      let state = ws.deserializeAttachment();
      if (!state || !state.live) continue;
      if (!state.scopes.includes("read")) {
        state.live = false;
        ws.serializeAttachment(state);
        this.send(ws, null, { type: "error", error: { code: "FORBIDDEN", message: 'the token lacks the "read" scope' } });
        continue;
      }
      state = await this.sendFrom(ws, state);
      if (state) ws.serializeAttachment(state);
    }
  }

  /**
   * Sends the events after `state.cursor` in frames; returns the state with the new cursor, or
   * null when the socket is gone or was closed (token expired).
   */
  async sendFrom(ws, state) {
    for (;;) {
      const { parts, last } = await collectEvents(
        allReader(this.host.store),
        "position",
        { from: state.cursor + 1 },
        { maxEvents: FRAME_EVENTS, maxBytes: MAX_FRAME_BYTES },
      );
      if (last === null) return state;
      if (!this.send(ws, state, `{"type":"events","epoch":${JSON.stringify(this.host.epoch)},"events":[${parts.join(",")}]}`)) return null;
      state = { ...state, cursor: last.position };
      ws.serializeAttachment(state);
    }
  }

  /** The id of the event at `position`, or null when there is none. */
  async idAt(position) {
    const [event] = await this.host.store.readAll({ fromPosition: position, maxCount: 1 });
    return event && event.position === position ? event.id : null;
  }

  /** The position of the last event in the log, or null. */
  async head() {
    const [last] = await this.host.store.readAll({ direction: "backwards", maxCount: 1 });
    return last ? last.position : null;
  }

  expired(state) {
    return !(state.exp > Date.now() / 1000);
  }

  /**
   * Sends a frame (object or JSON text) unless the socket's token has expired, in which case the
   * socket is closed with an UNAUTHENTICATED error. `state` null: no expiry check (error frames).
   */
  send(ws, state, frame) {
    if (state && this.expired(state)) {
      this.fail(ws, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", "token expired");
      return false;
    }
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** An error frame, then the close: the socket is done. */
  fail(ws, closeCode, code, message) {
    try {
      ws.serializeAttachment(null);
      ws.send(JSON.stringify({ type: "error", error: { code, message } }));
      ws.close(closeCode, message);
    } catch {
      // already closed
    }
  }

  closed(ws, code) {
    try {
      ws.serializeAttachment(null);
      ws.close(code >= 3000 && code <= 4999 ? code : 1000, "closed"); // the only codes a server may send
    } catch {
      // already closed
    }
  }
}
