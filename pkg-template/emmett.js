// evstore/emmett: Emmett's `EventStore` interface (appendToStream, readStream, aggregateStream,
// streamExists) over an evstore store, so that Emmett's command handlers, deciders and projections
// run on evstore — in memory, on IndexedDB, in a Durable Object.
//
// Emmett numbers stream versions as bigints. With `versionBase: 1` (the default, as Emmett's
// in-memory and PostgreSQL stores) an event's `streamPosition` is its evstore revision + 1 and a
// stream with no events has version 0n; with `versionBase: 0` (as Emmett's EventStoreDB store)
// it is the revision itself and a stream with no events has version -1n. `globalPosition` is the
// evstore position + versionBase.
//
// Stream lifecycle: a hard-deleted (tombstoned) stream reads as not existing (no events,
// `streamExists: false`), and an append to it rethrows evstore's STREAM_DELETED error. After a
// soft delete or retention the stream's first visible version may be above the first one.
//
// Schema evolution: reads get the events as the store delivers them, upcast by the store's
// `schema` (with `metadata.$schemaVersion`); Emmett's own `schema.versioning.upcast` runs after
// that, on the store's current shape (and its `downcast` must produce that shape). `aggregateStream`
// refuses, as the store's, to fold an event written by a newer app (SCHEMA_TOO_NEW).
// `appendToStream(…, { causedBy })` takes an evstore recorded event or an Emmett read event.
import {
  ExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
  downcastRecordedMessages,
  upcastRecordedMessages,
} from "@event-driven-io/emmett";

export { ExpectedVersionConflictError, NO_CONCURRENCY_CHECK, STREAM_DOES_NOT_EXIST, STREAM_EXISTS };

// Metadata keys that a read event got from the reads (Emmett's positions, which this adapter adds,
// and the store's `$schemaVersion`); not stored again when such an event is appended, the store
// stamps its own version. Any other `$` key is refused by the store (INVALID_ARGUMENT).
const RECORDED_KEYS = new Set(["messageId", "streamName", "streamPosition", "globalPosition", "$schemaVersion"]);
const OPTION_KEYS = ["versionBase", "hooks"];
// Where an opened evstore store keeps its compiled `schema` (`undefined` without one).
const SCHEMA = Symbol.for("evstore.schema");

/**
 * `causedBy` for the store: an evstore recorded event as given; an Emmett read event (no `id`, its
 * id in `metadata.messageId`) as `{ id, metadata: { correlationId } }`. Anything else goes to the
 * store as given, which refuses it (INVALID_ARGUMENT).
 */
function causeOf(cause) {
  if (cause === null || typeof cause !== "object" || typeof cause.id === "string") return cause;
  const metadata = cause.metadata;
  if (metadata === null || typeof metadata !== "object" || typeof metadata.messageId !== "string") return cause;
  return { id: metadata.messageId, metadata: typeof metadata.correlationId === "string" ? { correlationId: metadata.correlationId } : {} };
}

/**
 * Emmett's `EventStore` over `store` (an opened evstore `EventStore`).
 * Options: `versionBase` (1 by default, or 0) and `hooks.onAfterCommit`, called after each
 * successful append with the appended events as Emmett read events; what it throws is logged,
 * and the append still succeeds (as in Emmett's own stores).
 */
export function getEmmettEventStore(store, options = {}) {
  if (store === null || typeof store !== "object" || typeof store.append !== "function") {
    throw new TypeError("getEmmettEventStore needs an opened evstore EventStore");
  }
  for (const key of Object.keys(options ?? {})) {
    if (!OPTION_KEYS.includes(key)) throw new TypeError(`unknown option "${key}" for getEmmettEventStore (accepted: ${OPTION_KEYS.join(", ")})`);
  }
  const { versionBase = 1, hooks } = options ?? {};
  if (versionBase !== 0 && versionBase !== 1) throw new TypeError(`versionBase must be 0 or 1, got ${String(versionBase)}`);
  const base = BigInt(versionBase);
  const noStream = base - 1n; // the version of a stream with no events

  const version = (revision) => (revision === null ? noStream : BigInt(revision) + base);
  const readEvent = (e) => ({
    type: e.type,
    data: e.data,
    metadata: {
      ...e.metadata,
      messageId: e.id,
      streamName: e.streamId,
      streamPosition: BigInt(e.revision) + base,
      globalPosition: BigInt(e.position) + base,
    },
    kind: "Event",
  });

  // Emmett's expected version → evstore's expected revision; `undefined` when no revision of an
  // existing or missing stream can ever match (a version below the first one).
  const expectedRevision = (expected) => {
    if (expected === undefined || expected === null || expected === NO_CONCURRENCY_CHECK) return "any";
    if (expected === STREAM_DOES_NOT_EXIST) return "no_stream";
    if (expected === STREAM_EXISTS) return "stream_exists";
    if (typeof expected === "bigint" || (typeof expected === "number" && Number.isInteger(expected))) {
      const v = BigInt(expected);
      if (v === noStream) return "no_stream";
      return v < noStream ? undefined : Number(v - base);
    }
    throw new TypeError(`expectedStreamVersion must be a stream version, STREAM_EXISTS, STREAM_DOES_NOT_EXIST or NO_CONCURRENCY_CHECK, got ${String(expected)}`);
  };
  const matches = (expected, revision) => {
    const want = expectedRevision(expected);
    if (want === "any") return true;
    if (want === "no_stream") return revision === null;
    if (want === "stream_exists") return revision !== null;
    return want === revision;
  };

  // The stream's visible head: null when it has no visible events, and also when it was
  // tombstoned (a hard-deleted stream does not exist for Emmett's reads).
  const headOf = async (streamName) => {
    try {
      return await store.streamRevision(streamName);
    } catch (err) {
      if (err?.code === "STREAM_DELETED") return null;
      throw err;
    }
  };

  // Reads `from`..`to` (inclusive stream versions, at most `maxCount`), stopping at the head seen
  // first, so the head and the events agree even while others append. `last`: the revision of
  // the last event read, null when none was.
  const read = async (streamName, options) => {
    const { from, to, maxCount, expectedStreamVersion, schema } = options ?? {};
    const head = await headOf(streamName);
    if (!matches(expectedStreamVersion, head)) throw new ExpectedVersionConflictError(version(head), expectedStreamVersion);
    if (head === null) return { head, recorded: [], events: [], last: null };
    const first = from === undefined ? 0 : Math.max(0, Number(BigInt(from) - base));
    let last = head;
    if (to !== undefined) last = Math.min(last, Number(BigInt(to) - base));
    if (maxCount !== undefined) last = Math.min(last, first + Number(maxCount) - 1);
    if (last < first) return { head, recorded: [], events: [], last: null };
    let recorded;
    try {
      recorded = await store.readStream(streamName, { fromRevision: first, maxCount: last - first + 1 });
    } catch (err) {
      if (err?.code === "STREAM_DELETED") return { head: null, recorded: [], events: [], last: null }; // tombstoned since the head was read
      throw err;
    }
    // Removed events (retention, a soft delete) leave the range's start empty: the read then
    // starts at the first visible revision, and must still stop at `last`.
    recorded = recorded.filter((e) => e.revision <= last);
    // `recorded`: as the store delivered them (upcast by its schema); `events`: then by Emmett's.
    return { head, recorded, events: upcastRecordedMessages(recorded.map(readEvent), schema?.versioning), last: recorded.at(-1)?.revision ?? null };
  };

  return {
    async readStream(streamName, options) {
      const { head, events } = await read(streamName, options);
      return { currentStreamVersion: version(head), events, streamExists: head !== null };
    },

    /**
     * `currentStreamVersion` is the version the state was folded to (with `read.to`, that of the
     * last event read), as in Emmett's stores. An event of a newer schema version than the store's
     * rejects with SCHEMA_TOO_NEW before `evolve` sees any event.
     */
    async aggregateStream(streamName, options) {
      const { evolve, initialState, read: range } = options;
      const { head, recorded, events, last } = await read(streamName, range);
      const schema = store[SCHEMA];
      if (schema !== undefined) {
        for (const e of recorded) {
          const tooNew = schema.tooNew(e);
          if (tooNew) throw tooNew;
        }
      }
      let state = initialState();
      for (const event of events) state = evolve(state, event);
      return { currentStreamVersion: version(last), state, streamExists: head !== null };
    },

    async appendToStream(streamName, events, options) {
      const expected = options?.expectedStreamVersion;
      const want = expectedRevision(expected);
      if (want === undefined) {
        throw new ExpectedVersionConflictError(version(await store.streamRevision(streamName)), expected);
      }
      const stored = downcastRecordedMessages(events, options?.schema?.versioning);
      const schema = store[SCHEMA];
      const toAppend = stored.map((e) => {
        // A read event of a newer app's schema version: dropping its `$schemaVersion` would store
        // its data under this app's version.
        const tooNew = schema?.tooNew({ ...e, streamId: streamName, metadata: e.metadata ?? {} });
        if (tooNew) throw tooNew;
        const metadata = {};
        for (const [k, v] of Object.entries(e.metadata ?? {})) if (!RECORDED_KEYS.has(k)) metadata[k] = v;
        return { type: e.type, data: e.data, metadata };
      });
      const appendOptions = { expectedRevision: want };
      if (options?.causedBy !== undefined) appendOptions.causedBy = causeOf(options.causedBy);
      let result;
      try {
        result = await store.append(streamName, toAppend, appendOptions);
      } catch (err) {
        if (err?.code !== "WRONG_EXPECTED_REVISION") throw err;
        const actual = err.actualRevision === "no_stream" ? null : err.actualRevision;
        throw new ExpectedVersionConflictError(version(actual), expected);
      }
      const n = events.length;
      const firstRevision = result.nextExpectedRevision - n + 1;
      if (hooks?.onAfterCommit) {
        // The appended events as Emmett read events: the caller's events, with the ids and
        // positions they were stored under.
        const recorded = await store.readStream(streamName, { fromRevision: firstRevision, maxCount: n });
        const appended = events.map((e, i) => {
          const r = readEvent(recorded[i]);
          return { ...e, kind: e.kind ?? "Event", metadata: { ...e.metadata, ...r.metadata } };
        });
        try {
          await hooks.onAfterCommit(appended);
        } catch (error) {
          console.error("evstore/emmett: the onAfterCommit hook failed (the append succeeded)", error);
        }
      }
      return {
        nextExpectedStreamVersion: version(result.nextExpectedRevision),
        createdNewStream: firstRevision === 0,
        lastEventGlobalPosition: BigInt(result.position) + base,
      };
    },

    async streamExists(streamName) {
      return (await headOf(streamName)) !== null;
    },
  };
}
