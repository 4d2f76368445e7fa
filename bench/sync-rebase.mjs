// The rebase figure of bench/sync.mjs, runtime-neutral (Node imports it; Chromium pages import
// /bench/sync-rebase.mjs): a synced store holding `n` pending single-event appends receives one
// foreign event that precedes them (position 0), which forces the rewrite of its whole pending
// tail; against `n` single-event appends to an empty store of the same kind (same storage, same
// sync options, not connected). The server side is a scripted in-process socket that speaks
// protocol v1 (edge/PROTOCOL.md), so only the client's work is timed: from handing it the
// `events` frame to the status it reports once that frame is ingested.

const now = () => performance.now();

/** A WebSocket class whose one socket opens when told and records what the client sends. */
export function scriptedSocket() {
  const sockets = [];
  class ScriptedSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      this.waiters = [];
      sockets.push(this);
    }
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    deliver(frame) {
      this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    }
    send(text) {
      this.sent.push(text);
      for (const w of this.waiters.splice(0)) w();
    }
    /** Resolves once a sent message starts with `prefix`. */
    async sentMessage(prefix) {
      while (!this.sent.some((t) => t.startsWith(prefix))) await new Promise((r) => this.waiters.push(r));
    }
    close(code = 1000) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      setTimeout(() => this.onclose?.({ code }), 0);
    }
  }
  return { ScriptedSocket, sockets };
}

/** Resolves with the first socket the store's sync creates. */
async function firstSocket(sockets) {
  for (let i = 0; i < 2000 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  if (!sockets.length) throw new Error("the store never opened a socket");
  return sockets[0];
}

const openSynced = (EventStore, storage, name, ScriptedSocket) =>
  EventStore.open({
    storage,
    ...(storage === "indexeddb" ? { name } : {}),
    sync: { url: "http://127.0.0.1:9/t/bench", token: async () => "scripted.socket.token", WebSocket: ScriptedSocket },
  });

const event = (i) => ({ type: "ItemAdded", data: { sku: `sku-${i}`, qty: i % 7, note: "a typical small payload" } });

async function waitPending(store, n) {
  // status() is refreshed by the store's change watcher, which can miss the last appends of a
  // quick series (see the report of bench/sync.mjs); flush() refreshes it (and waits: not awaited).
  store.sync.flush().catch(() => {});
  for (let i = 0; i < 20000; i++) {
    if (store.sync.status().pending === n) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`pending never reached ${n}: ${JSON.stringify(store.sync.status())}`);
}

/** `n` single-event appends, one after the other, to an empty synced store (not connected): ms. */
export async function freshAppends({ EventStore, storage = "memory", name, n }) {
  const { ScriptedSocket } = scriptedSocket();
  const store = await openSynced(EventStore, storage, name, ScriptedSocket);
  try {
    const t = now();
    for (let i = 0; i < n; i++) await store.append(`Order-${i % 10}`, [event(i)]);
    const ms = now() - t;
    await waitPending(store, n);
    return ms;
  } finally {
    store.close();
  }
}

/** `n` single-event appends, one after the other, to an empty store opened without sync: ms. */
export async function plainAppends({ EventStore, storage = "memory", name, n }) {
  const store = await EventStore.open({ storage, ...(storage === "indexeddb" ? { name } : {}) });
  try {
    const t = now();
    for (let i = 0; i < n; i++) await store.append(`Order-${i % 10}`, [event(i)]);
    return now() - t;
  } finally {
    store.close();
  }
}

/**
 * A store with `n` pending single-event appends ingests one foreign event at position 0: ms from
 * handing over the frame to the status that follows its ingestion. Checks the rewritten log.
 */
export async function rebase({ EventStore, storage = "memory", name, n }) {
  const { ScriptedSocket, sockets } = scriptedSocket();
  const store = await openSynced(EventStore, storage, name, ScriptedSocket);
  try {
    for (let i = 0; i < n; i++) await store.append(`Order-${i % 10}`, [event(i)]);
    await waitPending(store, n);
    const ws = await firstSocket(sockets);
    ws.open();
    await ws.sentMessage('{"v":4,"type":"pull"');
    const ingested = new Promise((resolve) => {
      const sub = store.sync.onStatus((s) => {
        if (s.confirmedPosition === 0) {
          sub.unsubscribe();
          resolve(now());
        }
      });
    });
    const foreign = {
      id: crypto.randomUUID(),
      streamId: "Foreign-1",
      type: "ForeignEvent",
      revision: 0,
      position: 0,
      data: { from: "another device" },
      metadata: {},
      createdAt: new Date().toISOString(),
    };
    const t = now();
    ws.deliver({ type: "events", epoch: "bench-log", after: null, through: 0, events: [foreign] });
    const ms = (await ingested) - t;
    const log = await store.readAll({ maxCount: n + 10 });
    const ok = log.length === n + 1 && log[0].id === foreign.id && log.every((e, i) => e.position === i) && store.sync.status().pending === n;
    if (!ok) throw new Error(`the rebased log is not foreign event + ${n} pending: ${log.length} events, status ${JSON.stringify(store.sync.status())}`);
    return ms;
  } finally {
    store.close();
  }
}
