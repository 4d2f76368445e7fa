// Run by Deno (`deno run`): the package's contract suite through `import "evstore"` (Deno
// resolves it from node_modules with the package's export conditions). Prints one JSON line.
import { EventStore } from "evstore";
import { cases } from "../contract.mjs";

const results = {};
for (const [name, run] of Object.entries(cases((o = {}) => EventStore.open(typeof o === "object" ? { storage: "memory", ...o } : o)))) {
  try {
    await run();
    results[name] = null;
  } catch (e) {
    results[name] = String(e?.stack ?? e);
  }
}
console.log(JSON.stringify(results));
