// The Rust storage contract suite (tests/contract/mod.rs) on `DurableObjectStorage`, inside a
// real Durable Object in real workerd: builds the wasm test crate tests/durable_object.rs, runs
// wasm-bindgen over it, and runs every case in one object (do-suite-worker.mjs). Fails with the
// suite's own output when a case fails; every listed case runs or is skipped for a capability
// the storage declares it lacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { repo, startWorkerd } from "./workerd.mjs";

const out = join(repo, "target/do-suite");
const env = { ...process.env, PATH: `${join(homedir(), ".cargo/bin")}:${process.env.PATH}` };

/** Builds the test crate for wasm32 and returns the path of its .wasm. */
function buildSuite() {
  const messages = execFileSync(
    "cargo",
    ["test", "--target", "wasm32-unknown-unknown", "--test", "durable_object", "--no-run", "--message-format=json"],
    { cwd: repo, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
  );
  const artifact = messages
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .find((m) => m.reason === "compiler-artifact" && m.target?.name === "durable_object" && m.executable);
  assert.ok(artifact, "cargo built the durable_object test crate");
  return artifact.executable;
}

/** wasm-bindgen's ES module output for the suite, as workerd modules. */
function bindSuite(wasmFile) {
  const dir = join(out, "bindgen");
  rmSync(dir, { recursive: true, force: true });
  execFileSync("wasm-bindgen", ["--target", "web", "--out-dir", dir, "--out-name", "suite", wasmFile], { env, stdio: "inherit" });
  // Named by their paths in the output, so the glue's `./snippets/…` imports resolve.
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js") || f.endsWith(".wasm"));
  return files.map((f) => [f, join(dir, f), f.endsWith(".wasm") ? "wasm" : "esModule"]);
}

test("workerd: the Rust contract suite passes on the Durable Object storage", async (t) => {
  const modules = [["worker.mjs", join(repo, "tests/js/edge/do-suite-worker.mjs"), "esModule"], ...bindSuite(buildSuite())];
  const data = mkdtempSync(join(tmpdir(), "evstore-do-suite-"));
  const edge = await startWorkerd({ dir: join(out, "workerd"), modules, durableObjects: [{ binding: "SUITE", className: "ContractSuite" }], dataDir: data });
  try {
    const response = await fetch(edge.url);
    assert.equal(response.status, 200, await response.clone().text());
    const { ok, cases, output, console: lines } = await response.json();
    const report = output.join("\n");
    assert.ok(ok, `the suite failed in workerd:\n${report}`);
    const result = report.match(/test result: ok\. (\d+) passed; 0 failed; (\d+) ignored/);
    assert.ok(result, report);
    assert.equal(Number(result[1]), cases, "every case ran");
    const skipped = lines.filter((line) => line.startsWith("skipped ")).sort();
    t.diagnostic(`${cases} cases: ${cases - skipped.length} ran, ${skipped.length} skipped`);
    for (const line of skipped) t.diagnostic(line);
    // This storage stages its writes for commit and refuses truncation, and says so: only the
    // cases that require those capabilities are skipped.
    assert.deepEqual(skipped, [
      "skipped transactions_read_their_writes_and_roll_back: the storage lacks reads_own_writes, truncates",
      "skipped truncating_the_log_forgets_the_tail: the storage lacks truncates",
    ]);
    assert.ok(cases > 30, "the suite has its cases");
  } finally {
    await edge.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
