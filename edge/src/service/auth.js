// JWT verification for the edge service, with WebCrypto only (no dependencies).
//
// Accepted: HS256 signed with the UTF-8 bytes of EVSTORE_JWT_SECRET (at least 32 bytes), and
// RS256 / ES256 signed by a key of the EVSTORE_JWKS key set, selected by the token's `kid`
// (required) and `alg`. Everything else (`alg: none`, HS384, a `crit` header, …) is refused. Claims
// `tid` (well-formed UTF-16), `sub` and `exp` are required; `nbf` is honoured when present; `scope`
// is an optional space-separated list of `read`, `append` and `delete` (all of them when absent);
// `streams` an optional array of stream patterns the token may touch (the whole tenant when absent;
// read with the core's one matcher, `StreamSelection`). When set,
// EVSTORE_JWT_AUDIENCE / EVSTORE_JWT_ISSUER must match `aud` / `iss`, and EVSTORE_JWT_MAX_LIFETIME
// bounds `exp - iat` (seconds; `iat` then required).
//
// Signatures are checked with `crypto.subtle.verify`, which compares in constant time. A failure
// never says which tenant or which stored data was involved; messages are generic per cause.

import { StreamSelection } from "evstore";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Longest token accepted (bytes of the compact form); a larger header is refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;

const ALGORITHMS = {
  HS256: { source: "secret" },
  RS256: {
    source: "jwks",
    kty: "RSA",
    importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    verifyParams: { name: "RSASSA-PKCS1-v1_5" },
  },
  ES256: {
    source: "jwks",
    kty: "EC",
    crv: "P-256",
    importParams: { name: "ECDSA", namedCurve: "P-256" },
    verifyParams: { name: "ECDSA", hash: "SHA-256" },
    signatureBytes: 64,
  },
};

const KNOWN_SCOPES = ["read", "append", "delete"];

/** Shortest EVSTORE_JWT_SECRET accepted, in UTF-8 bytes (RFC 7518 §3.2: a key of the hash's size). */
export const MIN_SECRET_BYTES = 32;

/**
 * What is wrong with the service's token settings in `env`, or null: a secret under
 * MIN_SECRET_BYTES, or an EVSTORE_JWT_MAX_LIFETIME that is not a positive number of seconds.
 * Names the setting, never its value (for the operator's log only).
 */
export function configProblem(env) {
  const secret = env.EVSTORE_JWT_SECRET;
  if (typeof secret === "string" && secret !== "" && encoder.encode(secret).byteLength < MIN_SECRET_BYTES) {
    return `EVSTORE_JWT_SECRET is shorter than ${MIN_SECRET_BYTES} bytes`;
  }
  if (maxLifetime(env) === undefined) return "EVSTORE_JWT_MAX_LIFETIME is not a positive integer (seconds)";
  return null;
}

/** EVSTORE_JWT_MAX_LIFETIME in seconds: null when unset, undefined when not a positive integer. */
function maxLifetime(env) {
  const value = env.EVSTORE_JWT_MAX_LIFETIME;
  if (value === undefined || value === null || String(value).trim() === "") return null;
  return /^[1-9][0-9]{0,15}$/.test(String(value).trim()) ? Number(String(value).trim()) : undefined;
}

/** An authentication failure: `status` 401 (UNAUTHENTICATED) or 403 (FORBIDDEN). */
export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
    this.code = status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN";
  }
}

const unauthenticated = (message) => new AuthError(401, message);
const MALFORMED = "malformed token";

/**
 * The bearer token of a request: from `Authorization: Bearer …`, or — for WebSocket clients that
 * cannot set headers — from a `bearer.<jwt>` entry of `Sec-WebSocket-Protocol` of a WebSocket
 * upgrade request (on any other request it is ignored). Never from the URL. Returns null when
 * there is none.
 */
export function bearerToken(request) {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
    return m ? m[1] : ""; // present but not a bearer token: malformed, not missing
  }
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") return null;
  for (const protocol of subprotocols(request)) {
    if (protocol.startsWith("bearer.")) return protocol.slice("bearer.".length);
  }
  return null;
}

/** The entries of a request's `Sec-WebSocket-Protocol` header. */
export function subprotocols(request) {
  const header = request.headers.get("sec-websocket-protocol");
  if (!header) return [];
  return header.split(",").map((p) => p.trim()).filter(Boolean);
}

/**
 * Verifies `token` against the keys configured in `env`. Resolves to
 * `{ tid, sub, exp, scopes: string[], streams: string[] | null }` (`streams`: the normalized
 * patterns of the `streams` claim, null for the whole tenant); rejects with an `AuthError` (401)
 * otherwise.
 * `now` is the current time in seconds.
 */
export async function verifyToken(token, env, now = Date.now() / 1000) {
  if (token === null || token === undefined) throw unauthenticated("missing bearer token");
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) throw unauthenticated(MALFORMED);
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)) || !parts[0] || !parts[1]) {
    throw unauthenticated(MALFORMED);
  }
  const header = decodeJsonPart(parts[0]);
  const claims = decodeJsonPart(parts[1]);
  const signature = base64UrlDecode(parts[2]);
  if (!header || !claims || !signature) throw unauthenticated(MALFORMED);
  if (header.crit !== undefined) throw unauthenticated("unsupported token header");

  const alg = header.alg;
  const spec = typeof alg === "string" && Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : null;
  if (!spec) throw unauthenticated("unsupported token algorithm");

  const key = spec.source === "secret" ? await secretKey(env) : await jwksKey(env, header, alg, spec);
  if (spec.signatureBytes && signature.byteLength !== spec.signatureBytes) throw unauthenticated("bad token signature");
  if (!signatureVerified(key, token)) {
    const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
    const params = spec.source === "secret" ? { name: "HMAC" } : spec.verifyParams;
    let valid = false;
    try {
      valid = await crypto.subtle.verify(params, key, signature, signed);
    } catch {
      valid = false;
    }
    if (!valid) throw unauthenticated("bad token signature");
    rememberVerified(key, token);
  }

  return checkClaims(claims, env, now);
}

/** The claims a verified token must carry, normalised. */
function checkClaims(claims, env, now) {
  const { tid, sub, exp, nbf, scope } = claims;
  if (typeof tid !== "string" || tid === "" || !tid.isWellFormed()) throw unauthenticated(MALFORMED);
  if (typeof sub !== "string" || sub === "") throw unauthenticated(MALFORMED);
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw unauthenticated(MALFORMED);
  if (nbf !== undefined && (typeof nbf !== "number" || !Number.isFinite(nbf))) throw unauthenticated(MALFORMED);
  if (scope !== undefined && typeof scope !== "string") throw unauthenticated(MALFORMED);
  if (exp <= now) throw unauthenticated("token expired");
  if (nbf !== undefined && nbf > now + 60) throw unauthenticated("token not yet valid");
  checkAudienceAndIssuer(claims, env);
  checkLifetime(claims, env, now);
  const scopes = scope === undefined ? [...KNOWN_SCOPES] : KNOWN_SCOPES.filter((s) => scope.split(" ").includes(s));
  return { tid, sub, exp, scopes, streams: streamPatterns(claims.streams) };
}

/**
 * The `streams` claim, normalized: null when absent (or `["*"]`: the whole tenant), else its
 * patterns. Anything but an array of non-empty strings whose only `*` ends them is a malformed
 * token.
 */
function streamPatterns(claim) {
  if (claim === undefined) return null;
  let patterns;
  try {
    const selection = StreamSelection.parse(claim);
    patterns = selection.patterns;
    selection.free();
  } catch {
    throw unauthenticated(MALFORMED);
  }
  return patterns.length === 1 && patterns[0] === "*" ? null : patterns;
}

/** The answer (403) to a stream the token's `streams` do not name: it says nothing about the stream. */
export const STREAM_FORBIDDEN = "the token does not allow this stream";

/**
 * Whether a verified token (or an identity carrying its `streams`: normalized patterns, or null
 * for every stream) may touch `streamId`, by the core's matcher (`$$X` follows `X`).
 */
export function allowsStream(auth, streamId) {
  if (auth.streams === null || auth.streams === undefined) return true;
  const selection = StreamSelection.parse(auth.streams);
  try {
    return selection.matches(streamId);
  } finally {
    selection.free();
  }
}

/** `aud` (a string or an array of strings, RFC 7519 §4.1.3) and `iss`, when the service names them. */
function checkAudienceAndIssuer({ aud, iss }, env) {
  const audience = env.EVSTORE_JWT_AUDIENCE;
  if (typeof audience === "string" && audience !== "") {
    const listed = typeof aud === "string" ? aud === audience : Array.isArray(aud) && aud.includes(audience);
    if (!listed) throw unauthenticated("the token is not meant for this service (aud)");
  }
  const issuer = env.EVSTORE_JWT_ISSUER;
  if (typeof issuer === "string" && issuer !== "" && iss !== issuer) throw unauthenticated("the token's issuer is not accepted (iss)");
}

/**
 * `exp - iat` within EVSTORE_JWT_MAX_LIFETIME, when set: `iat` is then required and may not lie in
 * the future (60 s of clock skew, as for `nbf`), so a later `iat` cannot stretch a token's life.
 */
function checkLifetime({ iat, exp }, env, now) {
  const max = maxLifetime(env);
  if (max === null) return;
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw unauthenticated("the token lacks iat (the service limits token lifetimes)");
  if (iat > now + 60) throw unauthenticated("token issued in the future (iat)");
  if (exp - iat > max) throw unauthenticated(`the token's lifetime is over the service's maximum of ${max} seconds`);
}

/** Whether a verified token allows `scope` ("read", "append" or "delete"). */
export function hasScope(auth, scope) {
  return auth.scopes.includes(scope);
}

/**
 * Whether two strings hold the same UTF-16 code units, in time that depends only on their lengths,
 * not on where they differ (the tenant of a token against the tenant of a route). Exact units: no
 * encoding step that could map two strings (e.g. a lone surrogate and U+FFFD) to the same bytes.
 */
export function constantTimeEqual(a, b) {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (i < a.length ? a.charCodeAt(i) : 0) ^ (i < b.length ? b.charCodeAt(i) : 0); // a length difference already set diff
  return diff === 0;
}

function decodeJsonPart(part) {
  const bytes = base64UrlDecode(part);
  if (!bytes) return null;
  try {
    const value = JSON.parse(decoder.decode(bytes));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function base64UrlDecode(text) {
  if (text.length % 4 === 1) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

// Tokens whose signature verified, per key: a client sends its token with every request, and
// verifying the same bytes with the same key again gives the same answer. Only the signature is
// remembered — the claims (expiry, not-before, audience, issuer, lifetime) are checked on every
// use — and only successes, so a failure costs the same every time. Bounded: the oldest entries go
// first; a changed secret or key set is another key object, whose tokens verify afresh.
const VERIFIED_MAX = 1024;
const verified = new WeakMap();

function signatureVerified(key, token) {
  return verified.get(key)?.has(token) ?? false;
}

function rememberVerified(key, token) {
  let tokens = verified.get(key);
  if (!tokens) verified.set(key, (tokens = new Set()));
  if (tokens.size >= VERIFIED_MAX) tokens.delete(tokens.values().next().value);
  tokens.add(token);
}

// Imported keys live as long as the isolate; a changed secret or key set is a new cache entry.
const secretKeys = new Map();
const keySets = new Map();

async function secretKey(env) {
  const secret = env.EVSTORE_JWT_SECRET;
  if (typeof secret !== "string" || secret === "") throw unauthenticated("HS256 tokens are not accepted by this service");
  if (encoder.encode(secret).byteLength < MIN_SECRET_BYTES) throw new Error("the service is misconfigured"); // never verify with a weak key
  let key = secretKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    secretKeys.clear();
    secretKeys.set(secret, key);
  }
  return key;
}

async function jwksKey(env, header, alg, spec) {
  if (typeof header.kid !== "string" || header.kid === "") throw unauthenticated("token header lacks a kid");
  const keys = parseKeySet(env.EVSTORE_JWKS);
  if (keys.length === 0) throw unauthenticated(`${alg} tokens are not accepted by this service`);
  const jwk = keys.find(
    (k) =>
      k.kid === header.kid &&
      k.kty === spec.kty &&
      (spec.crv === undefined || k.crv === spec.crv) &&
      (k.alg === undefined || k.alg === alg) &&
      (k.use === undefined || k.use === "sig") &&
      (k.key_ops === undefined || (Array.isArray(k.key_ops) && k.key_ops.includes("verify"))),
  );
  if (!jwk) throw unauthenticated("no key of the service matches the token's kid and alg");
  const cacheKey = `${alg}\u0000${header.kid}`;
  const cache = keySets.get(env.EVSTORE_JWKS).imported;
  let key = cache.get(cacheKey);
  if (!key) {
    const pub = spec.kty === "RSA" ? { kty: "RSA", n: jwk.n, e: jwk.e } : { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
    key = crypto.subtle.importKey("jwk", pub, spec.importParams, false, ["verify"]).catch(() => null);
    cache.set(cacheKey, key);
  }
  const imported = await key;
  if (!imported) throw unauthenticated("no key of the service matches the token's kid and alg");
  return imported;
}

/** The keys of a JWKS JSON text (`{ "keys": [...] }`); an unparsable set has no keys. */
function parseKeySet(text) {
  if (typeof text !== "string" || text.trim() === "") return [];
  let entry = keySets.get(text);
  if (!entry) {
    let keys = [];
    try {
      const parsed = JSON.parse(text);
      if (parsed && Array.isArray(parsed.keys)) keys = parsed.keys.filter((k) => k && typeof k === "object");
    } catch {
      keys = [];
    }
    entry = { keys, imported: new Map() };
    keySets.clear();
    keySets.set(text, entry);
  }
  return entry.keys;
}
