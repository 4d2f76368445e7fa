// A WebSocket client for the live-feed tests (npm `ws`): frames are queued and awaited in order
// with a timeout; the handshake's HTTP refusal (401/403/400) is reported as `{ status, body }`.
import WebSocket from "ws";

export const PROTOCOL = "evstore.sync.v4";

/**
 * Opens `/t/{tenant}/sync`. `via`: "protocol" (token as a `bearer.<jwt>` subprotocol, as browsers
 * do) or "header" (Authorization). Resolves to a client, or to `{ refused: { status, body } }`.
 */
export function openFeed(edge, tenant, token, { via = "protocol", path, protocols: offered } = {}) {
  const url = `ws://127.0.0.1:${edge.port}${path ?? `/t/${tenant}/sync`}`;
  const protocols = offered ?? (via === "protocol" ? [PROTOCOL, ...(token ? [`bearer.${token}`] : [])] : undefined);
  const headers = via === "header" && token ? { authorization: `Bearer ${token}` } : {};
  const ws = new WebSocket(url, protocols, { headers });
  const frames = [];
  const waiters = [];
  let closeInfo = null;
  const closed = new Promise((resolve) => ws.on("close", (code, reason) => {
    closeInfo = { code, reason: String(reason) };
    resolve(closeInfo);
    for (const w of waiters.splice(0)) w.resolve(null);
  }));
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data));
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(frame);
    else frames.push(frame);
  });
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        ws.terminate();
        resolve({ refused: { status: res.statusCode, body: body ? JSON.parse(body) : null } });
      });
    });
    ws.once("error", (e) => reject(e));
    ws.once("open", () =>
      resolve({
        ws,
        protocol: ws.protocol,
        closed,
        get closeInfo() {
          return closeInfo;
        },
        send: (msg) => ws.send(typeof msg === "string" ? msg : JSON.stringify(msg)),
        /** The next frame (null when the socket closed first); rejects after `ms`. */
        next(ms = 5000) {
          if (frames.length) return Promise.resolve(frames.shift());
          if (closeInfo) return Promise.resolve(null);
          return new Promise((resolve, reject) => {
            const waiter = { resolve: (f) => (clearTimeout(timer), resolve(f)) };
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1);
              reject(new Error("no frame within " + ms + " ms"));
            }, ms);
            waiters.push(waiter);
          });
        },
        /** Frames already received and not consumed. */
        pending: () => frames.splice(0),
        close: () => ws.close(),
      }),
    );
  });
}

/** Reads `events` frames until `count` events arrived (or a non-events frame, returned as `other`). */
export async function collect(feed, count, ms = 5000) {
  const events = [];
  const frames = [];
  while (events.length < count) {
    const frame = await feed.next(ms);
    if (!frame || frame.type !== "events") return { events, frames, other: frame };
    frames.push(frame);
    events.push(...frame.events);
  }
  return { events, frames, other: null };
}
