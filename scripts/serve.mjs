// A small static server for the demo and the browser tests, on 127.0.0.1 only.
// `/` serves www/; `/pkg/`, `/tests/`, `/bench/` and `/node_modules/` serve those folders of the repo.
// Usage: node scripts/serve.mjs [port]   (as a module: `await serve({ port: 0 })`; `make demo` runs
// scripts/demo.mjs, which adds the demo's API and the edge service).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(new URL("..", import.meta.url)));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};
const MOUNTS = ["/pkg/", "/tests/", "/node_modules/", "/www/", "/bench/"];

function fileFor(urlPath, root) {
  const path = normalize(decodeURIComponent(urlPath));
  const base = MOUNTS.some((m) => path.startsWith(m)) ? repo : root;
  const file = join(base, path.endsWith("/") ? path + "index.html" : path);
  return file.startsWith(repo) || file.startsWith(root) ? file : null;
}

/**
 * Starts the server; resolves to `{ url, port, close }`. `root` is what `/` serves (default www/).
 * `handle(req, res, url)`, when given, sees each request first and returns true (or a promise of
 * true) when it answered it. `close()` also ends open keep-alive connections.
 */
export function serve({ port = 8080, root = join(repo, "www"), handle } = {}) {
  const server = createServer(async (req, res) => {
    if (handle) {
      try {
        if (await handle(req, res, new URL(req.url, "http://x"))) return;
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        return res.end(`error: ${e.message}`);
      }
    }
    const file = fileFor(new URL(req.url, "http://x").pathname, resolve(root));
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error("not found");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail); // e.g. EADDRINUSE
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      const close = () =>
        new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      ok({ url, port: server.address().port, close });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await serve({ port: Number(process.argv[2] ?? 8080) });
  console.log(`static server: ${url}/  (Ctrl-C to stop; \`make demo\` runs the demo with sync)`);
}
