// The Durable Object `TenantStore`: one per tenant (`idFromName(tenant)`), the Cloudflare host of
// a ./service/tenant.js `Tenant` whose store lives in the object's own SQLite
// (`storage: "durable-object"`). The tenant id is pinned at first use in table `edge_meta` of the
// same SQLite, and the `Tenant` refuses calls routed for another tenant with FORBIDDEN, so a
// routing bug cannot leak data. Calls from the Worker are RPC methods answering
// `{ status, body }`; the WebSocket live feed arrives through `fetch` (sockets: ./sync.js).

import { DurableObject } from "cloudflare:workers";
import { EventStore } from "evstore";
import { MAX_EVENT_BYTES } from "./service/limits.js";
import { Tenant } from "./service/tenant.js";
import { socketHost } from "./sync.js";

export class TenantStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    const sockets = socketHost(ctx);
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS edge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      const rows = Object.fromEntries(sql.exec("SELECT key, value FROM edge_meta").toArray().map((r) => [r.key, r.value]));
      let pinned = rows.tenant ?? null;
      if (rows.epoch === undefined) {
        rows.epoch = crypto.randomUUID();
        sql.exec("INSERT INTO edge_meta (key, value) VALUES ('epoch', ?)", rows.epoch);
      }
      // The store keeps its events, streams and checkpoints in this object's SQLite; one append
      // is one transactionSync, acknowledged only once committed.
      const store = await EventStore.open({ storage: "durable-object", durableObjectStorage: ctx.storage, maxEventBytes: MAX_EVENT_BYTES });
      this.tenant = new Tenant({
        env,
        store,
        // The log's identity, sent with caughtUp (PROTOCOL.md): a client that finds another epoch
        // talks to another log. A log restored to an earlier point shows as `after` beyond the head.
        epoch: rows.epoch,
        pinned: {
          get: () => pinned,
          pin(tenant) {
            sql.exec("INSERT OR IGNORE INTO edge_meta (key, value) VALUES ('tenant', ?)", tenant);
            pinned = sql.exec("SELECT value FROM edge_meta WHERE key = 'tenant'").one().value;
            return pinned;
          },
        },
        ...sockets,
      });
    });
  }

  // RPC from the Worker (./service/respond.js), each answering `{ status, body }`.
  append(identity, streamId, body) {
    return this.tenant.append(identity, streamId, body);
  }
  getStreamMetadata(identity, streamId) {
    return this.tenant.getStreamMetadata(identity, streamId);
  }
  setStreamMetadata(identity, streamId, body) {
    return this.tenant.setStreamMetadata(identity, streamId, body);
  }
  deleteStream(identity, streamId, options) {
    return this.tenant.deleteStream(identity, streamId, options);
  }
  readStream(identity, streamId, options) {
    return this.tenant.readStream(identity, streamId, options);
  }
  readAll(identity, options) {
    return this.tenant.readAll(identity, options);
  }

  /** WebSocket upgrades for the live feed (the Worker has verified the token), then its sockets' events. */
  fetch(request) {
    return this.tenant.fetch(request);
  }
  webSocketMessage(ws, message) {
    return this.tenant.webSocketMessage(ws, message);
  }
  webSocketClose(ws, code, reason) {
    this.tenant.webSocketClose(ws, code, reason);
  }
  webSocketError(ws) {
    this.tenant.webSocketError(ws);
  }
}
