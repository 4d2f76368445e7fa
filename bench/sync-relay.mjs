// The reference of bench/sync.mjs's latency figure: a minimal relay — a plain JS Durable Object
// that forwards each WebSocket message to every other socket of the tenant, nothing stored,
// nothing decided. It sits behind the edge service's own Worker (CORS, JWT check, routing of
// GET /t/{tenant}/sync to the tenant's object), on the same WebSocket hibernation API as the
// TenantStore, so the benchmark compares only what happens inside the object and the clients.
// Runs as workerd's entry module (name "entry.js", see edge/workerd-config.mjs `entry`).
import { DurableObject } from "cloudflare:workers";

export { default } from "./worker.js";

export class SyncRelay extends DurableObject {
  /** The Worker has verified the token: accept the socket (answering the subprotocol it did). */
  async fetch(request) {
    if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 400 });
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    const protocol = request.headers.get("sec-websocket-protocol");
    const headers = protocol ? { "sec-websocket-protocol": protocol } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  webSocketMessage(ws, message) {
    for (const other of this.ctx.getWebSockets()) {
      if (other === ws) continue;
      try {
        other.send(message);
      } catch {
        // closing
      }
    }
  }

  webSocketClose(ws, code) {
    try {
      ws.close(code >= 3000 && code <= 4999 ? code : 1000, "closed");
    } catch {
      // already closed
    }
  }

  webSocketError(ws) {
    this.webSocketClose(ws, 1011);
  }
}
