// Processes of the server benchmark (bench/server.mjs): the reference server (./reference.mjs) as a
// child process, in the shape of scripts/server-local.mjs `startLocalServer` (`{ base, port, child,
// exited, stop() }`), and a kill of every child left running when the benchmark exits.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childStopper } from "../../scripts/edge-local.mjs";

const REFERENCE = fileURLToPath(new URL("./reference.mjs", import.meta.url));
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Keeps `child` in the set killed at exit until it exits. */
export function track(child) {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** Starts one reference process on a free port of 127.0.0.1; resolves once it listens. */
export async function startReferenceProcess({ databaseUrl, secret }) {
  const child = track(
    spawn(process.execPath, [REFERENCE], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, EVSTORE_JWT_SECRET: secret, SERVER_PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  child.stderr.on("data", (d) => process.stderr.write(`[reference] ${d}`));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the reference did not start within 30 s: ${output}`)), 30_000);
    child.stdout.on("data", (d) => {
      output += d;
      const m = /listening (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code, signal }) => reject(new Error(`the reference exited (${code ?? signal}) before listening: ${output}`)));
  });
  const stop = childStopper(child, exited);
  return { base: `http://127.0.0.1:${port}`, port, child, exited, stop };
}

/** CPU time (user + system, ms) used so far by the processes `pids` (Linux /proc; 0 elsewhere). */
export function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}
