// A React app on evstore/react: one cart view per stream, driven by the browser test through
// `window.app`. `?schema=2` or `?schema=3` opens the store with that version of ItemAdded (v1 had
// no qty, v3 added a unit), as two releases of the app would.
import { StrictMode, createElement as h, useState } from "react";
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import { EventStore } from "evstore";
import { useAggregate } from "evstore/react";

const params = new URLSearchParams(location.search);
const renders = [];

function Cart({ store, streamId, failOn }) {
  const { state, expectedRevision, loading, error } = useAggregate(store, streamId, {
    initialState: () => ({ items: 0, skus: [] }),
    evolve: (s, e) => {
      if (e.data?.sku === failOn) throw new Error(`cannot fold ${failOn}`);
      return { items: s.items + e.data.qty, skus: [...s.skus, e.data.sku] };
    },
  });
  renders.push({ streamId, loading, expectedRevision, items: state.items });
  window.app.error = error ? { code: error.code, streamId: error.streamId, type: error.type, version: error.version } : null;
  const add = () => store?.append(streamId, [{ type: "ItemAdded", data: { sku: `s${state.items}`, qty: 1 } }], { expectedRevision });
  return h(
    "div",
    null,
    h("pre", { id: "out" }, JSON.stringify({ streamId, loading, expectedRevision: expectedRevision ?? null, state, error: error?.message ?? null })),
    h("button", { id: "add", disabled: loading, onClick: () => add().catch((e) => (window.lastError = `${e.code}`)) }, "add"),
  );
}

function App({ store: opened }) {
  const [streamId, setStreamId] = useState("Cart-1");
  const [shown, setShown] = useState(true);
  // With ?late, the store is handed over only when the test says so (as after an async open).
  const [store, setStore] = useState(params.has("late") ? null : opened);
  window.app.setStreamId = (id) => flushSync(() => setStreamId(id));
  window.app.setShown = (v) => flushSync(() => setShown(v));
  window.app.provide = () => flushSync(() => setStore(opened));
  return shown ? h(Cart, { store, streamId, failOn: "poison" }) : h("p", { id: "out" }, "hidden");
}

window.app = { renders };
const SCHEMAS = {
  2: { ItemAdded: { version: 2, upcast: { 1: (data) => ({ ...data, qty: 1 }) } } },
  3: { ItemAdded: { version: 3, upcast: { 1: (data) => ({ ...data, qty: 1 }), 2: (data) => ({ ...data, unit: "piece" }) } } },
};
const schema = SCHEMAS[params.get("schema")];
const store = await EventStore.open({ storage: "indexeddb", name: params.get("db") ?? "react-test", ...(schema ? { schema } : {}) });
window.app.store = store;
// Count live subscriptions, to see that unmounting releases them.
window.app.live = 0;
const subscribe = store.subscribe.bind(store);
store.subscribe = (handler, options) => {
  const sub = subscribe(handler, options);
  window.app.live++;
  let stopped = false;
  const unsubscribe = sub.unsubscribe.bind(sub);
  sub.unsubscribe = () => {
    if (!stopped) window.app.live--;
    stopped = true;
    unsubscribe();
  };
  return sub;
};
createRoot(document.getElementById("root")).render(h(StrictMode, null, h(App, { store })));
document.body.dataset.ready = "true";
