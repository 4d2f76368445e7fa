// The edge service's Worker: the Cloudflare host of ./service/respond.js (CORS, JWT verification
// before anything is routed, the route, the tenant and scope checks, limits), with one Durable
// Object per tenant (`idFromName(tenant)`, ./tenant.js) doing the work.

import { respond } from "./service/respond.js";

export { TenantStore } from "./tenant.js";

export default {
  async fetch(request, env) {
    return respond(request, env, durableObjects(env));
  },
};

/** The tenants as Durable Object stubs: RPC calls and `fetch` go to the tenant's own object. */
function durableObjects(env) {
  return { get: (tenant) => env.TENANTS.get(env.TENANTS.idFromName(tenant)) };
}
