// The routes of the edge service (CONTRACT.md "At the edge" and "Stream lifecycle") and the
// validation of their inputs: path matching with URL-decoded segments, query parameters, and the
// append and metadata bodies. Anything a route does not know — an unknown query parameter or body
// field — is a 400, never silently ignored.

import { HttpError, badRequest } from "./http.js";
import { MAX_NESTING } from "./limits.js";

const ROUTES = [
  { name: "append", method: "POST", pattern: ["t", ":tenant", "streams", ":streamId"], scope: "append" },
  { name: "readStream", method: "GET", pattern: ["t", ":tenant", "streams", ":streamId"], scope: "read" },
  { name: "deleteStream", method: "DELETE", pattern: ["t", ":tenant", "streams", ":streamId"], scope: "delete" },
  { name: "getMetadata", method: "GET", pattern: ["t", ":tenant", "streams", ":streamId", "metadata"], scope: "read" },
  { name: "setMetadata", method: "PUT", pattern: ["t", ":tenant", "streams", ":streamId", "metadata"], scope: "append" },
  { name: "readAll", method: "GET", pattern: ["t", ":tenant", "all"], scope: "read" },
  { name: "sync", method: "GET", pattern: ["t", ":tenant", "sync"], scope: null },
];

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest("bad percent-encoding in the URL path");
  }
}

/**
 * The route for `method` and `pathname`: `{ name, scope, tenant, streamId? }` (segments decoded).
 * Throws a 404 NOT_FOUND for anything else.
 */
export function matchRoute(method, pathname) {
  const segments = pathname.split("/").slice(1);
  let pathMatched = false;
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const params = {};
    const ok = route.pattern.every((part, i) => {
      if (part.startsWith(":")) {
        params[part.slice(1)] = segments[i];
        return part !== ":tenant" || segments[i] !== "";
      }
      return part === segments[i];
    });
    if (!ok) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const decoded = {};
    for (const [k, v] of Object.entries(params)) decoded[k] = decodeSegment(v);
    if (!decoded.tenant.isWellFormed()) throw badRequest("the tenant id is not well-formed UTF-16");
    return { name: route.name, scope: route.scope, ...decoded };
  }
  throw new HttpError(404, "NOT_FOUND", pathMatched ? `no route for ${method} ${pathname}` : "no such route");
}

/** The query parameters of `url`, refusing unknown and repeated ones. */
function queryParams(url, allowed) {
  const params = {};
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) throw badRequest(`unknown query parameter "${key}" (allowed: ${allowed.join(", ")})`);
    if (Object.hasOwn(params, key)) throw badRequest(`query parameter "${key}" given twice`);
    params[key] = value;
  }
  return params;
}

function integer(name, value) {
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`query parameter "${name}" must be a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

function fromParam(name, value) {
  if (value === "start" || value === "end") return value;
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`query parameter "${name}" must be a non-negative integer, "start" or "end", got "${value}"`);
  }
  return Number(value);
}

function direction(value) {
  if (value !== "forwards" && value !== "backwards") {
    throw badRequest(`query parameter "direction" must be "forwards" or "backwards", got "${value}"`);
  }
  return value;
}

/** Refuses any query parameter (a route that takes none). */
export function noQuery(url) {
  queryParams(url, []);
}

/** An expected revision as a query parameter: "any", "no_stream", "stream_exists" or a revision. */
function expectedRevisionParam(value) {
  if (value === "any" || value === "no_stream" || value === "stream_exists") return value;
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`query parameter "expectedRevision" must be "any", "no_stream", "stream_exists" or a revision number, got "${value}"`);
  }
  return Number(value);
}

/** `{ expectedRevision, hard }` of `DELETE /t/{t}/streams/{id}` (`hard` accepts only "true" and "false"). */
export function deleteOptions(url) {
  const q = queryParams(url, ["expectedRevision", "hard"]);
  if (q.hard !== undefined && q.hard !== "true" && q.hard !== "false") {
    throw badRequest(`query parameter "hard" must be "true" or "false", got "${q.hard}"`);
  }
  return { expectedRevision: q.expectedRevision === undefined ? "any" : expectedRevisionParam(q.expectedRevision), hard: q.hard === "true" };
}

/** `{ from, direction, maxCount }` of a read route; `from` names `fromRevision` or `fromPosition`. */
export function readOptions(url, fromName) {
  const q = queryParams(url, [fromName, "direction", "maxCount"]);
  const options = {};
  if (q.direction !== undefined) options.direction = direction(q.direction);
  if (q[fromName] !== undefined) options.from = fromParam(fromName, q[fromName]);
  if (q.maxCount !== undefined) options.maxCount = integer("maxCount", q.maxCount);
  return options;
}

const BODY_FIELDS = ["events", "expectedRevision"];
const EVENT_FIELDS = ["id", "type", "data", "metadata"];

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Whether `value` (parsed JSON) holds objects or arrays nested more than `limit` deep. Iterative:
 * a body nested thousands of levels deep is refused here, before anything recurses over it.
 */
function nestsDeeper(value, limit) {
  const stack = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** `{ events, expectedRevision }` of an append body, checked for shape (the store checks values). */
export function appendBody(body, maxBatchEvents) {
  if (!isPlainObject(body)) throw badRequest('the body must be a JSON object { "events": [...], "expectedRevision": ... }');
  for (const key of Object.keys(body)) {
    if (!BODY_FIELDS.includes(key)) throw badRequest(`unknown body field "${key}" (allowed: ${BODY_FIELDS.join(", ")})`);
  }
  const { events } = body;
  if (!Array.isArray(events)) throw badRequest('"events" must be an array of events');
  if (events.length === 0) throw badRequest('"events" must not be empty');
  if (events.length > maxBatchEvents) {
    throw badRequest(`too many events in one append: ${events.length}, the limit is ${maxBatchEvents}`, { limit: maxBatchEvents });
  }
  events.forEach((event, i) => {
    if (!isPlainObject(event)) throw badRequest(`events[${i}] must be an object`);
    for (const key of Object.keys(event)) {
      if (!EVENT_FIELDS.includes(key)) throw badRequest(`unknown field "${key}" in events[${i}] (allowed: ${EVENT_FIELDS.join(", ")})`);
    }
    for (const field of ["data", "metadata"]) {
      if (nestsDeeper(event[field], MAX_NESTING)) throw badRequest(`events[${i}].${field} nests deeper than ${MAX_NESTING} levels`);
    }
  });
  return { events, expectedRevision: body.expectedRevision === undefined ? "any" : body.expectedRevision };
}

const METADATA_BODY_FIELDS = ["metadata", "expectedMetadataRevision"];

/**
 * `{ metadata, expectedMetadataRevision }` of a `PUT …/metadata` body, checked for shape (the store
 * checks the metadata's keys and values and the expected revision).
 */
export function metadataBody(body) {
  if (!isPlainObject(body)) throw badRequest('the body must be a JSON object { "metadata": {...}, "expectedMetadataRevision": ... }');
  for (const key of Object.keys(body)) {
    if (!METADATA_BODY_FIELDS.includes(key)) throw badRequest(`unknown body field "${key}" (allowed: ${METADATA_BODY_FIELDS.join(", ")})`);
  }
  if (!isPlainObject(body.metadata)) throw badRequest('"metadata" must be an object');
  if (nestsDeeper(body.metadata, MAX_NESTING)) throw badRequest(`"metadata" nests deeper than ${MAX_NESTING} levels`);
  const options = body.expectedMetadataRevision === undefined ? {} : { expectedMetadataRevision: body.expectedMetadataRevision };
  return { metadata: body.metadata, options };
}
