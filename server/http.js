// Node's HTTP objects and the Web `Request`/`Response` the shared service (edge/src/service/)
// speaks: a Node `IncomingMessage` becomes a `Request` whose body streams in as the service reads
// it, and a `Response` is written to a Node `ServerResponse` (or, for an upgrade the service
// refused, straight to the raw socket).

import { STATUS_CODES } from "node:http";

/** The origin every request URL is given: the service routes on the path only. */
const ORIGIN = "http://127.0.0.1";

/**
 * `req` as a Web `Request`. Its body (not for GET and HEAD) is pulled from `req` only as the
 * service reads it, and after more than `maxBodyBytes` it ends in an error: the service
 * (http.js `readJsonBody`) answers 413 on the chunk that crosses the limit and stops reading, so a
 * huge body is never held in memory.
 */
export function toRequest(req, maxBodyBytes) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const path = req.url.startsWith("/") ? req.url : `/${req.url}`;
  const init = { method: req.method, headers };
  if (req.method !== "GET" && req.method !== "HEAD") {
    init.body = bodyStream(req, maxBodyBytes);
    init.duplex = "half";
  }
  return new Request(ORIGIN + path, init);
}

/** `req`'s body as a pull stream, erroring once more than `maxBytes` were read. */
function bodyStream(req, maxBytes) {
  let total = 0;
  let ended = false;
  let failed = null;
  req.on("end", () => (ended = true));
  req.on("error", (e) => (failed = e));
  req.on("aborted", () => (failed = new Error("the client aborted the request")));
  const chunk = () =>
    new Promise((resolve) => {
      const next = () => {
        cleanup();
        resolve();
      };
      const cleanup = () => {
        req.off("readable", next);
        req.off("end", next);
        req.off("error", next);
        req.off("close", next);
      };
      req.once("readable", next);
      req.once("end", next);
      req.once("error", next);
      req.once("close", next);
    });
  return new ReadableStream({
    async pull(controller) {
      for (;;) {
        if (total > maxBytes) return controller.error(new Error(`request body over the limit of ${maxBytes} bytes`));
        const data = req.read();
        if (data !== null) {
          total += data.length;
          controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.length));
          return;
        }
        if (failed) return controller.error(failed);
        if (ended || req.readableEnded || req.complete) return controller.close();
        await chunk();
      }
    },
    // The service stopped reading (a body over the limit): Node discards the rest after the answer.
    cancel() {},
  });
}

/**
 * Writes `response` to the Node `res`; resolves once it is sent (or the client went away). The
 * service's bodies are bounded (its read limits), so the body is taken whole and goes out with the
 * head and a Content-Length in one write, rather than chunk by chunk.
 */
export async function writeResponse(response, res) {
  const headers = headerList(response.headers);
  if (response.body === null) {
    res.writeHead(response.status, headers.flat());
    return void res.end();
  }
  let body;
  try {
    body = Buffer.from(await response.arrayBuffer());
  } catch {
    return void res.destroy();
  }
  if (res.destroyed) return;
  const head = headers.filter(([name]) => name !== "content-length");
  head.push(["content-length", String(body.length)]);
  res.writeHead(response.status, head.flat());
  res.end(body);
}

/** A `Response` as raw HTTP/1.1 bytes on `socket` (an upgrade the service refused), then the socket closed. */
export async function writeRawResponse(response, socket) {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`];
  for (const [name, value] of headerList(response.headers)) {
    if (name !== "content-length" && name !== "connection") lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  if (socket.destroyed) return;
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n"), "latin1"), body]), () => socket.destroy());
}

/** `headers` as `[name, value]` pairs, each Set-Cookie on its own. */
function headerList(headers) {
  const list = [];
  for (const [name, value] of headers) if (name !== "set-cookie") list.push([name, value]);
  for (const cookie of headers.getSetCookie?.() ?? []) list.push(["set-cookie", cookie]);
  return list;
}
