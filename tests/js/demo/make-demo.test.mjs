// `make demo`'s script (scripts/demo.mjs) as a user runs it: both servers on 127.0.0.1, the URLs of
// two devices printed, the app and the package served, development tokens that the edge service
// accepts, CORS for the app's origin only; SIGTERM and SIGINT stop both servers.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { freePort } from "../edge/workerd.mjs";
import { tempDir } from "./harness.mjs";
import { killScripts, runScript } from "../scripts.mjs";

after(killScripts);

/** Starts scripts/demo.mjs; resolves once it printed how to stop it (or exited). */
const runDemo = (env, timeoutMs = 30_000) => runScript("scripts/demo.mjs", { env, ready: "Ctrl-C stops both", timeoutMs });

const workerdFor = (dataDir) => execFileSync("ps", ["-eo", "args"]).toString().split("\n").filter((l) => l.includes("workerd") && l.includes(dataDir));
const answers = (url) => fetch(url).then(() => true, () => false);
/** The pid of the server (scripts/server.mjs) that the demo process `pid` started. */
const serverOf = (pid) =>
  execFileSync("ps", ["-eo", "pid=,ppid=,args="]).toString().split("\n").map((l) => l.trim().split(/\s+/)).filter(([, ppid, ...args]) => Number(ppid) === pid && args.join(" ").includes("scripts/server.mjs")).map(([p]) => Number(p));
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

test("make demo: two device URLs, the app and the package, dev tokens the edge accepts, CORS for the app only; signals stop both", async () => {
  const [port, edgePort] = [await freePort(), await freePort()];
  const dataDir = join(tempDir(), "edge-data");
  const env = { PORT: String(port), EDGE_PORT: String(edgePort), EDGE_DATA: dataDir };
  const run = await runDemo(env);
  try {
    const out = run.output();
    const app = `http://127.0.0.1:${port}`;
    const edge = `http://127.0.0.1:${edgePort}`;
    assert.match(out, new RegExp(`alice\\s+${app}/\\?device=alice`));
    assert.match(out, new RegExp(`bob\\s+${app}/\\?device=bob`));
    assert.ok(out.includes(`${edge}/t/demo`), out);

    // The app, the package entry of its import map, the wasm, the service worker.
    const page = await fetch(`${app}/?device=alice`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /"evstore": "\/pkg\/index\.js"/);
    assert.match(html, /<script type="module" src="\/app\.js">/);
    for (const [path, type] of [["/pkg/index.js", "text/javascript"], ["/pkg/evstore_wasm_bg.wasm", "application/wasm"], ["/sw.js", "text/javascript"], ["/app.js", "text/javascript"]]) {
      const res = await fetch(app + path);
      assert.equal(res.status, 200, path);
      assert.ok(res.headers.get("content-type").startsWith(type), `${path}: ${res.headers.get("content-type")}`);
    }

    // Where to sync, and a token for a device.
    assert.deepEqual(await (await fetch(`${app}/api/config`)).json(), { syncUrl: `${edge}/t/demo`, tenant: "demo", access: { bob: ["Item-groceries-*"] } });
    const res = await fetch(`${app}/api/dev-token?device=alice`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const { token, expiresAt } = await res.json();
    const claims = claimsOf(token);
    assert.equal(claims.tid, "demo");
    assert.equal(claims.sub, "device:alice");
    assert.equal(expiresAt, claims.exp * 1000);
    assert.ok(claims.exp > Date.now() / 1000 + 600, "valid long enough");
    assert.equal(claims.streams, undefined, "alice's token reaches the whole tenant");
    const bobs = claimsOf((await (await fetch(`${app}/api/dev-token?device=bob`)).json()).token);
    assert.deepEqual(bobs.streams, ["Item-groceries-*"], "bob's reaches one list");
    assert.equal(claimsOf((await (await fetch(`${app}/api/dev-token?device=constructor`)).json()).token).streams, undefined);
    assert.equal((await fetch(`${app}/api/dev-token?device=${encodeURIComponent("<script>")}`)).status, 400);
    assert.equal((await fetch(`${app}/api/dev-token`)).status, 400);

    // The edge service accepts it, with CORS for the app's origin and not for others.
    const append = (origin) =>
      fetch(`${edge}/t/demo/streams/Item-1`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", origin },
        body: JSON.stringify({ events: [{ type: "ItemAdded", data: { name: "Milk" } }], expectedRevision: "any" }),
      });
    const ok = await append(app);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(ok.headers.get("access-control-allow-origin"), app);
    const preflight = await fetch(`${edge}/t/demo/sync`, { method: "OPTIONS", headers: { origin: `http://localhost:${port}`, "access-control-request-method": "GET" } });
    assert.ok(preflight.status < 300, `preflight: ${preflight.status}`);
    assert.equal(preflight.headers.get("access-control-allow-origin"), `http://localhost:${port}`);
    const other = await append("http://elsewhere.example");
    assert.equal(other.status, 403);
    assert.equal(other.headers.get("access-control-allow-origin"), null);

    run.child.kill("SIGTERM");
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.equal(await answers(app), false, "the app server stopped");
    assert.equal(await answers(edge), false, "the edge service stopped");
    assert.deepEqual(workerdFor(dataDir), []);

    // Again (the data and the secret are kept: the first token still works), stopped by Ctrl-C.
    const again = await runDemo(env);
    const read = await fetch(`${edge}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(read.status, 200);
    assert.deepEqual((await read.json()).events.map((e) => e.type), ["ItemAdded"]);
    again.child.kill("SIGINT");
    assert.deepEqual(await again.exited, { code: 0, signal: null });
    assert.deepEqual(workerdFor(dataDir), []);
  } finally {
    run.child.kill("SIGKILL");
  }
});

test("make demo: a taken port is reported in words and leaves nothing running", async () => {
  const blocker = createServer();
  await new Promise((r) => blocker.listen(0, "127.0.0.1", r));
  const dataDir = join(tempDir(), "edge-data");
  try {
    const run = await runDemo({ PORT: String(blocker.address().port), EDGE_PORT: String(await freePort()), EDGE_DATA: dataDir });
    const { code } = await run.exited;
    assert.equal(code, 1);
    assert.match(run.output(), /could not start: .*EADDRINUSE[\s\S]*PORT=<another port>/);
    assert.deepEqual(workerdFor(dataDir), []);
  } finally {
    blocker.close();
  }
});

test("make demo: a BACKEND other than edge or server is refused in words before anything starts", async () => {
  const port = await freePort();
  const run = await runDemo({ PORT: String(port), BACKEND: "postgres" });
  assert.deepEqual(await run.exited, { code: 2, signal: null });
  assert.match(run.output(), /make demo: BACKEND must be "edge" \(the edge service in workerd\) or "server" \(the Node\.js server on PostgreSQL\), not "postgres"/);
  assert.equal(await answers(`http://127.0.0.1:${port}`), false, "no app server");
});

test("make demo BACKEND=server: the Node server instead of workerd, named in the banner; the app syncs to it with tokens it accepts; signals stop both", async () => {
  const [port, serverPort] = [await freePort(), await freePort()];
  const dataDir = join(tempDir(), "server-data");
  const env = { PORT: String(port), BACKEND: "server", SERVER_PORT: String(serverPort), SERVER_DATA: dataDir };
  const run = await runDemo(env, 120_000);
  try {
    const out = run.output();
    const app = `http://127.0.0.1:${port}`;
    const server = `http://127.0.0.1:${serverPort}`;
    assert.match(out, /synced through the self-hosted server \(BACKEND=server/);
    assert.match(out, new RegExp(`Server\\s+${server}/t/demo\\s+\\(Node\\.js on PGlite in ${dataDir}, development secret\\)`));
    assert.doesNotMatch(out, /workerd|Edge service/);
    assert.deepEqual(workerdFor(dataDir), []);
    const [pid] = serverOf(run.child.pid);
    assert.ok(pid, "the demo runs scripts/server.mjs");

    assert.deepEqual(await (await fetch(`${app}/api/config`)).json(), { syncUrl: `${server}/t/demo`, tenant: "demo", access: { bob: ["Item-groceries-*"] } });
    const { token } = await (await fetch(`${app}/api/dev-token?device=alice`)).json();
    const append = (origin) =>
      fetch(`${server}/t/demo/streams/Item-1`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", origin },
        body: JSON.stringify({ events: [{ type: "ItemAdded", data: { name: "Milk" } }], expectedRevision: "any" }),
      });
    const ok = await append(app);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(ok.headers.get("access-control-allow-origin"), app);
    const other = await append("http://elsewhere.example");
    assert.equal(other.status, 403);

    run.child.kill("SIGTERM");
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.equal(await answers(app), false, "the app server stopped");
    assert.equal(await answers(server), false, "the server stopped");
    assert.equal(alive(pid), false, "the server process exited");

    // Again: the data and the development secret are kept, so the first token reads its event.
    const again = await runDemo(env, 120_000);
    const read = await fetch(`${server}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(read.status, 200);
    assert.deepEqual((await read.json()).events.map((e) => e.type), ["ItemAdded"]);
    const [pid2] = serverOf(again.child.pid);
    again.child.kill("SIGINT");
    assert.deepEqual(await again.exited, { code: 0, signal: null });
    assert.equal(alive(pid2), false, "the server process exited");
  } finally {
    run.child.kill("SIGKILL");
  }
});
