// The WebSocket live feed of a tenant (protocol: edge/PROTOCOL.md), over its host's sockets
// (./host.js; on a Durable Object, the hibernation API): sockets are opened by the host's
// `accept`, each socket's state lives in its serialized attachment (`{ sub, exp, scopes, streams,
// live, cursor, selected, opened, allowance, checked }`: `streams` the token's stream patterns,
// null for all; `selected` the feed's, null for the token's), and nothing keeps the object awake
// (no timers: token expiry and the socket's lifetime are checked lazily, on each message and
// before each send).
//
// The protocol itself is the core's `SyncServer` (src/sync/serve.rs): this feed only moves text.
// It hands each message's text to `SyncServer.decode` / `serve` with the socket's attachment
// (whose `cursor`, `live` and `selected` the server updates; it filters every frame by `selected`
// and `streams`), sends the texts it gets back, verifies renewed tokens, and asks `nextFrame` for
// each socket's frames after a pull and after every commit.
//
// Every operation on sockets — a pull, an auth renewal, the fan-out after an append — runs in one
// queue, so a socket's catch-up and its live events never interleave: no gap, no duplicate.
//
// Bounded work per client: sockets per tenant and per `sub` are capped at the upgrade, messages
// per socket by a token bucket in the attachment, one pull per socket is in flight (a newer one
// stops the older one's catch-up), and sends yield to the object's other work (HTTP requests
// included) every SOCKET_STEP_BYTES and wait while the socket's buffer is over a high-water mark.

import { SyncServer } from "evstore";
import { AuthError, verifyToken } from "./auth.js";
import { utf8Length } from "./events.js";
import { errorResponse } from "./http.js";
import { SOCKET_DRAIN_MS, SOCKET_HIGH_WATER_BYTES, SOCKET_STEP_BYTES, limits, socketLimits } from "./limits.js";
import { CLOSE_FORBIDDEN, CLOSE_RECONNECT, CLOSE_TOO_MANY_MESSAGES, CLOSE_UNAUTHENTICATED } from "./protocol.js";

/** WebSocket.OPEN (Node 20 has no global WebSocket). */
const OPEN = 1;

export class LiveFeed {
  /** `host`: the tenant's host (./host.js `Host`: `env`, `store`, `epoch`, `pinned`, sockets). */
  constructor(host) {
    this.host = host;
    this.queue = Promise.resolve();
    // Pulls received and started per socket (while the object is awake): a pull whose socket has
    // received a newer one is superseded and stops sending.
    this.pullsReceived = new WeakMap();
    this.pullsStarted = new WeakMap();
  }

  /** The core's server of the host's store (made at first use: the store opens asynchronously). */
  get server() {
    // Pushed appends obey the HTTP route's batch limit.
    this.syncServer ??= this.host.store.syncServer(this.host.epoch, limits(this.host.env).maxBatchEvents);
    return this.syncServer;
  }

  /**
   * Accepts a WebSocket for a verified, admitted identity; answers the 101 with `protocol`, or a 429 when the
   * tenant or the token's `sub` already has as many open sockets as the service allows.
   */
  accept(identity, protocol) {
    const limits = socketLimits(this.host.env);
    const open = [...this.host.sockets()].map((ws) => ws.deserializeAttachment()).filter(Boolean);
    const full = open.length >= limits.maxSocketsPerTenant
      ? { limit: limits.maxSocketsPerTenant, what: "this tenant" }
      : open.filter((s) => s.sub === identity.sub).length >= limits.maxSocketsPerSub
        ? { limit: limits.maxSocketsPerSub, what: "this token's subject" }
        : null;
    if (full) return errorResponse(429, "INVALID_ARGUMENT", `too many open sync sockets for ${full.what} (the limit is ${full.limit}): close one or retry later`, { limit: full.limit });
    const opened = Date.now();
    const attachment = { sub: identity.sub, exp: identity.exp, scopes: identity.scopes, streams: identity.streams ?? null, live: false, cursor: -1, opened, allowance: limits.maxMessagesPerSecond, checked: opened };
    return this.host.accept(attachment, protocol || null);
  }

  /** Runs `task` after every queued one; a failure of one task does not stop the queue. */
  enqueue(task) {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  /** A client message: read and served by the core; this host sends what it answers. */
  message(ws, data) {
    const message = SyncServer.decode(data);
    const pull = message.isPull ? this.notePull(ws) : null;
    return this.enqueue(async () => {
      try {
        let state = ws.deserializeAttachment();
        if (!state) return;
        if (pull !== null) this.pullsStarted.set(ws, pull);
        if (!this.admitMessage(ws, state)) return;
        if (pull !== null && this.superseded(ws)) return; // a newer pull replaces it
        const served = await this.server.serve(message, state, this.expired(state));
        state = await this.act(ws, state, served);
        if (state) ws.serializeAttachment(state);
      } catch {
        this.send(ws, null, SyncServer.errorFrame("STORAGE_ERROR", SyncServer.FAILED));
      } finally {
        message.free();
      }
    });
  }

  /** Does what the server answered a message (`served`); returns the socket's state, or null. */
  async act(ws, state, served) {
    switch (served.action) {
      case "reply":
        this.send(ws, null, served.frame);
        return state;
      case "close":
        this.fail(ws, served.code, served.frame, served.reason);
        return null;
      case "pull":
        // The feed restarted from the pull's `after`: its catch-up, then `caughtUp`.
        return this.sendFrom(ws, state);
      case "pushed":
        // Committed events go to every live socket first (this one included), so a client
        // usually holds its events before it learns their outcome.
        ws.serializeAttachment(state);
        await this.fanOut();
        state = ws.deserializeAttachment() ?? state;
        return this.send(ws, state, served.frame) ? state : null;
      case "auth":
        return this.renew(ws, state, served.token);
      default:
        throw new Error(`unknown action ${served.action}`);
    }
  }

  /**
   * An `auth` message: renews the socket's token in place (same tenant). A token whose `streams`
   * differ from the socket's closes it (4408) instead: the client reconnects, and its new pull
   * gets the new token's streams (the simplest way to never send a stream the token lost, nor to
   * leave out the history of one it gained).
   */
  async renew(ws, state, token) {
    let claims;
    try {
      claims = await verifyToken(token, this.host.env);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.failWith(ws, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", err.message);
      return null;
    }
    if (claims.tid !== this.host.pinned.get()) {
      this.failWith(ws, CLOSE_FORBIDDEN, "FORBIDDEN", "the token is not valid for this tenant");
      return null;
    }
    if (JSON.stringify(claims.streams) !== JSON.stringify(state.streams ?? null)) {
      this.close(ws, CLOSE_RECONNECT, "the token's streams changed: reconnect");
      return null;
    }
    state = { ...state, sub: claims.sub, exp: claims.exp, scopes: claims.scopes };
    return this.send(ws, state, SyncServer.authenticated(claims.exp)) ? state : null;
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
      this.failWith(ws, CLOSE_TOO_MANY_MESSAGES, "INVALID_ARGUMENT", `too many messages: at most ${rate} per second`, rate);
      return false;
    }
    state.allowance -= 1;
    ws.serializeAttachment(state);
    return true;
  }

  /** After an append: every live socket gets the events after its cursor. */
  publish() {
    const done = this.enqueue(() => this.fanOut());
    this.host.waitUntil(done.catch(() => {}));
    return done;
  }

  /** Sends every live socket the events after its cursor (runs inside the queue). */
  async fanOut() {
    for (const ws of this.host.sockets()) {
      let state = ws.deserializeAttachment();
      if (!state || !state.live) continue;
      state = await this.sendFrom(ws, state);
      if (state) ws.serializeAttachment(state);
    }
  }

  /**
   * Sends the socket's frames from the server until it has none, or says it has no more (a
   * catch-up ends with `caughtUp`; a live socket's commit is usually one frame); returns the state with the new cursor, or null when the socket is gone or was
   * closed (token expired), or its pull was replaced.
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
      const next = { ...state, more: true }; // asks nextFrame to say whether it has more
      const frame = await this.server.nextFrame(next);
      // `more` false: a live socket now holds the log up to its head (no second read to learn
      // it); a later commit fans out again.
      const more = next.more !== false;
      delete next.more;
      if (frame === null) return state;
      if (!this.send(ws, state, frame)) return null;
      sent += utf8Length(frame);
      state = next;
      ws.serializeAttachment(state);
      if (!more) return state;
    }
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
      if (ws.readyState !== OPEN) return false;
      if (ws.bufferedAmount <= SOCKET_HIGH_WATER_BYTES) return true;
      if (Date.now() > deadline) {
        this.close(ws, CLOSE_RECONNECT, "the client does not read its frames: reconnect");
        return false;
      }
    }
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
   * Sends a frame (JSON text) unless the socket's token has expired, in which case the socket is
   * closed with an UNAUTHENTICATED error. `state` null: no expiry check (error frames).
   */
  send(ws, state, frame) {
    if (state && this.expired(state)) {
      this.failWith(ws, CLOSE_UNAUTHENTICATED, "UNAUTHENTICATED", "token expired");
      return false;
    }
    if (state && this.tooOld(ws, state)) return false;
    try {
      ws.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  /** An error frame (JSON text), then the close with `reason`: the socket is done. */
  fail(ws, closeCode, frame, reason) {
    try {
      ws.serializeAttachment(null);
      ws.send(frame);
      ws.close(closeCode, reason);
    } catch {
      // already closed
    }
  }

  /** An error frame of the host's own (`code`, `message`, `limit`?), then the close. */
  failWith(ws, closeCode, code, message, limit) {
    this.fail(ws, closeCode, SyncServer.errorFrame(code, message, limit), message);
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
