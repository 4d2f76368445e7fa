// The demo app: a shared shopping list whose state is derived only from evstore events.
// It imports "evstore" like any user (an import map points it at the built package), keeps the
// events of this device in IndexedDB, and syncs them through the edge service (`make demo`).
import { gate } from "./gate.js"; // first: it wraps WebSocket and fetch before evstore loads
import { EventStore } from "evstore";
import {
  CATEGORY,
  LISTS,
  ListError,
  SCHEMA,
  categoryOf,
  decideAdd,
  decideCheck,
  decideClear,
  decideRemove,
  decideRename,
  describe,
  describeAll,
  evolveItem,
  foldList,
  holdings,
  initialItem,
  itemStream,
  listOf,
  listPattern,
  ownedItems,
  storedVersion,
} from "./model.js";

const $ = (id) => document.getElementById(id);

/** A DOM element: `h("li", { class: "x", onclick }, child, "text")` (text is never parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// ── the device ──────────────────────────────────────────────────────────────────────────────

// `?device=alice`: each device name is its own IndexedDB database, so two windows of one browser
// act as two devices. Names are kept to a-z, 0-9, - and _.
const params = new URLSearchParams(location.search);
const device = (params.get("device") ?? "alice").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+/, "").slice(0, 32) || "alice";
const other = device === "alice" ? "bob" : "alice";
const offlineKey = `evstore-demo-offline:${device}`;
document.title = `${device} · Shopping list · evstore demo`;
$("device-name").textContent = device;
$("other-device").append(
  "Try it: open ",
  h("a", { href: `?device=${other}`, target: "_blank" }, `?device=${other}`),
  " in a window next to this one.",
);

// ── what the app shows (everything is derived from the store on each refresh) ───────────────

const view = {
  list: LISTS[0].id, // the list shown
  events: [], // the whole local log, in position order
  status: null, // store.sync.status(), or null without sync
  conflicts: [], // store.sync.conflicts()
  travel: null, // a position to show the list as of, or null for now
  editing: null, // { streamId, draft } while an item is being renamed
  busy: false, // a reopen is in progress
};
let store;
let syncNote = ""; // why this device does not sync, when it does not
// The stream patterns this device's token reaches (the demo server's policy, /api/config's
// `access`), which its store also selects (`sync.streams`); null: the whole tenant.
let access = null;
/** The lists this device holds: those whose pattern its access names (all without a limit). */
const reachable = () => LISTS.filter((l) => access === null || access.includes(listPattern(l.id)));
let cleanup = [];

// ── errors, in words ────────────────────────────────────────────────────────────────────────

/** What went wrong, for a person. `doing` says what the app was trying to do. */
export function explain(err, doing) {
  if (err instanceof ListError) return err.message;
  if (err?.name === "EventStoreError") {
    const code = ` (evstore: ${err.code})`;
    switch (err.code) {
      case "WRONG_EXPECTED_REVISION":
        return `${doing} did not happen: the item changed on this device in the meantime (another tab, or a change that just synced in). The list now shows the latest version; try again.${code}`;
      case "QUOTA_EXCEEDED":
        return `${doing} did not happen: the browser has no storage space left for this site. Free some space (or remove this site's data) and try again.${code}`;
      case "CLOSED":
        return `${doing} did not happen: the store was just reopened. Try again.${code}`;
      case "UNAUTHENTICATED":
        // The store reports a token() that failed (here: the app server is unreachable) under this code too.
        if (/^sync\.token\(\) failed: /.test(err.message)) {
          return `No sign-in token for the edge service: ${err.message.replace(/^sync\.token\(\) failed: /, "")}. Your changes wait on this device and sync once it can get one.${code}`;
        }
        return `The edge service refused this device's token: ${err.message}. Your changes wait on this device; the app retries with a fresh token.${code}`;
      case "FORBIDDEN":
        return `The edge service does not allow this device here: ${err.message}.${code}`;
      case "STREAM_DELETED":
        return `${doing} did not happen: the item was erased for good by the device that added it.${code}`;
      case "INVALID_ARGUMENT":
        return `${doing} was refused: ${err.message}.${code}`;
      case "STORAGE_ERROR":
        return `${doing} failed: the browser's storage reported a problem (${err.message}). Reloading the page usually helps.${code}`;
      default:
        return `${doing} failed: ${err.message}${code}`;
    }
  }
  return `${doing} failed: ${err?.message ?? String(err)}`;
}

function notify(text) {
  $("notice-text").textContent = text;
  $("notice").hidden = false;
}
$("notice-close").addEventListener("click", () => ($("notice").hidden = true));

// ── the store ───────────────────────────────────────────────────────────────────────────────

/** Where to sync (the demo server's /api/config, cached by the service worker), or null. */
async function loadConfig() {
  try {
    const res = await fetch("/api/config");
    if (res.ok) {
      const config = await res.json();
      localStorage.setItem("evstore-demo-config", JSON.stringify(config));
      return config;
    }
  } catch {
    // offline and not cached yet: fall back to the copy of an earlier visit
  }
  const kept = localStorage.getItem("evstore-demo-config");
  return kept ? JSON.parse(kept) : null;
}

/** The store's `token()`: a development token from the demo server, minted for this device. */
async function devToken() {
  let res;
  try {
    res = await fetch(`/api/dev-token?device=${encodeURIComponent(device)}`, { cache: "no-store" });
  } catch {
    throw new Error("the app server cannot be reached for a token");
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(`the app server gave no token: ${body?.error?.message ?? `HTTP ${res.status}`}`);
  }
  return (await res.json()).token;
}

async function openStore() {
  const config = await loadConfig();
  const patterns = config?.access && Object.hasOwn(config.access, device) ? config.access[device] : null;
  access = Array.isArray(patterns) ? patterns : null;
  if (!reachable().some((l) => l.id === view.list)) view.list = reachable()[0]?.id ?? LISTS[0].id;
  // Every open reads with the app's schema: ItemAdded events stored at v1 (by an earlier version of
  // the app, here or on another device) read as v2.
  const local = { storage: "indexeddb", name: `evstore-demo-${device}`, schema: SCHEMA };
  if (!config?.syncUrl) {
    syncNote = "No sync server is configured (run `make demo`): the list lives on this device only.";
    return EventStore.open(local);
  }
  gate.setOrigin(config.syncUrl);
  try {
    syncNote = "";
    // A scoped device asks for the streams its token reaches, no more: the server never sends it
    // anything else, and the store refuses at once a local append outside them.
    const streams = access === null ? {} : { streams: access };
    return await EventStore.open({ ...local, sync: { url: config.syncUrl, token: devToken, ...streams } });
  } catch (err) {
    // The list must open whatever happened to sync: open it on this device alone, and say why.
    syncNote = `Sync is off: ${explain(err, "Opening the store with sync")} The list lives on this device only for now.`;
    return EventStore.open(local);
  }
}

const unsubscribe = (handle) => (typeof handle === "function" ? handle() : handle?.unsubscribe?.());

/** Opens the store and keeps the view live: new events (also from other tabs and from sync), sync status, conflicts. */
async function start() {
  store = await openStore();
  document.body.dataset.sync = store.sync ? "on" : syncNote.startsWith("Sync is off") ? "failed" : "unconfigured";
  // The handler returns nothing: a returned promise would be awaited before the next event, one
  // whole refresh per event (a device catching up on a few hundred synced events would re-render
  // as many times). scheduleRefresh coalesces the events delivered meanwhile into one refresh.
  const onEvent = (event) => {
    window.__delivered = event.position; // for the demo's tests
    scheduleRefresh();
  };
  cleanup = [store.subscribe(onEvent, { after: "end", onError: (e) => notify(explain(e, "Watching the list")) })];
  if (store.sync) {
    view.status = store.sync.status();
    cleanup.push(store.sync.onStatus((status) => {
      view.status = status;
      renderStatus();
      scheduleRefresh(); // confirmations and rebased positions change the history's columns
    }));
    cleanup.push(store.sync.onConflict((conflict) => (erasedElsewhere(conflict) ? dropErased([conflict]) : scheduleRefresh())));
  }
  await refresh();
}

async function stop() {
  for (const handle of cleanup.splice(0)) unsubscribe(handle);
  const old = store;
  store = undefined;
  await old?.close();
}

let refreshing = null;
let again = false;
/** Re-reads the store (coalesced: one refresh at a time, one more if asked meanwhile). */
function scheduleRefresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      await refresh().catch((e) => notify(explain(e, "Reading the list")));
    } while (again);
    refreshing = null;
  })();
  return refreshing;
}

async function refresh() {
  if (!store) return;
  const s = store;
  // The status first: read before the log, it can only be older than the log, so an event is never
  // shown confirmed before it is (at worst one shows pending until the next refresh).
  const status = s.sync ? s.sync.status() : null;
  let events;
  let conflicts;
  try {
    events = await s.readAll();
    conflicts = s.sync ? await s.sync.conflicts() : [];
  } catch (err) {
    if (s !== store) return; // closed by a reopen meanwhile: the new store refreshes itself
    throw err;
  }
  if (s !== store) return;
  // A change to an item its owner erased meanwhile can never apply: dropped, with a notice.
  const erased = conflicts.filter(erasedElsewhere);
  if (erased.length) {
    dropErased(erased);
    conflicts = conflicts.filter((c) => !erased.includes(c));
  }
  view.events = events;
  view.conflicts = conflicts;
  view.status = status;
  render();
}

// ── erasure: "Delete my data", and changes to items erased on another device ───────────────

/**
 * Whether `conflict` is about an item that was erased for good (tombstoned) on another device: the
 * service refused the change with STREAM_DELETED, or what it has of the item ends with the tombstone.
 */
const erasedElsewhere = (conflict) => conflict.error?.code === "STREAM_DELETED" || conflict.theirs.some((e) => e.type === "$streamDeleted");

const dropping = new Set(); // streams whose erased-item conflict is being discarded
/** Discards the held changes of erased items (nothing can bring them back) and says so. */
async function dropErased(conflicts) {
  const fresh = conflicts.filter((c) => !dropping.has(c.streamId));
  if (!fresh.length) return;
  for (const c of fresh) dropping.add(c.streamId);
  try {
    for (const c of fresh) await c.discard();
    notify(
      fresh.length === 1
        ? "An item you changed offline was erased for good by the device that added it; your change to it was dropped."
        : `${fresh.length} items you changed offline were erased for good by the device that added them; your changes to them were dropped.`,
    );
  } catch (err) {
    notify(explain(err, "Dropping the changes to an erased item"));
  } finally {
    for (const c of fresh) dropping.delete(c.streamId);
    scheduleRefresh();
  }
}

/**
 * The items this device added: those whose ItemAdded says so, and those whose ItemAdded fell out
 * of their retention, whose owner the retention selector kept in the stream's metadata.
 */
async function myItems() {
  const mine = new Set(ownedItems(view.events, device));
  const added = new Set(view.events.filter((e) => e.type === "ItemAdded").map((e) => e.streamId));
  const startless = new Set(view.events.filter((e) => categoryOf(e.streamId) === CATEGORY && !added.has(e.streamId)).map((e) => e.streamId));
  for (const streamId of startless) {
    const { metadata } = await store.getStreamMetadata(streamId).catch(() => ({ metadata: {} }));
    if (metadata.custom?.owner === device) mine.add(streamId);
  }
  return [...mine];
}

/**
 * "Delete my data": erases for good every item this device added (tombstones their streams, which
 * removes their events from this device's storage at once), then syncs, so that the edge service
 * and every other device erase them too.
 */
async function deleteMyData() {
  if (!store || view.busy) return notify("Deleting your data did not happen: the store is being reopened, try again in a moment.");
  const mine = await myItems();
  if (!mine.length) return notify("There is nothing of yours to delete: this device added none of the items on the list.");
  const button = $("delete-mine");
  button.disabled = true;
  try {
    let erased = 0;
    for (const streamId of mine) {
      try {
        await store.tombstoneStream(streamId);
        erased++;
      } catch (err) {
        if (err?.code !== "STREAM_DELETED") throw err; // already erased: nothing left to do
      }
    }
    const what = `${erased} item${erased === 1 ? "" : "s"} you added`;
    if (store.sync) {
      notify(`Erased ${what} from this device; syncing the erasure to the other devices…`);
      await scheduleRefresh();
      await store.sync.flush();
      notify(`Erased ${what}, on this device and through the edge service on every device.`);
    } else {
      notify(`Erased ${what} from this device.`);
    }
    document.body.dataset.erased = String(erased);
  } catch (err) {
    notify(explain(err, "Deleting your data"));
  } finally {
    button.disabled = false;
    await scheduleRefresh();
  }
}
$("delete-mine").addEventListener("click", deleteMyData);

// ── retention: how many events of an item the store keeps ──────────────────────────────────

/** The retention selector of the history view, for the item chosen in its stream filter. */
async function renderRetention() {
  const streamId = $("filter-stream").value;
  const box = $("retention");
  const select = $("retention-count");
  const isItem = streamId !== "" && categoryOf(streamId) === CATEGORY && store;
  box.hidden = !isItem;
  if (!isItem) return;
  try {
    const { metadata } = await store.getStreamMetadata(streamId);
    if ($("filter-stream").value !== streamId) return; // another stream was chosen meanwhile
    select.value = String(metadata.maxCount ?? "");
    select.dataset.stream = streamId;
  } catch (err) {
    box.hidden = true;
    if (err?.code !== "STREAM_DELETED") notify(explain(err, "Reading the item's retention"));
  }
}

$("retention-count").addEventListener("change", async (e) => {
  const streamId = e.target.dataset.stream;
  const value = e.target.value;
  if (!store || !streamId) return;
  try {
    // The whole metadata is replaced: its custom part is kept, with the item's owner, so that
    // "Delete my data" still finds the item once its ItemAdded falls out of the retention.
    const { metadata } = await store.getStreamMetadata(streamId);
    const { state } = await store.aggregateStream(streamId, { initialState: initialItem, evolve: evolveItem });
    const owner = metadata.custom?.owner ?? state.owner; // null: added before owners were recorded
    const custom = { ...metadata.custom, ...(owner ? { owner } : {}) };
    const next = Object.keys(custom).length ? { custom } : {};
    if (value !== "") next.maxCount = Number(value);
    await store.setStreamMetadata(streamId, next);
    $("notice").hidden = true;
  } catch (err) {
    notify(explain(err, "Changing how much history the item keeps"));
  } finally {
    await scheduleRefresh();
  }
});

// ── commands: fold the item's stream, decide, append with the revision folded ──────────────

/**
 * Runs one command; true when it was applied (or had nothing to do), false when it was refused.
 * `causedBy(state)`, when given, names the recorded event that caused the command's events (the
 * store records it as their `causationId`, and carries its `correlationId` on).
 */
async function command(doing, streamId, decide, causedBy) {
  if (!store || view.busy) {
    notify(`${doing} did not happen: the store is being reopened, try again in a moment.`);
    return false;
  }
  try {
    const { state, expectedRevision } = await store.aggregateStream(streamId, { initialState: initialItem, evolve: evolveItem });
    const events = decide(state);
    const cause = causedBy?.(state);
    if (events.length) await store.append(streamId, events.map((e) => ({ ...e, metadata: { ...e.metadata, device } })), { expectedRevision, ...(cause ? { causedBy: cause } : {}) });
    $("notice").hidden = true;
    return true;
  } catch (err) {
    notify(explain(err, doing));
    return false;
  } finally {
    await scheduleRefresh();
  }
}

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("new-item");
  const count = $("new-quantity");
  const name = input.value;
  const quantity = count.value;
  const doing = `Adding “${name.trim()}”`;
  let events;
  try {
    events = decideAdd(name, device, quantity); // a new item's stream has no state to fold: decide before clearing the box
  } catch (err) {
    notify(explain(err, doing)); // the text stays, to be fixed
    return input.focus();
  }
  input.value = ""; // at once: the next item can be typed while this one is stored
  count.value = "1";
  const added = await command(doing, itemStream(view.list, crypto.randomUUID()), () => events);
  if (!added && input.value === "") {
    input.value = name; // refused by the store: given back
    count.value = quantity;
  }
  input.focus();
});

/**
 * "Clear ticked": removes every ticked-off item of the list shown, each removal caused by the
 * ItemChecked event that ticked the item off (its `causedBy`), so the history can say why.
 */
async function clearTicked() {
  const ticked = foldList(view.events, Infinity, view.list).filter((i) => i.checked);
  if (!ticked.length) return notify("Nothing is ticked off: tick items off first, then clear them.");
  const button = $("clear-ticked");
  button.disabled = true;
  try {
    for (const item of ticked) {
      if (!(await command(`Clearing “${item.name}”`, item.streamId, decideClear, (state) => state.checkedBy))) break;
    }
  } finally {
    button.disabled = false;
  }
}
$("clear-ticked").addEventListener("click", clearTicked);

// ── sync: status, the offline switch, conflicts ─────────────────────────────────────────────

/**
 * The sync state to show: the store's, except that a device switched off is offline, and that an
 * offline device retrying stays "offline" until it is back (no flicker at every retry).
 */
let settled = null;
function shownState(status) {
  if (gate.offline) return (settled = "offline");
  if (status.state !== "connecting") return (settled = status.state);
  return settled === "offline" ? "offline" : "connecting";
}

function statusWords(status) {
  if (!store?.sync) return { pill: "This device only", kind: "local", detail: syncNote, state: "local" };
  if (!status) return { pill: "Starting…", kind: "connecting", detail: "", state: "connecting" };
  const state = shownState(status);
  const waiting = status.pending === 1 ? "1 change" : `${status.pending} changes`;
  const upTo = status.confirmedPosition === null ? "" : ` (up to position ${status.confirmedPosition})`;
  let pill;
  let kind;
  if (status.conflicts > 0) {
    pill = status.conflicts === 1 ? "1 conflict needs you" : `${status.conflicts} conflicts need you`;
    kind = "conflict";
  } else if (state === "online") {
    pill = status.pending ? `Syncing ${waiting}…` : "Synced";
    kind = status.pending ? "syncing" : "online";
  } else if (state === "connecting") {
    pill = status.pending ? `Connecting… ${waiting} waiting` : "Connecting…";
    kind = "connecting";
  } else {
    pill = status.pending ? `Offline · ${waiting} waiting` : "Offline";
    kind = "offline";
  }
  const parts = [];
  if (gate.offline) parts.push("Network switched off: changes stay on this device until you switch it back on.");
  else if (state === "offline") parts.push("The servers cannot be reached: changes stay on this device and sync when they can.");
  const confirmedUpTo = status.confirmedPosition === null ? "" : `; confirmed up to position ${status.confirmedPosition}`;
  if (status.pending) parts.push(`${waiting} not yet confirmed by the edge service${confirmedUpTo}.`);
  else parts.push(status.confirmedPosition === null ? "Nothing to sync yet." : `Everything is confirmed by the edge service${upTo}.`);
  // A token that could not be fetched while offline is just being offline; other problems are shown.
  const error = status.lastError;
  const tokenUnreachable = error?.code === "UNAUTHENTICATED" && /^sync\.token\(\) failed: /.test(error.message);
  if (error && !(tokenUnreachable && state !== "online")) parts.push(`Problem: ${explain(error, "Syncing")}`);
  return { pill, kind, detail: parts.join(" "), state };
}

function renderStatus() {
  const { pill, kind, detail, state } = statusWords(view.status);
  const el = $("sync-pill");
  el.textContent = pill;
  el.className = `pill ${kind}`;
  el.dataset.state = state;
  el.dataset.pending = String(view.status?.pending ?? 0);
  $("sync-detail").textContent = detail;
  $("online-switch").checked = !gate.offline;
  $("online-switch").disabled = view.busy;
  $("online-switch").closest("label").hidden = !store?.sync;
  $("online-label").textContent = gate.offline ? "Network off" : "Network on";
  document.body.classList.toggle("is-offline", gate.offline);
}

// The switch is the device's: every tab of this device follows it (only one of them syncs, the
// one holding the store's lock), and a tab opened later starts in the same position.
const networkChannel = new BroadcastChannel(`evstore-demo-network:${device}`);

async function setOffline(offline, { tell = true } = {}) {
  if (offline === gate.offline) return;
  localStorage.setItem(offlineKey, offline ? "1" : "");
  if (tell) networkChannel.postMessage({ offline });
  gate.setOffline(offline);
  renderStatus();
  if (offline) return;
  // Back on: reopen the store so that it connects now rather than at its next retry.
  view.busy = true;
  renderStatus();
  try {
    await stop();
    await start();
  } catch (err) {
    notify(explain(err, "Reconnecting"));
  } finally {
    view.busy = false;
    renderStatus();
  }
}
networkChannel.onmessage = (m) => setOffline(Boolean(m.data?.offline), { tell: false });
$("online-switch").addEventListener("change", (e) => setOffline(!e.target.checked));

/** The item as both devices last agreed on: its events that are neither held here nor theirs. */
function commonBase(conflict) {
  const skip = new Set([...conflict.pending, ...conflict.theirs].map((e) => e.id));
  return view.events.filter((e) => e.streamId === conflict.streamId && !skip.has(e.id)).reduce(evolveItem, initialItem());
}

const who = (event) => event.metadata?.device ?? "another device";

/** `metadata` without the keys the store reserves for itself (those starting with `$`). */
const withoutReserved = (metadata) => Object.fromEntries(Object.entries(metadata ?? {}).filter(([key]) => !key.startsWith("$")));

function renderConflict(conflict) {
  const base = commonBase(conflict);
  const name = base.name || "an item";
  const theirs = describeAll(conflict.theirs, base).map((text, i) => h("li", {}, h("b", {}, who(conflict.theirs[i])), ` ${text}`));
  const mine = describeAll(conflict.pending, base).map((text) => h("li", {}, h("b", {}, `you (${device})`), ` ${text}`));
  const afterTheirs = conflict.theirs.reduce(evolveItem, base);
  const canRetry = !afterTheirs.removed;
  const resolve = async (doing, action) => {
    try {
      await action();
      $("notice").hidden = true;
    } catch (err) {
      notify(explain(err, doing));
    } finally {
      await scheduleRefresh();
    }
  };
  const keepTheirs = () => resolve("Keeping their version", () => conflict.discard());
  // "Apply mine again": the same changes, as new events on top of theirs. Their metadata as read
  // holds keys the store sets itself ($schemaVersion), which an append refuses: left out.
  const applyMine = () =>
    resolve("Applying your change again", () =>
      conflict.retry(
        conflict.pending.map((e) => ({ type: e.type, data: e.data, metadata: { ...withoutReserved(e.metadata), device } })),
        { expectedRevision: conflict.actualRevision },
      ),
    );
  return h(
    "article",
    { class: "conflict-card", dataset: { stream: conflict.streamId } },
    h("h3", {}, `Conflict: “${name}” was changed on two devices before they could sync`),
    h("p", {}, "The edge service already has the other change, so yours is held back on this device until you choose:"),
    h("ul", {}, theirs, mine),
    canRetry ? null : h("p", { class: "muted" }, `Your change cannot be applied again: “${name}” was removed on the other device.`),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "keep-theirs", onclick: keepTheirs, title: "Drop your change; the item becomes what the other device made it" }, "Keep theirs"),
      canRetry ? h("button", { type: "button", class: "apply-mine secondary", onclick: applyMine, title: "Apply your change on top of theirs" }, "Apply mine again") : null,
    ),
    h(
      "p",
      { class: "hint" },
      canRetry
        ? `Keep theirs drops your change on this device. Apply mine again makes the same change on top of theirs, for every device.`
        : "Keep theirs drops your change on this device.",
    ),
  );
}

// ── rendering ───────────────────────────────────────────────────────────────────────────────

const heldStreams = () => new Set(view.conflicts.map((c) => c.streamId));

/** "confirmed", "pending", "held" or "local" (no sync) for an event of the local log. */
function syncState(event, held) {
  if (!store?.sync) return "local";
  const confirmed = view.status?.confirmedPosition;
  if (confirmed !== null && confirmed !== undefined && event.position <= confirmed) return "confirmed";
  return held.has(event.streamId) ? "held" : "pending";
}

let rendering = false;
const time = (date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

function renderItems() {
  const past = view.travel !== null;
  const items = foldList(view.events, past ? view.travel : Infinity, view.list);
  const held = heldStreams();
  const unconfirmed = new Set(view.events.filter((e) => syncState(e, held) === "pending").map((e) => e.streamId));
  const done = items.filter((i) => i.checked).length;
  $("list-count").textContent = items.length ? `${items.length} item${items.length === 1 ? "" : "s"} · ${done} ticked off` : "";
  $("empty").hidden = items.length > 0;
  $("empty").textContent = past ? "The list was empty at that point." : "Nothing on the list yet. Add something above — then look at the history on the right.";
  $("add-form").hidden = past;
  $("clear-ticked").hidden = past;
  $("clear-ticked").disabled = done === 0;
  $("conflicts").replaceChildren(...(past ? [] : view.conflicts.map(renderConflict)));

  const rows = items.map((item) => {
    const editing = !past && view.editing?.streamId === item.streamId;
    const check = () => command(`Ticking off “${item.name}”`, item.streamId, (s) => decideCheck(s, !item.checked));
    const remove = () => command(`Removing “${item.name}”`, item.streamId, decideRemove);
    const startRename = () => {
      view.editing = { streamId: item.streamId, draft: item.name };
      renderItems();
    };
    const badges = [];
    if (!past && held.has(item.streamId)) badges.push(h("span", { class: "badge held", title: "Changed on two devices: see the conflict above" }, "conflict"));
    else if (!past && unconfirmed.has(item.streamId)) badges.push(h("span", { class: "badge pending", title: "Saved on this device; not yet confirmed by the edge service" }, "not synced yet"));
    let label;
    if (editing) {
      const commit = async (input) => {
        // A re-render replaces the input (and may blur it): only a live input commits.
        if (rendering || !input.isConnected || view.editing?.streamId !== item.streamId) return;
        view.editing = null;
        await command(`Renaming “${item.name}”`, item.streamId, (s) => decideRename(s, input.value));
      };
      label = h("input", {
        class: "rename-input",
        value: view.editing.draft,
        maxlength: 60,
        "aria-label": `New name for ${item.name}`,
        oninput: (e) => (view.editing.draft = e.target.value),
        onkeydown: (e) => {
          if (e.key === "Enter") commit(e.target);
          if (e.key === "Escape") {
            view.editing = null;
            renderItems();
          }
        },
        onblur: (e) => commit(e.target),
      });
    } else {
      label = h("span", { class: "name", ondblclick: past ? null : startRename, title: past ? null : "Double-click to rename" }, item.name);
    }
    return h(
      "li",
      { class: `item${item.checked ? " checked" : ""}`, dataset: { stream: item.streamId, name: item.name, quantity: String(item.quantity) } },
      h("input", { type: "checkbox", class: "tick", checked: item.checked, disabled: past, "aria-label": `Ticked off: ${item.name}`, onchange: check }),
      h("span", { class: "quantity", title: "Quantity" }, `${item.quantity} ×`),
      label,
      ...badges,
      item.addedBy && item.addedBy !== device ? h("span", { class: "by muted" }, `from ${item.addedBy}`) : null,
      past ? null : h("button", { type: "button", class: "link rename", "aria-label": `Rename ${item.name}`, onclick: startRename, hidden: editing }, "Rename"),
      past ? null : h("button", { type: "button", class: "icon remove", "aria-label": `Remove ${item.name}`, title: "Remove", onclick: remove }, "✕"),
    );
  });
  const focused = document.activeElement?.classList.contains("rename-input");
  rendering = true;
  try {
    $("items").replaceChildren(...rows);
  } finally {
    rendering = false;
  }
  const input = $("items").querySelector(".rename-input");
  if (input && (focused || document.activeElement === document.body || document.activeElement === null)) {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
}

function fillSelect(select, values, label = (v) => v) {
  const current = select.value;
  const options = [h("option", { value: "" }, "all"), ...values.map((v) => h("option", { value: v }, label(v)))];
  select.replaceChildren(...options);
  select.value = values.includes(current) ? current : "";
}

function renderHistory() {
  const events = view.events;
  const head = events.length ? events[events.length - 1].position : -1;
  const names = new Map();
  for (const item of foldList(events)) names.set(item.streamId, item.name);
  const streams = [...new Set(events.map((e) => e.streamId))];
  fillSelect($("filter-stream"), streams, (s) => (names.has(s) ? `${short(s)} · ${names.get(s)}` : short(s)));
  fillSelect($("filter-category"), [...new Set(events.map((e) => categoryOf(e.streamId)))].sort());
  fillSelect($("filter-type"), [...new Set(events.map((e) => e.type))].sort());
  const byStream = $("filter-stream").value;
  const byCategory = $("filter-category").value;
  const byType = $("filter-type").value;
  const shown = events.filter(
    (e) => (!byStream || e.streamId === byStream) && (!byCategory || categoryOf(e.streamId) === byCategory) && (!byType || e.type === byType),
  );

  // Time travel: the slider runs from -1 (before the first event) to the head.
  const slider = $("travel");
  if (view.travel !== null && view.travel >= head) view.travel = null;
  slider.max = String(head);
  slider.value = String(view.travel ?? head);
  slider.disabled = events.length === 0;
  const at = view.travel === null ? null : events.find((e) => e.position === view.travel);
  $("travel-label").textContent =
    view.travel === null ? "now" : view.travel < 0 ? "before the first event" : `as of position ${view.travel}${at ? ` · ${time(at.createdAt)}` : ""}`;
  $("travel-now").hidden = view.travel === null;
  $("travel-banner").hidden = view.travel === null;
  const applied = view.travel === null ? 0 : events.filter((e) => e.position <= view.travel).length;
  $("travel-banner-text").textContent =
    view.travel === null
      ? ""
      : `You are looking at the past: the list after the first ${applied} of ${events.length} events (up to position ${view.travel}). Editing is paused until you go back to now.`;
  document.body.classList.toggle("time-travel", view.travel !== null);

  const held = heldStreams();
  const before = new Map(); // per stream: the item's state before each event, for descriptions
  const described = new Map();
  const byId = new Map();
  const chains = new Map(); // correlation id → its events, in order
  for (const e of events) {
    const state = before.get(e.streamId) ?? initialItem();
    described.set(e.id, categoryOf(e.streamId) === CATEGORY ? describe(e, state) : "");
    before.set(e.streamId, evolveItem(state, e));
    byId.set(e.id, e);
    const chain = correlationOf(e);
    chains.set(chain, [...(chains.get(chain) ?? []), e]);
  }
  // Rows that share a correlation id (a command and what it caused) get one badge, numbered in
  // the order the chains began; an event alone in its chain gets none.
  const badges = new Map();
  for (const [chain, members] of chains) if (members.length > 1) badges.set(chain, { n: badges.size + 1, size: members.length });
  /** Why `e` happened, when it names its cause: "caused by #12 ticked off “milk”", #12 a link there. */
  const causedBy = (e) => {
    const id = e.metadata?.causationId;
    if (typeof id !== "string") return null;
    const cause = byId.get(id);
    if (!cause) return h("span", { class: "cause", title: `causationId ${id}` }, " · caused by an event no longer on this device");
    return h(
      "span",
      { class: "cause", dataset: { cause: String(cause.position) } },
      " · caused by ",
      h("button", { type: "button", class: "link cause-link", title: `See the list as of position ${cause.position}`, onclick: () => travelTo(cause.position) }, `#${cause.position}`),
      ` ${described.get(cause.id) || cause.type}`,
    );
  };
  const badge = (e) => {
    const chain = badges.get(correlationOf(e));
    if (!chain) return null;
    return h("span", { class: `badge chain chain-${((chain.n - 1) % 4) + 1}`, title: `${chain.size} events share correlationId ${correlationOf(e)}`, dataset: { chain: String(chain.n) } }, `chain ${chain.n}`);
  };
  // Removed events (erased items, retention) leave their positions empty: shown as gaps in the
  // whole log (with a filter, the other streams' positions are missing anyway).
  const filtered = Boolean(byStream || byCategory || byType);
  const gapRow = (from, to) =>
    h(
      "tr",
      { class: "gap", dataset: { gap: `${from}-${to}` } },
      access === null
        ? h("td", { colspan: 9, class: "muted" }, from === to ? `position ${from} removed` : `positions ${from}–${to} removed`, " · erased or past its item's retention")
        : h("td", { colspan: 9, class: "muted" }, from === to ? `position ${from} not on this device` : `positions ${from}–${to} not on this device`, " · another list's events, never sent here (or erased ones)"),
    );
  const recent = shown.slice(-500);
  const rows = recent
    .map((e, i) => {
      const previous = i > 0 ? recent[i - 1].position : recent.length === shown.length ? -1 : e.position - 1;
      return [e, !filtered && e.position > previous + 1 ? [previous + 1, e.position - 1] : null];
    })
    .reverse()
    .flatMap(([e, gap]) => {
      const state = syncState(e, held);
      const future = view.travel !== null && e.position > view.travel;
      const row = h(
        "tr",
        { class: `${future ? "future" : ""}${view.travel === e.position ? " current" : ""}`, dataset: { position: String(e.position), state } },
        h("td", {}, h("button", { type: "button", class: "link pos", title: "See the list as of this event", onclick: () => travelTo(e.position) }, String(e.position))),
        h("td", { class: "muted" }, time(e.createdAt)),
        h("td", { class: "stream", title: e.streamId }, short(e.streamId)),
        h("td", {}, String(e.revision)),
        h("td", { class: "type", title: described.get(e.id) }, e.type, h("div", { class: "what muted" }, described.get(e.id), causedBy(e)), badge(e)),
        h("td", { class: "v", title: versionTitle(e) }, versionOf(e)),
        h("td", { class: "data", title: JSON.stringify(e.data) }, JSON.stringify(e.data)),
        h("td", {}, e.metadata?.device ?? ""),
        h("td", {}, h("span", { class: `state ${state}` }, state === "local" ? "local only" : state)),
      );
      return gap ? [row, gapRow(...gap)] : [row];
    });
  $("timeline-body").replaceChildren(...rows);
  $("timeline-count").textContent = `${shown.length} of ${events.length} events`;
  renderRetention();
}

/** The chain an event belongs to: its `correlationId`, or its own id (the first event of a chain has none). */
const correlationOf = (e) => (typeof e.metadata?.correlationId === "string" ? e.metadata.correlationId : e.id);

/**
 * The event's schema version as read, and as stored when they differ: "v1 → v2" for an event this
 * page upcast, "v2" for one stored at the current version; "" for types the schema does not version.
 */
function versionOf(e) {
  const now = e.metadata?.$schemaVersion;
  if (now === undefined) return "";
  const stored = storedVersion.get(e.id);
  return stored !== undefined && stored !== now ? `v${stored} → v${now}` : `v${now}`;
}
const versionTitle = (e) => {
  const stored = storedVersion.get(e.id);
  if (e.metadata?.$schemaVersion === undefined) return "Not versioned by the app's schema";
  return stored !== undefined && stored !== e.metadata.$schemaVersion ? `Stored at version ${stored}; read as version ${e.metadata.$schemaVersion} (upcast — the stored event is unchanged)` : `Stored at version ${e.metadata.$schemaVersion}`;
};

/** `Item-0193f1e2-…-9c1d2e` → `Item-…9c1d2e`. */
const short = (streamId) => {
  const category = categoryOf(streamId);
  return streamId.length > category.length + 9 ? `${category}-…${streamId.slice(-6)}` : streamId;
};

function travelTo(position) {
  const head = view.events.length ? view.events[view.events.length - 1].position : -1;
  view.travel = position >= head ? null : position;
  view.editing = null;
  render();
}
$("travel").addEventListener("input", (e) => travelTo(Number(e.target.value)));
$("travel-now").addEventListener("click", () => travelTo(Infinity));
$("travel-now-banner").addEventListener("click", () => travelTo(Infinity));
for (const id of ["filter-stream", "filter-category", "filter-type"]) $(id).addEventListener("change", () => renderHistory());

/** How many times the page was rendered, and the last event position its subscription was given (read by the demo's tests). */
window.__renders = 0;
window.__delivered = null;

function render() {
  window.__renders++;
  renderStatus();
  renderTabs();
  renderItems();
  renderHistory();
  renderHeld();
}

// ── the lists, and what this device holds ───────────────────────────────────────────────────

function renderTabs() {
  const lists = reachable();
  const absent = LISTS.filter((l) => !lists.includes(l));
  const tab = (l) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        "aria-selected": String(l.id === view.list),
        dataset: { list: l.id },
        onclick: () => {
          view.list = l.id;
          view.editing = null;
          render();
        },
      },
      l.title,
    );
  const note = absent.length ? h("span", { class: "absent muted" }, `${absent.map((l) => `“${l.title}”`).join(", ")}: not shared with ${device}`) : null;
  $("list-tabs").replaceChildren(...lists.map(tab), ...(note ? [note] : []));
  $("list-name").textContent = LISTS.find((l) => l.id === view.list)?.title ?? "The list";
}

/**
 * "On this device": the streams and events this device's store holds (its whole local log, as
 * `readAll()` gives it), per list: a list its token does not reach shows no stream and no event,
 * and its events' positions are holes in this device's log.
 */
function renderHeld() {
  const { lists, streams } = holdings(view.events);
  const code = (text) => h("code", {}, text);
  $("held-access").replaceChildren(
    ...(access === null
      ? [`${device}'s token reaches every stream of the tenant, and this device syncs them all (`, code("sync.streams"), " defaults to ", code('["*"]'), ")."]
      : [
          `${device}'s token reaches only `,
          ...access.flatMap((p, i) => [i ? ", " : "", code(p)]),
          " (its ",
          code("streams"),
          " claim), and this device syncs only those streams (",
          code("sync.streams"),
          "): the edge service sends it nothing else, in any frame.",
        ]),
  );
  $("held-lists-body").replaceChildren(
    ...lists.map((l) => {
      const here = access === null || access.includes(listPattern(l.id));
      return h(
        "tr",
        { class: here ? "" : "absent", dataset: { list: l.id, streams: String(l.streams), events: String(l.events), reachable: String(here) } },
        h("td", {}, l.title, " ", code(listPattern(l.id))),
        h("td", {}, String(l.streams)),
        h("td", {}, here ? String(l.events) : `${l.events} — not on this device`),
      );
    }),
  );
  const head = Math.max(view.events.at(-1)?.position ?? -1, view.status?.confirmedPosition ?? -1);
  const held = view.events.length;
  const holes = head + 1 - held;
  $("held-positions").textContent =
    head < 0
      ? "No events yet."
      : holes <= 0
        ? `The tenant's log runs from position 0 to ${head}: this device holds an event at every position.`
        : `The tenant's log runs from position 0 to ${head}: ${held} of those ${head + 1} positions hold an event on this device; the other ${holes} are holes (${
            access === null ? "erased events" : "other streams' events, never sent here, or erased ones"
          }).`;
  $("held-positions").dataset.holes = String(Math.max(0, holes));
  $("held-streams-body").replaceChildren(
    ...streams.map(([streamId, count]) =>
      h("tr", { dataset: { stream: streamId, events: String(count) } }, h("td", { title: streamId }, code(streamId)), h("td", {}, `${count} event${count === 1 ? "" : "s"}`), h("td", { class: "muted" }, LISTS.find((l) => l.id === listOf(streamId))?.title ?? "")),
    ),
  );
}

// ── the service worker: the app opens with the network off after the first load ─────────────

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return ($("footer").textContent = "This browser has no service workers: the app needs the network to open.");
  try {
    await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    $("footer").textContent = "Ready to work offline: the app, the package and its WebAssembly are cached on this device.";
    document.body.dataset.offlineReady = "true";
  } catch (err) {
    $("footer").textContent = `Working offline is not available: the service worker did not install (${err.message}).`;
  }
}

// ── start ───────────────────────────────────────────────────────────────────────────────────

gate.setOffline(localStorage.getItem(offlineKey) === "1");
try {
  await start();
} catch (err) {
  notify(explain(err, "Opening the list"));
  renderStatus();
}
document.body.dataset.ready = "true";
registerServiceWorker();
