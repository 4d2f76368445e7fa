// The shopping list's domain, with no I/O: its events, the fold that derives state from them, the
// decisions that turn a user's intent into events, and the words that describe events to people.
//
// The tenant holds two shopping lists (LISTS). Each item is a stream `Item-<list>-<uuid>` (category
// "Item"), so that one stream pattern, `Item-<list>-*`, names a whole list: a token limited to it
// (and a device syncing only it) holds that list and nothing of the other. Events: ItemAdded,
// ItemRenamed, ItemChecked, ItemUnchecked, ItemRemoved. Every append carries the item's expected revision, so two devices
// changing the same item concurrently is a conflict, not a silent overwrite.
//
// An item belongs to the device that added it (`metadata.owner` of its ItemAdded). "Delete my
// data" tombstones the owner's items: evstore records that as a `$streamDeleted` event of the
// item's stream and erases the item's events on every device.

export const CATEGORY = "Item";
export const EVENT_TYPES = ["ItemAdded", "ItemRenamed", "ItemChecked", "ItemUnchecked", "ItemRemoved"];
export const MAX_NAME = 60;
export const MAX_QUANTITY = 99;

// ── versions of the events ──────────────────────────────────────────────────────────────────

/**
 * The stored version of each event this page upcast, by event id (an event read at its current
 * version is not in it): the history shows "v1 → v2" for those. Upcasters run on every read, so
 * every read of a v1 event records it again.
 */
export const storedVersion = new Map();

/**
 * The app's schema (the store's `schema` option): `ItemAdded` is at version 2, `{ name, quantity }`.
 * Version 1 was `{ name }`, stored by earlier versions of the app (on this device, or on another
 * one, through sync): reads upcast it with a quantity of 1, and never change what is stored.
 */
export const SCHEMA = {
  ItemAdded: {
    version: 2,
    upcast: {
      1: (data, event) => {
        storedVersion.set(event.id, 1);
        return { ...data, quantity: 1 };
      },
    },
  },
};

/** The lists of the demo's tenant: `id` is part of their items' stream ids. */
export const LISTS = [
  { id: "groceries", title: "Groceries" },
  { id: "party", title: "Surprise party" },
];

export const itemStream = (list, id) => `${CATEGORY}-${list}-${id}`;
/** The stream pattern of a list's items (a prefix pattern, as tokens and `sync.streams` take them). */
export const listPattern = (list) => `${CATEGORY}-${list}-*`;
export const categoryOf = (streamId) => {
  const dash = streamId.indexOf("-");
  return dash === -1 ? streamId : streamId.slice(0, dash);
};
/** The list an item stream belongs to (its metadata stream `$$Item-…` included), or null. */
export function listOf(streamId) {
  const stream = streamId.startsWith("$$") ? streamId.slice(2) : streamId;
  if (categoryOf(stream) !== CATEGORY) return null;
  const rest = stream.slice(CATEGORY.length + 1);
  return LISTS.find((l) => rest.startsWith(`${l.id}-`))?.id ?? null;
}

/** A rule of the list was broken (not an evstore failure): its message is for the user. */
export class ListError extends Error {
  name = "ListError";
}

// ── state ───────────────────────────────────────────────────────────────────────────────────

/** An item before its first event. `checkedBy`: the ItemChecked event that ticked it off (while ticked). */
export const initialItem = () => ({ exists: false, removed: false, deleted: false, name: "", quantity: 1, checked: false, checkedBy: null, addedPosition: null, addedBy: null, owner: null });

/** The name shown for an item whose ItemAdded (and renames) fell out of its retention. */
export const UNKNOWN_NAME = "(name not kept)";

/**
 * An item known from a later event only: its first events were removed by the retention set in
 * the history view (`maxCount`), so it exists from its first kept event on.
 */
function known(state, event) {
  if (state.exists || !EVENT_TYPES.includes(event.type) || event.type === "ItemAdded") return state;
  return { ...state, exists: true, name: UNKNOWN_NAME, addedPosition: event.position };
}

/** One item's state after `event` (of that item's stream). */
export function evolveItem(state, event) {
  state = known(state, event);
  switch (event.type) {
    case "ItemAdded":
      return {
        ...state,
        exists: true,
        name: event.data.name,
        quantity: event.data.quantity,
        checked: false,
        checkedBy: null,
        addedPosition: event.position,
        addedBy: event.metadata.device ?? null,
        owner: event.metadata.owner ?? event.metadata.device ?? null,
      };
    case "ItemRenamed":
      return { ...state, name: event.data.name };
    case "ItemChecked":
      return { ...state, checked: true, checkedBy: event };
    case "ItemUnchecked":
      return { ...state, checked: false, checkedBy: null };
    case "ItemRemoved":
      return { ...state, removed: true };
    case "$streamDeleted": // erased by its owner: gone for good, on every device
      return { ...state, removed: true, deleted: true };
    default:
      return state; // an event type this version does not know: ignored, never fatal
  }
}

/**
 * The list as of `upTo` (a position, inclusive; default: everything): folds the "Item" events of
 * `events` (the global log, in position order), those of list `list` only when it is given.
 * Returns the visible items in the order they were added:
 * `[{ streamId, name, quantity, checked, checkedBy, addedPosition, addedBy, revision, lastPosition }]`.
 */
export function foldList(events, upTo = Infinity, list = null) {
  const items = new Map();
  for (const event of events) {
    if (event.position > upTo) break;
    if (categoryOf(event.streamId) !== CATEGORY) continue;
    if (list !== null && listOf(event.streamId) !== list) continue;
    const item = evolveItem(items.get(event.streamId) ?? initialItem(), event);
    items.set(event.streamId, { ...item, streamId: event.streamId, revision: event.revision, lastPosition: event.position });
  }
  return [...items.values()].filter((i) => i.exists && !i.removed).sort((a, b) => a.addedPosition - b.addedPosition);
}

/**
 * What a device holds, per list and per stream, from `events` (its local log): `{ lists: [{ id,
 * title, streams, events }], streams: [[streamId, events]] }` (streams in order of first event).
 */
export function holdings(events) {
  const perStream = new Map();
  for (const event of events) perStream.set(event.streamId, (perStream.get(event.streamId) ?? 0) + 1);
  const lists = LISTS.map((l) => {
    const mine = [...perStream].filter(([streamId]) => listOf(streamId) === l.id);
    return { ...l, streams: mine.filter(([streamId]) => !streamId.startsWith("$$")).length, events: mine.reduce((n, [, count]) => n + count, 0) };
  });
  return { lists, streams: [...perStream] };
}

// ── decisions ───────────────────────────────────────────────────────────────────────────────

export function cleanName(raw) {
  const name = String(raw ?? "").replace(/\s+/g, " ").trim();
  if (name === "") throw new ListError("Type a name for the item first.");
  if (name.length > MAX_NAME) throw new ListError(`Names are at most ${MAX_NAME} characters (this one has ${name.length}).`);
  return name;
}

/** A quantity typed by the user (default 1): a whole number from 1 to MAX_QUANTITY. */
export function cleanQuantity(raw = 1) {
  const text = String(raw ?? "").trim();
  const quantity = text === "" ? 1 : Number(text);
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) throw new ListError(`The quantity is a whole number from 1 to ${MAX_QUANTITY} (not “${text}”).`);
  return quantity;
}

/** A new item (`ItemAdded` v2), `quantity` of it (default 1), owned by `owner` (the device that adds it). */
export const decideAdd = (name, owner, quantity = 1) => [{ type: "ItemAdded", data: { name: cleanName(name), quantity: cleanQuantity(quantity) }, metadata: owner ? { owner } : {} }];

/** The Item streams of `events` (the log) that `owner` added: those "Delete my data" erases. */
export function ownedItems(events, owner) {
  const owned = new Set();
  for (const event of events) {
    if (event.type !== "ItemAdded" || categoryOf(event.streamId) !== CATEGORY) continue;
    if ((event.metadata?.owner ?? event.metadata?.device) === owner) owned.add(event.streamId); // items added before owners were recorded: their device
  }
  return [...owned];
}

function mustExist(state) {
  if (!state.exists) throw new ListError("This item does not exist (yet) on this device.");
  if (state.removed) throw new ListError(`“${state.name}” was removed meanwhile.`);
}

export function decideRename(state, name) {
  mustExist(state);
  const clean = cleanName(name);
  return clean === state.name ? [] : [{ type: "ItemRenamed", data: { name: clean } }];
}

export function decideCheck(state, checked) {
  mustExist(state);
  if (state.checked === checked) return [];
  return [{ type: checked ? "ItemChecked" : "ItemUnchecked", data: {} }];
}

export function decideRemove(state) {
  mustExist(state);
  return [{ type: "ItemRemoved", data: {} }];
}

/**
 * "Clear ticked", for one item: removes it if it is ticked off (nothing otherwise). The app appends
 * it with `causedBy: state.checkedBy`, so the removal records the tick that caused it.
 */
export function decideClear(state) {
  mustExist(state);
  return state.checked ? [{ type: "ItemRemoved", data: {} }] : [];
}

// ── words ───────────────────────────────────────────────────────────────────────────────────

/** What `event` did, in words (`before`: the item's state before it, for renames). */
export function describe(event, before = initialItem()) {
  switch (event.type) {
    case "ItemAdded":
      return event.data.quantity > 1 ? `added ${event.data.quantity} × “${event.data.name}”` : `added “${event.data.name}”`;
    case "ItemRenamed":
      return before.exists ? `renamed “${before.name}” to “${event.data.name}”` : `renamed it to “${event.data.name}”`;
    case "ItemChecked":
      return `ticked off “${before.name || "the item"}”`;
    case "ItemUnchecked":
      return `unticked “${before.name || "the item"}”`;
    case "ItemRemoved":
      return `removed “${before.name || "the item"}”`;
    case "$streamDeleted":
      return before.exists ? `erased “${before.name}” for good` : "erased an item for good";
    case "$metadata":
      return event.data?.maxCount ? `kept only its last ${event.data.maxCount} events` : event.data?.truncateBefore !== undefined ? "cleared its history" : "kept all its events";
    default:
      return `recorded ${event.type}`;
  }
}

/** Describes each of `events` (one stream's, in order), starting from `state`. */
export function describeAll(events, state = initialItem()) {
  return events.map((event) => {
    const text = describe(event, state);
    state = evolveItem(state, event);
    return text;
  });
}
