// The server half of sync in JS: `store.syncServer(epoch, maxAppendEvents)`, which the edge
// service drives with text only, and store.acceptPush(appends) (README "Hosting sync in your own
// Worker"), both read by the core's one codec.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore, SyncServer } from "evstore";

const id = (n) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const append = (seq, streamId, expectedRevision, events) => ({ seq, streamId, expectedRevision, createdAt: 1_700_000_000_000, events });

test("pushed appends are decided in order: ok, already on a retry, conflict with theirs, blocked", async () => {
  const store = await EventStore.open();
  const first = append(1, "Cart-1", "no_stream", [{ id: id(1), type: "Added", data: { sku: "a", n: [1, 2] }, metadata: { by: "u" } }]);
  assert.deepEqual(await store.acceptPush([first]), [{ result: "ok", nextExpectedRevision: 0, position: 0 }]);
  const [event] = await store.readAll();
  assert.deepEqual([event.data, event.metadata, event.createdAt.getTime()], [{ sku: "a", n: [1, 2] }, { by: "u" }, 1_700_000_000_000]);
  const late = append(2, "Cart-1", "no_stream", [{ id: id(2), type: "Added" }]);
  const after = append(3, "Cart-1", 0, [{ id: id(3), type: "Removed" }]);
  const outcomes = await store.acceptPush([first, late, after]);
  assert.deepEqual(outcomes[0], { result: "already", nextExpectedRevision: 0, position: 0 });
  assert.equal(outcomes[1].result, "conflict");
  assert.equal(outcomes[1].actualRevision, 0);
  assert.deepEqual(outcomes[1].theirs.map((e) => [e.id, e.type, e.data]), [[id(1), "Added", { sku: "a", n: [1, 2] }]]);
  assert.deepEqual(outcomes[2], { result: "blocked" });
  assert.equal((await store.readAll()).length, 1);
});

test("a malformed append is rejected alone; the others are decided", async () => {
  const store = await EventStore.open();
  const outcomes = await store.acceptPush([
    append(1, "A", "any", [{ type: "NoId" }]),
    { seq: 2, streamId: "B", createdAt: "yesterday", events: [] },
    append(3, "C", "any", [{ id: id(3), type: "Fine", data: null }]),
    "not an append",
  ]);
  assert.deepEqual(outcomes.map((o) => [o.result, o.error?.code]), [["rejected", "INVALID_ARGUMENT"], ["rejected", "INVALID_ARGUMENT"], ["ok", undefined], ["rejected", "INVALID_ARGUMENT"]]);
  assert.match(outcomes[0].error.message, /needs its id/);
  assert.match(outcomes[1].error.message, /createdAt must be a non-negative integer/);
  assert.deepEqual((await store.readAll()).map((e) => [e.streamId, e.data]), [["C", null]]);
  await assert.rejects(store.acceptPush("nope"), (e) => e.code === "INVALID_ARGUMENT");
});

test("without the read scope a conflict's theirs is withheld", async () => {
  const store = await EventStore.open();
  await store.acceptPush([append(1, "S", "no_stream", [{ id: id(1), type: "E" }])]);
  const [outcome] = await store.acceptPush([append(2, "S", "no_stream", [{ id: id(2), type: "E" }])], { revealTheirs: false });
  assert.deepEqual([outcome.result, outcome.theirs, outcome.theirsCut], ["conflict", [], "withheld"]);
});

test("pushed lifecycle calls (protocol v3): metadata, delete and tombstone with their ids; mayDelete: false refuses the deletes", async () => {
  const store = await EventStore.open();
  const at = 1_700_000_000_000;
  await store.acceptPush([append(1, "L-1", "no_stream", [{ id: id(1), type: "E" }, { id: id(2), type: "E" }])]);
  const meta = { seq: 2, kind: "metadata", streamId: "L-1", expectedRevision: "no_stream", createdAt: at, id: id(3), metadata: { truncateBefore: 1, custom: { o: 1 } } };
  assert.deepEqual(await store.acceptPush([meta]), [{ result: "ok", nextExpectedRevision: 0, position: 2 }]);
  assert.deepEqual(await store.getStreamMetadata("L-1"), { metadata: { truncateBefore: 1, custom: { o: 1 } }, metadataRevision: 0 });
  const [event] = await store.readAll({ fromPosition: 2 });
  assert.deepEqual([event.id, event.type, event.streamId, event.createdAt.getTime()], [id(3), "$metadata", "$$L-1", at], "written with the pushed id and time");
  assert.deepEqual((await store.acceptPush([meta]))[0].result, "already", "a retried lifecycle push is idempotent");

  const tomb = { seq: 3, kind: "tombstone", streamId: "L-1", expectedRevision: 1, createdAt: at, id: id(4) };
  for (const push of [tomb, { ...tomb, seq: 4, kind: "delete", id: id(5) }]) {
    const [refused] = await store.acceptPush([push], { mayDelete: false });
    assert.deepEqual([refused.result, refused.error?.code], ["rejected", "FORBIDDEN"], push.kind);
  }
  assert.deepEqual((await store.readStream("L-1")).map((e) => e.revision), [1], "nothing deleted");
  assert.deepEqual((await store.acceptPush([tomb]))[0].result, "ok");
  await assert.rejects(store.readStream("L-1"), (e) => e.code === "STREAM_DELETED" && e.streamId === "L-1");
  const [late] = await store.acceptPush([append(5, "L-1", "any", [{ id: id(6), type: "E" }])]);
  assert.deepEqual([late.result, late.error?.code], ["rejected", "STREAM_DELETED"]);
  await assert.rejects(store.acceptPush([], { mayDelete: "no" }), (e) => e.code === "INVALID_ARGUMENT" && /mayDelete/.test(e.message));
});

test("nextFrame sets `more` when the state asks for it: false once a live feed reached the head", async () => {
  const store = await EventStore.open();
  await store.append("A", [{ type: "E" }]);
  const server = store.syncServer("epoch-1", 1000);
  const state = { cursor: -1, live: false, scopes: ["read"] };
  await server.serve(SyncServer.decode('{"v":4,"type":"pull","after":null}'), state, false);
  while ((await server.nextFrame(state)) !== null);
  assert.equal(state.live, true);
  assert.equal("more" in state, false, "not asked: not set");
  await store.append("A", [{ type: "E" }]);
  const asked = { ...state, more: true };
  assert.equal(JSON.parse(await server.nextFrame(asked)).type, "events");
  assert.equal(asked.more, false, "the live feed holds the log up to its head");
  assert.equal(await server.nextFrame(asked), null, "and the next call has nothing");
});

test("store.syncServer() answers a pull's text with frames as text and keeps the socket's state in place", async () => {
  const store = await EventStore.open();
  await store.append("A", [{ type: "E", data: { n: 1 } }, { type: "E", data: { n: 2 } }]);
  const server = store.syncServer("epoch-1", 1000);
  const state = { cursor: -1, live: false, scopes: ["read"], sub: "kept" };
  const message = SyncServer.decode('{"v":4,"type":"pull","after":null}');
  assert.equal(message.isPull, true);
  assert.deepEqual(await server.serve(message, state, false), { action: "pull" });
  const frames = [];
  for (let frame; (frame = await server.nextFrame(state)) !== null; ) frames.push(JSON.parse(frame));
  assert.deepEqual(frames.map((f) => f.type), ["events", "caughtUp"]);
  assert.deepEqual(frames[0].events, JSON.parse(JSON.stringify(await store.readAll())), "the recorded events of the API");
  assert.deepEqual(state, { cursor: 1, live: true, scopes: ["read"], sub: "kept", selected: null }, "selected: null — the feed serves the token's streams");
  const push = SyncServer.decode(JSON.stringify({ v: 4, type: "push", batch: 1, appends: [append(1, "B", "any", [{ id: id(9), type: "E" }])] }));
  assert.equal(push.isPull, false);
  const refused = await server.serve(push, state, false);
  assert.equal(refused.action, "reply");
  assert.equal(JSON.parse(refused.frame).error.code, "FORBIDDEN");
  const old = await server.serve(SyncServer.decode('{"v":1,"type":"pull","after":null}'), state, false);
  assert.deepEqual([old.action, old.code, JSON.parse(old.frame).error.code], ["close", 4426, "INVALID_ARGUMENT"]);
  const binary = await server.serve(SyncServer.decode(new Uint8Array(2)), state, false);
  assert.match(JSON.parse(binary.frame).error.message, /binary messages/);
  assert.equal(SyncServer.authenticated(1_700_000_000.5), '{"type":"authenticated","exp":1700000000.5}');
});
