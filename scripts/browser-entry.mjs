// Builds pkg/index.js, the browsers' entry, from pkg-template/index.js: EventStoreError's class from
// src/codec.js (the one class; local.js and synced.js import it from here), a stand-in for each
// class the server build exports and the browser build does not, minified like the other entries.
// Usage: node scripts/browser-entry.mjs <template> <codec.js> <browser glue .js> <server glue .js> <output .js>
import { readFileSync, writeFileSync } from "node:fs";
import { transformSync } from "esbuild";

const [template, codec, browserGlue, serverGlue, output] = process.argv.slice(2);
if (!output) throw new Error("usage: browser-entry.mjs <template> <codec.js> <browser glue .js> <server glue .js> <output .js>");
const errorClass = readFileSync(codec, "utf8").match(/^export class EventStoreError extends Error \{\n[\s\S]*?\n\}\n/m);
if (!errorClass) throw new Error("browser-entry: src/codec.js no longer defines `export class EventStoreError extends Error {…}`");
let entry = readFileSync(template, "utf8");
if (entry.split("/* EventStoreError */").length !== 2) throw new Error("browser-entry: the template must hold /* EventStoreError */ once");
entry = entry.replace("/* EventStoreError */", errorClass[0]);

/** The classes a wasm-bindgen glue exports. */
const classesOf = (file) => new Set([...readFileSync(file, "utf8").matchAll(/^export class (\w+)/gm)].map((m) => m[1]));
const browser = classesOf(browserGlue);
const standIns = [...classesOf(serverGlue)].filter((name) => !browser.has(name));
entry += standIns.map((name) => `export const ${name} = serverOnly(${JSON.stringify(name)});\n`).join("");
const { code } = transformSync(entry, { format: "esm", minify: true, keepNames: true, legalComments: "none" });
writeFileSync(output, code);
