// Every authentication failure of the edge service, in real workerd: 401 for a missing,
// malformed, badly signed, expired or wrongly-algorithmed token; 403 for another tenant or a
// missing scope. Each one writes nothing, creates no tenant object, and answers the same for a
// tenant with data as for one that never existed. RS256 and ES256 via JWKS are accepted; HS256 is
// refused by a service configured with JWKS only.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { call, claims, hs256, jwt, keyPairs, now, objectFiles, SECRET, startEdge, token } from "./harness.mjs";

const keys = keyPairs();
let edge; // HS256 secret and JWKS
let jwksOnly; // JWKS only
const acme = token("acme");

before(async () => {
  [edge, jwksOnly] = await Promise.all([
    startEdge({ env: { EVSTORE_JWT_SECRET: SECRET, EVSTORE_JWKS: keys.jwks } }),
    startEdge({ env: { EVSTORE_JWKS: keys.jwks } }),
  ]);
  const res = await call(edge, "POST", "/t/acme/streams/Secret-1", { token: acme, body: { events: [{ type: "Classified", data: { x: 1 } }] } });
  assert.equal(res.status, 200, res.text);
});
after(async () => {
  await Promise.all([edge?.stop(), jwksOnly?.stop()]);
});

const snapshot = async (service = edge) => ({
  acme: (await call(service, "GET", "/t/acme/all", { token: service === edge ? acme : jwt({ alg: "RS256", kid: "rsa-1" }, claims("acme"), keys.rs256) })).text,
  objects: objectFiles(service.dataDir),
});

/**
 * Sends `t` (a token, null for none, or `{ headers }`) to every route of an existing tenant
 * ("acme", with data) and of one that never existed ("ghost", the token's tenant swapped in by
 * `tokenFor`), and checks: status and code, identical answers for both tenants, nothing written,
 * no object created.
 */
async function refusedEverywhere(tokenFor, status, code, service = edge) {
  const before = await snapshot(service);
  const answers = {};
  for (const tenant of ["acme", "ghost"]) {
    const t = tokenFor(tenant);
    const headers = t === null ? {} : typeof t === "object" ? t.headers : { authorization: `Bearer ${t}` };
    for (const [method, path, body] of [
      ["POST", `/t/${tenant}/streams/Secret-1`, { events: [{ type: "Intruder" }] }],
      ["GET", `/t/${tenant}/streams/Secret-1`],
      ["GET", `/t/${tenant}/all`],
      ["GET", `/t/${tenant}/sync`],
    ]) {
      const res = await call(service, method, path, { body, headers });
      assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, code, `${method} ${path}`);
      assert.deepEqual(Object.keys(res.body.error).sort(), ["code", "message"], "no extra fields");
      if (status === 401) assert.match(res.headers.get("www-authenticate"), /^Bearer/);
      answers[`${method} ${path.replace(tenant, "T")}`] ??= [];
      answers[`${method} ${path.replace(tenant, "T")}`].push(res.text);
    }
  }
  for (const [route, [a, g]] of Object.entries(answers)) assert.equal(a, g, `${route}: same answer for an existing and a non-existing tenant`);
  assert.deepEqual(await snapshot(service), before, "nothing written, no object created");
  return Object.values(answers)[0][0];
}

describe("401 UNAUTHENTICATED", () => {
  test("no token", async () => {
    await refusedEverywhere(() => null, 401, "UNAUTHENTICATED");
  });

  test("garbage, empty and non-bearer Authorization headers", async () => {
    for (const value of ["Bearer", "Bearer ", "Bearer garbage", "Bearer a.b.c", "Bearer ...", `Basic ${Buffer.from("u:p").toString("base64")}`, `Bearer ${acme} extra`, `Bearer ${acme.replace(/\./g, "")}`]) {
      await refusedEverywhere(() => ({ headers: { authorization: value } }), 401, "UNAUTHENTICATED");
    }
  });

  test("JSON that is not an object, and a bad base64 segment", async () => {
    const b = (v) => Buffer.from(v).toString("base64url");
    const sign = (text) => `${text}.${createHmac("sha256", SECRET).update(text).digest("base64url")}`;
    for (const t of [sign(`${b('{"alg":"HS256"}')}.${b("[1]")}`), sign(`${b("null")}.${b(JSON.stringify(claims("acme")))}`), sign(`${b('{"alg":"HS256"}')}.%%%`), sign(`${b('{"alg":"HS256"}')}.${b("{not json")}`)]) {
      await refusedEverywhere(() => t, 401, "UNAUTHENTICATED");
    }
  });

  test("a token only in the URL is not accepted", async () => {
    for (const path of [`/t/acme/all?access_token=${acme}`, `/t/acme/all?token=${acme}`]) {
      const res = await call(edge, "GET", path);
      assert.equal(res.status, 401, res.text);
    }
  });

  test("wrong signature: another secret, a tampered payload, a truncated or missing signature", async () => {
    await refusedEverywhere((t) => token(t, {}, "another-secret"), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => {
      const [h, , s] = token("mallory").split(".");
      return `${h}.${Buffer.from(JSON.stringify(claims(t))).toString("base64url")}.${s}`;
    }, 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => token(t).slice(0, -4), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => token(t).replace(/\.[^.]*$/, "."), 401, "UNAUTHENTICATED");
  });

  test("expired (exp in the past, or now), and not yet valid (nbf in the future)", async () => {
    await refusedEverywhere((t) => token(t, { exp: now() - 10 }), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => token(t, { exp: now() }), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => token(t, { nbf: now() + 3600 }), 401, "UNAUTHENTICATED");
  });

  test("a token lacking tid, sub or exp, or with claims of the wrong type, is malformed", async () => {
    for (const drop of ["tid", "sub", "exp"]) {
      await refusedEverywhere((t) => {
        const c = claims(t);
        delete c[drop];
        return jwt({ alg: "HS256" }, c);
      }, 401, "UNAUTHENTICATED");
    }
    for (const bad of [{ exp: String(now() + 3600) }, { sub: 7 }, { sub: "" }, { scope: ["read"] }, { tid: ["acme"] }]) {
      await refusedEverywhere((t) => jwt({ alg: "HS256" }, { ...claims(t), ...bad }), 401, "UNAUTHENTICATED");
    }
  });

  test("alg none, other algorithms, crit headers", async () => {
    const unsigned = (t, alg) => `${Buffer.from(JSON.stringify({ alg, typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims(t))).toString("base64url")}.`;
    for (const alg of ["none", "None", "NONE", ""]) {
      await refusedEverywhere((t) => unsigned(t, alg), 401, "UNAUTHENTICATED");
      await refusedEverywhere((t) => jwt({ alg }, claims(t)), 401, "UNAUTHENTICATED");
    }
    const hs = (bits) => (data) => createHmac(`sha${bits}`, SECRET).update(data).digest();
    await refusedEverywhere((t) => jwt({ alg: "HS384" }, claims(t), hs(384)), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "HS512" }, claims(t), hs(512)), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({}, claims(t)), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "HS256", crit: ["exp"] }, claims(t)), 401, "UNAUTHENTICATED");
  });

  test("JWKS: kid required and must match a key of the token's alg; no key confusion", async () => {
    await refusedEverywhere((t) => jwt({ alg: "RS256" }, claims(t), keys.rs256), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "RS256", kid: "nope" }, claims(t), keys.rs256), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "RS256", kid: "ec-1" }, claims(t), keys.rs256), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "ES256", kid: "rsa-1" }, claims(t), keys.es256), 401, "UNAUTHENTICATED");
    // ES256 signature under the RSA kid claiming RS256, and an RS256 token signed by another RSA key
    await refusedEverywhere((t) => jwt({ alg: "RS256", kid: "rsa-1" }, claims(t), keys.es256), 401, "UNAUTHENTICATED");
    const other = keyPairs();
    await refusedEverywhere((t) => jwt({ alg: "RS256", kid: "rsa-1" }, claims(t), other.rs256), 401, "UNAUTHENTICATED");
    await refusedEverywhere((t) => jwt({ alg: "ES256", kid: "ec-1" }, claims(t), other.es256), 401, "UNAUTHENTICATED");
    // HMAC keyed with the RSA public key (the classic RS256 → HS256 confusion)
    await refusedEverywhere((t) => jwt({ alg: "HS256", kid: "rsa-1" }, claims(t), hs256(keys.rsaPublicPem)), 401, "UNAUTHENTICATED");
  });

  test("a service configured with JWKS only refuses HS256 tokens", async () => {
    await refusedEverywhere((t) => token(t), 401, "UNAUTHENTICATED", jwksOnly);
    const ok = await call(jwksOnly, "GET", "/t/acme/all", { token: jwt({ alg: "ES256", kid: "ec-1" }, claims("acme"), keys.es256) });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe("403 FORBIDDEN", () => {
  test("a valid token for another tenant", async () => {
    const body = await refusedEverywhere(() => token("mallory"), 403, "FORBIDDEN");
    assert.doesNotMatch(body, /acme|ghost|Secret/);
  });

  test("missing scope: read-only token appends, append-only token reads, empty scope does neither", async () => {
    const readOnly = token("acme", { scope: "read" });
    const appendOnly = token("acme", { scope: "append" });
    const none = token("acme", { scope: "" });
    const before = await snapshot();
    for (const t of [readOnly, none]) {
      const res = await call(edge, "POST", "/t/acme/streams/Secret-1", { token: t, body: { events: [{ type: "Intruder" }] } });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error.code, "FORBIDDEN");
    }
    for (const t of [appendOnly, none]) {
      for (const path of ["/t/acme/streams/Secret-1", "/t/acme/all"]) {
        const res = await call(edge, "GET", path, { token: t });
        assert.equal(res.status, 403, res.text);
        assert.equal(res.body.error.code, "FORBIDDEN");
        assert.doesNotMatch(res.text, /Classified/);
      }
    }
    assert.deepEqual(await snapshot(), before);
    // and the scopes do allow what they name
    assert.equal((await call(edge, "GET", "/t/acme/all", { token: readOnly })).status, 200);
    assert.equal((await call(edge, "GET", "/t/acme/streams/Secret-1", { token: token("acme", { scope: "read append" }) })).status, 200);
    const appended = await call(edge, "POST", "/t/acme/streams/Scoped-1", { token: appendOnly, body: { events: [{ type: "Ok" }] } });
    assert.equal(appended.status, 200, appended.text);
  });

  test("same answer for an existing and a non-existing tenant, for each scope case", async () => {
    await refusedEverywhere((t) => token(t === "acme" ? "ghost2" : "acme"), 403, "FORBIDDEN");
  });
});

describe("accepted", () => {
  test("RS256 and ES256 tokens via JWKS", async () => {
    for (const [header, signer] of [[{ alg: "RS256", kid: "rsa-1", typ: "JWT" }, keys.rs256], [{ alg: "ES256", kid: "ec-1" }, keys.es256]]) {
      const t = jwt(header, claims("acme"), signer);
      const res = await call(edge, "POST", "/t/acme/streams/Jwks-1", { token: t, body: { events: [{ type: header.alg }] } });
      assert.equal(res.status, 200, `${header.alg}: ${res.text}`);
      assert.equal((await call(edge, "GET", "/t/acme/streams/Jwks-1", { token: t })).status, 200);
    }
    const read = await call(edge, "GET", "/t/acme/streams/Jwks-1", { token: acme });
    assert.deepEqual(read.body.events.map((e) => e.type), ["RS256", "ES256"]);
  });
});
