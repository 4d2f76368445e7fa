// The docs name only files that a clone has: every repository path in backticks or in a Markdown
// link of the READMEs and the protocol document must exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const docs = ["README.md", "pkg-template/README.md", "edge/PROTOCOL.md"];
const roots = /^(src|tests|scripts|bench|edge|pkg-template|www|\.ci)\//;

test("every repository path the docs name exists", () => {
  const missing = [];
  let checked = 0;
  for (const doc of docs) {
    const text = readFileSync(join(repo, doc), "utf8");
    const names = [...text.matchAll(/`([^`\s]+)`|\]\(([^)\s#]+)\)/g)].map((m) => m[1] ?? m[2]);
    for (const name of names) {
      const path = name.replace(/^\.\//, "").replace(/[.,:;]+$/, "");
      if (!roots.test(path) || /[*{}<>$]/.test(path)) continue;
      checked++;
      if (!existsSync(join(repo, path))) missing.push(`${doc}: ${name}`);
    }
  }
  assert.ok(checked >= 5, `the docs name repository files (${checked} checked)`);
  assert.deepEqual(missing, []);
});
