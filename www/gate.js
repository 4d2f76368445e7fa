// The "go offline" switch of one device: it cuts this page off from the edge service as a lost
// network would, without any help from the store. evstore's sync API has no pause, and reopening
// the store without `sync` would stop queueing appends for the server, so instead this wraps the
// page's WebSocket and fetch: while the switch is off-line, connections to the edge's origin fail
// like unreachable ones, and open sockets to it are closed. The store sees the network go away and
// come back, and keeps queueing in between.
//
// The wrappers are installed when this module is evaluated: app.js imports it before "evstore", so
// that even a library that keeps a reference to WebSocket or fetch at load time gets the gated ones.

/**
 * What a socket to an unreachable host does, without the network: it never opens, reports an
 * error, then closes (code 1006). No real connection is tried, so the browser logs nothing (a
 * socket to a refused port would fill the console with net::ERR_UNSAFE_PORT on every retry).
 */
class UnreachableSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  readyState = 0;
  protocol = "";
  extensions = "";
  bufferedAmount = 0;
  binaryType = "blob";
  onopen = null;
  onmessage = null;
  onerror = null;
  onclose = null;

  constructor(url) {
    super();
    this.url = String(url);
    setTimeout(() => {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.#fire(new Event("error"));
      this.#fire(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }));
    }, 0);
  }

  #fire(event) {
    this.dispatchEvent(event);
    this[`on${event.type}`]?.call(this, event);
  }

  send() {
    throw new DOMException("the socket is not open", "InvalidStateError");
  }

  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.#fire(new CloseEvent("close", { code: 1006, reason: "", wasClean: false })));
  }
}

function installGate() {
  let origin = null; // the edge service's origin (http:) — sockets use the ws: twin
  let offline = false;
  const open = new Set();
  const listeners = new Set();

  const blocked = (url) => {
    if (!offline || origin === null) return false;
    try {
      const u = new URL(url, location.href);
      return u.host === new URL(origin).host;
    } catch {
      return false;
    }
  };

  const RealWebSocket = globalThis.WebSocket;
  class GatedWebSocket extends RealWebSocket {
    constructor(url, protocols) {
      // A derived constructor may return another object instead of calling super().
      if (blocked(url)) return new UnreachableSocket(url);
      super(url, protocols);
      open.add(this);
      this.addEventListener("close", () => open.delete(this));
    }
  }
  globalThis.WebSocket = GatedWebSocket;

  const realFetch = globalThis.fetch;
  globalThis.fetch = function (input, init) {
    const url = input instanceof Request ? input.url : String(input);
    if (blocked(url)) return Promise.reject(new TypeError("Failed to fetch (this device is switched offline)"));
    return realFetch.call(this, input, init);
  };

  return {
    /** The origin to cut off (the sync URL's). */
    setOrigin(url) {
      origin = url ? new URL(url).origin : null;
    },
    get offline() {
      return offline;
    },
    /** Switches the device off-line (closing its open connections to the edge) or back on-line. */
    setOffline(value) {
      offline = Boolean(value);
      if (offline) {
        for (const socket of open) {
          if (blocked(socket.url)) socket.close(4000, "the device was switched offline");
        }
      }
      for (const listener of listeners) listener(offline);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** This page's switch. */
export const gate = installGate();
