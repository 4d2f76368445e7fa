// Runs one of the repo's scripts (scripts/*.mjs) as a user would, for tests: output collected,
// the process killed when the test process exits (also after a failure).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** Kills every script still running (for a test file's `after`). */
export function killScripts() {
  for (const c of children) c.kill("SIGKILL");
}

/**
 * Starts `script` (relative to the repo) with only `env` (plus PATH and HOME); resolves once its
 * output contains `ready` or it exited: `{ child, exited, output() }`. Fails after `timeoutMs`.
 */
export async function runScript(script, { env, ready, timeoutMs }) {
  const child = spawn(process.execPath, [join(REPO, script)], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const deadline = Date.now() + timeoutMs;
  while (!out.includes(ready) && child.exitCode === null) {
    if (Date.now() > deadline) throw new Error(`${script} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited, output: () => out };
}
