// The documented limit overrides: EVSTORE_MAX_BODY_BYTES (413 past it, INVALID_ARGUMENT) and
// EVSTORE_MAX_BATCH_EVENTS (400 past it); unparsable values fall back to the defaults.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { call, SECRET, startEdge, token } from "./harness.mjs";

let small;
let fallback;
before(async () => {
  [small, fallback] = await Promise.all([
    startEdge({ env: { EVSTORE_JWT_SECRET: SECRET, EVSTORE_MAX_BODY_BYTES: "2048", EVSTORE_MAX_BATCH_EVENTS: "3" } }),
    startEdge({ env: { EVSTORE_JWT_SECRET: SECRET, EVSTORE_MAX_BODY_BYTES: "lots", EVSTORE_MAX_BATCH_EVENTS: "-1" } }),
  ]);
});
after(async () => {
  await Promise.all([small?.stop(), fallback?.stop()]);
});

const t = token("acme");
const append = (edge, events) => call(edge, "POST", "/t/acme/streams/L-1", { token: t, body: { events } });

test("EVSTORE_MAX_BODY_BYTES and EVSTORE_MAX_BATCH_EVENTS", async () => {
  const big = await append(small, [{ type: "A", data: "x".repeat(3000) }]);
  assert.equal(big.status, 413, big.text);
  assert.equal(big.body.error.code, "INVALID_ARGUMENT");
  assert.equal(big.body.error.limit, 2048);
  const four = await append(small, [{ type: "A" }, { type: "A" }, { type: "A" }, { type: "A" }]);
  assert.equal(four.status, 400, four.text);
  assert.equal(four.body.error.limit, 3);
  assert.equal((await append(small, [{ type: "A" }, { type: "A" }, { type: "A" }])).status, 200);
  assert.equal((await call(small, "GET", "/t/acme/all", { token: t })).body.events.length, 3);
});

test("bad values fall back to the defaults (8 MiB, 1000 events)", async () => {
  assert.equal((await append(fallback, [{ type: "A", data: "x".repeat(3000) }])).status, 200);
  assert.equal((await append(fallback, Array.from({ length: 1000 }, () => ({ type: "B" })))).status, 200);
  assert.equal((await append(fallback, Array.from({ length: 1001 }, () => ({ type: "B" })))).status, 400);
});
