// Mints HS256 tokens for the edge service (development and tests), with Node's crypto.
//
//   node scripts/edge-token.mjs [--tenant demo] [--sub dev] [--ttl 86400] [--scope "read append"]
//
// The secret is EVSTORE_JWT_SECRET, or else the development secret that `make edge` keeps in
// ${EDGE_DATA:-.edge-data}/dev-secret. The token goes to stdout only.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A compact HS256 JWT of `claims` signed with the UTF-8 bytes of `secret`. */
export function signHs256(claims, secret, header = { alg: "HS256", typ: "JWT" }) {
  const signed = `${b64url(header)}.${b64url(claims)}`;
  return `${signed}.${createHmac("sha256", Buffer.from(secret, "utf8")).update(signed).digest("base64url")}`;
}

/** Claims for `tenant` valid for `ttl` seconds. */
export function claimsFor({ tenant = "demo", sub = "dev", ttl = 3600, scope } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { tid: tenant, sub, iat: now, exp: now + ttl, ...(scope === undefined ? {} : { scope }) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { tenant: { type: "string" }, sub: { type: "string" }, ttl: { type: "string" }, scope: { type: "string" } },
  });
  let secret = process.env.EVSTORE_JWT_SECRET;
  if (!secret) {
    const file = join(process.env.EDGE_DATA || ".edge-data", "dev-secret");
    try {
      secret = readFileSync(file, "utf8").trim();
    } catch {
      console.error(`no EVSTORE_JWT_SECRET and no ${file}: run \`make edge\` once or set the secret`);
      process.exit(1);
    }
  }
  const ttl = values.ttl === undefined ? 86400 : Number(values.ttl);
  console.log(signHs256(claimsFor({ tenant: values.tenant, sub: values.sub, ttl, scope: values.scope }), secret));
}
