// Sync latency of the server benchmark (bench/server.mjs): the time from an HTTP append being
// acknowledged to its event arriving on a live sync socket (protocol v4, tests/js/edge-service/
// socket.mjs), one event at a time. The socket may sit on another process than the append.
import { openFeed } from "../../tests/js/edge-service/socket.mjs";

/**
 * Appends `n` single events through `appendBase` (after `warmup` unmeasured ones) while a socket on
 * `socketPort` is live from the tenant's head; resolves the samples `{ ack, sent }` (ms from the
 * append's answer, and from its request, to the event's frame; `ack` is negative when the frame
 * came first).
 */
export async function syncLatency({ appendBase, socketPort, tenant, jwt, n, warmup }) {
  const feed = await openFeed({ port: socketPort }, tenant, jwt);
  if (feed.refused) throw new Error(`sync socket refused: ${JSON.stringify(feed.refused)}`);
  const arrivals = new Map();
  let waiting = null;
  feed.ws.on("message", (data) => {
    const at = performance.now();
    const frame = JSON.parse(String(data));
    if (frame.type !== "events") return;
    for (const e of frame.events) arrivals.set(e.position, at);
    if (waiting && arrivals.has(waiting.position)) waiting.resolve();
  });
  try {
    feed.send({ v: 4, type: "pull", after: null });
    for (let frame = await feed.next(10_000); frame?.type !== "caughtUp"; frame = await feed.next(10_000)) {
      if (!frame || frame.type !== "events") throw new Error(`sync: ${JSON.stringify(frame)} before caughtUp`);
    }
    const samples = [];
    for (let i = 0; i < warmup + n; i++) {
      const sent = performance.now();
      const res = await fetch(`${appendBase}/t/${tenant}/streams/Latency-1`, {
        method: "POST",
        headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
        body: JSON.stringify({ events: [{ type: "Pinged", data: { i } }] }),
      });
      const text = await res.text();
      const acked = performance.now();
      if (res.status !== 200) throw new Error(`append: ${res.status} ${text}`);
      const { position } = JSON.parse(text);
      if (!arrivals.has(position)) {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`position ${position} not on the socket within 5 s`)), 5000);
          waiting = { position, resolve: () => (clearTimeout(timer), (waiting = null), resolve()) };
        });
      }
      const at = arrivals.get(position);
      if (i >= warmup) samples.push({ ack: at - acked, sent: at - sent });
    }
    return samples;
  } finally {
    feed.ws.terminate();
  }
}
