// The package's contract suite in Node, on the memory storage, through `import "evstore"`.
import { test } from "node:test";
import { EventStore } from "evstore";
import { cases } from "../contract.mjs";

for (const [name, run] of Object.entries(cases((o = {}) => EventStore.open(typeof o === "object" ? { storage: "memory", ...o } : o)))) {
  test(name, run);
}

test("EventStore.open defaults to memory and needs no init()", async () => {
  const store = await EventStore.open();
  const r = await store.append("s", [{ type: "E" }]);
  if (r.position !== 0) throw new Error("expected position 0");
});
