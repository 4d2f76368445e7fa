// Compiled with `tsc --noEmit` against pkg/index.d.ts: what users write must type-check, and
// the `@ts-expect-error` lines must stay errors.
import { EventStore, EventStoreError, type RecordedEvent } from "evstore";

type ShopEvent =
  | { type: "OrderPlaced"; data: { orderId: string; total: number } }
  | { type: "OrderShipped"; data: { orderId: string; carrier: string } }
  | { type: "OrderCancelled"; data?: { reason: string } };

export async function usage(): Promise<number> {
  const store = await EventStore.open<ShopEvent>({ storage: "memory", maxEventBytes: 4096 });
  const r = await store.append(
    "Order-1",
    [
      { type: "OrderPlaced", data: { orderId: "1", total: 10 }, metadata: { correlationId: "c" } },
      { type: "OrderCancelled", id: "0190a8e4-7b3c-7d2e-8f00-000000000001" },
    ],
    { expectedRevision: "no_stream" },
  );
  const next: number = r.nextExpectedRevision + r.position;
  await store.append("Order-1", [{ type: "OrderShipped", data: { orderId: "1", carrier: "x" } }], { expectedRevision: next });

  // @ts-expect-error: data of the wrong shape for its type
  await store.append("Order-1", [{ type: "OrderPlaced", data: { orderId: 1, total: 10 } }]);
  // @ts-expect-error: an unknown event type
  await store.append("Order-1", [{ type: "Nope", data: {} }]);
  // @ts-expect-error: not a valid expected revision
  await store.append("Order-1", [{ type: "OrderCancelled" }], { expectedRevision: "latest" });

  const events = await store.readStream("Order-1", { fromRevision: "start", direction: "forwards", maxCount: 10 });
  let total = 0;
  for (const e of events) {
    if (e.type === "OrderPlaced") total += e.data.total; // narrowed by type
    if (e.type === "OrderCancelled") {
      const reason: string | undefined = e.data?.reason; // missing data reads back as null
      void reason;
    }
    const when: Date = e.createdAt;
    void when;
  }
  const all: RecordedEvent<ShopEvent>[] = await store.readAll({ fromPosition: "end", direction: "backwards" });
  const rev: number | null = await store.streamRevision("Order-1");
  // @ts-expect-error: read options do not take fromRevision on $all
  await store.readAll({ fromRevision: 0 });
  try {
    await store.append("Order-1", [{ type: "OrderCancelled" }], { expectedRevision: "no_stream" });
  } catch (err) {
    if (err instanceof EventStoreError && err.code === "WRONG_EXPECTED_REVISION") return err.actualRevision === "no_stream" ? -1 : err.actualRevision;
  }
  // @ts-expect-error: the constructor is private; use EventStore.open
  new EventStore();
  const sub = store.subscribe(
    async (e) => {
      if (e.type === "OrderShipped") total += e.data.carrier.length;
    },
    { after: "end", category: "Order", eventTypes: ["OrderPlaced", "OrderShipped"], checkpoint: "totals", onCaughtUp: () => {}, onError: (err) => void err },
  );
  sub.unsubscribe();
  // @ts-expect-error: an unknown event type in the filter
  store.subscribe(() => {}, { eventTypes: ["Nope"] });
  const agg = await store.aggregateStream("Order-1", {
    initialState: () => ({ total: 0 }),
    evolve: (s, e) => (e.type === "OrderPlaced" ? { total: s.total + e.data.total } : s),
  });
  const nextRev: number | null = agg.revision;
  total += agg.state.total + (nextRev ?? 0);
  const idb = await EventStore.open<ShopEvent>({ storage: "indexeddb", name: "shop", durability: "strict" });
  const persisted: boolean = await idb.persistStorage();
  const { usage, quota } = await idb.storageEstimate();
  void [persisted, usage, quota];
  await idb.close();
  // Sync: typed status, conflicts and their resolution; `sync` is absent on unsynced stores.
  const synced = await EventStore.open<ShopEvent>({
    storage: "indexeddb",
    name: "shop",
    sync: { url: "https://edge.example.com/t/acme", token: async () => "jwt" },
  });
  const status = synced.sync.status();
  const state: "offline" | "connecting" | "online" = status.state;
  const confirmed: number | null = status.confirmedPosition;
  void [state, confirmed, status.lastError?.code];
  synced.sync.onStatus((s) => void s.pending).unsubscribe();
  await synced.sync.flush();
  for (const c of await synced.sync.conflicts()) {
    const theirs: number = c.theirs.length + c.pending.length;
    void theirs;
    if (c.pending[0]?.type === "OrderPlaced") void c.pending[0].data.total;
    await c.retry([{ type: "OrderPlaced", data: { orderId: "o-1", total: 1 } }], { expectedRevision: c.actualRevision ?? "no_stream" });
    // @ts-expect-error: retry needs the expected revision to re-decide against
    await c.retry([{ type: "OrderPlaced", data: { orderId: "o-1", total: 1 } }]);
    await c.discard();
  }
  synced.subscribe(() => {}, { onRebase: ({ after }) => void (after ?? 0) });
  // @ts-expect-error: a store opened without sync may have no sync
  store.sync.status();
  // @ts-expect-error: sync options need a token function
  await EventStore.open({ sync: { url: "https://edge.example.com/t/acme", token: "jwt" } });
  await synced.close();
  await store.close();
  return total + all.length + (rev ?? 0);
}
