// A Cloudflare worker whose Durable Object runs one case of the package's contract suite on
// `storage: "durable-object"` (the object's own SQLite), one fresh object per case; and a small
// append/read API on a named object for the persistence tests.
import { DurableObject } from "cloudflare:workers";
import { EventStore } from "evstore";
import { cases } from "./contract.mjs";

export class ContractCase extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/case") {
      const open = (o = {}) =>
        typeof o === "object" && o !== null
          ? EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage, ...o })
          : EventStore.open(o);
      try {
        await cases(open)[url.searchParams.get("name")]();
        return Response.json(null);
      } catch (e) {
        return Response.json(String(e?.stack ?? e));
      }
    }
    this.store ??= await EventStore.open({ storage: "durable-object", durableObjectStorage: this.ctx.storage });
    if (url.pathname === "/append") {
      const { streamId, events, expectedRevision } = await request.json();
      try {
        return Response.json(await this.store.append(streamId, events, { expectedRevision }));
      } catch (e) {
        return Response.json({ error: { code: e.code, message: e.message, causeName: e.cause?.name } }, { status: 409 });
      }
    }
    if (url.pathname === "/all") return Response.json(await this.store.readAll());
    if (url.pathname === "/kv") {
      // A storage without the SQL API is refused clearly.
      try {
        await EventStore.open({ storage: "durable-object", durableObjectStorage: { get() {} } });
        return Response.json("opened");
      } catch (e) {
        return Response.json({ name: e.name, code: e.code, message: e.message });
      }
    }
    return new Response("not found", { status: 404 });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/cases") return Response.json(Object.keys(cases(() => {})));
    const name = url.searchParams.get("object") ?? url.searchParams.get("name");
    const stub = env.CASES.get(env.CASES.idFromName(`${url.searchParams.get("run") ?? ""}/${name}`));
    return stub.fetch(request);
  },
};
