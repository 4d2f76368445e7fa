// The package's sync host only moves texts: the core's engine writes every message it sends and
// reads every frame it receives (`SyncEngine.outgoing`/`ping`/`auth`, `receiveText`). Checked
// here against a scripted server (the npm "ws" package) that records what it is sent and sends
// frames the real edge service sends rarely or never on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket, { WebSocketServer } from "ws";
import { EventStore } from "evstore";

/** Resolves when `predicate()` holds (polled), or fails after `ms`. */
async function until(predicate, ms, what) {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A server that records each text it receives and answers a pull with `onPull(ws)`. */
async function scripted(onPull) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (p) => [...p][0] });
  await new Promise((r) => server.once("listening", r));
  const received = [];
  const closes = [];
  server.on("connection", (ws) => {
    ws.on("message", (data) => {
      const text = String(data);
      received.push(text);
      if (text.includes('"type":"pull"')) onPull(ws);
    });
    ws.on("close", (code) => closes.push(code));
  });
  const url = `http://127.0.0.1:${server.address().port}/t/x`;
  const close = async () => {
    for (const c of server.clients) c.terminate();
    await new Promise((r) => server.close(r));
  };
  return { url, received, closes, close };
}

test("the host sends the engine's texts: a v4 pull, a v4 push of the queued append, and the keep-alive ping as the runtime answers it", { timeout: 30_000 }, async () => {
  const server = await scripted((ws) => ws.send(JSON.stringify({ type: "caughtUp", head: null, epoch: "e-1" })));
  const store = await EventStore.open({ sync: { url: server.url, token: () => "a.b.c", WebSocket } });
  try {
    await store.append("Doc-1", [{ type: "A", data: { n: 1 } }]);
    await until(() => server.received.some((t) => JSON.parse(t).type === "push"), 10_000, "a push");
    const [pull, push] = server.received.map((t) => JSON.parse(t));
    assert.deepEqual(pull, { v: 4, type: "pull", after: null });
    assert.equal(push.v, 4);
    assert.equal(push.appends[0].kind, "events");
    assert.deepEqual(push.appends.map((a) => [a.streamId, a.expectedRevision, a.events.map((e) => [e.type, e.data])]), [["Doc-1", "any", [["A", { n: 1 }]]]]);
    // The push stays unanswered and the socket quiet: the host pings, with the exact text the
    // edge runtime answers by itself.
    await until(() => server.received.length > 2, 15_000, "a keep-alive ping");
    assert.equal(server.received[2], '{"type":"ping"}');
  } finally {
    store.close();
    await server.close();
  }
});

test("frames read by the engine: an unknown type, pong and authenticated change nothing; an error frame is lastError, FORBIDDEN also closes the socket (4403)", { timeout: 30_000 }, async () => {
  const server = await scripted((ws) => {
    ws.send(JSON.stringify({ type: "somethingNewer", x: 1 }));
    ws.send(JSON.stringify({ type: "pong" }));
    ws.send(JSON.stringify({ type: "authenticated", exp: 1 }));
    ws.send(JSON.stringify({ type: "caughtUp", head: null, epoch: "e-1" }));
    ws.send(JSON.stringify({ type: "error", error: { code: "FORBIDDEN", message: 'the token lacks the "read" scope' } }));
  });
  const store = await EventStore.open({ sync: { url: server.url, token: () => "a.b.c", WebSocket } });
  try {
    await until(() => server.closes.length > 0, 10_000, "the socket closed");
    assert.equal(server.closes[0], 4403, "closed by the host for FORBIDDEN, not as an unreadable frame (4000)");
    await until(() => store.sync.status().lastError !== null, 10_000, "lastError");
    const { lastError } = store.sync.status();
    assert.equal(lastError.code, "FORBIDDEN");
    assert.equal(lastError.message, 'the token lacks the "read" scope');
  } finally {
    store.close();
    await server.close();
  }
});
