// The demo's service worker: the app opens and works with the network off after the first load.
// It precaches the app's files, the package's JS entries and both browser builds' .wasm (the app
// opens a synced store when a sync server is configured, a local one otherwise), and the demo's
// config; then
// answers same-origin GETs from the network when it can (so a rebuilt package or an edited file
// shows up on reload) and from the cache when it cannot. Tokens (/api/dev-token) are never cached,
// and requests to the edge service are not touched.
const CACHE = "evstore-demo-v2";
const PRECACHE = [
  "/",
  "/app.js",
  "/model.js",
  "/gate.js",
  "/style.css",
  "/pkg/index.js",
  "/pkg/local.js",
  "/pkg/synced.js",
  "/pkg/evstore_local_bg.wasm",
  "/pkg/evstore_wasm_bg.wasm",
  "/api/config",
];
const NEVER_CACHED = ["/api/dev-token"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one, so that a missing optional file (/api/config on a plain static server) does
      // not keep the others out of the cache.
      await Promise.all(
        PRECACHE.map(async (path) => {
          const response = await fetch(path, { cache: "no-store" }).catch(() => null);
          if (response?.ok) await cache.put(path, response);
          else if (path !== "/api/config") throw new Error(`could not precache ${path}`);
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || NEVER_CACHED.includes(url.pathname)) return;
  event.respondWith(networkFirst(request, url));
});

async function networkFirst(request, url) {
  const cache = await caches.open(CACHE);
  // Pages are cached once, under "/", whatever their query (?device=alice, ?device=bob).
  const key = request.mode === "navigate" ? "/" : url.pathname;
  try {
    const response = await fetch(request);
    if (response.ok && (request.mode === "navigate" || PRECACHE.includes(url.pathname))) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}
