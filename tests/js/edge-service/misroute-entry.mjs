// A deliberately wrong Worker for the tests: it sends calls for tenant `as` to the object of
// tenant `object` (a routing bug), so the tests can check that a TenantStore pinned to one tenant
// refuses calls routed for another. `asJson` (a JSON string) names the tenant instead of `as`, for
// ids a URL cannot carry (a lone surrogate). Runs as workerd's entry module next to edge/src.
import { TenantStore } from "./tenant.js";

export { TenantStore };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const object = env.TENANTS.get(env.TENANTS.idFromName(url.searchParams.get("object")));
    const as = url.searchParams.has("asJson") ? JSON.parse(url.searchParams.get("asJson")) : url.searchParams.get("as");
    const identity = { tenant: as, sub: "misroute", exp: Date.now() / 1000 + 3600, scopes: ["read", "append"] };
    let answer;
    switch (url.pathname) {
      case "/append":
        answer = await object.append(identity, "Misrouted-1", { events: [{ type: "Misrouted" }], expectedRevision: "any" });
        break;
      case "/read":
        answer = await object.readAll(identity, {});
        break;
      case "/sync": {
        const headers = new Headers({ upgrade: "websocket", "x-evstore-identity": encodeURIComponent(JSON.stringify(identity)) });
        const res = await object.fetch("https://tenant.internal/sync", { headers });
        if (res.status === 101) {
          res.webSocket.accept();
          res.webSocket.close(1000, "done");
        }
        return new Response(res.status === 101 ? "upgraded" : await res.text(), { status: res.status === 101 ? 200 : res.status });
      }
      default:
        return new Response("no", { status: 404 });
    }
    return new Response(answer.body, { status: answer.status });
  },
};
