// The demo app: it imports "evstore" like any user (an import map points it at the package).
import { EventStore } from "evstore";

const $ = (id) => document.getElementById(id);
let store;
let live;
let pending = false;

async function openStore() {
  live?.unsubscribe();
  await store?.close();
  const storage = $("storage").value;
  store = await EventStore.open(storage === "indexeddb" ? { storage, name: "evstore-demo" } : { storage });
  await render();
  // The log stays live: events appended here, or in another tab on the same IndexedDB database.
  live = store.subscribe(scheduleRender, { after: "end" });
}

function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

function parseExpected(text) {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : t;
}

function show(kind, text) {
  const out = $("result");
  out.className = kind;
  out.textContent = text;
}

async function render() {
  const events = await store.readAll({ direction: "backwards", maxCount: 200 });
  $("count").textContent = `(${events.length ? events[0].position + 1 : 0} events)`;
  $("log").replaceChildren(
    ...events.map((e) => {
      const tr = document.createElement("tr");
      for (const v of [e.position, e.streamId, e.revision, e.type, JSON.stringify(e.data)]) {
        const td = document.createElement("td");
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
}

$("append").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  let data;
  try {
    data = $("data").value.trim() === "" ? undefined : JSON.parse($("data").value);
  } catch (e) {
    return show("error", `data is not JSON: ${e.message}`);
  }
  try {
    const r = await store.append($("stream").value, [{ type: $("type").value, data }], {
      expectedRevision: parseExpected($("expected").value),
    });
    show("ok", `appended: nextExpectedRevision ${r.nextExpectedRevision}, position ${r.position}`);
    $("expected").value = String(r.nextExpectedRevision);
  } catch (e) {
    const fields = Object.entries(e)
      .filter(([k]) => !["name", "message"].includes(k))
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
    show("error", `${e.name} ${e.code}\n${e.message}\n${fields.join("\n")}`);
  }
});

$("storage").addEventListener("change", () => openStore().catch((e) => show("error", `${e.code}: ${e.message}`)));
await openStore();
document.body.dataset.ready = "true";
