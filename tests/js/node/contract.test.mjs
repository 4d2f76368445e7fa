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

test("IndexedDB where the runtime has none is a clear STORAGE_ERROR", async () => {
  let err;
  try {
    await EventStore.open({ storage: "indexeddb", name: "nope" });
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error) || err.name !== "EventStoreError" || err.code !== "STORAGE_ERROR" || !/not available/.test(err.message)) {
    throw new Error(`expected STORAGE_ERROR, got ${err && `${err.code} ${err.message}`}`);
  }
});
