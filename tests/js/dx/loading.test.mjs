// Loading the wasm: `EventStore.open({ wasm })` with each kind of source, and every loading
// failure as an EventStoreError STORAGE_ERROR with its cause. Each case runs in a fresh Node
// process (the wasm loads once per process) on the package's browser entry, which loads the wasm
// on the first open as in a browser; the Node entry's own failure is checked on a copy of the
// package without its wasm file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("../../../pkg/", import.meta.url));
const wasmFile = join(pkg, "evstore_wasm_bg.wasm");
/** The server build's wasm, which the Node entry loads (the browser entry's is `wasmFile`). */
const serverWasm = "evstore_server_bg.wasm";
let dir;
let server;
let base;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "evstore-loading-"));
  // Serves the wasm at /ok.wasm; anything else is a 404.
  server = createServer((req, res) => {
    if (req.url === "/ok.wasm") res.writeHead(200, { "content-type": "application/wasm" }).end(readFileSync(wasmFile));
    else res.writeHead(404).end("not found");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` (an async function body, with `EventStore` and `wasmFile` in scope) in a fresh process. */
function run(body, entry = join(pkg, "index.js")) {
  const file = join(dir, `case-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    `import { EventStore, EventStoreError } from ${JSON.stringify(entry)};
import { readFileSync } from "node:fs";
const wasmFile = ${JSON.stringify(wasmFile)};
const describe = (e) => ({ instance: e instanceof EventStoreError, name: e?.name, code: e?.code, message: e?.message, cause: e?.cause && { name: e.cause.name, code: e.cause.code, message: String(e.cause.message ?? e.cause) } });
const works = async (store) => (await store.append("S-1", [{ type: "E" }])).position === 0;
const out = await (async () => { ${body} })();
console.log(JSON.stringify(out));`,
  );
  // Asynchronous, so that the test server in this process keeps answering.
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [file], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)));
    }),
  );
}

test("open({ wasm }) takes bytes, a WebAssembly.Module, a Response, a URL or a string", async () => {
  assert.equal(await run(`return works(await EventStore.open({ wasm: readFileSync(wasmFile) }));`), true);
  assert.equal(await run(`return works(await EventStore.open({ wasm: new WebAssembly.Module(readFileSync(wasmFile)) }));`), true);
  assert.equal(await run(`return works(await EventStore.open({ wasm: readFileSync(wasmFile).buffer }));`), true);
  assert.equal(
    await run(`return works(await EventStore.open({ wasm: new Response(readFileSync(wasmFile), { headers: { "content-type": "application/wasm" } }) }));`),
    true,
  );
  assert.equal(await run(`return works(await EventStore.open({ wasm: new URL(${JSON.stringify(`${base}/ok.wasm`)}) }));`), true);
  assert.equal(await run(`return works(await EventStore.open({ wasm: fetch(${JSON.stringify(`${base}/ok.wasm`)}) }));`), true);
  assert.equal(await run(`return works(await EventStore.open({ storage: "memory", wasm: ${JSON.stringify(`${base}/ok.wasm`)} }));`), true);
});

test("without `wasm`, the browser entry loads the file next to it (a file: URL in Node)", async () => {
  assert.equal(await run(`return works(await EventStore.open());`), true);
});

test("a wasm that cannot be fetched is a STORAGE_ERROR with the cause; a later open can succeed", async () => {
  const out = await run(`
    const failed = await EventStore.open({ wasm: ${JSON.stringify(`${base}/missing.wasm`)} }).catch(describe);
    const retried = await works(await EventStore.open({ wasm: ${JSON.stringify(`${base}/ok.wasm`)} }));
    return { failed, retried };`);
  assert.equal(out.failed.instance, true, "instanceof EventStoreError");
  assert.equal(out.failed.name, "EventStoreError");
  assert.equal(out.failed.code, "STORAGE_ERROR");
  assert.match(out.failed.message, /missing\.wasm/);
  assert.match(out.failed.message, /404/);
  assert.match(out.failed.cause.message, /404/);
  assert.equal(out.retried, true, "the failed load is not cached");
});

test("an unreachable server and bytes that are not wasm are STORAGE_ERRORs with the cause", async () => {
  const out = await run(`
    const refused = await EventStore.open({ wasm: "http://127.0.0.1:1/evstore.wasm" }).catch(describe);
    const garbage = await EventStore.open({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) }).catch(describe);
    return { refused, garbage };`);
  assert.equal(out.refused.code, "STORAGE_ERROR");
  assert.equal(out.refused.instance, true);
  assert.equal(out.garbage.instance, true);
  assert.ok(out.refused.cause, "the fetch error is kept as cause");
  assert.equal(out.garbage.code, "STORAGE_ERROR");
  assert.equal(out.garbage.cause.name, "CompileError");
});

test("a `wasm` of the wrong kind is an INVALID_ARGUMENT", async () => {
  const out = await run(`return await EventStore.open({ wasm: 42 }).catch(describe);`);
  assert.equal(out.code, "INVALID_ARGUMENT");
  assert.equal(out.instance, true);
  assert.match(out.message, /wasm must be/);
});

test("the Node entry with its wasm file missing: import works, open rejects with STORAGE_ERROR (cause ENOENT)", async () => {
  const copy = join(dir, "pkg-without-wasm");
  cpSync(pkg, copy, { recursive: true, dereference: true });
  rmSync(join(copy, serverWasm)); // the Node entry loads the server build
  const out = await run(`return await EventStore.open().catch(describe);`, join(copy, "node.js"));
  assert.equal(out.instance, true, "the Node entry's EventStoreError");
  assert.equal(out.code, "STORAGE_ERROR");
  assert.equal(out.cause.code, "ENOENT");
  // Given the bytes explicitly, the same entry opens.
  assert.equal(await run(`return works(await EventStore.open({ wasm: readFileSync(${JSON.stringify(join(pkg, serverWasm))}) }));`, join(copy, "node.js")), true);
});
