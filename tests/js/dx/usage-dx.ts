// Checked by `tsc -p tests/js/tsconfig.json` (never run): the types of issue 13. Each
// `@ts-expect-error` must stay an error, each other line must compile.
import {
  ANY,
  END,
  EventStore,
  EventStoreError,
  NO_STREAM,
  STREAM_EXISTS,
  START,
  type CurrentRevision,
  type ExpectedRevision,
  type RecordedEvent,
  type SyncedEventStore,
} from "evstore";
import { useAggregate } from "evstore/react";
import { getEmmettEventStore, ExpectedVersionConflictError, STREAM_DOES_NOT_EXIST } from "evstore/emmett";
import { CommandHandler, type EventStore as EmmettEventStore, type Event } from "@event-driven-io/emmett";

type CartEvent =
  | { type: "ItemAdded"; data: { sku: string; qty: number } }
  | { type: "ItemRemoved"; data: { sku: string } }
  | { type: "CartOpened"; data?: { channel: string } }
  | { type: "CartCleared"; data: null }
  | { type: "CartChecked"; data: { total: number } | undefined };

declare const store: EventStore<CartEvent>;
declare const ctx: { storage: { sql: object; transactionSync<T>(f: () => T): T; get(key: string): Promise<unknown> } };

export async function appendData(): Promise<void> {
  // data may be left out exactly when the event type's data admits null or undefined
  await store.append("Cart-1", [{ type: "CartOpened" }, { type: "CartCleared" }, { type: "CartChecked" }]);
  await store.append("Cart-1", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }]);
  // @ts-expect-error: ItemAdded requires data
  await store.append("Cart-1", [{ type: "ItemAdded" }]);
  // @ts-expect-error: ItemRemoved requires data, even next to events that do not
  await store.append("Cart-1", [{ type: "CartOpened" }, { type: "ItemRemoved" }]);
  // @ts-expect-error: data of another event type
  await store.append("Cart-1", [{ type: "ItemRemoved", data: { sku: "a", qty: 1, extra: true } }]);
}

export function narrowing(): void {
  store.subscribe(
    (e) => {
      // narrowed to ItemAdded | ItemRemoved: data is never null
      const sku: string = e.data.sku;
      if (e.type === "ItemAdded") void e.data.qty;
      // @ts-expect-error: CartOpened was filtered out
      if (e.type === "CartOpened") void e;
      void sku;
    },
    { eventTypes: ["ItemAdded", "ItemRemoved"], after: END },
  );
  store.subscribe(
    (e) => {
      // @ts-expect-error: without a filter, an event may be a CartOpened (no sku)
      void e.data.sku;
    },
    { category: "Cart" },
  );
  // @ts-expect-error: an unknown option key is a type error too (a typo must not switch a check off)
  store.subscribe(() => {}, { form: 3 });
  // A handler may return anything (a returned Promise is awaited before the next event).
  const seen: RecordedEvent<CartEvent>[] = [];
  store.subscribe((e) => seen.push(e));
  store.subscribe(async (e) => void (await store.readStream(e.streamId)));
}

// The conflict example of the READMEs: a conflict's actualRevision is what retry expects.
export async function conflicts(synced: SyncedEventStore<CartEvent>): Promise<void> {
  for (const c of await synced.sync.conflicts()) {
    const actual: CurrentRevision = c.actualRevision;
    await c.retry([{ type: "CartCleared", data: null }], { expectedRevision: actual });
    // @ts-expect-error: actualRevision is a number or "no_stream", never null
    const none: null = c.actualRevision;
    void none;
    // @ts-expect-error: null is not an expected revision (it would read as "any")
    await c.retry([{ type: "CartCleared", data: null }], { expectedRevision: null });
  }
}

export async function iterate(): Promise<number> {
  let qty = 0;
  for await (const e of store.events({ eventTypes: ["ItemAdded"], after: 3, checkpoint: "qty" })) {
    qty += e.data.qty; // narrowed to ItemAdded
    if (qty > 10) break;
  }
  for await (const e of store.events({ category: "Cart" })) {
    // @ts-expect-error: not narrowed without eventTypes
    qty += e.data.qty;
  }
  // @ts-expect-error: events() takes no onError: failures reject the iteration
  store.events({ onError: () => {} });
  await using it = store.events();
  void it;
  return qty;
}

export async function errors(): Promise<string> {
  try {
    await store.append("Cart-1", [{ type: "CartOpened" }], { expectedRevision: NO_STREAM });
  } catch (err) {
    if (err instanceof EventStoreError) {
      switch (err.code) {
        case "WRONG_EXPECTED_REVISION": {
          const actual: CurrentRevision = err.actualRevision;
          const expected: ExpectedRevision = err.expectedRevision;
          return `${err.streamId} ${actual} ${expected}`;
        }
        case "DUPLICATE_EVENT_ID":
          // @ts-expect-error: a duplicate id error has no actualRevision
          void err.actualRevision;
          return err.eventId;
        case "EVENT_TOO_LARGE":
          return String(err.eventIndex);
        case "STORAGE_ERROR":
          return String(err.cause);
        case "UNAUTHENTICATED":
        case "FORBIDDEN":
        case "INVALID_ARGUMENT":
        case "QUOTA_EXCEEDED":
        case "CLOSED":
          return err.message;
        // @ts-expect-error: not an evstore error code
        case "NOT_FOUND":
          return "";
      }
    }
    // @ts-expect-error: unknown until narrowed by instanceof
    void err.code;
  }
  return "";
}

export function fakeError(): Error {
  const e = new EventStoreError("stream Cart-1 is at revision 3", "WRONG_EXPECTED_REVISION", { streamId: "Cart-1", actualRevision: 3 });
  // @ts-expect-error: not an evstore error code
  new EventStoreError("x", "NOT_FOUND");
  return e;
}

export async function constants(): Promise<void> {
  const values: ExpectedRevision[] = [ANY, NO_STREAM, STREAM_EXISTS, 3];
  void values;
  await store.readStream("Cart-1", { fromRevision: START });
  await store.readAll({ fromPosition: END, direction: "backwards" });
  // @ts-expect-error: the constants are their literal values
  const wrong: typeof NO_STREAM = "any";
  void wrong;
  // @ts-expect-error: an unknown option key (`expected` for `expectedRevision`)
  await store.append("Cart-1", [{ type: "CartOpened" }], { expected: 3 });
  // @ts-expect-error: an unknown read option (`limit` for `maxCount`)
  await store.readStream("Cart-1", { limit: 1 });
}

export async function aggregates(): Promise<void> {
  const { state, revision, expectedRevision } = await store.aggregateStream("Cart-1", {
    initialState: () => ({ items: 0 }),
    evolve: (s, e) => (e.type === "ItemAdded" ? { items: s.items + e.data.qty } : s),
  });
  const r: number | null = revision;
  await store.append("Cart-1", [{ type: "CartCleared" }], { expectedRevision });
  void [state.items, r];
  // @ts-expect-error: expectedRevision is never null
  const n: null = expectedRevision;
  void n;

  using watch = store.watchAggregate(
    "Cart-1",
    { initialState: () => 0, evolve: (n, e) => (e.type === "ItemAdded" ? n + e.data.qty : n), onError: (e) => void e.message },
    (count, { expectedRevision }) => {
      const c: number = count;
      const next: CurrentRevision = expectedRevision;
      void [c, next];
    },
  );
  watch.unsubscribe();
  // @ts-expect-error: the state is a number here
  store.watchAggregate("Cart-1", { initialState: () => 0, evolve: (n) => n }, (s: string) => void s);
  using sub = store.subscribe(() => {});
  void sub;
}

export async function opening(): Promise<void> {
  const idb = await EventStore.open<CartEvent>({ storage: "indexeddb", name: "shop", wasm: new URL("https://cdn.example/evstore.wasm") });
  await idb.persistStorage();
  await idb.storageEstimate();
  const mem = await EventStore.open({ storage: "memory", wasm: new Uint8Array(8) });
  // @ts-expect-error: only IndexedDB stores have persistStorage
  await mem.persistStorage();
  // @ts-expect-error: only IndexedDB stores have storageEstimate
  await mem.storageEstimate();
  await EventStore.open({ wasm: fetch("/evstore_wasm_bg.wasm") });
  // @ts-expect-error: not a wasm source
  await EventStore.open({ wasm: 42 });
  // @ts-expect-error: a typo in an option key
  await EventStore.open({ storag: "indexeddb" });
  // @ts-expect-error: a memory store has no database name
  await EventStore.open({ storage: "memory", name: "shop" });
  await EventStore.open({ storage: "durable-object", durableObjectStorage: ctx.storage });
  // @ts-expect-error: durable-object needs durableObjectStorage
  await EventStore.open({ storage: "durable-object" });
  // @ts-expect-error: not a storage
  await EventStore.open({ storage: "localstorage" });
}

export function react(): number {
  const { state, expectedRevision, loading, error } = useAggregate(store, "Cart-1", {
    initialState: () => ({ items: 0 }),
    evolve: (s, e) => (e.type === "ItemAdded" ? { items: s.items + e.data.qty } : s),
  });
  const rev: CurrentRevision | undefined = expectedRevision;
  const l: boolean = loading;
  const err: Error | undefined = error;
  void [rev, l, err];
  useAggregate(null, "Cart-1", { initialState: () => 0, evolve: (n: number) => n });
  // @ts-expect-error: state is an object here
  const wrong: number = state;
  return wrong;
}

type ItemAdded = Event<"ItemAdded", { sku: string; qty: number }>;

export async function emmett(): Promise<bigint> {
  const es = getEmmettEventStore(store, { versionBase: 1, hooks: { onAfterCommit: (events) => void events.length } });
  const asEmmett: EmmettEventStore = es;
  void asEmmett;
  getEmmettEventStore(store, { versionBase: 0 });
  // @ts-expect-error: versionBase is 0 or 1
  getEmmettEventStore(store, { versionBase: 2 });
  const handle = CommandHandler<{ qty: number }, ItemAdded>({ evolve: (s, e) => ({ qty: s.qty + e.data.qty }), initialState: () => ({ qty: 0 }) });
  const result = await handle(es, "Cart-2", () => ({ type: "ItemAdded", data: { sku: "a", qty: 1 } }));
  const { currentStreamVersion } = await es.readStream("Cart-2", { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
  try {
    await es.appendToStream("Cart-2", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }], { expectedStreamVersion: 0n });
  } catch (e) {
    if (e instanceof ExpectedVersionConflictError) return -1n;
  }
  return result.nextExpectedStreamVersion + currentStreamVersion;
}

// Schema evolution and causation: an event the hook folded can be given as `causedBy`; the Emmett
// adapter's appends (and CommandHandler's, which passes its options on) take `causedBy` as an evstore
// recorded event or an Emmett read event.
export function reactCausedBy(): void {
  const { state, expectedRevision } = useAggregate(store, "Cart-1", {
    initialState: (): { last: RecordedEvent<CartEvent> | null } => ({ last: null }),
    evolve: (_, e) => ({ last: e }),
  });
  if (state.last) void store.append("Cart-2", [{ type: "CartCleared", data: null }], { expectedRevision, causedBy: state.last });
  // @ts-expect-error: causedBy is a recorded event, not its id
  void store.append("Cart-2", [{ type: "CartCleared", data: null }], { causedBy: "an-id" });
}

export async function emmettCausedBy(): Promise<void> {
  const es = getEmmettEventStore(store);
  const [recorded] = await store.readStream("Cart-1");
  const { events } = await es.readStream<ItemAdded>("Cart-1");
  await es.appendToStream("Cart-2", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }], { causedBy: recorded });
  await es.appendToStream("Cart-2", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }], { causedBy: events[0], expectedStreamVersion: 1n });
  // @ts-expect-error: causedBy is an event, not its id
  await es.appendToStream("Cart-2", [{ type: "ItemAdded", data: { sku: "a", qty: 1 } }], { causedBy: "an-id" });
  const handle = CommandHandler<{ qty: number }, ItemAdded>({ evolve: (s, e) => ({ qty: s.qty + e.data.qty }), initialState: () => ({ qty: 0 }) });
  await handle(es, "Cart-3", () => ({ type: "ItemAdded", data: { sku: "b", qty: 2 } }), { causedBy: events[0] });
}

export type Recorded = RecordedEvent<CartEvent>;
