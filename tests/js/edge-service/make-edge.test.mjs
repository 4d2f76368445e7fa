// `make edge`'s script (scripts/edge.mjs) as a user runs it: with no secret it creates a
// development secret in the data directory and prints it with a sample token and curl lines that
// work; a restart keeps the secret (and the data); SIGTERM and SIGINT stop workerd and exit 0.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir } from "./harness.mjs";
import { killScripts, runScript } from "../scripts.mjs";

after(killScripts);

/** Starts scripts/edge.mjs; resolves with its printed output once it says how to stop it. */
async function runEdge(env) {
  const run = await runScript("scripts/edge.mjs", { env, ready: "Ctrl-C stops it", timeoutMs: 20_000 });
  if (run.child.exitCode !== null) throw new Error(`edge.mjs exited: ${run.output()}`);
  return run;
}

/** workerd processes whose command line names this data directory. */
function workerdFor(dataDir) {
  return execFileSync("ps", ["-eo", "args"]).toString().split("\n").filter((l) => l.includes("workerd") && l.includes(dataDir));
}

test("no secret: a development secret, a sample token and a working curl line; restarts keep them; signals stop it", async () => {
  const dataDir = join(tempDir(), "edge-data");
  const port = await freePort();
  const env = { EDGE_PORT: String(port), EDGE_DATA: dataDir };

  const first = await runEdge(env);
  const out = first.output();
  const secret = readFileSync(join(dataDir, "dev-secret"), "utf8").trim();
  assert.ok(secret.length >= 40, "a long random secret");
  assert.equal(statSync(join(dataDir, "dev-secret")).mode & 0o077, 0, "readable by its owner only");
  assert.ok(out.includes(secret), "the secret is printed");
  assert.ok(out.includes(`http://127.0.0.1:${port}`));
  const token = out.match(/sample token[^\n]*\n\s+(\S+)/)[1];
  const curl = out.match(/curl -s -X POST (\S+) -H "Authorization: Bearer (\S+)"/);
  assert.equal(curl[1], `http://127.0.0.1:${port}/t/demo/streams/Order-1`);
  assert.equal(curl[2], token);
  const body = out.match(/-d '([^']+)'/)[1];
  const res = await fetch(curl[1], { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).nextExpectedRevision, 0);

  first.child.kill("SIGTERM");
  assert.deepEqual(await first.exited, { code: 0, signal: null });
  assert.deepEqual(workerdFor(dataDir), [], "workerd stopped with it");

  const second = await runEdge(env);
  assert.equal(readFileSync(join(dataDir, "dev-secret"), "utf8").trim(), secret, "the secret is kept");
  const read = await fetch(`http://127.0.0.1:${port}/t/demo/all`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(read.status, 200, "the old token is still accepted");
  assert.deepEqual((await read.json()).events.map((e) => [e.type, e.position]), [["OrderPlaced", 0]], "the data is kept");
  second.child.kill("SIGINT");
  assert.deepEqual(await second.exited, { code: 0, signal: null });
  assert.deepEqual(workerdFor(dataDir), []);
});

test("with EVSTORE_JWT_SECRET set, no development secret is created or printed", async () => {
  const dataDir = join(tempDir(), "edge-data");
  const run = await runEdge({ EDGE_PORT: String(await freePort()), EDGE_DATA: dataDir, EVSTORE_JWT_SECRET: "operator-secret-0123456789-abcdefghij" });
  assert.doesNotMatch(run.output(), /operator-secret|sample token/);
  assert.throws(() => statSync(join(dataDir, "dev-secret")));
  run.child.kill("SIGTERM");
  assert.equal((await run.exited).code, 0);
});

test("a secret under 32 bytes: the script refuses to start, says why and starts no workerd", async () => {
  const dataDir = join(tempDir(), "edge-data");
  const env = { EDGE_PORT: String(await freePort()), EDGE_DATA: dataDir, EVSTORE_JWT_SECRET: "short-secret" };
  const run = await runScript("scripts/edge.mjs", { env, ready: "Ctrl-C stops it", timeoutMs: 20_000 });
  assert.doesNotMatch(run.output(), /Ctrl-C stops it/, "it did not start");
  assert.deepEqual(await run.exited, { code: 1, signal: null });
  assert.match(run.output(), /EVSTORE_JWT_SECRET is 12 bytes: the edge service needs at least 32/);
  assert.doesNotMatch(run.output(), /short-secret/, "the secret is not printed");
  assert.deepEqual(workerdFor(dataDir), []);
});
