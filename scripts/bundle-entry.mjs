// Post-processes wasm-bindgen's output of one wasm build into one entry: the snippet modules are
// inlined into the glue (each in its own scope), and pkg-template/store.js's entry code is appended
// (its default wasm URL pointed at this build's wasm), so a page loads one JS file and then the
// wasm — instead of three rounds of module fetches. Each build gets its own entry, as the glue
// differs per build (the browser build's index.js, the server build's server.js). The
// entry is then minified (esbuild: whitespace, syntax and local names; function and class names
// kept, so `.name`, stack traces and the console still say EventStore, EventStoreError, …), which
// takes it from ~23 KB to ~15 KB gzip.
// The browser build's entry also exports, as stand-ins (index.js's `serverOnly`), the classes only
// the server build has (`[server glue .js]`, the server build's glue): both entries export the same
// names, and using one of them in the browser build throws an INVALID_ARGUMENT that says why.
// The browser entries (local.js, synced.js) are imported by index.js, whose EventStoreError they
// share (`--shared-error`: imported from ./index.js, so `instanceof` holds whichever made it);
// local.js leaves out the sync host (`--no-sync-host`: the section of store.js from "---- Sync" to
// "---- End of the sync host").
// Usage: node scripts/bundle-entry.mjs <glue .js> <entry template> <output .js> <wasm file name>
//          [--server-glue <glue .js>] [--shared-error] [--no-sync-host]
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { transformSync } from "esbuild";

const [gluePath, template, output, wasmName, ...flags] = process.argv.slice(2);
if (!wasmName) throw new Error("usage: bundle-entry.mjs <glue .js> <entry template> <output .js> <wasm file name> [flags]");
const serverGlue = flags.includes("--server-glue") ? flags[flags.indexOf("--server-glue") + 1] : undefined;
const sharedError = flags.includes("--shared-error");
const noSyncHost = flags.includes("--no-sync-host");
const glueDir = dirname(gluePath);
let glue = readFileSync(gluePath, "utf8");

const snippets = new Map(); // path → scoped object name
const scope = (path) => {
  const file = normalize(join(glueDir, path));
  if (!snippets.has(file)) snippets.set(file, `__evstore_snippet${snippets.size}`);
  return snippets.get(file);
};
glue = glue.replace(/^import \{([^}]*)\} from ['"](\.\/snippets\/[^'"]+)['"];?$/gm, (_, names, path) =>
  `const {${names.replace(/\bas\b/g, ":")}} = ${scope(path)};`,
);
glue = glue.replace(/^import \* as (\w+) from ['"](\.\/snippets\/[^'"]+)['"];?$/gm, (_, name, path) => `const ${name} = ${scope(path)};`);
if (/^import /m.test(glue)) throw new Error("bundle-entry: an import of the glue was not inlined");
if (!/^let (\w+, )*wasm(, \w+)*;$/m.test(glue)) throw new Error("bundle-entry: the glue no longer declares `let … wasm` (used by the entry)");

const inlined = [...snippets].map(([file, name]) => {
  let source = readFileSync(file, "utf8");
  if (sharedError) {
    const defined = /^export class EventStoreError extends Error \{\n[\s\S]*?\n\}\n/m;
    // index.js's class, not a copy of it.
    source = source.replace(defined, "export const EventStoreError = __evstoreSharedError;\n");
  }
  if (/^import /m.test(source)) throw new Error(`bundle-entry: ${file} imports; inline it by hand`);
  const exported = [...source.matchAll(/^export (?:async )?(?:function|const|let|class) (\w+)/gm)].map((m) => m[1]);
  const body = source.replace(/^export (?=(async )?(function|const|let|class) )/gm, "");
  return `const ${name} = (() => {\n${body}\nreturn { ${exported.join(", ")} };\n})();\n`;
});

// The snippets' public classes (EventStoreError) are exports of the package too.
const publicNames = ["EventStoreError"];
const exported = publicNames.map((name) => {
  const holder = inlined.findIndex((code) => new RegExp(`return \\{[^}]*\\b${name}\\b`).test(code));
  if (holder < 0) throw new Error(`bundle-entry: no snippet exports ${name}`);
  return `const ${name} = ${[...snippets.values()][holder]}.${name};\nexport { ${name} };\n`;
});

const defaultWasm = 'new URL("./evstore_wasm_bg.wasm", import.meta.url)';
let entry = readFileSync(template, "utf8").replace(/^import __wbg_init, \{ EventStore \} from "\.\/evstore_wasm\.js";\n/m, "");
if (entry.includes("evstore_wasm.js\"")) throw new Error("bundle-entry: unexpected import in pkg-template/store.js");
if (entry.split(defaultWasm).length !== 2) throw new Error(`bundle-entry: pkg-template/store.js must name its wasm once as ${defaultWasm}`);
if (noSyncHost) {
  const host = /^\/\/ ---- Sync -+\n[\s\S]*?^\/\/ ---- End of the sync host -+\n/m;
  if (!host.test(entry)) throw new Error("bundle-entry: pkg-template/store.js has no sync host section");
  entry = entry.replace(host, "");
}
entry = entry.replace(defaultWasm, `new URL(${JSON.stringify(`./${wasmName}`)}, import.meta.url)`);
/** The classes a wasm-bindgen glue exports. */
const classesOf = (code) => new Set([...code.matchAll(/^export class (\w+)/gm)].map((m) => m[1]));
const own = classesOf(glue);
const standIns = serverGlue ? [...classesOf(readFileSync(serverGlue, "utf8"))].filter((name) => !own.has(name)) : [];
if (standIns.length && !/^function serverOnly\(/m.test(entry)) throw new Error("bundle-entry: pkg-template/store.js has no serverOnly(name)");
const stubs = standIns.map((name) => `export const ${name} = serverOnly(${JSON.stringify(name)});\n`).join("");
const shared = sharedError ? 'import { EventStoreError as __evstoreSharedError } from "./index.js";\n' : "";
if (sharedError && !inlined.some((code) => code.includes("EventStoreError = __evstoreSharedError"))) {
  throw new Error("bundle-entry: no snippet defines EventStoreError to share");
}
const bundled = `${shared}${inlined.join("\n")}\n${exported.join("")}${glue}\n${entry}\n${stubs}`;
// No syntax lowering (no target): the code runs as written, only smaller.
const { code } = transformSync(bundled, { format: "esm", minify: true, keepNames: true, legalComments: "none" });
writeFileSync(output, code);
