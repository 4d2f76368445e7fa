// The WebSocket live feed of a TenantStore (protocol: edge/PROTOCOL.md), on the hibernation API:
// sockets are accepted with `ctx.acceptWebSocket`, each socket's state lives in its serialized
// attachment (`{ sub, exp, scopes, live, cursor, opened, allowance, checked }`), and nothing keeps
// the object awake (no timers: token expiry and the socket's lifetime are checked lazily, on each
// message and before each send).
//
// Every operation on sockets — a pull, an auth renewal, the fan-out after an append — runs in one
// queue, so a socket's catch-up and its live events never interleave: no gap, no duplicate.
// Messages are dispatched by `type` through MESSAGE_HANDLERS: `pull`, `push` and `auth`.
//
// Bounded work per client: sockets per tenant and per `sub` are capped at the upgrade, messages
// per socket by a token bucket in the attachment, one pull per socket is in flight (a newer one
// stops the older one's catch-up), and sends yield to the object's other work (HTTP requests
// included) every SOCKET_STEP_BYTES and wait while the socket's buffer is over a high-water mark.

import { AuthError, verifyToken } from "./auth.js";
import { allReader, collectEvents, utf8Length } from "./events.js";
import { errorResponse } from "./http.js";
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, SOCKET_DRAIN_MS, SOCKET_HIGH_WATER_BYTES, SOCKET_STEP_BYTES, limits, socketLimits } from "./limits.js";
import {
  CLOSE_FORBIDDEN,
  CLOSE_RECONNECT,
  CLOSE_TOO_MANY_MESSAGES,
  CLOSE_UNAUTHENTICATED,
  CLOSE_UPGRADE_REQUIRED,
  SYNC_VERSION,
} from "./protocol.js";

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

/**
 * A client message as `{ msg }` (a JSON object, at most MAX_MESSAGE_BYTES of UTF-8), or
 * `{ error }` (a ProtocolError, reported in the queue in the message's turn).
 */
function parseMessage(data) {
  try {
    if (typeof data !== "string") throw invalid("binary messages are not part of the protocol");
    if (utf8Length(data) > MAX_MESSAGE_BYTES) throw invalid(`message over ${MAX_MESSAGE_BYTES} bytes (UTF-8)`, { limit: MAX_MESSAGE_BYTES });
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      throw invalid("message is not valid JSON");
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) throw invalid("message must be a JSON object");
    return { msg };
  } catch (error) {
    return { error };
  }
}

export class LiveFeed {
  /** `host`: the TenantStore (`ctx`, `env`, `store`, `tenant`, `epoch`). */
  constructor(host) {
    this.host = host;
    this.queue = Promise.resolve();
    // Pulls received and started per socket (while the object is awake): a pull whose socket has
    // received a newer one is superseded and stops sending.
    this.pullsReceived = new WeakMap();
    this.pullsStarted = new WeakMap();
    // Keep-alive pings are answered by the runtime without waking a hibernated object.
    host.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  /**
   * Accepts a WebSocket for a verified, admitted identity; answers the 101 with `protocol`, or a 429 when the
   * tenant or the token's `sub` already has as many open sockets as the service allows.
   */
  accept(identity, protocol) {
    const limits = socketLimits(this.host.env);
    const open = this.host.ctx.getWebSockets().map((ws) => ws.deserializeAttachment()).filter(Boolean);
    const full = open.length >= limits.maxSocketsPerTenant
      ? { limit: limits.maxSocketsPerTenant, what: "this tenant" }
      : open.filter((s) => s.sub === identity.sub).length >= limits.maxSocketsPerSub
        ? { limit: limits.maxSocketsPerSub, what: "this token's subject" }
        : null;
    if (full) return errorResponse(429, "INVALID_ARGUMENT", `too many open sync sockets for ${full.what} (the limit is ${full.limit}): close one or retry later`, { limit: full.limit });
    const [client, server] = Object.values(new WebSocketPair());
    this.host.ctx.acceptWebSocket(server);
    const opened = Date.now();
    server.serializeAttachment({ sub: identity.sub, exp: identity.exp, scopes: identity.scopes, live: false, cursor: -1, opened, allowance: limits.maxMessagesPerSecond, checked: opened });
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
    const parsed = parseMessage(data);
    const pull = parsed.msg?.type === "pull" ? this.notePull(ws) : null;
    return this.enqueue(async () => {
      let state = ws.deserializeAttachment();
      if (!state) return;
      if (pull !== null) this.pullsStarted.set(ws, pull);
      try {
        if (!this.admitMessage(ws, state)) return;
        if (pull !== null && this.superseded(ws)) return; // a newer pull replaces it
        if (parsed.error) throw parsed.error;
        const { msg } = parsed;
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

  /**
   * Counts a pull as received the moment it arrives (before it waits in the queue), so that the
   * pull before it can see it was replaced. Returns the pull's number.
   */
  notePull(ws) {
    const n = (this.pullsReceived.get(ws) ?? 0) + 1;
    this.pullsReceived.set(ws, n);
    return n;
  }

  /** Whether the pull running on `ws` has been replaced by a newer one. */
  superseded(ws) {
    return (this.pullsReceived.get(ws) ?? 0) > (this.pullsStarted.get(ws) ?? 0);
  }

  /**
   * The socket's lifetime and message rate, checked (and the token bucket in `state` spent) when a
   * message is handled. False when the socket was closed for them.
   */
  admitMessage(ws, state) {
    if (this.tooOld(ws, state)) return false;
    const { maxMessagesPerSecond: rate } = socketLimits(this.host.env);
    const now = Date.now();
    const elapsed = Math.max(0, now - (state.checked ?? now));
    state.allowance = Math.min(rate, (state.allowance ?? rate) + (elapsed / 1000) * rate);
    state.checked = now;
    if (state.allowance < 1) {
      this.fail(ws, CLOSE_TOO_MANY_MESSAGES, "INVALID_ARGUMENT", `too many messages: at most ${rate} per second`, { limit: rate });
      return false;
    }
    state.allowance -= 1;
    ws.serializeAttachment(state);
    return true;
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
   * null when the socket is gone or was closed (token expired), or its pull was replaced.
   */
  async sendFrom(ws, state) {
    // A catch-up (the socket is not live yet) first yields, so that pulls which arrived meanwhile
    // replace it before it sends anything; then it yields after every SOCKET_STEP_BYTES.
    let sent = state.live ? 0 : SOCKET_STEP_BYTES;
    for (;;) {
      if (this.superseded(ws)) return null;
      if (sent >= SOCKET_STEP_BYTES || ws.bufferedAmount > SOCKET_HIGH_WATER_BYTES) {
        sent = 0;
        if (!(await this.drained(ws))) return null;
        if (this.superseded(ws)) return null;
      }
      const { parts, bytes, last } = await collectEvents(
        allReader(this.host.store),
        "position",
        { from: state.cursor + 1 },
        { maxEvents: FRAME_EVENTS, maxBytes: MAX_FRAME_BYTES },
      );
      if (last === null) return state;
      if (!this.send(ws, state, `{"type":"events","epoch":${JSON.stringify(this.host.epoch)},"events":[${parts.join(",")}]}`)) return null;
      sent += bytes;
      state = { ...state, cursor: last.position };
      ws.serializeAttachment(state);
    }
  }

  /** The id of the event at `position`, or null when there is none. */
  async idAt(position) {
    const [event] = await this.host.store.readAll({ fromPosition: position, maxCount: 1 });
    return event && event.position === position ? event.id : null;
  }

  /**
   * Yields to the object's other work, then waits until the socket's send buffer is under the
   * high-water mark. A socket that does not drain within SOCKET_DRAIN_MS is closed (4408: its
   * client reconnects and pulls from where it is). False when the socket is gone or was closed.
   */
  async drained(ws) {
    const deadline = Date.now() + SOCKET_DRAIN_MS;
    for (let wait = 0; ; wait = Math.min(50, wait + 1)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (ws.readyState !== WebSocket.OPEN) return false;
      if (ws.bufferedAmount <= SOCKET_HIGH_WATER_BYTES) return true;
      if (Date.now() > deadline) {
        this.close(ws, CLOSE_RECONNECT, "the client does not read its frames: reconnect");
        return false;
      }
    }
  }

  /** The position of the last event in the log, or null. */
  async head() {
    const [last] = await this.host.store.readAll({ direction: "backwards", maxCount: 1 });
    return last ? last.position : null;
  }

  expired(state) {
    return !(state.exp > Date.now() / 1000);
  }

  /** Closes (4408) a socket older than the service's maximum socket lifetime; true when it did. */
  tooOld(ws, state) {
    const { maxSocketLifetime } = socketLimits(this.host.env);
    if (!(Date.now() - state.opened > maxSocketLifetime * 1000)) return false;
    this.close(ws, CLOSE_RECONNECT, "the socket reached its maximum lifetime: reconnect");
    return true;
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
    if (state && this.tooOld(ws, state)) return false;
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** An error frame, then the close: the socket is done. */
  fail(ws, closeCode, code, message, fields = {}) {
    try {
      ws.serializeAttachment(null);
      ws.send(JSON.stringify({ type: "error", error: { code, message, ...fields } }));
      ws.close(closeCode, message);
    } catch {
      // already closed
    }
  }

  /** Closes the socket without an error frame (the client reconnects): the socket is done. */
  close(ws, closeCode, reason) {
    try {
      ws.serializeAttachment(null);
      ws.close(closeCode, reason);
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
