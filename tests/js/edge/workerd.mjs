// Starts real workerd (npm `workerd`) for a test: a config with the given modules on a free
// 127.0.0.1 port, optionally with SQLite-backed Durable Objects kept in `dataDir`. The caller
// stops it (`stop()`, also in `finally`); `kill()` is a SIGKILL for crash tests.
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const bin = (name) => join(repo, "node_modules/.bin", name);

/** A port the OS reports free on 127.0.0.1 (workerd takes its address from the config). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * `modules`: [name, file, kind] with kind "esModule" or "wasm". `durableObjects`: class names
 * bound as CASES-style bindings `{ binding, className }`.
 */
export async function startWorkerd({ dir, modules, durableObjects = [], dataDir }) {
  mkdirSync(dir, { recursive: true });
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const embed = (file) => JSON.stringify(relative(dir, file));
  const mods = modules.map(([name, file, kind]) => `(name = ${JSON.stringify(name)}, ${kind} = embed ${embed(file)})`);
  const namespaces = durableObjects.map(({ className }) => `(className = "${className}", uniqueKey = "evstore-test-${className}", enableSql = true)`);
  const bindings = durableObjects.map(({ binding, className }) => `(name = "${binding}", durableObjectNamespace = "${className}")`);
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)${dataDir ? `, (name = "do-data", disk = (path = ${JSON.stringify(dataDir)}, writable = true))` : ""}],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${mods.join(",\n    ")}],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["nodejs_compat"],
  durableObjectNamespaces = [${namespaces.join(", ")}],
  ${dataDir ? `durableObjectStorage = (localDisk = "do-data"),` : ""}
  bindings = [${bindings.join(", ")}],
);
`,
  );
  const server = spawn(bin("workerd"), ["serve", join(dir, "config.capnp"), "--experimental"], { stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((r) => server.once("exit", r));
  const listening = () =>
    new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1", () => resolve(socket.end() && true));
      socket.once("error", () => resolve(false));
    });
  for (let i = 0; ; i++) {
    if (await listening()) break;
    if (i > 200 || server.exitCode !== null) {
      server.kill("SIGKILL");
      throw new Error("workerd did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) server.kill();
      await exited;
    },
    async kill() {
      server.kill("SIGKILL");
      await exited;
    },
  };
}
