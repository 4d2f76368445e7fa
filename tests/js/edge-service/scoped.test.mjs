// Scoped tokens on the edge service (CONTRACT.md "Scoped access and partial sync"), in real
// workerd: a token's `streams` claim limits every stream route (403, the same answer whether or not
// the stream exists), GET /all (only its streams, at their tenant positions), and the sync socket —
// checked on the wire with a raw WebSocket that asks for more than its token allows: no frame it
// receives (events, push results' `theirs`, errors) carries an event of another stream.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { StreamSelection } from "evstore";
import { call, SECRET, startEdge, token, uuid } from "./harness.mjs";
import { openFeed } from "./socket.mjs";

let edge;
const tenant = `scoped-${uuid()}`;
const admin = token(tenant);
const ALLOWED = ["List-7", "Item-7-*"];
const member = token(tenant, { streams: ALLOWED });
const feeds = [];

before(async () => {
  edge = await startEdge({ env: { EVSTORE_JWT_SECRET: SECRET } });
  // The tenant's log: the member's streams among others (and a metadata event of each kind).
  await append("List-7", [{ type: "Created" }]);
  await append("List-8", [{ type: "Created" }]);
  await append("Item-7-1", [{ type: "Added" }, { type: "Renamed" }]);
  await append("Item-8-1", [{ type: "Added", data: { secret: true } }]);
  await put(`/t/${tenant}/streams/List-8/metadata`, { metadata: { maxCount: 5 } });
  await put(`/t/${tenant}/streams/List-7/metadata`, { metadata: { maxCount: 9 } });
  await append("Item-70", [{ type: "Added" }]);
  await append("Secret-1", [{ type: "Hidden" }]);
});
after(async () => {
  for (const f of feeds) f.ws?.terminate();
  await edge?.stop();
});

async function append(stream, events, t = admin) {
  const res = await call(edge, "POST", `/t/${tenant}/streams/${encodeURIComponent(stream)}`, { token: t, body: { events } });
  assert.equal(res.status, 200, res.text);
  return res.body;
}
async function put(path, body, t = admin) {
  const res = await call(edge, "PUT", path, { token: t, body });
  assert.equal(res.status, 200, res.text);
  return res.body;
}
const readAll = async (t = admin, query = "maxCount=1000") => {
  const res = await call(edge, "GET", `/t/${tenant}/all?${query}`, { token: t });
  assert.equal(res.status, 200, res.text);
  return res.body.events;
};
/** The core's matcher (the edge uses nothing else), for the expectations. */
const matcher = (patterns) => StreamSelection.parse(patterns);

async function open(t) {
  const feed = await openFeed(edge, tenant, t);
  assert.ok(!feed.refused, JSON.stringify(feed.refused));
  feeds.push(feed);
  return feed;
}

/** Every stream route of `streamId`: [method, path, body]. */
const streamRoutes = (streamId) => {
  const s = `/t/${tenant}/streams/${encodeURIComponent(streamId)}`;
  return [
    ["POST", s, { events: [{ type: "Sneaky" }] }],
    ["GET", s, undefined],
    ["GET", `${s}?fromRevision=0&maxCount=10`, undefined],
    ["DELETE", `${s}?expectedRevision=any`, undefined],
    ["DELETE", `${s}?expectedRevision=any&hard=true`, undefined],
    ["GET", `${s}/metadata`, undefined],
    ["PUT", `${s}/metadata`, { metadata: { maxCount: 1 } }],
  ];
};

describe("stream routes", () => {
  test("every route of a stream outside the token's streams: 403, the same answer whether or not it exists", async () => {
    const before = await readAll();
    for (const [existing, missing] of [["Secret-1", "Secret-2"], ["List-8", "List-9"], ["Item-8-1", "Item-8-2"], ["$$List-8", "$$List-9"], ["Item-70", "Item-71"]]) {
      const a = streamRoutes(existing);
      const b = streamRoutes(missing);
      for (let i = 0; i < a.length; i++) {
        const [method, path, body] = a[i];
        const x = await call(edge, method, path, { token: member, body });
        const y = await call(edge, b[i][0], b[i][1], { token: member, body: b[i][2] });
        assert.equal(x.status, 403, `${method} ${path}: ${x.text}`);
        assert.equal(x.body.error.code, "FORBIDDEN");
        assert.equal(x.text, y.text, `${method} ${path} answers as for a missing stream`);
      }
    }
    // Even a malformed body is not looked at first.
    const bad = await call(edge, "POST", `/t/${tenant}/streams/Secret-1`, { token: member, body: "{not json" });
    assert.equal(bad.status, 403);
    assert.deepEqual(await readAll(), before, "nothing written");
  });

  test("the token's streams work on every route; their $$ metadata follows them", async () => {
    const stream = `Item-7-${uuid()}`;
    const r = await append(stream, [{ type: "Added" }], member);
    assert.equal(r.nextExpectedRevision, 0);
    const read = await call(edge, "GET", `/t/${tenant}/streams/${stream}`, { token: member });
    assert.equal(read.status, 200);
    assert.equal(read.body.events.length, 1);
    await put(`/t/${tenant}/streams/${stream}/metadata`, { metadata: { custom: { by: "member" } } }, member);
    const meta = await call(edge, "GET", `/t/${tenant}/streams/${stream}/metadata`, { token: member });
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body.metadata, { custom: { by: "member" } });
    const del = await call(edge, "DELETE", `/t/${tenant}/streams/${stream}?expectedRevision=0`, { token: member });
    assert.equal(del.status, 200, del.text);
    // "$$List-7" follows "List-7": past the scope check, the store refuses the reserved id itself.
    const reserved = await call(edge, "GET", `/t/${tenant}/streams/${encodeURIComponent("$$List-7")}`, { token: member });
    assert.equal(reserved.status, 400);
    assert.equal(reserved.body.error.code, "INVALID_ARGUMENT");
    const all = await readAll(member);
    assert.ok(all.some((e) => e.streamId === `$$${stream}`), "the metadata events of its streams reach it");
  });
});

describe("GET /all", () => {
  test("only the token's streams, with their tenant positions; paging both ways", async () => {
    const full = await readAll();
    const m = matcher(ALLOWED);
    const expected = full.filter((e) => m.matches(e.streamId));
    assert.ok(expected.length >= 5 && expected.length < full.length);
    assert.ok(expected.some((e) => e.streamId === "$$List-7"));
    assert.ok(!expected.some((e) => e.streamId === "$$List-8"));
    assert.deepEqual(await readAll(member), expected);
    // From a position, a page at a time, and backwards.
    const from = expected[1].position;
    assert.deepEqual(await readAll(member, `fromPosition=${from}&maxCount=2`), expected.slice(1, 3));
    assert.deepEqual(await readAll(member, "fromPosition=end&direction=backwards&maxCount=3"), expected.slice(-3).reverse());
    assert.deepEqual(await readAll(token(tenant, { streams: [] })), [], "an empty list: no stream");
    assert.deepEqual(await readAll(token(tenant, { streams: ["*"] })), full, "* is the whole tenant");
    assert.deepEqual(await readAll(token(tenant, { streams: ["Nope-*"] })), []);
  });
});

describe("malformed streams claims", () => {
  test("401 UNAUTHENTICATED, like any malformed token, on every route", async () => {
    for (const streams of ["List-7", "*", null, {}, [""], ["a*b"], ["*x"], ["**"], [1], [null], ["List-7", 7], [["List-7"]]]) {
      const t = token(tenant, { streams });
      for (const [method, path] of [["GET", `/t/${tenant}/all`], ["GET", `/t/${tenant}/streams/List-7`]]) {
        const res = await call(edge, method, path, { token: t });
        assert.equal(res.status, 401, `${JSON.stringify(streams)} ${path}`);
        assert.deepEqual(res.body, { error: { code: "UNAUTHENTICATED", message: "malformed token" } });
      }
      const feed = await openFeed(edge, tenant, t);
      assert.equal(feed.refused?.status, 401, JSON.stringify(streams));
    }
  });
});

describe("the sync socket of a scoped token", () => {
  /** Frames until caughtUp, each checked against `allowed`. */
  async function catchUp(feed, allowed) {
    const frames = [];
    for (;;) {
      const frame = await feed.next();
      assert.ok(frame, "the socket closed");
      noForbidden(frame, allowed);
      frames.push(frame);
      if (frame.type !== "events") return frames;
    }
  }

  test("a pull asking for more (and for *) gets only the token's streams, in every frame", async () => {
    const full = await readAll();
    const head = full.at(-1).position;
    const token7 = matcher(ALLOWED);
    for (const [asked, served] of [
      [undefined, ALLOWED],
      [["*"], ALLOWED],
      [["List-*", "Item-*", "Secret-1"], ALLOWED],
      [["Item-*", "List-8"], ["Item-7-*"]],
      [["Secret-*"], []],
    ]) {
      const feed = await open(member);
      feed.send({ v: 4, type: "pull", after: null, ...(asked ? { streams: asked } : {}) });
      const frames = await catchUp(feed, token7);
      const caughtUp = frames.at(-1);
      assert.equal(caughtUp.type, "caughtUp", JSON.stringify(caughtUp));
      assert.deepEqual(caughtUp.streams, served, JSON.stringify(asked));
      assert.equal(caughtUp.head, frames.at(-2).through, "the frames reach the caughtUp head");
      assert.ok(caughtUp.head >= head);
      const events = frames.filter((f) => f.type === "events").flatMap((f) => f.events);
      const s = matcher(served);
      assert.deepEqual(events, full.filter((e) => s.matches(e.streamId)), "the tenant's log restricted, same positions");
      let cursor = null;
      for (const f of frames.slice(0, -1)) {
        assert.equal(f.after, cursor, "frames chain");
        cursor = f.through;
      }
    }
  });

  test("live: other streams' appends send nothing; the next allowed event covers the gap", async () => {
    const feed = await open(member);
    feed.send({ v: 4, type: "pull", after: null, streams: ["*"] });
    const caughtUp = (await catchUp(feed, matcher(ALLOWED))).at(-1);
    await append("Secret-1", [{ type: "Hidden" }]);
    await append("List-8", [{ type: "Hidden" }]);
    const r = await append("List-7", [{ type: "Renamed" }]);
    const frame = await feed.next();
    noForbidden(frame, matcher(ALLOWED));
    assert.equal(frame.after, caughtUp.head);
    assert.equal(frame.through, r.position);
    assert.deepEqual(frame.events.map((e) => e.streamId), ["List-7"]);
  });

  test("pushes: another stream is rejected FORBIDDEN alike whether it exists; theirs withheld outside the selection", async () => {
    const feed = await open(member);
    feed.send({ v: 4, type: "pull", after: null, streams: ["List-7"] });
    await catchUp(feed, matcher(["List-7"]));
    const before = await readAll();
    const outcomes = [];
    for (const stream of ["Secret-1", "Secret-404"]) {
      for (const [kind, extra] of [["events", { events: [{ id: uuid(), type: "E" }] }], ["metadata", { id: "00000000-0000-4000-8000-000000000001", metadata: { maxCount: 1 } }], ["delete", { id: "00000000-0000-4000-8000-000000000002" }], ["tombstone", { id: "00000000-0000-4000-8000-000000000003" }]]) {
        feed.send({ v: 4, type: "push", batch: 1, appends: [{ seq: 1, kind, streamId: stream, expectedRevision: 0, createdAt: 1, ...extra }] });
        const result = await feed.next();
        noForbidden(result, matcher(["List-7"]));
        outcomes.push([stream, kind, JSON.stringify(result.outcomes[0]).replace(/"id":"[^"]*"/g, "")]);
      }
    }
    for (let i = 0; i < 4; i++) {
      assert.equal(outcomes[i][2], outcomes[i + 4][2], `${outcomes[i][1]}: the same outcome for an existing and a missing stream`);
      const outcome = JSON.parse(outcomes[i][2]);
      assert.equal(outcome.result, "rejected");
      assert.equal(outcome.error.code, "FORBIDDEN");
      assert.deepEqual(outcome.theirs, []);
      assert.equal(outcome.actualRevision ?? null, null);
    }
    // A conflict on a stream the token allows but the pull did not select: theirs withheld.
    feed.send({ v: 4, type: "push", batch: 2, appends: [{ seq: 2, streamId: "Item-7-1", expectedRevision: 0, createdAt: 1, events: [{ id: uuid(), type: "E" }] }] });
    const conflict = await feed.next();
    noForbidden(conflict, matcher(["List-7"]));
    assert.equal(conflict.outcomes[0].result, "conflict");
    assert.deepEqual(conflict.outcomes[0].theirs, []);
    assert.equal(conflict.outcomes[0].theirsCut, "withheld");
    assert.deepEqual(await readAll(), before, "nothing written");
  });

  test("an afterId of another stream is refused like an unknown id; renewing with other streams closes 4408", async () => {
    const full = await readAll();
    const secret = full.findLast((e) => e.streamId === "Secret-1");
    const answers = [];
    for (const afterId of [secret.id, uuid()]) {
      const feed = await open(member);
      feed.send({ v: 4, type: "pull", after: secret.position, afterId });
      answers.push(await feed.next());
    }
    assert.equal(answers[0].error.code, "INVALID_ARGUMENT");
    assert.deepEqual(answers[0], answers[1], "probing an id reveals nothing");

    const same = await open(member);
    same.send({ type: "auth", token: token(tenant, { streams: [...ALLOWED].reverse() }) });
    assert.equal((await same.next()).type, "authenticated", "the same streams, in another order");
    const other = await open(member);
    other.send({ type: "auth", token: token(tenant, { streams: ["List-7"] }) });
    assert.equal((await other.closed).code, 4408);
    assert.deepEqual(other.pending(), []);
  });
});

/** Asserts that no recorded event in `frame` (at any depth) is of a stream `allowed` does not match. */
function noForbidden(frame, allowed) {
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== "object") return;
    if (typeof v.streamId === "string" && "position" in v) assert.ok(allowed.matches(v.streamId), `${v.streamId} leaked: ${JSON.stringify(frame)}`);
    Object.values(v).forEach(walk);
  };
  walk(frame);
}
