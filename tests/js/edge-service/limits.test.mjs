// The edge service's input limits that the JS API shares, over HTTP in real workerd: how deep a
// payload may nest and how long an event type may be. Each is a 400 INVALID_ARGUMENT that names
// the limit and writes nothing — never a 500.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "evstore";
import { call, startEdge, token } from "./harness.mjs";

let edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge?.stop());

const post = (tenant, stream, body) => call(edge, "POST", `/t/${tenant}/streams/${stream}`, { token: token(tenant), body });
const nested = (n) => {
  let v = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};

/** Asserts the answer is a 400 INVALID_ARGUMENT matching `pattern`, and `tenant` has no events. */
async function refused(res, tenant, pattern) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.error.code, "INVALID_ARGUMENT");
  assert.match(res.body.error.message, pattern);
  const all = await call(edge, "GET", `/t/${tenant}/all`, { token: token(tenant) });
  assert.deepEqual(all.body.events, []);
}

describe("limits shared by the JS API and HTTP", () => {
  test("a body nested 5,000 levels deep is a 400 naming the limit, over HTTP and in the JS API", async () => {
    // As text: the test's own JSON.stringify would overflow on such a value.
    const deep = `${"[".repeat(5000)}1${"]".repeat(5000)}`;
    for (const [field, event] of [["data", `{"type":"E","data":${deep}}`], ["metadata", `{"type":"E","metadata":{"m":${deep}}}`]]) {
      const res = await post(`deep-${field}`, "S-1", `{"events":[${event}]}`);
      await refused(res, `deep-${field}`, new RegExp(`${field} nests deeper than 256 levels`));
    }
    const store = await EventStore.open();
    for (const data of [nested(3000), nested(257)]) {
      await assert.rejects(store.append("S-1", [{ type: "E", data }]), (e) => e.code === "INVALID_ARGUMENT" && /deeper than 256/.test(e.message));
    }
    await store.append("S-1", [{ type: "E", data: nested(256) }]);
    const ok = await post("deep-ok", "S-1", { events: [{ type: "E", data: nested(256) }] });
    assert.equal(ok.status, 200, ok.text);
    const over = await post("deep-over", "S-1", { events: [{ type: "E", data: nested(257) }] });
    await refused(over, "deep-over", /nests deeper than 256 levels/);
  });

  test("an event type over 256 characters is refused, over HTTP and in the JS API", async () => {
    const long = "T".repeat(257);
    await refused(await post("long-type", "S-1", { events: [{ type: "x".repeat(2 * 1024 * 1024) }] }), "long-type", /type is longer than 256 characters/);
    await refused(await post("long-type", "S-1", { events: [{ type: long }] }), "long-type", /type is longer than 256 characters/);
    const store = await EventStore.open();
    await assert.rejects(store.append("S-1", [{ type: long }]), (e) => e.code === "INVALID_ARGUMENT" && /256 characters/.test(e.message));
    await store.append("S-1", [{ type: "é".repeat(256) }]);
    const ok = await post("long-ok", "S-1", { events: [{ type: "é".repeat(256) }] });
    assert.equal(ok.status, 200, ok.text);
  });
});
