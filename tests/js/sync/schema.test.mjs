// Schema evolution across sync (CONTRACT.md, "Schema evolution and causation"; issue 22, item 3):
// two headless Chromium devices (own contexts, own IndexedDB) in one tenant through the real edge
// service in workerd, device A on schema version 2 of ItemAdded and device B on version 3. Both
// append offline and come back: B reads A's event upcast (readStream, subscribe, a conflict's
// `theirs`), A reads B's as stored and refuses to fold it (aggregateStream, watchAggregate:
// SCHEMA_TOO_NEW), the edge keeps both stored forms, A reopened on version 3 folds, an upcaster
// that throws is UPCAST_FAILED with the thrown object as cause, and a conflict retried with
// `causedBy` carries the causation to the service.
//
//   node --test tests/js/sync/schema.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, server } from "../browser/harness.mjs";
import { append, deviceContext, devicePage, edgeFor, flush, jwt, openStore, runCleanup, TENANT, waitCaughtUp, waitStatus } from "./browser-harness.mjs";

const TIMEOUT = 180_000;
let srv;
let browser;

before(async () => {
  srv = await server();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

// ItemAdded v1 { title }, v2 { title, qty }, v3 { name, qty }: the `schema` option of each app
// release, as source text (evaluated in the page).
const V2 = `({ ItemAdded: { version: 2, upcast: { 1: (data) => ({ ...data, qty: 1 }) } } })`;
const V3 = `({ ItemAdded: { version: 3, upcast: { 1: (data) => ({ ...data, qty: 1 }), 2: (data) => ({ name: data.title, qty: data.qty }) } } })`;

const added = (data, device) => ({ id: crypto.randomUUID(), type: "ItemAdded", data, metadata: { device } });

/** Runs `fn(store, arg)` in the page on its synced store; errors come back as plain fields. */
const inPage = (page, fn, arg) =>
  page.evaluate(
    async ([src, a]) => {
      const plainError = (e) => ({ code: e?.code, name: e?.name, message: String(e?.message ?? e), streamId: e?.streamId, type: e?.type, version: e?.version, eventId: e?.eventId });
      try {
        return { ok: true, value: await new Function("store", "a", "plainError", `return (${src})(store, a, plainError)`)(window.device.store, a, plainError) };
      } catch (e) {
        return { ok: false, error: plainError(e) };
      }
    },
    [fn.toString(), arg],
  );
const value = (r) => {
  assert.ok(r.ok, `failed in the page: ${JSON.stringify(r.error)}`);
  return r.value;
};

const view = (events) => events.map((e) => [e.type, e.data, e.metadata.$schemaVersion]);
const readStream = async (page, streamId) => value(await inPage(page, async (store, id) => (await store.readStream(id)).map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })), streamId));
const sumQty = (page, streamId) => inPage(page, async (store, id) => (await store.aggregateStream(id, { initialState: () => 0, evolve: (n, e) => n + e.data.qty })).state, streamId);

/** The edge's stored events of a stream (`GET /t/{tenant}/streams/{id}`). */
async function edgeStream(edge, streamId) {
  const res = await fetch(`${edge.base}/t/${TENANT}/streams/${streamId}`, { headers: { authorization: `Bearer ${jwt()}` } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text).events;
}

test("two app versions in one tenant: v3 reads v2 upcast, v2 delivers v3 as stored and refuses to fold it; the edge keeps both stored forms", { timeout: TIMEOUT }, async () => {
  const cleanup = [];
  try {
    const edge = await edgeFor(cleanup);
    const ctxA = await deviceContext(browser, cleanup);
    const ctxB = await deviceContext(browser, cleanup);
    const a = await devicePage(ctxA, srv, "A v2");
    const b = await devicePage(ctxB, srv, "B v3");
    await openStore(a, edge, { name: "shop", schema: V2 });
    await openStore(b, edge, { name: "shop", schema: V3 });
    await waitStatus(a, (s) => s.state === "online", "A online");
    await waitStatus(b, (s) => s.state === "online", "B online");

    // Both append offline, each in its own release's shape; both open Shared-1.
    await ctxA.setOffline(true);
    await ctxB.setOffline(true);
    const milk = added({ title: "milk", qty: 2 }, "A");
    const tea = added({ title: "tea", qty: 1 }, "A");
    const jam = added({ name: "jam", qty: 3 }, "B");
    const cake = added({ name: "cake", qty: 4 }, "B");
    await append(a, "Cart-A", [milk], { expectedRevision: "no_stream" });
    await append(a, "Shared-1", [tea], { expectedRevision: "no_stream" });
    await append(b, "Cart-B", [jam], { expectedRevision: "no_stream" });
    await append(b, "Shared-1", [cake], { expectedRevision: "no_stream" });
    await ctxA.setOffline(false);
    assert.equal((await flush(a)).pending, 0);
    await ctxB.setOffline(false);
    assert.equal((await flush(b)).conflicts, 1, "B's Shared-1 conflicts with A's");
    await waitCaughtUp(a, edge, "A");
    await waitCaughtUp(b, edge, "B");

    // The edge keeps the stored forms, each stamped with its writer's version.
    assert.deepEqual(
      [...(await edgeStream(edge, "Cart-A")), ...(await edgeStream(edge, "Cart-B"))].map((e) => [e.id, e.data, e.metadata]),
      [
        [milk.id, { title: "milk", qty: 2 }, { $schemaVersion: 2, device: "A" }],
        [jam.id, { name: "jam", qty: 3 }, { $schemaVersion: 3, device: "B" }],
      ],
    );

    // B (v3) reads A's v2 event upcast: readStream, subscribe, aggregateStream.
    assert.deepEqual(view(await readStream(b, "Cart-A")), [["ItemAdded", { name: "milk", qty: 2 }, 3]]);
    const delivered = value(
      await inPage(b, (store) =>
        new Promise((resolve, reject) => {
          const got = [];
          const sub = store.subscribe((e) => void got.push([e.streamId, e.data, e.metadata.$schemaVersion]), {
            eventTypes: ["ItemAdded"],
            onCaughtUp: () => setTimeout(() => (sub.unsubscribe(), resolve(got))),
            onError: reject,
          });
        }),
      ),
    );
    assert.deepEqual(
      delivered.filter(([s]) => s !== "Shared-1"),
      [
        ["Cart-A", { name: "milk", qty: 2 }, 3],
        ["Cart-B", { name: "jam", qty: 3 }, 3],
      ],
    );
    assert.equal(value(await sumQty(b, "Cart-A")), 2);

    // A (v2) reads B's v3 event as stored, and refuses to fold it.
    assert.deepEqual(view(await readStream(a, "Cart-B")), [["ItemAdded", { name: "jam", qty: 3 }, 3]]);
    assert.deepEqual(view(await readStream(a, "Cart-A")), [["ItemAdded", { title: "milk", qty: 2 }, 2]]);
    const refused = await sumQty(a, "Cart-B");
    assert.equal(refused.ok, false, "aggregateStream must not fold a v3 event with v2 code");
    assert.deepEqual(
      [refused.error.name, refused.error.code, refused.error.streamId, refused.error.type, refused.error.version],
      ["EventStoreError", "SCHEMA_TOO_NEW", "Cart-B", "ItemAdded", 3],
    );
    const watched = value(
      await inPage(a, (store, _, plainError) =>
        new Promise((resolve) => {
          const changes = [];
          const timer = setTimeout(() => resolve({ changes, error: null }), 10_000);
          const watch = store.watchAggregate(
            "Cart-B",
            {
              initialState: () => 0,
              evolve: (n, e) => n + e.data.qty,
              onError: (e) => {
                clearTimeout(timer);
                setTimeout(() => watch.unsubscribe());
                resolve({ changes, error: plainError(e) });
              },
            },
            (state) => void changes.push(state),
          );
        }),
      ),
    );
    assert.deepEqual(watched.changes, [], "onChange is not called with a partial fold");
    assert.deepEqual(
      [watched.error?.code, watched.error?.streamId, watched.error?.type, watched.error?.version],
      ["SCHEMA_TOO_NEW", "Cart-B", "ItemAdded", 3],
    );
    assert.equal(value(await sumQty(a, "Cart-A")), 2, "A still folds its own streams");

    // B's conflict: `theirs` (A's v2 event) and `pending` come upcast; a retry caused by A's event.
    const conflict = value(
      await inPage(b, async (store) => {
        const [c] = await store.sync.conflicts();
        const plain = (e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata });
        return { streamId: c.streamId, theirs: c.theirs.map(plain), pending: c.pending.map(plain) };
      }),
    );
    assert.equal(conflict.streamId, "Shared-1");
    assert.deepEqual(view(conflict.theirs), [["ItemAdded", { name: "tea", qty: 1 }, 3]]);
    assert.deepEqual(conflict.theirs[0].id, tea.id);
    assert.deepEqual(view(conflict.pending), [["ItemAdded", { name: "cake", qty: 4 }, 3]]);
    const retried = value(
      await inPage(b, async (store) => {
        const [c] = await store.sync.conflicts();
        // Read events are re-appended without the store's `$` keys.
        const events = c.pending.map((e) => ({ type: e.type, data: e.data, metadata: { device: e.metadata.device } }));
        return c.retry(events, { expectedRevision: c.actualRevision, causedBy: c.theirs[0] });
      }),
    );
    assert.equal(retried.nextExpectedRevision, 1);
    assert.equal((await flush(b)).conflicts, 0);
    const shared = await edgeStream(edge, "Shared-1");
    assert.deepEqual(
      shared.map((e) => [e.data, e.metadata]),
      [
        [{ title: "tea", qty: 1 }, { $schemaVersion: 2, device: "A" }],
        [{ name: "cake", qty: 4 }, { $schemaVersion: 3, device: "B", causationId: tea.id, correlationId: tea.id }],
      ],
      "the retried event is stamped by B and caused by A's event",
    );

    // A, reopened as the v3 release, folds everything; nothing stored was rewritten.
    await a.reload();
    await a.waitForFunction(() => document.body.dataset.ready === "true");
    await openStore(a, edge, { name: "shop", schema: V3 });
    await waitCaughtUp(a, edge, "A reopened on v3");
    assert.equal(value(await sumQty(a, "Cart-B")), 3);
    assert.equal(value(await sumQty(a, "Shared-1")), 5);
    assert.deepEqual(view(await readStream(a, "Cart-A")), [["ItemAdded", { name: "milk", qty: 2 }, 3]]);
    assert.deepEqual((await edgeStream(edge, "Cart-A")).map((e) => e.metadata.$schemaVersion), [2], "the edge still holds v2");

    // An upcaster that throws: UPCAST_FAILED, with the thrown object itself as cause (a second
    // store of this origin on the same database, as a tab of a broken release would open).
    const failed = value(
      await inPage(b, async (_, __, plainError) => {
        const thrown = { reason: "no title" };
        const broken = await window.EventStore.open({
          storage: "indexeddb",
          name: "shop",
          schema: {
            ItemAdded: {
              version: 3,
              upcast: {
                1: (data) => ({ ...data, qty: 1 }),
                2: () => {
                  throw thrown;
                },
              },
            },
          },
        });
        try {
          const read = await broken.readStream("Cart-A").then(
            () => null,
            (e) => ({ ...plainError(e), causeIsThrown: e.cause === thrown }),
          );
          const subscribed = await new Promise((resolve) => {
            broken.subscribe(() => {}, { streamId: "Cart-A", onError: (e) => resolve({ ...plainError(e), causeIsThrown: e.cause === thrown }) });
          });
          const unaffected = (await broken.readStream("Cart-B")).map((e) => e.data);
          return { read, subscribed, unaffected };
        } finally {
          await broken.close();
        }
      }),
    );
    for (const what of ["read", "subscribed"]) {
      const e = failed[what];
      assert.ok(e, `${what}: an error`);
      assert.deepEqual([e.name, e.code, e.eventId, e.type, e.version, e.causeIsThrown], ["EventStoreError", "UPCAST_FAILED", milk.id, "ItemAdded", 2, true], what);
    }
    assert.deepEqual(failed.unaffected, [{ name: "jam", qty: 3 }], "events that need no step still read");
  } finally {
    await runCleanup(cleanup);
  }
});
