// The service remembers tokens whose signature verified (edge/src/service/auth.js), so a client's
// repeated requests skip the signature check — but never the claims: a remembered token still
// expires, a token signed with another secret still fails after the secret changes, and a failure
// is never remembered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { verifyToken } from "../../../edge/src/service/auth.js";
import { SECRET, claims, hs256, jwt, now, token } from "./harness.mjs";

const env = { EVSTORE_JWT_SECRET: SECRET };
const OTHER = "another-secret-with-enough-entropy-0123456789";

test("a remembered token is checked for expiry and not-before on every use", async () => {
  const t = token("acme", { exp: now() + 60 });
  assert.equal((await verifyToken(t, env)).tid, "acme");
  assert.equal((await verifyToken(t, env)).tid, "acme", "verified again (from memory)");
  await assert.rejects(verifyToken(t, env, now() + 61), /token expired/);
  const later = token("acme", { nbf: now() + 600 });
  await assert.rejects(verifyToken(later, env), /not yet valid/);
  assert.equal((await verifyToken(later, env, now() + 600)).tid, "acme");
});

test("a token verified under one secret fails once the secret changes", async () => {
  const t = token("acme");
  assert.equal((await verifyToken(t, env)).tid, "acme");
  await assert.rejects(verifyToken(t, { EVSTORE_JWT_SECRET: OTHER }), /bad token signature/);
  assert.equal((await verifyToken(token("acme", {}, OTHER), { EVSTORE_JWT_SECRET: OTHER })).tid, "acme");
});

test("a bad signature fails every time, also after a good token with the same claims", async () => {
  const body = claims("acme");
  const good = jwt({ alg: "HS256", typ: "JWT" }, body);
  const forged = jwt({ alg: "HS256", typ: "JWT" }, body, hs256(OTHER));
  assert.equal((await verifyToken(good, env)).tid, "acme");
  for (let i = 0; i < 3; i++) await assert.rejects(verifyToken(forged, env), /bad token signature/);
});
