// The "go offline" switch's mechanism (www/gate.js), in the app's page against the real edge
// service: switched off, the page's open WebSocket to the edge is closed and new sockets and fetches
// to it fail like an unreachable network — and only those to the edge; switched on, they work again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { device, openApp, useChromium, withDemo } from "./harness.mjs";

const env = useChromium();

test("the offline switch cuts the page off from the edge service, and only from it", () =>
  withDemo(async (demo) => {
    const context = await device(env.browser);
    try {
      const page = await openApp(context, demo, "gate");
      const result = await page.evaluate(
        async ({ edge }) => {
          const { gate } = await import("/gate.js"); // the app's own instance (same module URL)
          gate.setOrigin(`${edge}/t/demo`);
          const { token } = await (await fetch("/api/dev-token?device=gate")).json();
          const auth = { headers: { authorization: `Bearer ${token}` } };
          const connect = () =>
            new Promise((resolve) => {
              const ws = new WebSocket(`${edge.replace("http", "ws")}/t/demo/sync`, ["evstore.sync.v4", `bearer.${token}`]);
              ws.onopen = () => resolve({ ws, opened: true });
              ws.onclose = (e) => resolve({ ws, opened: false, code: e.code });
            });
          const fetchStatus = () => fetch(`${edge}/t/demo/all`, auth).then((r) => r.status, (e) => `${e.name}: ${e.message}`);
          const out = {};
          const first = await connect();
          out.openedOnline = first.opened;
          out.fetchOnline = await fetchStatus();
          const closed = new Promise((resolve) => (first.ws.onclose = (e) => resolve(e.code)));
          gate.setOffline(true);
          out.closedCode = await closed;
          const second = await connect();
          out.openedOffline = second.opened;
          out.fetchOffline = await fetchStatus();
          out.appServerOffline = (await fetch("/api/config")).status; // not the edge: untouched
          gate.setOffline(false);
          const third = await connect();
          out.openedAgain = third.opened;
          third.ws.close();
          out.fetchAgain = await fetchStatus();
          return out;
        },
        { edge: demo.serviceUrl },
      );
      assert.deepEqual(result, {
        openedOnline: true,
        fetchOnline: 200,
        closedCode: 4000,
        openedOffline: false,
        fetchOffline: "TypeError: Failed to fetch (this device is switched offline)",
        appServerOffline: 200,
        openedAgain: true,
        fetchAgain: 200,
      });
    } finally {
      await context.close();
    }
  }));
