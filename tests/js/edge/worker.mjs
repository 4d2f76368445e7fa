// A Cloudflare worker (workerd) that runs the package's contract suite on request and answers
// with { case: null | failure }. "evstore" is the package's `workerd` entry.
import { EventStore } from "evstore";
import { cases } from "./contract.mjs";

export default {
  async fetch() {
    const results = {};
    const suite = cases((o = {}) => EventStore.open(typeof o === "object" ? { storage: "memory", ...o } : o));
    for (const [name, run] of Object.entries(suite)) {
      try {
        await run();
        results[name] = null;
      } catch (e) {
        results[name] = String(e?.stack ?? e);
      }
    }
    return Response.json(results);
  },
};
