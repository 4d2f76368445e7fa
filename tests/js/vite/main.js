// A Vite app that imports "evstore" like any user, with no init() call and no plugin.
import { EventStore } from "evstore";

const store = await EventStore.open({ storage: "memory" });
await store.append("Order-1", [{ type: "OrderPlaced", data: { total: 10 } }], { expectedRevision: "no_stream" });
let conflict = "";
try {
  await store.append("Order-1", [{ type: "OrderPlaced" }], { expectedRevision: "no_stream" });
} catch (e) {
  conflict = e.code;
}
const [event] = await store.readStream("Order-1");
document.getElementById("out").textContent = JSON.stringify({ type: event.type, data: event.data, conflict });
