// A dedicated module worker that appends to an IndexedDB store (module workers have no import
// maps, so the package entry is imported by path).
import { EventStore } from "/pkg/index.js";

onmessage = async ({ data: { name, stream, n } }) => {
  try {
    const store = await EventStore.open({ storage: "indexeddb", name });
    for (let i = 0; i < n; i++) await store.append(stream, [{ type: "FromWorker", data: i }]);
    postMessage({ done: true });
  } catch (e) {
    postMessage({ error: `${e.name} ${e.code} ${e.message}` });
  }
};
