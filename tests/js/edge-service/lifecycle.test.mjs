// The stream lifecycle routes of the edge service, in real workerd (CONTRACT.md "Stream lifecycle"):
// GET/PUT …/metadata, DELETE (soft) and DELETE …?hard=true (tombstone), the `delete` scope, 410
// STREAM_DELETED on every route for a tombstoned stream, CORS for PUT and DELETE, and 400s for
// unknown body fields and bad query values — none of which writes anything.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, SECRET, startEdge, token, uuid } from "./harness.mjs";

let edge;
const acme = token("acme");
const ALLOWED = "http://app.example";

before(async () => {
  edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET, EVSTORE_ALLOWED_ORIGINS: ALLOWED } });
});
after(async () => {
  await edge?.stop();
  if (process.env.EDGE_DEBUG) console.error(edge?.stderr);
});

const path = (stream, rest = "") => `/t/acme/streams/${encodeURIComponent(stream)}${rest}`;
const append = (stream, body, t = acme) => call(edge, "POST", path(stream), { token: t, body });
const readStream = (stream, t = acme) => call(edge, "GET", path(stream), { token: t });
const readAll = (t = acme) => call(edge, "GET", "/t/acme/all", { token: t });
const getMeta = (stream, t = acme, query = "") => call(edge, "GET", path(stream, `/metadata${query}`), { token: t });
const putMeta = (stream, body, t = acme) => call(edge, "PUT", path(stream, "/metadata"), { token: t, body });
const del = (stream, query = "", t = acme) => call(edge, "DELETE", path(stream, query), { token: t });

/** A stream with `n` events; resolves to its name. */
async function stream(n, prefix = "Life") {
  const id = `${prefix}-${uuid()}`;
  const res = await append(id, { events: Array.from({ length: n }, (_, i) => ({ type: "Noted", data: { i } })) });
  assert.equal(res.status, 200, res.text);
  return id;
}

/** Asserts a request answered `status`/`code` and wrote nothing to acme's log. */
async function failsWithoutWriting(request, status, code) {
  const before = (await readAll()).body.events;
  const res = await request();
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, "string");
  assert.deepEqual((await readAll()).body.events, before, "nothing written");
  return res.body.error;
}

describe("metadata routes", () => {
  test("GET of a stream never set answers {} and null; PUT answers metadataRevision and position", async () => {
    const id = await stream(2);
    const empty = await getMeta(id);
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body, { metadata: {}, metadataRevision: null });

    const put = await putMeta(id, { metadata: { maxCount: 5, custom: { owner: "u42" } }, expectedMetadataRevision: "no_stream" });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(Object.keys(put.body).sort(), ["metadataRevision", "position"]);
    assert.equal(put.body.metadataRevision, 0);
    const got = await getMeta(id);
    assert.deepEqual(got.body, { metadata: { maxCount: 5, custom: { owner: "u42" } }, metadataRevision: 0 });

    // the $metadata event is in the log, in $$<id>, at the answered position
    const all = (await readAll()).body.events;
    const meta = all.find((e) => e.position === put.body.position);
    assert.equal(meta.type, "$metadata");
    assert.equal(meta.streamId, `$$${id}`);
    assert.deepEqual(meta.data, { maxCount: 5, custom: { owner: "u42" } });
    // … and never in the stream's own read
    assert.deepEqual((await readStream(id)).body.events.map((e) => e.type), ["Noted", "Noted"]);

    const second = await putMeta(id, { metadata: { truncateBefore: 1 }, expectedMetadataRevision: 0 });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.metadataRevision, 1);
    assert.deepEqual((await getMeta(id)).body, { metadata: { truncateBefore: 1 }, metadataRevision: 1 });
    assert.deepEqual((await readStream(id)).body.events.map((e) => e.revision), [1], "truncateBefore hides revision 0");
  });

  test("a stale expectedMetadataRevision is 409 WRONG_EXPECTED_REVISION and writes nothing", async () => {
    const id = await stream(1);
    assert.equal((await putMeta(id, { metadata: { maxCount: 3 } })).status, 200);
    const err = await failsWithoutWriting(() => putMeta(id, { metadata: { maxCount: 4 }, expectedMetadataRevision: "no_stream" }), 409, "WRONG_EXPECTED_REVISION");
    assert.equal(err.streamId !== undefined, true);
    await failsWithoutWriting(() => putMeta(id, { metadata: { maxCount: 4 }, expectedMetadataRevision: 7 }), 409, "WRONG_EXPECTED_REVISION");
    assert.deepEqual((await getMeta(id)).body, { metadata: { maxCount: 3 }, metadataRevision: 0 });
  });

  test("bad bodies are 400 INVALID_ARGUMENT naming what is wrong, and write nothing", async () => {
    const id = await stream(1);
    const cases = [
      [{ metadata: { maxCount: 1 }, extra: 1 }, /unknown body field "extra"/],
      [{ metadata: { maxCount: 1 }, expectedRevision: 0 }, /unknown body field "expectedRevision"/],
      [{}, /"metadata" must be an object/],
      [{ metadata: [1] }, /"metadata" must be an object/],
      [[], /must be a JSON object/],
      [{ metadata: { maxCnt: 1 } }, /maxCnt/],
      [{ metadata: { maxCount: 0 } }, /maxCount/],
      [{ metadata: { maxAge: 1.5 } }, /maxAge/],
      [{ metadata: { truncateBefore: -1 } }, /truncateBefore/],
      [{ metadata: { custom: "x" } }, /custom/],
      [{ metadata: { maxCount: 1 }, expectedMetadataRevision: "stream_exists" }, /expectedMetadataRevision/],
    ];
    for (const [body, message] of cases) {
      const err = await failsWithoutWriting(() => putMeta(id, body), 400, "INVALID_ARGUMENT");
      assert.match(err.message, message, JSON.stringify(body));
    }
    const q = await failsWithoutWriting(() => getMeta(id, acme, "?x=1"), 400, "INVALID_ARGUMENT");
    assert.match(q.message, /unknown query parameter "x"/);
    assert.deepEqual((await getMeta(id)).body, { metadata: {}, metadataRevision: null });
  });

  test("metadata of a reserved $ stream id is refused", async () => {
    await failsWithoutWriting(() => putMeta("$$Order-1", { metadata: { maxCount: 1 } }), 400, "INVALID_ARGUMENT");
    await failsWithoutWriting(() => del("$Order-1"), 400, "INVALID_ARGUMENT");
  });
});

describe("delete routes", () => {
  test("DELETE is a soft delete: the stream reads empty, its revisions continue after a new append", async () => {
    const id = await stream(3);
    const res = await del(id, "?expectedRevision=2");
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ["position"]);
    assert.deepEqual((await readStream(id)).body.events, []);
    const meta = await getMeta(id);
    assert.equal(meta.body.metadata.truncateBefore, 3);
    const again = await append(id, { events: [{ type: "Again" }], expectedRevision: "no_stream" });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.nextExpectedRevision, 3, "revisions are never reused");
    assert.deepEqual((await readStream(id)).body.events.map((e) => [e.type, e.revision]), [["Again", 3]]);
    // the removed events are gone from the global log too
    assert.ok(!(await readAll()).body.events.some((e) => e.streamId === id && e.type === "Noted"));
  });

  test("DELETE ?hard=true tombstones: the stream's events are gone and every route answers 410 STREAM_DELETED", async () => {
    const id = await stream(2);
    const res = await del(id, "?expectedRevision=1&hard=true");
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ["position"]);
    const all = (await readAll()).body.events;
    assert.ok(!all.some((e) => e.streamId === id && e.type === "Noted"), "the events left the log");
    const tomb = all.find((e) => e.position === res.body.position);
    assert.deepEqual([tomb.type, tomb.streamId], ["$streamDeleted", id]);

    const gone = [
      () => readStream(id),
      () => append(id, { events: [{ type: "Back" }] }),
      () => append(id, { events: [{ type: "Back" }], expectedRevision: "no_stream" }),
      () => getMeta(id),
      () => putMeta(id, { metadata: { maxCount: 1 } }),
      () => del(id),
      () => del(id, "?hard=true"),
    ];
    for (const request of gone) {
      const err = await failsWithoutWriting(request, 410, "STREAM_DELETED");
      assert.equal(err.streamId, id);
    }
  });

  test("a stale expectedRevision is 409 and deletes nothing; hard and expectedRevision are validated", async () => {
    const id = await stream(2);
    const err = await failsWithoutWriting(() => del(id, "?expectedRevision=0"), 409, "WRONG_EXPECTED_REVISION");
    assert.equal(err.streamId, id);
    assert.equal(err.actualRevision, 1);
    await failsWithoutWriting(() => del(id, "?expectedRevision=0&hard=true"), 409, "WRONG_EXPECTED_REVISION");
    for (const [query, message] of [
      ["?hard=1", /"hard" must be "true" or "false"/],
      ["?hard=yes", /"hard" must be "true" or "false"/],
      ["?hard=", /"hard" must be "true" or "false"/],
      ["?hard=true&hard=true", /given twice/],
      ["?expectedRevision=-1", /expectedRevision/],
      ["?expectedRevision=latest", /expectedRevision/],
      ["?soft=true", /unknown query parameter "soft"/],
    ]) {
      const bad = await failsWithoutWriting(() => del(id, query), 400, "INVALID_ARGUMENT");
      assert.match(bad.message, message, query);
    }
    assert.equal((await readStream(id)).body.events.length, 2, "nothing was deleted");
    const ok = await del(id, "?expectedRevision=stream_exists&hard=false");
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual((await readStream(id)).body.events, []);
  });

  test("a DELETE without expectedRevision deletes whatever the stream holds", async () => {
    const id = await stream(1);
    assert.equal((await del(id)).status, 200);
    assert.deepEqual((await readStream(id)).body.events, []);
  });
});

describe("scopes", () => {
  const readOnly = token("acme", { scope: "read" });
  const appendOnly = token("acme", { scope: "read append" });
  const deleter = token("acme", { scope: "delete" });

  test("deletes need the delete scope; metadata changes need append; metadata reads need read", async () => {
    const id = await stream(1);
    for (const t of [readOnly, appendOnly]) {
      const e1 = await failsWithoutWriting(() => del(id, "", t), 403, "FORBIDDEN");
      assert.match(e1.message, /"delete" scope/);
      await failsWithoutWriting(() => del(id, "?hard=true", t), 403, "FORBIDDEN");
    }
    await failsWithoutWriting(() => putMeta(id, { metadata: { maxCount: 1 } }, readOnly), 403, "FORBIDDEN");
    await failsWithoutWriting(() => putMeta(id, { metadata: { maxCount: 1 } }, deleter), 403, "FORBIDDEN");
    assert.equal((await getMeta(id, deleter)).status, 403);
    assert.equal((await getMeta(id, readOnly)).status, 200);
    assert.equal((await putMeta(id, { metadata: { maxCount: 9 } }, appendOnly)).status, 200);
    const ok = await del(id, "", deleter);
    assert.equal(ok.status, 200, ok.text);
  });

  test("a refusal for lack of scope reveals nothing about the stream (tombstoned or not, existing or not)", async () => {
    const tombstoned = await stream(1);
    assert.equal((await del(tombstoned, "?hard=true")).status, 200);
    const missing = `Never-${uuid()}`;
    const answers = [];
    for (const id of [tombstoned, missing]) {
      answers.push(await del(id, "?hard=true", appendOnly));
      answers.push(await putMeta(id, { metadata: { maxCount: 1 } }, readOnly));
      answers.push(await getMeta(id, deleter));
      answers.push(await readStream(id, deleter));
    }
    for (const a of answers) {
      assert.equal(a.status, 403, a.text);
      assert.equal(a.body.error.code, "FORBIDDEN");
      assert.equal(a.body.error.streamId, undefined);
    }
    // the same refusal, word for word, whatever the stream
    const half = answers.length / 2;
    assert.deepEqual(answers.slice(0, half).map((a) => a.text), answers.slice(half).map((a) => a.text));
  });

  test("a token without a scope claim has every scope, delete included", async () => {
    const id = await stream(1);
    assert.equal((await del(id, "?hard=true", token("acme"))).status, 200);
  });

  test("another tenant's token can neither read nor delete", async () => {
    const id = await stream(1);
    const globex = token("globex");
    assert.equal((await del(id, "?hard=true", globex)).status, 403);
    assert.equal((await getMeta(id, globex)).status, 403);
    assert.equal((await readStream(id)).body.events.length, 1);
  });
});

describe("CORS", () => {
  test("preflights for PUT and DELETE are answered; the responses carry Access-Control-Allow-Origin", async () => {
    for (const method of ["PUT", "DELETE"]) {
      const pre = await fetch(`${edge.base}${path("Order-1", method === "PUT" ? "/metadata" : "")}`, {
        method: "OPTIONS",
        headers: { origin: ALLOWED, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type" },
      });
      assert.equal(pre.status, 204);
      assert.ok(pre.headers.get("access-control-allow-methods").split(/,\s*/).includes(method), method);
    }
    const id = await stream(1);
    const put = await call(edge, "PUT", path(id, "/metadata"), { token: acme, body: { metadata: {} }, headers: { origin: ALLOWED } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.headers.get("access-control-allow-origin"), ALLOWED);
    const d = await call(edge, "DELETE", path(id, "?hard=true"), { token: acme, headers: { origin: ALLOWED } });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.headers.get("access-control-allow-origin"), ALLOWED);
    const gone = await call(edge, "GET", path(id), { token: acme, headers: { origin: ALLOWED } });
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.get("access-control-allow-origin"), ALLOWED, "the 410 is readable by the app");
  });
});

describe("unknown methods", () => {
  test("PATCH or POST on …/metadata and DELETE on …/metadata are 404s", async () => {
    const id = await stream(1);
    for (const method of ["POST", "PATCH", "DELETE"]) {
      const res = await call(edge, method, path(id, "/metadata"), { token: acme, body: method === "DELETE" ? undefined : { metadata: {} } });
      assert.equal(res.status, 404, `${method}: ${res.text}`);
    }
    assert.deepEqual((await getMeta(id)).body.metadataRevision, null);
  });
});

describe("live feed", () => {
  test("a route's lifecycle change reaches a live socket in order: $metadata, then $streamDeleted", async () => {
    const { openFeed, collect } = await import("./socket.mjs");
    const feed = await openFeed(edge, "acme", acme);
    try {
      feed.send({ v: 4, type: "pull", after: null });
      for (let frame = await feed.next(); frame?.type !== "caughtUp"; frame = await feed.next()) {
        assert.ok(frame, "the socket stays open");
      }
      const id = await stream(1, "Feed");
      const put = await putMeta(id, { metadata: { maxCount: 3 } });
      const hard = await del(id, "?hard=true");
      assert.equal(hard.status, 200, hard.text);
      const { events } = await collect(feed, 3);
      assert.deepEqual(
        events.map((e) => [e.type, e.streamId, e.position]),
        [["Noted", id, put.body.position - 1], ["$metadata", `$$${id}`, put.body.position], ["$streamDeleted", id, hard.body.position]],
      );
    } finally {
      feed.ws.terminate();
    }
  });
});
