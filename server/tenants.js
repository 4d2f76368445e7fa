// The Node host's tenants (edge/src/service/host.js `Tenants`): one shared `Tenant` per tenant
// id, opened at its first call on an evstore PostgreSQL store of that tenant in the process's one
// database, with the tenant's open sync sockets (./sockets.js) and its pending work.

import { EventStore } from "evstore";
import { MAX_EVENT_BYTES } from "../edge/src/service/limits.js";
import { Tenant } from "../edge/src/service/tenant.js";
import { NodeSocket } from "./sockets.js";

/** The calls `respond` makes on a tenant (host.js `TenantCalls`). */
const CALLS = ["append", "readStream", "readAll", "getStreamMetadata", "setStreamMetadata", "deleteStream", "fetch"];

/** How long a tenant stays open without a call or a socket (10 minutes). */
const IDLE_TENANT_MS = 600_000;

/** How long a socket the service accepted may wait for its upgrade to complete before it is dropped. */
const UPGRADE_MS = 10_000;

/**
 * The tenants of one server over `database` (server/db.js) with the EVSTORE_* settings `env`.
 * `get(id)` answers at once: its calls wait for the tenant's open. A failed open is not kept (the
 * next call tries again).
 */
export class Tenants {
  constructor({ database, env, maxEventBytes = MAX_EVENT_BYTES, idleTenantMs = IDLE_TENANT_MS }) {
    this.database = database;
    this.env = env;
    this.maxEventBytes = maxEventBytes;
    /** Tenant id → Promise of its `Opened` (see `open`). */
    this.opened = new Map();
    /** Tenant id → its calls in flight, and when its last call ended. */
    this.busy = new Map();
    this.lastUsed = new Map();
    this.pending = new Set();
    this.closing = false;
    this.idleTenantMs = idleTenantMs;
    // Tenants idle that long (no call, no socket) are closed, so a process's memory follows the
    // tenants it serves now rather than every tenant it ever served.
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(idleTenantMs, 60_000)));
    this.sweeper.unref?.();
  }

  /** The tenant's calls (host.js `TenantCalls`), each waiting for its open. */
  get(id) {
    const calls = {};
    for (const name of CALLS) {
      calls[name] = async (...args) => {
        this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
        try {
          return await (await this.tenant(id))[name](...args);
        } finally {
          const left = this.busy.get(id) - 1;
          if (left) this.busy.set(id, left);
          else this.busy.delete(id);
          this.lastUsed.set(id, Date.now());
        }
      };
    }
    return calls;
  }

  /**
   * Closes the tenants idle for `idleTenantMs`: no call in flight or since, no open socket. The
   * entry leaves the map at once (a later call opens the tenant afresh); its store closes once its
   * feed's queue is done.
   */
  sweep(now = Date.now()) {
    for (const [id, entry] of this.opened) {
      if (this.busy.has(id) || now - (this.lastUsed.get(id) ?? now) < this.idleTenantMs) continue;
      entry.then(
        (opened) => {
          if (this.opened.get(id) !== entry || opened.sockets.size || this.busy.has(id)) return;
          this.opened.delete(id);
          this.lastUsed.delete(id);
          opened.unwatch?.();
          this.waitUntil(opened.tenant.feed.queue.then(() => opened.store.close()));
        },
        () => {},
      );
    }
  }

  /** The opened `Tenant` of `id`. */
  async tenant(id) {
    return (await this.entry(id)).tenant;
  }

  /** The tenant's `Opened` (see `open`), opening it at its first call; none is opened once closing. */
  entry(id) {
    let entry = this.opened.get(id);
    if (!entry) {
      if (this.closing) return Promise.reject(new Error("the server is shutting down"));
      entry = this.open(id);
      this.opened.set(id, entry);
      entry.catch(() => {
        if (this.opened.get(id) === entry) this.opened.delete(id);
      });
    }
    return entry;
  }

  /** Opens tenant `id`: its store, its epoch (made with its row at the store's first open), its host. */
  async open(id) {
    const { database, env } = this;
    const store = await EventStore.open({ storage: "postgres", database, tenant: id, maxEventBytes: this.maxEventBytes });
    try {
      const [row] = await database.query("SELECT epoch FROM evstore_tenants WHERE tenant = $1", [id]);
      if (!row) throw new Error(`the tenant ${JSON.stringify(id)} has no row in evstore_tenants`);
      const sockets = new Set();
      const tenant = new Tenant({
        env,
        store,
        epoch: row.epoch,
        // The store is opened for exactly this tenant: it is pinned from the start.
        pinned: { get: () => id, pin: () => id },
        sockets: () => sockets,
        accept: (attachment, protocol) => this.accept(tenant, sockets, attachment, protocol),
        waitUntil: (promise) => this.waitUntil(promise),
      });
      // Commits made through other processes (another database object) reach this one's sockets.
      const unwatch = database.watch?.(id, () => tenant.feed.publish()) ?? null;
      return { tenant, store, sockets, unwatch };
    } catch (e) {
      await store.close().catch(() => {});
      throw e;
    }
  }

  /**
   * The host's `accept`: a socket wrapper (./sockets.js `NodeSocket`) counted among the tenant's
   * sockets from now, and the 101 answer `{ status: 101, protocol, socket }` the upgrade handler
   * completes. A socket whose upgrade never completes is dropped after UPGRADE_MS.
   */
  accept(tenant, sockets, attachment, protocol) {
    const socket = new NodeSocket({ tenant, sockets, waitUntil: (promise) => this.waitUntil(promise) });
    socket.serializeAttachment(attachment);
    sockets.add(socket);
    const timer = setTimeout(() => socket.readyState === 0 && socket.drop(), UPGRADE_MS);
    timer.unref?.();
    return { status: 101, protocol, socket };
  }

  /** Keeps `promise` among the pending work `close` waits for. */
  waitUntil(promise) {
    const tracked = Promise.resolve(promise).catch(() => {}).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /**
   * Closes every socket (1001), waits for the pending work (requests in flight included: they are
   * served by the tenants already open), then closes every store.
   */
  async close() {
    this.closing = true;
    clearInterval(this.sweeper);
    const entries = await Promise.allSettled([...this.opened.values()]);
    const opened = entries.filter((e) => e.status === "fulfilled").map((e) => e.value);
    for (const { sockets, unwatch } of opened) {
      unwatch?.();
      for (const socket of sockets) socket.close(1001, "the server is shutting down");
    }
    while (this.pending.size) await Promise.allSettled([...this.pending]);
    await Promise.allSettled(opened.map(({ tenant }) => tenant.feed.queue));
    await Promise.allSettled(opened.map(({ store }) => store.close()));
    this.opened.clear();
  }
}
