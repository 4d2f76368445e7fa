// Compiled with `tsc --noEmit` against pkg/index.d.ts: what users write must type-check, and
// the `@ts-expect-error` lines must stay errors.
import { EventStore, EventStoreError, StreamSelection, SyncServer, type RecordedEvent, type SyncSocketState } from "evstore";
import { createServer, openDatabase } from "evstore/server";

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
  // Partial sync: a device that holds one list's streams (exact ids and `*` prefixes), and selected reads.
  const selection = ["List-7", "Item-7-*"] as const;
  const partial = await EventStore.open<ShopEvent>({
    storage: "indexeddb",
    name: "list-7",
    sync: { url: "https://edge.example.com/t/acme", token: async () => "jwt", streams: selection },
  });
  const held: RecordedEvent<ShopEvent>[] = await partial.readAll({ streams: selection, direction: "backwards", maxCount: 10 });
  total += held.length + (await store.readAll({ streams: ["Order-*"], fromPosition: 100 })).length;
  await partial.close();
  // @ts-expect-error: streams is an array of patterns, not one pattern
  await store.readAll({ streams: "List-7" });
  // @ts-expect-error: patterns are strings
  await store.readAll({ streams: [7] });
  // @ts-expect-error: the selection is an array of patterns, not one pattern
  await EventStore.open({ sync: { url: "https://edge.example.com/t/acme", token: async () => "jwt", streams: "List-7" } });
  // @ts-expect-error: readStream reads one stream: it has no selection
  await store.readStream("List-7", { streams: ["List-7"] });
  // Stream lifecycle: retention, erasure, and the tombstone's error.
  const set = await store.setStreamMetadata("Order-1", { maxCount: 100, maxAge: 86400, truncateBefore: 2, custom: { owner: "u42" } }, { expectedMetadataRevision: "no_stream" });
  const metaRev: number = set.metadataRevision + set.position;
  await store.setStreamMetadata("Order-1", { maxCount: 10 }, { expectedMetadataRevision: metaRev });
  await store.setStreamMetadata("Order-1", {});
  const got = await store.getStreamMetadata("Order-1");
  const maxCount: number | undefined = got.metadata.maxCount;
  const gotRev: number | null = got.metadataRevision;
  void [maxCount, gotRev, got.metadata.custom?.owner];
  const soft: number = (await store.deleteStream("Order-1", { expectedRevision: 7 })).position;
  const hard: number = (await store.tombstoneStream("Order-1", { expectedRevision: "any" })).position;
  void [soft, hard];
  // @ts-expect-error: an unknown metadata key
  await store.setStreamMetadata("Order-1", { maxCnt: 3 });
  // @ts-expect-error: maxCount is a number
  await store.setStreamMetadata("Order-1", { maxCount: "3" });
  // @ts-expect-error: the metadata's own revision has no "stream_exists"
  await store.setStreamMetadata("Order-1", {}, { expectedMetadataRevision: "stream_exists" });
  // @ts-expect-error: deletes take expectedRevision, not expectedMetadataRevision
  await store.deleteStream("Order-1", { expectedMetadataRevision: 1 });
  // @ts-expect-error: a tombstone has no hard option (it is the hard delete)
  await store.tombstoneStream("Order-1", { hard: true });
  try {
    await store.readStream("Order-1");
  } catch (err) {
    if (err instanceof EventStoreError && err.code === "STREAM_DELETED") total += err.streamId.length;
  }
  // @ts-expect-error: a store opened without sync may have no sync
  store.sync.status();
  // @ts-expect-error: sync options need a token function
  await EventStore.open({ sync: { url: "https://edge.example.com/t/acme", token: "jwt" } });
  await synced.close();
  await store.close();
  return total + all.length + (rev ?? 0);
}

// The server half of sync as the edge service hosts it (edge/src/service/feed.js): text in, text out.
interface Socket {
  state: SyncSocketState & { exp: number };
  send(frame: string): void;
  close(code: number, reason: string): void;
}

/** Sends a socket its frames until the server has none. */
async function sendFrom(server: SyncServer, ws: Socket): Promise<void> {
  for (let frame = await server.nextFrame(ws.state); frame !== null; frame = await server.nextFrame(ws.state)) ws.send(frame);
}

export async function hostSync(store: EventStore<ShopEvent>, sockets: Socket[], ws: Socket, data: string | ArrayBuffer): Promise<void> {
  const server: SyncServer = store.syncServer("0190a8e4-7b3c-7d2e-8f00-000000000001", 1000);
  using message = SyncServer.decode(data);
  const pull: boolean = message.isPull;
  void pull;
  try {
    const served = await server.serve(message, ws.state, !(ws.state.exp > Date.now() / 1000));
    // @ts-expect-error: not every action has a frame (narrow on `action` first)
    ws.send(served.frame);
    switch (served.action) {
      case "reply":
        ws.send(served.frame);
        break;
      case "pull":
        await sendFrom(server, ws);
        break;
      case "pushed":
        for (const other of sockets) if (other.state.live) await sendFrom(server, other);
        ws.send(served.frame);
        break;
      case "auth": {
        // @ts-expect-error: a renewal may come without a token
        const token: string = served.token;
        void token;
        ws.state.exp = 4102444800;
        ws.send(SyncServer.authenticated(ws.state.exp));
        break;
      }
      case "close":
        ws.send(served.frame);
        ws.close(served.code, served.reason);
        break;
    }
  } catch {
    ws.send(SyncServer.errorFrame("STORAGE_ERROR", SyncServer.FAILED));
  }
  ws.send(SyncServer.errorFrame("INVALID_ARGUMENT", "too many messages", 100));
  await server.serve(SyncServer.decode("{}"), { scopes: ["read", "append"] }, false); // a fresh socket: nothing sent
  // @ts-expect-error: a frame may be null (nothing to send)
  const next: string = await server.nextFrame(ws.state);
  void next;
  // @ts-expect-error: the socket state says what its token allows
  await server.serve(SyncServer.decode("{}"), { cursor: -1, live: false }, false);
  // @ts-expect-error: the store says how many events a pushed append may hold
  store.syncServer("epoch");
  // @ts-expect-error: error frames carry the contract's codes
  SyncServer.errorFrame("OOPS", "no such code");
  // acceptPush (protocol v3): events, and lifecycle calls with the id of their event.
  const id = "0190a8e4-7b3c-7d2e-8f00-000000000002";
  const outcomes = await store.acceptPush(
    [
      { seq: 1, streamId: "Order-1", expectedRevision: "any", createdAt: 0, events: [{ id, type: "OrderPlaced", data: {} }] },
      { seq: 2, kind: "metadata", streamId: "Order-1", expectedRevision: "no_stream", createdAt: 0, id, metadata: { maxCount: 5 } },
      { seq: 3, kind: "tombstone", streamId: "Order-1", expectedRevision: 3, createdAt: 0, id },
    ],
    { revealTheirs: false, mayDelete: false },
  );
  void outcomes.length;
  // @ts-expect-error: a lifecycle kind carries the id of its event
  await store.acceptPush([{ seq: 4, kind: "delete", streamId: "Order-1", expectedRevision: "any", createdAt: 0 }]);
  // @ts-expect-error: an expected metadata revision has no "stream_exists"
  await store.acceptPush([{ seq: 5, kind: "metadata", streamId: "Order-1", expectedRevision: "stream_exists", createdAt: 0, id, metadata: {} }]);
  // @ts-expect-error: made by store.syncServer, not constructed
  new SyncServer();
  // A token's streams claim, checked with the package's matcher.
  using selection = StreamSelection.parse(["Item-7-*", "List-7"]);
  const normalized: string[] = selection.patterns;
  const allowed: boolean = selection.matches("Item-7-1") && selection.matches("$$List-7");
  void [normalized, allowed];
  // @ts-expect-error: patterns come as an array
  StreamSelection.parse("List-7");
  // @ts-expect-error: made by StreamSelection.parse
  new StreamSelection();
  server.free();
}

// @ts-expect-error: the client's sync engine is internal (the package drives it), not part of the types
export type Engine = import("evstore").SyncEngine;

// Schema evolution and causation: `schema` at open (keys are the event types of `E`), `causedBy` on
// append and retry, and the two error codes with their fields.
type ItemEvent =
  | { type: "ItemAdded"; data: { name: string; qty: number } }
  | { type: "ItemRemoved"; data: { name: string } };

export async function schemaUsage(): Promise<void> {
  const store = await EventStore.open<ItemEvent>({
    storage: "memory",
    schema: {
      ItemAdded: {
        version: 3,
        upcast: {
          1: (data) => ({ ...data, qty: 1 }),
          2: (data, event) => ({ name: data.title, qty: data.qty, at: event.createdAt.getTime() }),
        },
      },
      ItemRemoved: { version: 1 },
    },
  });
  const [added] = await store.readStream("List-1");
  await store.append("List-1", [{ type: "ItemRemoved", data: { name: "milk" } }], { expectedRevision: "any", causedBy: added });
  const synced = await EventStore.open<ItemEvent>({
    storage: "indexeddb",
    sync: { url: "https://edge.example.com/t/acme", token: () => "jwt" },
    schema: { ItemAdded: { version: 2, upcast: { 1: (data) => ({ ...data, qty: 1 }) } } },
  });
  for (const c of await synced.sync.conflicts()) {
    await c.retry(c.pending.map((e) => ({ type: e.type, data: e.data }) as ItemEvent), { expectedRevision: c.actualRevision, causedBy: c.theirs[0] });
  }
  await EventStore.open({ schema: { AnyType: { version: 2, upcast: { 1: (data: unknown) => data } } } });
  try {
    await store.aggregateStream("List-1", { initialState: () => 0, evolve: (n) => n + 1 });
  } catch (err) {
    if (err instanceof EventStoreError && err.code === "SCHEMA_TOO_NEW") {
      const [streamId, type, version]: [string, string, number] = [err.streamId, err.type, err.version];
      void [streamId, type, version];
    }
    if (err instanceof EventStoreError && err.code === "UPCAST_FAILED") {
      const [eventId, type, version, cause]: [string, string, number, unknown] = [err.eventId, err.type, err.version, err.cause];
      void [eventId, type, version, cause];
    }
  }
  // @ts-expect-error: a schema entry is keyed by an event type of the store
  await EventStore.open<ItemEvent>({ schema: { ItemAded: { version: 2, upcast: { 1: (data) => data } } } });
  // @ts-expect-error: version is a number
  await EventStore.open({ schema: { ItemAdded: { version: "2" } } });
  // @ts-expect-error: upcasters are functions
  await EventStore.open({ schema: { ItemAdded: { version: 2, upcast: { 1: { qty: 1 } } } } });
  // @ts-expect-error: an entry has only version and upcast
  await EventStore.open({ schema: { ItemAdded: { version: 1, upcasters: {} } } });
  // @ts-expect-error: causedBy is a recorded event, not its id
  await store.append("List-1", [{ type: "ItemRemoved", data: { name: "milk" } }], { causedBy: added.id });
  // @ts-expect-error: causedBy is a recorded event (with its id, type, positions, …)
  await store.append("List-1", [{ type: "ItemRemoved", data: { name: "milk" } }], { causedBy: { type: "ItemAdded" } });
}

// evstore/server: the self-hosted server on an embedded PostgreSQL, mounted without listening.
export async function serverUsage(): Promise<number> {
  const { database, close } = await openDatabase({ dataDir: ".server-data/pgdata" });
  const server = createServer({ database, env: { EVSTORE_JWT_SECRET: "a-secret-of-at-least-thirty-two-bytes!" }, maxEventBytes: 65536 });
  const res: Response = await server.handle(new Request("http://localhost/t/demo/all"));
  const { port }: { port: number } = await server.listen(0);
  await server.close();
  await close();
  // @ts-expect-error: createServer needs a database
  createServer({ env: {} });
  return res.status + port;
}
