// The edge service's HTTP API end to end, in real workerd: appends, idempotent retries, the 409s
// with their fields, reads both ways, bad inputs (400), unknown routes (404), oversized bodies
// (413, answered without reading the rest), CORS, tenant isolation, and that no failed request
// writes anything.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { call, REPO, startEdge, SECRET, token, uuid } from "./harness.mjs";

// EDGE_STORE=reference runs this suite against the benchmark's hand-written reference object
// (http-reference.test.mjs), proving it keeps the same guarantees.
const REFERENCE = process.env.EDGE_STORE === "reference";

let edge;
const acme = token("acme");
const ALLOWED = "http://app.example";

before(async () => {
  edge = await startEdge({
    env: { EVSTORE_JWT_SECRET: SECRET, EVSTORE_ALLOWED_ORIGINS: `${ALLOWED}, http://other.example` },
    config: REFERENCE ? { entry: join(REPO, "bench/edge-reference.mjs"), className: "ReferenceStore" } : {},
  });
});
after(async () => {
  await edge?.stop();
  if (process.env.EDGE_DEBUG) console.error(edge?.stderr);
});

const append = (stream, body, t = acme, tenant = "acme") => call(edge, "POST", `/t/${tenant}/streams/${encodeURIComponent(stream)}`, { token: t, body });
const readStream = (stream, query = "", t = acme, tenant = "acme") => call(edge, "GET", `/t/${tenant}/streams/${encodeURIComponent(stream)}${query}`, { token: t });
const readAll = (query = "", t = acme, tenant = "acme") => call(edge, "GET", `/t/${tenant}/all${query}`, { token: t });

/** Asserts a failed request answered `status`/`code` and wrote nothing to acme's log. */
async function failsWithoutWriting(request, status, code) {
  const before = (await readAll()).body.events;
  const res = await request();
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, "string");
  assert.deepEqual((await readAll()).body.events, before, "nothing written");
  return res.body.error;
}

describe("appends and reads", () => {
  test("append answers nextExpectedRevision and position; reads return recorded events with ISO createdAt", async () => {
    const r1 = await append("Order-1", { events: [{ type: "OrderPlaced", data: { total: 10 }, metadata: { correlationId: "c1" } }], expectedRevision: "no_stream" });
    assert.equal(r1.status, 200, r1.text);
    assert.deepEqual(Object.keys(r1.body).sort(), ["nextExpectedRevision", "position"]);
    assert.equal(r1.body.nextExpectedRevision, 0);
    const r2 = await append("Order-1", { events: [{ type: "ItemAdded", data: { sku: "a" } }, { type: "ItemAdded" }], expectedRevision: 0 });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.body.nextExpectedRevision, 2);
    assert.equal(r2.body.position, r1.body.position + 2);

    const read = await readStream("Order-1");
    assert.equal(read.status, 200);
    const events = read.body.events;
    assert.deepEqual(events.map((e) => [e.type, e.revision, e.position]), [
      ["OrderPlaced", 0, r1.body.position],
      ["ItemAdded", 1, r1.body.position + 1],
      ["ItemAdded", 2, r1.body.position + 2],
    ]);
    assert.deepEqual(Object.keys(events[0]).sort(), ["createdAt", "data", "id", "metadata", "position", "revision", "streamId", "type"]);
    assert.deepEqual(events[0].metadata, { correlationId: "c1" });
    assert.deepEqual(events[2].metadata, {});
    assert.equal(events[2].data, null);
    assert.equal(events[0].streamId, "Order-1");
    assert.match(events[0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(events[0].createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.ok(Math.abs(Date.parse(events[0].createdAt) - Date.now()) < 60_000);
  });

  test("reads: fromRevision / direction / maxCount on a stream, fromPosition on $all", async () => {
    const stream = `Read-${uuid()}`;
    const res = await append(stream, { events: Array.from({ length: 5 }, (_, i) => ({ type: "N", data: { i } })) });
    const first = res.body.position - 4;
    const revs = (r) => r.body.events.map((e) => e.revision);
    assert.deepEqual(revs(await readStream(stream, "?fromRevision=2")), [2, 3, 4]);
    assert.deepEqual(revs(await readStream(stream, "?fromRevision=1&maxCount=2")), [1, 2]);
    assert.deepEqual(revs(await readStream(stream, "?direction=backwards")), [4, 3, 2, 1, 0]);
    assert.deepEqual(revs(await readStream(stream, "?direction=backwards&fromRevision=3&maxCount=2")), [3, 2]);
    assert.deepEqual(revs(await readStream(stream, "?fromRevision=end&direction=backwards&maxCount=1")), [4]);
    assert.deepEqual(revs(await readStream(stream, "?fromRevision=start")), [0, 1, 2, 3, 4]);
    assert.deepEqual((await readStream(`Nothing-${uuid()}`)).body, { events: [] });

    const pos = (r) => r.body.events.map((e) => e.position);
    assert.deepEqual(pos(await readAll(`?fromPosition=${first + 1}&maxCount=3`)), [first + 1, first + 2, first + 3]);
    assert.deepEqual(pos(await readAll(`?fromPosition=${first + 3}&direction=backwards&maxCount=2`)), [first + 3, first + 2]);
    const backwards = await readAll("?direction=backwards&maxCount=1");
    assert.deepEqual(pos(backwards), [first + 4]);
    const all = (await readAll()).body.events;
    assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i), "positions dense from 0");
  });

  test("stream ids are URL-encoded path segments", async () => {
    const stream = `Odd/ id ä?#%-${uuid()}`;
    const res = await append(stream, { events: [{ type: "T" }], expectedRevision: "no_stream" });
    assert.equal(res.status, 200, res.text);
    const read = await readStream(stream);
    assert.deepEqual(read.body.events.map((e) => e.streamId), [stream]);
  });

  test("an idempotent retry succeeds without writing, even after the stream moved on", async () => {
    const stream = `Idem-${uuid()}`;
    const call1 = { events: [{ id: uuid(), type: "A" }, { id: uuid(), type: "B" }], expectedRevision: "no_stream" };
    const first = await append(stream, call1);
    assert.equal(first.status, 200, first.text);
    const again = await append(stream, call1);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, first.body);
    await append(stream, { events: [{ type: "C" }], expectedRevision: 1 });
    const later = await append(stream, call1);
    assert.equal(later.status, 200, later.text);
    assert.deepEqual(later.body, first.body);
    assert.deepEqual((await readStream(stream)).body.events.map((e) => e.type), ["A", "B", "C"]);
    assert.equal((await readStream(stream)).body.events[0].id, call1.events[0].id);
  });

  test("WRONG_EXPECTED_REVISION: 409 with streamId, expectedRevision, actualRevision", async () => {
    const stream = `Wer-${uuid()}`;
    await append(stream, { events: [{ type: "A" }] });
    let error = await failsWithoutWriting(() => append(stream, { events: [{ type: "B" }], expectedRevision: 5 }), 409, "WRONG_EXPECTED_REVISION");
    assert.deepEqual({ ...error, message: undefined, code: undefined }, { message: undefined, code: undefined, streamId: stream, expectedRevision: 5, actualRevision: 0 });
    error = await failsWithoutWriting(() => append(stream, { events: [{ type: "B" }], expectedRevision: "no_stream" }), 409, "WRONG_EXPECTED_REVISION");
    assert.equal(error.expectedRevision, "no_stream");
    error = await failsWithoutWriting(() => append(`Fresh-${uuid()}`, { events: [{ type: "B" }], expectedRevision: "stream_exists" }), 409, "WRONG_EXPECTED_REVISION");
    assert.equal(error.actualRevision, "no_stream");
  });

  test("DUPLICATE_EVENT_ID: 409 with eventId, for an id stored in another stream", async () => {
    const id = uuid();
    await append(`Dup-${uuid()}`, { events: [{ id, type: "A" }] });
    const error = await failsWithoutWriting(() => append(`Dup-${uuid()}`, { events: [{ type: "X" }, { id: id.toUpperCase(), type: "A" }] }), 409, "DUPLICATE_EVENT_ID");
    assert.equal(error.eventId, id);
  });
});

describe("bad inputs", () => {
  test("bad query parameters: 400 INVALID_ARGUMENT", async () => {
    for (const query of ["?direction=sideways", "?maxCount=-1", "?maxCount=ten", "?fromRevision=abc", "?fromRevision=1.5", "?limit=3", "?maxCount=1&maxCount=2", "?fromPosition=0"]) {
      const res = await readStream("Order-1", query);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.error.code, "INVALID_ARGUMENT", query);
    }
    for (const query of ["?fromPosition=-2", "?direction=up", "?fromRevision=0"]) {
      const res = await readAll(query);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.error.code, "INVALID_ARGUMENT", query);
    }
  });

  test("malformed JSON, unknown body or event fields, bad events, bad expectedRevision: 400, nothing written", async () => {
    const cases = [
      "{not json",
      "",
      "[]",
      JSON.stringify({ events: [{ type: "A" }], expectedRevision: "any", extra: 1 }),
      JSON.stringify({ events: [{ type: "A", payload: 1 }] }),
      JSON.stringify({ events: [] }),
      JSON.stringify({ events: {} }),
      JSON.stringify({ expectedRevision: "any" }),
      JSON.stringify({ events: [{ data: 1 }] }),
      JSON.stringify({ events: [{ type: "A", metadata: [1] }] }),
      JSON.stringify({ events: [{ type: "A", id: "not-a-uuid" }] }),
      JSON.stringify({ events: [{ type: "A" }], expectedRevision: "sometimes" }),
      JSON.stringify({ events: [{ type: "A" }], expectedRevision: -1 }),
      JSON.stringify({ events: [{ type: "A" }, { id: "same", type: "B" }] }),
    ];
    for (const body of cases) {
      await failsWithoutWriting(() => append("Order-1", body), 400, "INVALID_ARGUMENT");
    }
    await failsWithoutWriting(() => append("$system", { events: [{ type: "A" }] }), 400, "INVALID_ARGUMENT");
    await failsWithoutWriting(() => append("x".repeat(257), { events: [{ type: "A" }] }), 400, "INVALID_ARGUMENT");
  });

  test("a batch over the limit (1000 events) is a 400; at the limit it is accepted; reads are capped at 1000", async () => {
    const error = await failsWithoutWriting(() => append(`Batch-${uuid()}`, { events: Array.from({ length: 1001 }, () => ({ type: "E" })) }), 400, "INVALID_ARGUMENT");
    assert.equal(error.limit, 1000);
    const stream = `Batch-${uuid()}`;
    const ok = await append(stream, { events: Array.from({ length: 1000 }, () => ({ type: "E" })) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.nextExpectedRevision, 999);
    // a read answers at most 1000 events; the next page starts after the last one
    await append(stream, { events: [{ type: "Last" }] });
    const page = (await readStream(stream, "?maxCount=5000")).body.events;
    assert.equal(page.length, 1000);
    assert.deepEqual((await readStream(stream, "?fromRevision=1000")).body.events.map((e) => e.type), ["Last"]);
  });

  test("EVENT_TOO_LARGE: 400 with eventIndex, nothing written", async () => {
    const big = "x".repeat(600 * 1024);
    const error = await failsWithoutWriting(() => append(`Big-${uuid()}`, { events: [{ type: "S" }, { type: "L", data: big }] }), 400, "EVENT_TOO_LARGE");
    assert.equal(error.eventIndex, 1);
    const fits = await append(`Big-${uuid()}`, { events: [{ type: "L", data: "y".repeat(400 * 1024) }] });
    assert.equal(fits.status, 200, fits.text);
  });

  test("unknown routes and methods: 404", async () => {
    for (const [method, path] of [["GET", "/"], ["GET", "/t/acme"], ["GET", "/t/acme/nope"], ["PATCH", "/t/acme/streams/Order-1"], ["DELETE", "/t/acme/all"], ["POST", "/t/acme/all"], ["PUT", "/t/acme/streams/Order-1"], ["GET", "/t/acme/streams"], ["GET", "/t/acme/streams/a/b"]]) {
      const res = await call(edge, method, path, { token: acme });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, "NOT_FOUND");
    }
  });
});

/** A raw HTTP/1.1 request: sends `head`, then `bodyChunks()` until a response arrives. */
function rawRequest(head, writeBody) {
  return new Promise((resolve, reject) => {
    const socket = connect(edge.port, "127.0.0.1");
    let response = "";
    let sent = 0;
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer after ${sent} body bytes`));
    }, 15_000);
    socket.on("data", (d) => {
      response += d;
      if (!answered && response.includes("\r\n\r\n")) {
        answered = true;
        clearTimeout(timer);
        setTimeout(() => {
          socket.destroy();
          resolve({ response, sent });
        }, 100);
      }
    });
    socket.on("error", (e) => {
      if (!answered) {
        clearTimeout(timer);
        reject(e);
      }
    });
    socket.write(head);
    writeBody(socket, (n) => (sent += n), () => answered);
  });
}

describe("413: bodies over the limit (8 MiB)", () => {
  test("a declared Content-Length over the limit is answered before the body is sent", async () => {
    const { response, sent } = await rawRequest(
      `POST /t/acme/streams/Order-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${acme}\r\nContent-Type: application/json\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n`,
      (socket, count) => {
        socket.write('{"events":[');
        count(11);
      },
    );
    assert.equal(sent, 11);
    assert.match(response, /^HTTP\/1\.1 413 /);
    const body = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4).match(/\{.*\}/s)[0]);
    assert.equal(body.error.code, "INVALID_ARGUMENT");
  });

  test("a chunked body is abandoned as soon as it passes the limit", async () => {
    const before = (await readAll()).body.events.length;
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const total = 256 * 1024 * 1024;
    // The service answers 413 and closes while the client is still sending; the close can reach
    // the client as a reset that discards the answer before it is read. Every attempt must stop
    // well before the whole body was sent; at least one must read the 413.
    let answer;
    for (let attempt = 0; attempt < 5 && !answer; attempt++) {
      let sentBytes = 0;
      const outcome = await rawRequest(
        `POST /t/acme/streams/Order-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${acme}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
        async (socket, count, answered) => {
          while (!answered() && !socket.destroyed) {
            socket.write(`${chunk.length.toString(16)}\r\n`);
            socket.write(chunk);
            const ok = socket.write("\r\n");
            sentBytes = count(chunk.length);
            if (sentBytes >= total) break;
            if (!ok) await new Promise((r) => socket.once("drain", r));
          }
        },
      ).catch((e) => ({ error: e }));
      const sent = outcome.sent ?? sentBytes;
      assert.ok(sent < total, `the service did not read the whole body (${sent} bytes sent)`);
      if (outcome.response) answer = outcome.response;
      else assert.match(String(outcome.error?.code), /ECONNRESET|EPIPE/, `cut off, not failed otherwise: ${outcome.error}`);
    }
    assert.ok(answer, "one attempt read the answer");
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.equal((await readAll()).body.events.length, before);
  });
});

describe("CORS", () => {
  test("a preflight from an allowed origin is answered; a request gets Access-Control-Allow-Origin", async () => {
    const res = await fetch(`${edge.base}/t/acme/streams/Order-1`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(res.headers.get("access-control-allow-headers"), /authorization/i);
    assert.match(res.headers.get("access-control-allow-methods"), /POST/);
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
    const get = await call(edge, "GET", "/t/acme/all?maxCount=1", { token: acme, headers: { origin: ALLOWED } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("access-control-allow-origin"), ALLOWED);
    const err = await call(edge, "GET", "/t/acme/all", { headers: { origin: ALLOWED } });
    assert.equal(err.status, 401);
    assert.equal(err.headers.get("access-control-allow-origin"), ALLOWED, "errors are readable by the app too");
  });

  test("an origin not in EVSTORE_ALLOWED_ORIGINS is refused, preflight included", async () => {
    const pre = await fetch(`${edge.base}/t/acme/all`, { method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "GET" } });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get("access-control-allow-origin"), null);
    const before = (await readAll()).body.events.length;
    const res = await call(edge, "POST", "/t/acme/streams/Order-1", { token: acme, body: { events: [{ type: "A" }] }, headers: { origin: "http://evil.example" } });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "FORBIDDEN");
    assert.equal((await readAll()).body.events.length, before);
  });
});

describe("tenants", () => {
  test("two tenants are fully isolated: own logs, own positions, own event ids", async () => {
    const globex = token("globex");
    const id = uuid();
    const a = await append("Shared-1", { events: [{ id, type: "InAcme" }] });
    assert.equal(a.status, 200, a.text);
    const g = await append("Shared-1", { events: [{ id, type: "InGlobex" }], expectedRevision: "no_stream" }, globex, "globex");
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.position, 0, "globex's log starts at 0");
    const gAll = (await readAll("", globex, "globex")).body.events;
    assert.deepEqual(gAll.map((e) => e.type), ["InGlobex"]);
    assert.ok(!(await readAll()).body.events.some((e) => e.type === "InGlobex"));
    assert.deepEqual((await readStream("Shared-1", "", globex, "globex")).body.events.map((e) => e.type), ["InGlobex"]);
    // a token for one tenant reads nothing of the other
    assert.equal((await readAll("", globex, "acme")).status, 403);
    assert.equal((await append("Shared-1", { events: [{ type: "X" }] }, acme, "globex")).status, 403);
  });
});
