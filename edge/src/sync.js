// The Durable Object's sockets for the live feed (./service/feed.js), on the hibernation API:
// sockets are accepted with `ctx.acceptWebSocket`, each one's state is its serialized attachment
// (so it survives the object's eviction), and keep-alive pings are answered by the runtime.

/** The socket half of the Durable Object's host (./service/host.js `Host`) over `ctx`. */
export function socketHost(ctx) {
  // Keep-alive pings are answered by the runtime without waking a hibernated object.
  ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  return {
    sockets: () => ctx.getWebSockets(),
    accept(attachment, protocol) {
      const [client, server] = Object.values(new WebSocketPair());
      ctx.acceptWebSocket(server);
      server.serializeAttachment(attachment);
      const headers = protocol ? { "sec-websocket-protocol": protocol } : {};
      return new Response(null, { status: 101, webSocket: client, headers });
    },
    waitUntil: (promise) => ctx.waitUntil?.(promise),
  };
}
