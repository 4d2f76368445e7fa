// evstore/emmett in Node on the memory storage (the same cases run on IndexedDB in
// browser.test.mjs).
import { test } from "node:test";
import { EventStore } from "evstore";
import { emmettCases } from "./emmett-cases.mjs";

for (const [name, run] of Object.entries(emmettCases(() => EventStore.open({ storage: "memory" })))) test(name, run);
