// The Node host's sync sockets, on npm `ws`: an HTTP upgrade goes through the shared service
// (`handle`), and when a tenant admitted it (its `accept` answered `{ status: 101, protocol,
// socket }`) the upgrade is completed and the `ws` socket joined to that wrapper; any other answer
// is written to the raw socket as an HTTP response. Each socket's messages, close and error go to
// its tenant's `Tenant`; `{"type":"ping"}` is answered here with `{"type":"pong"}`, as the Durable
// Object's runtime does.

import { WebSocketServer } from "ws";
import { errorResponse } from "../edge/src/service/http.js";
import { toRequest, writeRawResponse } from "./http.js";

const NOSNIFF = { "x-content-type-options": "nosniff" };

const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';

/**
 * Largest client message `ws` accepts, in bytes: well above the protocol's own limit (1 MiB,
 * src/sync/protocol.rs MAX_CLIENT_MESSAGE_BYTES), so that the service answers an oversized message
 * as it does on the edge.
 */
const MAX_PAYLOAD = 4 * 1024 * 1024;

/**
 * A sync socket as the shared feed uses it (edge/src/service/host.js `Socket`): one per socket,
 * created when the tenant accepts the upgrade (readyState 0 until `attach`), with its attachment
 * (a copy in, a copy out, like a Durable Object's).
 */
export class NodeSocket {
  /** `tenant`: its `Tenant`; `sockets`: the tenant's set it belongs to while open; `waitUntil` tracks its work. */
  constructor({ tenant, sockets, waitUntil }) {
    this.tenant = tenant;
    this.sockets = sockets;
    this.waitUntil = waitUntil;
    this.ws = null;
    this.attachment = null;
    this.dropped = false;
  }

  get readyState() {
    if (this.dropped) return 3;
    return this.ws ? this.ws.readyState : 0;
  }

  get bufferedAmount() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("the socket is not open");
    this.ws.send(text);
  }

  close(code, reason) {
    if (!this.ws) return this.drop();
    this.ws.close(code, reason);
  }

  serializeAttachment(value) {
    this.attachment = value == null ? null : structuredClone(value);
  }

  deserializeAttachment() {
    return this.attachment == null ? null : structuredClone(this.attachment);
  }

  /** Leaves the tenant's sockets (an upgrade that never completed, or a socket that closed). */
  drop() {
    this.dropped = true;
    this.sockets.delete(this);
  }

  /** Joins the upgraded `ws` socket: its messages, close and error go to the tenant. */
  attach(ws) {
    if (this.dropped) return ws.close(1001, "the server is shutting down");
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? toArrayBuffer(data) : data.toString("utf8");
      if (message === PING) return void ws.send(PONG);
      try {
        this.waitUntil(this.tenant.webSocketMessage(this, message));
      } catch (e) {
        console.error("evstore server: a socket message failed", e);
        ws.close(1011, "internal error");
      }
    });
    ws.on("close", (code, reason) => {
      this.drop();
      this.tenant.webSocketClose(this, code, reason.toString("utf8"));
    });
    ws.on("error", () => this.tenant.webSocketError(this));
  }
}

/** `data` (a Buffer, or Buffers of a fragmented message) as an ArrayBuffer. */
function toArrayBuffer(data) {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

/**
 * Serves WebSocket upgrades of `httpServer` through `handle(request) → Promise<Response | 101>`,
 * with request bodies capped at `maxBodyBytes`. Returns `{ close() }`, which refuses further
 * upgrades (503).
 */
export function serveUpgrades(httpServer, handle, maxBodyBytes) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD,
    // The subprotocol the service chose (or none), never `ws`'s default of the first offered.
    handleProtocols: (_offered, req) => req.evstoreProtocol ?? false,
  });
  let closing = false;
  const upgrade = async (req, socket, head) => {
    socket.on("error", () => {});
    let answer, request;
    try {
      request = toRequest(req, maxBodyBytes);
    } catch {
      return writeRawResponse(errorResponse(400, "INVALID_ARGUMENT", "malformed request", {}, NOSNIFF), socket);
    }
    try {
      answer = closing ? errorResponse(503, "STORAGE_ERROR", "the server is shutting down", {}, NOSNIFF) : await handle(request);
    } catch (e) {
      console.error("evstore server: an upgrade failed", e);
      answer = errorResponse(500, "STORAGE_ERROR", "the upgrade failed", {}, NOSNIFF);
    }
    if (answer.status === 101 && answer.socket instanceof NodeSocket) {
      if (socket.destroyed) return answer.socket.drop();
      req.evstoreProtocol = answer.protocol ?? false;
      wss.handleUpgrade(req, socket, head, (ws) => answer.socket.attach(ws));
      // `ws` answered the handshake itself (a bad key or version): the wrapper is not needed.
      socket.once("close", () => answer.socket.readyState === 0 && answer.socket.drop());
      return;
    }
    await writeRawResponse(answer, socket);
  };
  httpServer.on("upgrade", (req, socket, head) => void upgrade(req, socket, head));
  return {
    close() {
      closing = true;
      wss.close();
    },
  };
}
