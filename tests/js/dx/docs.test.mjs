// The docs are tested (issue 18, items 18 to 20): every ```ts block of README.md and of the npm
// page (pkg-template/README.md) is type-checked by tsc against the built package's types, the npm
// page's quick start runs in Node and exits by itself, and no doc quotes a size of the build
// (they went stale: `make bench` measures them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const DOCS = ["README.md", "pkg-template/README.md"];

/** The fenced blocks of `doc` in language `lang`: `[{ line, code }]` (`line`: the fence's, 1-based). */
export function codeBlocks(doc, lang) {
  const lines = readFileSync(join(REPO, doc), "utf8").split("\n");
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `${doc}:${i + 1}: a code block that never closes`);
    if (open[1] === lang) blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

/** A temporary directory where `import "evstore"` is the built package (tests run after `make package`). */
function workspace(t) {
  const dir = mkdtempSync(join(tmpdir(), "evstore-docs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  return dir;
}

// What the snippets use without defining it: the app around them.
const PRELUDE = `
type CartEvent =
  | { type: "ItemAdded"; data: { sku: string; qty: number } }
  | { type: "CheckedOut"; data: null };
type ListEvent = { type: "ItemAdded"; data: { name: string } } | { type: "ItemChecked"; data: null };
declare function fetchJwt(): Promise<string>;
declare function render(...args: unknown[]): void;
declare function redecide(
  theirs: import("evstore").RecordedEvent<CartEvent>[],
  ours: import("evstore").RecordedEvent<CartEvent>[],
): import("evstore").EventData<CartEvent>[];
`;

test("every ```ts block of README.md and the npm page type-checks against the package's types", (t) => {
  const dir = workspace(t);
  const files = [];
  const origin = new Map(); // file → [doc, line of the fence]
  for (const doc of DOCS) {
    for (const { line, code } of codeBlocks(doc, "ts")) {
      const file = `${doc.replace(/\W+/g, "-")}-${line}.ts`;
      // Each block is a module of its own (top-level await, no clash between blocks).
      writeFileSync(join(dir, file), `${code}\nexport {};\n`);
      files.push(file);
      origin.set(file, [doc, line]);
    }
  }
  assert.ok(files.length >= 3, `found ${files.length} ts blocks`);
  writeFileSync(join(dir, "prelude.d.ts"), PRELUDE);
  const { compilerOptions } = JSON.parse(readFileSync(join(REPO, "tests/js/tsconfig.json"), "utf8"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["prelude.d.ts", ...files] }));
  const tsc = spawnSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: dir, encoding: "utf8" });
  // Errors name the doc and the line in it.
  const report = tsc.stdout.replace(/^([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (all, file, l, c) => {
    const at = origin.get(file);
    return at ? `${at[0]}:${at[1] + Number(l)}:${c}` : all;
  });
  assert.equal(tsc.status, 0, `tsc found errors in the docs' TypeScript:\n${report}${tsc.stderr}`);
});

test("the npm page's quick start runs in Node and exits by itself", (t) => {
  const [quickStart] = codeBlocks("pkg-template/README.md", "js");
  assert.ok(quickStart, "the npm page has a js block");
  assert.ok(quickStart.code.split("\n").length <= 15, "the quick start is short");
  const dir = workspace(t);
  writeFileSync(join(dir, "quick-start.mjs"), quickStart.code);
  const run = spawnSync(process.execPath, ["quick-start.mjs"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
  const output = `${run.stdout}${run.stderr}`.slice(-2000); // (a stack trace quotes the minified entry)
  assert.equal(run.signal, null, `killed (${run.signal}): it did not finish\n${output}`);
  assert.equal(run.status, 0, `exit code ${run.status}\n${output}`);
  assert.ok(run.stdout.trim().length > 0, "it prints what it did");
});

test("the docs quote no size of the package or of the edge upload (make bench measures them)", () => {
  const stale = [];
  for (const doc of [...DOCS, "edge/PROTOCOL.md"]) {
    readFileSync(join(REPO, doc), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (/\d\s*(KB|KiB|kB)\s*(gzip|brotli|compressed)|under \d+\s*(KB|KiB|kB)\b/i.test(line)) stale.push(`${doc}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(stale, []);
});
