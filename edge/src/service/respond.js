// The edge service's request handling, shared by its hosts (./host.js): CORS, then JWT
// verification (before anything is routed), then the route, the tenant check (constant time) and
// the scope check, then the tenant's object (`tenants.get(tenant)`: one per tenant) does the work.
// Inputs are validated here so the object only sees well-formed calls; the object re-checks the
// tenant and the scope. A service whose token settings are unsafe (auth.js `configProblem`)
// answers every request 500 and logs why once. Every response carries
// `X-Content-Type-Options: nosniff`.

import { AuthError, STREAM_FORBIDDEN, allowsStream, bearerToken, configProblem, constantTimeEqual, hasScope, subprotocols, verifyToken } from "./auth.js";
import {
  badRequest,
  corsFor,
  describeError,
  errorResponse,
  jsonResponse,
  preflightResponse,
  readJsonBody,
  withHeaders,
} from "./http.js";
import { limits } from "./limits.js";
import { IDENTITY_HEADER, OLD_SYNC_PROTOCOLS, SYNC_PROTOCOL, encodeIdentity } from "./protocol.js";
import { appendBody, deleteOptions, matchRoute, metadataBody, noQuery, readOptions } from "./routes.js";

const NOSNIFF = { "x-content-type-options": "nosniff" };

/**
 * The service's answer to `request`, with the EVSTORE_* settings `env`; `tenants` (./host.js
 * `Tenants`) reaches the tenant's object.
 */
export async function respond(request, env, tenants) {
  return withHeaders(await serve(request, env, tenants), NOSNIFF);
}

async function serve(request, env, tenants) {
  const cors = corsFor(request, env);
  if (misconfigured(env)) return errorResponse(500, "STORAGE_ERROR", "the service is misconfigured", {}, cors.allowed ? cors.headers : {});
  if (!cors.allowed) return errorResponse(403, "FORBIDDEN", "origin not allowed", {}, cors.headers);
  if (request.method === "OPTIONS") return preflightResponse(cors);
  try {
    return withHeaders(await handle(request, env, tenants), cors.headers);
  } catch (err) {
    const d = err instanceof AuthError ? { status: err.status, code: err.code, message: err.message, fields: {} } : describeError(err);
    return errorResponse(d.status, d.code, d.message, d.fields, cors.headers);
  }
}

let reported = null;

/** Whether `env`'s token settings are unsafe; the first time, says why in the operator's log. */
function misconfigured(env) {
  const problem = configProblem(env);
  if (problem !== null && reported !== problem) {
    reported = problem;
    console.error(`evstore edge: misconfigured, answering every request 500: ${problem}`);
  }
  return problem !== null;
}

async function handle(request, env, tenants) {
  const auth = await verifyToken(bearerToken(request), env);
  const url = new URL(request.url);
  const route = matchRoute(request.method, url.pathname);
  if (!constantTimeEqual(auth.tid, route.tenant)) throw new AuthError(403, "the token is not valid for this tenant");
  if (route.scope !== null && !hasScope(auth, route.scope)) throw new AuthError(403, `the token lacks the "${route.scope}" scope`);
  if (route.streamId !== undefined && !allowsStream(auth, route.streamId)) throw new AuthError(403, STREAM_FORBIDDEN);

  const identity = { tenant: route.tenant, sub: auth.sub, exp: auth.exp, scopes: auth.scopes, streams: auth.streams };
  const tenant = tenants.get(route.tenant);
  const { maxBodyBytes, maxBatchEvents } = limits(env);
  switch (route.name) {
    case "append": {
      const body = appendBody(await readJsonBody(request, maxBodyBytes), maxBatchEvents);
      return json(await tenant.append(identity, route.streamId, body));
    }
    case "readStream":
      return json(await tenant.readStream(identity, route.streamId, readOptions(url, "fromRevision")));
    case "readAll":
      return json(await tenant.readAll(identity, readOptions(url, "fromPosition")));
    case "getMetadata":
      noQuery(url);
      return json(await tenant.getStreamMetadata(identity, route.streamId));
    case "setMetadata": {
      noQuery(url);
      return json(await tenant.setStreamMetadata(identity, route.streamId, metadataBody(await readJsonBody(request, maxBodyBytes))));
    }
    case "deleteStream":
      return json(await tenant.deleteStream(identity, route.streamId, deleteOptions(url)));
    case "sync":
      return syncUpgrade(request, tenant, identity);
  }
  throw new Error(`unhandled route ${route.name}`);
}

/** The object's `{ status, body }` (body: JSON text) as a response. */
function json({ status, body }) {
  return jsonResponse(status, body);
}

/** Hands a WebSocket upgrade to the tenant's object with the verified identity. */
function syncUpgrade(request, tenant, identity) {
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    throw badRequest("GET /t/{tenant}/sync expects a WebSocket upgrade");
  }
  const offered = subprotocols(request);
  const chosen = [SYNC_PROTOCOL, ...OLD_SYNC_PROTOCOLS].find((p) => offered.includes(p));
  if (offered.length > 0 && !chosen) {
    throw badRequest(`unsupported WebSocket subprotocol: offer "${SYNC_PROTOCOL}"`);
  }
  const headers = new Headers({ upgrade: "websocket", [IDENTITY_HEADER]: encodeIdentity(identity) });
  if (chosen) headers.set("sec-websocket-protocol", chosen);
  return tenant.fetch("https://tenant.internal/sync", { headers });
}
