// evstore/emmett's cases, shared by Node (memory storage) and Chromium (IndexedDB, bundled by
// Vite): `emmettCases(open)` → { name: async () => void }, where `open()` gives a fresh, empty store.
// Emmett's own in-memory store is the reference for versionBase 1.
import {
  CommandHandler,
  DeciderCommandHandler,
  ExpectedVersionConflictError as EmmettConflict,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
  getInMemoryEventStore,
  isExpectedVersionConflictError,
} from "@event-driven-io/emmett";
import { ExpectedVersionConflictError, getEmmettEventStore } from "evstore/emmett";

// Small asserts that run in browsers too (bigint-aware).
const show = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));
function eq(actual, expected, what) {
  if (show(actual) !== show(expected)) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}
function ok(cond, what) {
  if (!cond) throw new Error(what);
}
async function rejects(promise, check, what) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  ok(error !== undefined, `${what}: expected a rejection`);
  check(error);
  return error;
}
const conflict = (current, expected) => (e) => {
  ok(e instanceof EmmettConflict, `an ExpectedVersionConflictError, got ${e}`);
  ok(isExpectedVersionConflictError(e), "isExpectedVersionConflictError");
  eq([e.current, e.expected], [current, expected], "conflict versions");
};

// What both stores must agree on (ids and times differ by nature).
const readView = (r) => ({
  currentStreamVersion: r.currentStreamVersion,
  streamExists: r.streamExists,
  events: r.events.map((e) => ({
    type: e.type,
    data: e.data,
    streamName: e.metadata.streamName,
    streamPosition: e.metadata.streamPosition,
    globalPosition: e.metadata.globalPosition,
    kind: e.kind,
    extra: e.metadata.tenant,
    hasId: typeof e.metadata.messageId === "string",
  })),
});

const Added = (sku, qty) => ({ type: "ItemAdded", data: { sku, qty } });

export function emmettCases(open) {
  return {
    "versionBase 1 numbers versions, positions and conflicts as Emmett's in-memory store": async () => {
      const store = await open();
      const stores = { evstore: getEmmettEventStore(store, { versionBase: 1 }), emmett: getInMemoryEventStore() };
      const steps = [
        (s) => s.streamExists("Cart-1"),
        (s) => s.readStream("Cart-1").then(readView),
        (s) => s.appendToStream("Cart-1", [Added("a", 1), Added("b", 2)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST }),
        (s) => s.appendToStream("Cart-2", [{ ...Added("c", 3), metadata: { tenant: "t1" } }]),
        (s) => s.appendToStream("Cart-1", [Added("d", 4)], { expectedStreamVersion: 2n }),
        (s) => s.appendToStream("Cart-1", [Added("e", 5)], { expectedStreamVersion: 2n }),
        (s) => s.appendToStream("Cart-1", [Added("e", 5)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST }),
        (s) => s.appendToStream("Cart-3", [Added("f", 6)], { expectedStreamVersion: STREAM_EXISTS }),
        (s) => s.appendToStream("Cart-3", [Added("f", 6)], { expectedStreamVersion: 0n }),
        (s) => s.appendToStream("Cart-1", [Added("g", 7)], { expectedStreamVersion: STREAM_EXISTS }),
        (s) => s.appendToStream("Cart-1", [Added("h", 8)], { expectedStreamVersion: NO_CONCURRENCY_CHECK }),
        (s) => s.readStream("Cart-1").then(readView),
        (s) => s.readStream("Cart-2").then(readView),
        (s) => s.readStream("Cart-1", { expectedStreamVersion: 3n }),
        (s) => s.readStream("Cart-1", { expectedStreamVersion: 5n }).then(readView),
        (s) => s.aggregateStream("Cart-1", { initialState: () => 0, evolve: (n, e) => n + e.data.qty }),
        (s) => s.aggregateStream("Cart-9", { initialState: () => 0, evolve: (n, e) => n + e.data.qty }),
        (s) => s.streamExists("Cart-1"),
      ];
      // A failure is compared as its class and versions (Emmett's in-memory store throws synchronously).
      const settle = async (f) => {
        try {
          return await f();
        } catch (e) {
          return ["failed", e.constructor.name, e.current, e.expected];
        }
      };
      const failedSteps = [];
      for (const [i, step] of steps.entries()) {
        const mine = await settle(() => step(stores.evstore));
        const theirs = await settle(() => step(stores.emmett));
        if (Array.isArray(theirs) && theirs[0] === "failed") failedSteps.push(i);
        const strip = (r) => (r && typeof r === "object" && "lastEventGlobalPosition" in r ? { ...r, lastEventGlobalPosition: undefined } : r);
        eq(strip(mine), strip(theirs), `step ${i}`);
      }
      eq(failedSteps, [5, 6, 7, 13], "the conflicting steps");
    },

    "versionBase 0 numbers versions as Emmett's EventStoreDB store": async () => {
      const es = getEmmettEventStore(await open(), { versionBase: 0 });
      const empty = await es.readStream("Order-1");
      eq([empty.currentStreamVersion, empty.streamExists, empty.events.length], [-1n, false, 0], "no stream");
      const first = await es.appendToStream("Order-1", [{ type: "Placed", data: { n: 1 } }], { expectedStreamVersion: -1n });
      eq([first.nextExpectedStreamVersion, first.createdNewStream, first.lastEventGlobalPosition], [0n, true, 0n], "first append");
      const second = await es.appendToStream("Order-1", [{ type: "Paid", data: { n: 2 } }, { type: "Shipped", data: { n: 3 } }], { expectedStreamVersion: 0n });
      eq([second.nextExpectedStreamVersion, second.createdNewStream, second.lastEventGlobalPosition], [2n, false, 2n], "second append");
      await rejects(es.appendToStream("Order-1", [{ type: "X", data: {} }], { expectedStreamVersion: 1n }), conflict("2", "1"), "stale version");
      await rejects(es.appendToStream("Order-1", [{ type: "X", data: {} }], { expectedStreamVersion: -1n }), conflict("2", "-1"), "-1n is no stream");
      const read = await es.readStream("Order-1");
      eq(read.events.map((e) => [e.metadata.streamPosition, e.metadata.globalPosition]), [[0n, 0n], [1n, 1n], [2n, 2n]], "positions");
      eq(read.currentStreamVersion, 2n, "current version");
      const agg = await es.aggregateStream("Order-1", { initialState: () => [], evolve: (s, e) => [...s, e.type] });
      eq([agg.state, agg.currentStreamVersion, agg.streamExists], [["Placed", "Paid", "Shipped"], 2n, true], "aggregate");
    },

    "readStream: from/to are inclusive stream versions, maxCount limits, all in versionBase numbering": async () => {
      const store = await open();
      await store.append("S-1", [1, 2, 3, 4, 5].map((n) => ({ type: "N", data: { n } })));
      const one = getEmmettEventStore(store);
      const zero = getEmmettEventStore(store, { versionBase: 0 });
      const ns = (r) => r.events.map((e) => e.data.n);
      eq(ns(await one.readStream("S-1", { from: 2n })), [2, 3, 4, 5], "base 1 from");
      eq(ns(await one.readStream("S-1", { from: 2n, to: 3n })), [2, 3], "base 1 from..to");
      eq(ns(await one.readStream("S-1", { from: 2n, maxCount: 2n })), [2, 3], "base 1 maxCount");
      eq(ns(await zero.readStream("S-1", { from: 2n, to: 3n })), [3, 4], "base 0 from..to");
      eq(ns(await one.readStream("S-1", { from: 9n })), [], "past the end");
      eq((await one.readStream("S-1", { from: 9n })).currentStreamVersion, 5n, "current version past the end");
    },

    "CommandHandler under real concurrent conflicts: retries until every command landed once": async () => {
      const es = getEmmettEventStore(await open());
      let decisions = 0;
      const handle = CommandHandler({
        evolve: (state, e) => ({ count: state.count + e.data.by }),
        initialState: () => ({ count: 0 }),
        retry: { onVersionConflict: { retries: 100, minTimeout: 1, maxTimeout: 10, factor: 1.2, randomize: true, shouldRetryError: isExpectedVersionConflictError } },
      });
      const n = 12;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          handle(es, "Counter-1", (state) => {
            decisions++;
            return { type: "Incremented", data: { by: 1, seen: state.count, i } };
          }),
        ),
      );
      const read = await es.readStream("Counter-1");
      eq(read.events.length, n, "each command appended exactly once");
      eq(read.events.map((e) => e.data.seen), Array.from({ length: n }, (_, i) => i), "each decision saw all earlier events");
      eq(read.currentStreamVersion, BigInt(n), "current version");
      ok(decisions > n, `conflicts happened and were retried (${decisions} decisions for ${n} commands)`);
      eq(results.map((r) => r.nextExpectedStreamVersion).sort((a, b) => (a < b ? -1 : 1)), read.events.map((e) => e.metadata.streamPosition), "results");
      eq(results.filter((r) => r.createdNewStream).length, 1, "one command created the stream");
    },

    "CommandHandler without retries: of two concurrent commands one fails with ExpectedVersionConflictError": async () => {
      const es = getEmmettEventStore(await open());
      const handle = CommandHandler({ evolve: (s) => s + 1, initialState: () => 0 });
      const outcomes = await Promise.allSettled([
        handle(es, "Cart-1", () => Added("a", 1)),
        handle(es, "Cart-1", () => Added("b", 1)),
      ]);
      const failed = outcomes.filter((o) => o.status === "rejected");
      eq(failed.length, 1, "one of the two failed");
      conflict("1", "STREAM_DOES_NOT_EXIST")(failed[0].reason);
      ok(failed[0].reason instanceof ExpectedVersionConflictError, "evstore/emmett re-exports Emmett's class");
      eq((await es.readStream("Cart-1")).events.length, 1, "the failed command wrote nothing");
      // An explicit expected version that no longer holds fails fast, before deciding.
      let decided = false;
      await rejects(
        handle(es, "Cart-1", () => ((decided = true), Added("c", 1)), { expectedStreamVersion: 0n }),
        conflict("1", "0"),
        "explicit expected version",
      );
      ok(!decided, "the command was not decided");
    },

    "DeciderCommandHandler: a decider's commands on evstore, its business errors writing nothing": async () => {
      const es = getEmmettEventStore(await open());
      const decider = {
        initialState: () => ({ status: "empty", items: 0 }),
        evolve: (s, e) => (e.type === "ItemAdded" ? { status: "open", items: s.items + e.data.qty } : { ...s, status: "confirmed" }),
        decide: (command, state) => {
          if (state.status === "confirmed") throw new Error("cart is confirmed");
          if (command.type === "AddItem") return { type: "ItemAdded", data: { sku: command.data.sku, qty: command.data.qty } };
          return { type: "CartConfirmed", data: { items: state.items } };
        },
      };
      const handle = DeciderCommandHandler(decider);
      await handle(es, "Cart-1", { type: "AddItem", data: { sku: "a", qty: 2 } });
      const confirmed = await handle(es, "Cart-1", { type: "Confirm", data: {} });
      eq([confirmed.newState, confirmed.nextExpectedStreamVersion], [{ status: "confirmed", items: 2 }, 2n], "confirmed");
      await rejects(handle(es, "Cart-1", { type: "AddItem", data: { sku: "b", qty: 1 } }), (e) => eq(e.message, "cart is confirmed", "business error"), "after confirm");
      eq((await es.readStream("Cart-1")).events.map((e) => e.type), ["ItemAdded", "CartConfirmed"], "stored");
    },

    "hooks.onAfterCommit gets the appended events with their stored ids and positions; a failing hook is logged, the append stands": async () => {
      const store = await open();
      const batches = [];
      const es = getEmmettEventStore(store, { hooks: { onAfterCommit: (events) => void batches.push(events) } });
      await es.appendToStream("Cart-1", [Added("x", 1)]);
      const r = await es.appendToStream("Cart-1", [Added("a", 1), { ...Added("b", 2), metadata: { tenant: "t" } }]);
      eq(batches.length, 2, "one call per append");
      const stored = await store.readStream("Cart-1");
      eq(
        batches[1].map((e) => [e.type, e.data.sku, e.kind, e.metadata.messageId, e.metadata.streamName, e.metadata.streamPosition, e.metadata.globalPosition, e.metadata.tenant]),
        [
          ["ItemAdded", "a", "Event", stored[1].id, "Cart-1", 2n, 2n, undefined],
          ["ItemAdded", "b", "Event", stored[2].id, "Cart-1", 3n, 3n, "t"],
        ],
        "the hook's events",
      );
      eq(r.nextExpectedStreamVersion, 3n, "result");
      const failing = getEmmettEventStore(store, {
        hooks: {
          onAfterCommit: () => {
            throw new Error("hook failed");
          },
        },
      });
      const logged = [];
      const consoleError = console.error;
      console.error = (...args) => logged.push(args);
      try {
        const after = await failing.appendToStream("Cart-1", [Added("c", 3)], { expectedStreamVersion: 3n });
        eq(after.nextExpectedStreamVersion, 4n, "the append succeeded");
      } finally {
        console.error = consoleError;
      }
      ok(logged.some((args) => args.some((a) => a instanceof Error && a.message === "hook failed")), "the hook's error was logged");
      eq((await store.readStream("Cart-1")).length, 4, "stored");
    },

    "read events re-appended keep the user's metadata only; schema versioning up/downcasts": async () => {
      const store = await open();
      const es = getEmmettEventStore(store);
      await es.appendToStream("A-1", [{ type: "V1", data: { name: "Ann Lee" }, metadata: { tenant: "t" } }]);
      const [read] = (await es.readStream("A-1")).events;
      await es.appendToStream("B-1", [read]); // a read event carries bigint positions in its metadata
      const [copied] = await store.readStream("B-1");
      eq([copied.type, copied.data, copied.metadata], ["V1", { name: "Ann Lee" }, { tenant: "t" }], "copied");
      // Stored as V1 { name }, used as V2 { first, last }.
      const upcast = (e) => (e.type === "V1" ? { type: "V2", data: { first: e.data.name.split(" ")[0], last: e.data.name.split(" ")[1] } } : e);
      const downcast = (e) => ({ type: "V1", data: { name: `${e.data.first} ${e.data.last}` } });
      const up = await es.readStream("A-1", { schema: { versioning: { upcast } } });
      eq([up.events[0].type, up.events[0].data], ["V1", { first: "Ann", last: "Lee" }], "upcast data (Emmett keeps the stored type)");
      await es.appendToStream("A-1", [{ type: "V2", data: { first: "Bo", last: "Kim" } }], { schema: { versioning: { downcast } } });
      const [, second] = await store.readStream("A-1");
      eq([second.data], [{ name: "Bo Kim" }], "downcast before storing");
    },

    "bad options are errors, not silently ignored": async () => {
      const store = await open();
      const throwsType = (f, re, what) => {
        try {
          f();
        } catch (e) {
          ok(e instanceof TypeError && re.test(e.message), `${what}: ${e}`);
          return;
        }
        throw new Error(`${what}: no error`);
      };
      throwsType(() => getEmmettEventStore(store, { versionbase: 0 }), /versionbase/, "unknown key");
      throwsType(() => getEmmettEventStore(store, { versionBase: 2 }), /versionBase/, "versionBase 2");
      throwsType(() => getEmmettEventStore({}), /evstore/, "not a store");
      const es = getEmmettEventStore(store);
      await rejects(es.appendToStream("A-1", [Added("a", 1)], { expectedStreamVersion: "LATEST" }), (e) => ok(e instanceof TypeError, String(e)), "bad version");
      await rejects(es.appendToStream("A-1", [Added("a", 1)], { expectedStreamVersion: -5n }), conflict("0", "-5"), "a version below any");
      eq(await es.streamExists("A-1"), false, "nothing written");
    },

    "lifecycle: a tombstoned stream does not exist for Emmett; appendToStream rethrows STREAM_DELETED": async () => {
      const store = await open();
      const es = getEmmettEventStore(store);
      await es.appendToStream("Gone-1", [Added("a", 1), Added("b", 2)]);
      await store.tombstoneStream("Gone-1");
      eq(await es.streamExists("Gone-1"), false, "streamExists");
      const read = await es.readStream("Gone-1");
      eq([read.streamExists, read.currentStreamVersion, read.events.length], [false, 0n, 0], "readStream");
      const agg = await es.aggregateStream("Gone-1", { initialState: () => 0, evolve: (n, e) => n + e.data.qty });
      eq([agg.streamExists, agg.currentStreamVersion, agg.state], [false, 0n, 0], "aggregateStream");
      for (const expectedStreamVersion of [undefined, STREAM_DOES_NOT_EXIST, 2n, -5n]) {
        await rejects(
          es.appendToStream("Gone-1", [Added("c", 3)], { expectedStreamVersion }),
          (e) => {
            ok(!(e instanceof EmmettConflict), `not a version conflict: ${e}`);
            eq([e.code, e.streamId], ["STREAM_DELETED", "Gone-1"], "the evstore error");
          },
          `append (expected ${String(expectedStreamVersion)})`,
        );
      }
    },

    "lifecycle: after a soft delete or retention the stream reads from its first kept version": async () => {
      const store = await open();
      const es = getEmmettEventStore(store);
      await es.appendToStream("Kept-1", [1, 2, 3, 4, 5].map((i) => Added(`s${i}`, i)));
      await store.setStreamMetadata("Kept-1", { truncateBefore: 2 });
      const read = await es.readStream("Kept-1");
      eq([read.currentStreamVersion, read.events.map((e) => e.metadata.streamPosition)], [5n, [3n, 4n, 5n]], "the kept events");
      const ranged = await es.readStream("Kept-1", { from: 1n, to: 3n });
      eq(ranged.events.map((e) => e.metadata.streamPosition), [3n], "a range that starts in the removed part stops at its end");
      await store.deleteStream("Kept-1");
      const after = await es.readStream("Kept-1");
      eq([after.streamExists, after.currentStreamVersion, after.events.length], [false, 0n, 0], "a soft-deleted stream reads as empty");
      const again = await es.appendToStream("Kept-1", [Added("x", 9)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
      eq(again.nextExpectedStreamVersion, 6n, "versions continue after the old last one");
    },
  };
}
