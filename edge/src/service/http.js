// HTTP plumbing of the edge service: JSON and error responses in the contract's shape
// (`{ "error": { code, message, ...fields } }`), CORS for browser origins, and reading a request
// body under a byte limit without reading past it.

/** A failure to answer with `status` and the contract's error body. */
export class HttpError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export const badRequest = (message, fields) => new HttpError(400, "INVALID_ARGUMENT", message, fields);

const JSON_TYPE = "application/json; charset=utf-8";

/** A JSON response; `body` is a value or an already serialised JSON text. */
export function jsonResponse(status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { "content-type": JSON_TYPE, "cache-control": "no-store", ...headers } });
}

/** The contract's error body for `code`. */
export function errorBody(code, message, fields = {}) {
  return { error: { code, message, ...fields } };
}

export function errorResponse(status, code, message, fields = {}, headers = {}) {
  const extra = status === 401 ? { "www-authenticate": 'Bearer error="invalid_token"' } : {};
  return jsonResponse(status, errorBody(code, message, fields), { ...extra, ...headers });
}

/** The error fields of the contract that an EventStoreError carries, by code. */
const STORE_FIELDS = ["streamId", "expectedRevision", "actualRevision", "eventId", "eventIndex"];
const STORE_STATUS = {
  INVALID_ARGUMENT: 400,
  EVENT_TOO_LARGE: 400,
  WRONG_EXPECTED_REVISION: 409,
  DUPLICATE_EVENT_ID: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  STREAM_DELETED: 410,
};

/**
 * `{ status, code, message, fields }` for anything thrown by the store or the service: contract
 * errors keep their code and fields; everything else is a 500 STORAGE_ERROR that reveals no detail.
 */
export function describeError(err) {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, fields: err.fields };
  if (err && err.name === "EventStoreError" && Object.hasOwn(STORE_STATUS, err.code)) {
    const fields = {};
    for (const f of STORE_FIELDS) if (err[f] !== undefined) fields[f] = err[f];
    return { status: STORE_STATUS[err.code], code: err.code, message: String(err.message), fields };
  }
  // Unexpected: logged for the operator (never with request data), answered without detail.
  console.error("evstore edge: unexpected error:", err && err.stack ? err.stack : String(err));
  return { status: 500, code: "STORAGE_ERROR", message: "the service failed to complete the request", fields: {} };
}

/** The origins allowed by EVSTORE_ALLOWED_ORIGINS (comma-separated); empty or `*`: every origin. */
function allowedOrigins(env) {
  const list = String(env.EVSTORE_ALLOWED_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  return list.length === 0 || list.includes("*") ? null : list;
}

/**
 * The CORS decision for a request: `{ allowed, headers }`. Requests without an `Origin` header
 * (non-browser clients) are always allowed and get no CORS headers. Bearer tokens only, never
 * cookies: no `Access-Control-Allow-Credentials`.
 */
export function corsFor(request, env) {
  const origin = request.headers.get("origin");
  if (origin === null) return { allowed: true, headers: {} };
  const list = allowedOrigins(env);
  if (list === null) return { allowed: true, headers: { "access-control-allow-origin": "*" } };
  if (!list.includes(origin)) return { allowed: false, headers: { vary: "Origin" } };
  return { allowed: true, headers: { "access-control-allow-origin": origin, vary: "Origin" } };
}

/** The answer to a CORS preflight (`OPTIONS`) from an allowed origin. */
export function preflightResponse(cors) {
  return new Response(null, {
    status: 204,
    headers: {
      ...cors.headers,
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      "access-control-allow-headers": "Authorization, Content-Type",
      "access-control-max-age": "600",
    },
  });
}

/** `response` with `headers` added (responses from a Durable Object have immutable headers). */
export function withHeaders(response, headers) {
  if (Object.keys(headers).length === 0 || response.status === 101) return response;
  const copy = new Response(response.body, response);
  for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
  return copy;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A request body must be declared JSON: `application/json`, parameters allowed. 415 otherwise. */
function requireJsonType(request) {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(415, "INVALID_ARGUMENT", "the request body must be sent as Content-Type: application/json");
  }
}

/**
 * The body of `request` parsed as JSON, reading at most `maxBytes`. A declared `Content-Length`
 * over the limit is refused before reading anything; a body without one is counted while it
 * streams and abandoned as soon as it passes the limit. 413 with code INVALID_ARGUMENT; a body
 * not declared `application/json` is refused unread (415, INVALID_ARGUMENT).
 */
export async function readJsonBody(request, maxBytes) {
  requireJsonType(request);
  const tooLarge = () => new HttpError(413, "INVALID_ARGUMENT", `request body over the limit of ${maxBytes} bytes`, { limit: maxBytes });
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^[0-9]+$/.test(declared) || Number(declared) > maxBytes)) {
    if (/^[0-9]+$/.test(declared)) throw tooLarge();
    throw badRequest("bad Content-Length header");
  }
  if (request.body === null) throw badRequest("request body missing: expected JSON");
  const reader = request.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    let next;
    try {
      next = await reader.read();
    } catch {
      throw badRequest("the request body could not be read");
    }
    const { done, value } = next;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  let text;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw badRequest("request body is not UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${e.message}`);
  }
}
