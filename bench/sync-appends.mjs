// The synced-appends figure of bench/sync.mjs (e., issue 24 goal 5), run in a Chromium page
// (imported as /bench/sync-appends.mjs): `n` single-event appends, one after the other, to a
// fresh IndexedDB store opened with `sync` and connected to the edge service (online and caught
// up before the first append; every append pushed as it comes), then the store flushed (not
// timed) and checked. Its references are in bench/sync-rebase.mjs: the same appends to a store
// opened without sync (plainAppends) and to a synced one never connected (freshAppends).

const now = () => performance.now();
const event = (i) => ({ type: "ItemAdded", data: { sku: `sku-${i}`, qty: i % 7, note: "a typical small payload" } });

/** `n` single-event appends to an empty synced IndexedDB store connected to `url`: ms. */
export async function connectedAppends({ EventStore, name, n, url, token }) {
  const store = await EventStore.open({ storage: "indexeddb", name, sync: { url, token: async () => token } });
  try {
    const deadline = Date.now() + 20_000;
    while (store.sync.status().state !== "online" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (store.sync.status().state !== "online") throw new Error(`not online: ${JSON.stringify(store.sync.status())}`);
    const t = now();
    for (let i = 0; i < n; i++) await store.append(`Order-${i % 10}`, [event(i)]);
    const ms = now() - t;
    await store.sync.flush();
    const s = store.sync.status();
    if (s.pending !== 0 || s.confirmedPosition !== n - 1) throw new Error(`after flush: ${JSON.stringify(s)}`);
    return ms;
  } finally {
    store.close();
  }
}
