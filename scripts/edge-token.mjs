// Mints HS256 tokens for the edge service (development and tests), with Node's crypto.
//
//   node scripts/edge-token.mjs [--tenant demo] [--sub dev] [--ttl 86400] [--scope "read append"] [--streams "List-7 Item-7-*"] [--data DIR]
//
// The secret is EVSTORE_JWT_SECRET, or else the development secret that `make edge` keeps in its
// data directory (--data, else ${EDGE_DATA:-.edge-data}; a relative one from the repository root,
// as `make edge` takes it). The token goes to stdout only. --help says all this.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { edgeDataDir } from "./edge-local.mjs";

export const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A compact HS256 JWT of `claims` signed with the UTF-8 bytes of `secret`. */
export function signHs256(claims, secret, header = { alg: "HS256", typ: "JWT" }) {
  const signed = `${b64url(header)}.${b64url(claims)}`;
  return `${signed}.${createHmac("sha256", Buffer.from(secret, "utf8")).update(signed).digest("base64url")}`;
}

/** Claims for `tenant` valid for `ttl` seconds; `streams` (stream patterns) limits the token to those streams. */
export function claimsFor({ tenant = "demo", sub = "dev", ttl = 3600, scope, streams } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { tid: tenant, sub, iat: now, exp: now + ttl, ...(scope === undefined ? {} : { scope }), ...(streams === undefined ? {} : { streams }) };
}

const USAGE = `Mints an HS256 token for the local edge service (\`make edge\`, \`make demo\`).

usage: node scripts/edge-token.mjs [options]

  --tenant <id>     the token's tenant (claim "tid"; default "demo")
  --sub <subject>   claim "sub" (default "dev")
  --ttl <seconds>   lifetime (default 86400)
  --scope <scopes>  space-separated: "read", "append", "delete" (default: no claim, which allows all)
  --streams <pats>  space-separated stream patterns the token reaches: exact ids or prefixes ending
                    in * (e.g. "List-7 Item-7-*"; default: no claim, the whole tenant)
  --data <dir>      the edge's data directory, holding its development secret (dev-secret)
  -h, --help        this help

The secret is $EVSTORE_JWT_SECRET when set, else <data dir>/dev-secret, which \`make edge\` creates on
its first run. The data directory is --data, else $EDGE_DATA, else .edge-data; a relative one is
taken from the repository root (where make runs), wherever this script is started.
The token is printed on stdout.`;

/** The command line, or exits: 0 after --help, 2 (with the usage) for what it cannot parse. */
function parseCommandLine(args) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        tenant: { type: "string" },
        sub: { type: "string" },
        ttl: { type: "string" },
        scope: { type: "string" },
        streams: { type: "string" },
        data: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`edge-token: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const ttl = values.ttl === undefined ? 86400 : Number(values.ttl);
  if (!Number.isSafeInteger(ttl)) {
    console.error(`edge-token: --ttl must be a whole number of seconds, got ${JSON.stringify(values.ttl)}`);
    process.exit(2);
  }
  const streams = values.streams === undefined ? undefined : values.streams.split(/\s+/).filter(Boolean);
  return { ...values, ttl, streams };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseCommandLine(process.argv.slice(2));
  let secret = process.env.EVSTORE_JWT_SECRET;
  if (!secret) {
    const dir = options.data === undefined ? edgeDataDir() : resolve(options.data);
    const file = join(dir, "dev-secret");
    try {
      secret = readFileSync(file, "utf8").trim();
    } catch {
      console.error(`edge-token: no EVSTORE_JWT_SECRET and no development secret in ${file}: run \`make edge\` once with this data directory, pass the right one (--data or EDGE_DATA), or set the secret`);
      process.exit(1);
    }
  }
  console.log(signHs256(claimsFor({ tenant: options.tenant, sub: options.sub, ttl: options.ttl, scope: options.scope, streams: options.streams }), secret));
}
