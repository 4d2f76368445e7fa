// scripts/edge-token.mjs as a user runs it (issue 18, item 20): --help answers instead of
// crashing, a wrong option is explained, and the development secret is found in the data
// directory that EDGE_DATA (or --data) names, taken as `make edge` takes it, from any directory.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { REPO, tempDir } from "./harness.mjs";

const SCRIPT = join(REPO, "scripts/edge-token.mjs");
const made = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Runs the script with only `env` (plus PATH and HOME), from `cwd`. */
function run(args, { env = {}, cwd = REPO } = {}) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: "utf8" });
}

/** A data directory with a development secret, as `make edge` leaves it. */
function dataDir(parent) {
  const dir = mkdtempSync(join(parent, "edge-token-data-"));
  made.push(dir);
  const secret = `secret-${basename(dir)}`;
  writeFileSync(join(dir, "dev-secret"), `${secret}\n`);
  return { dir, secret };
}

/** The claims of `token` once its HS256 signature checks out with `secret`. */
function verified(token, secret) {
  const [header, claims, signature] = token.trim().split(".");
  assert.equal(createHmac("sha256", secret).update(`${header}.${claims}`).digest("base64url"), signature, "signed with the data directory's secret");
  return JSON.parse(Buffer.from(claims, "base64url").toString());
}

test("--help prints the usage and exits 0; a wrong option is explained, without a stack trace", () => {
  const help = run(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /usage: node scripts\/edge-token\.mjs/);
  for (const word of ["--tenant", "--scope", "--ttl", "--data", "EDGE_DATA", "EVSTORE_JWT_SECRET"]) assert.ok(help.stdout.includes(word), word);
  assert.equal(run(["-h"]).status, 0);
  const wrong = run(["--tenat", "acme"]);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /Unknown option '--tenat'[\s\S]*usage:/);
  assert.doesNotMatch(wrong.stderr, /^\s+at /m);
  const ttl = run(["--ttl", "soon"], { env: { EVSTORE_JWT_SECRET: "x" } });
  assert.equal(ttl.status, 2);
  assert.match(ttl.stderr, /--ttl/);
});

test("EDGE_DATA names the data directory as `make edge` takes it, from any working directory; --data too", () => {
  // A relative EDGE_DATA is the repository's subdirectory (make runs in the repository), also
  // when the script is started elsewhere.
  const scratch = join(REPO, "target");
  mkdirSync(scratch, { recursive: true });
  const inRepo = dataDir(scratch);
  const relative = inRepo.dir.slice(REPO.length);
  const elsewhere = tempDir();
  const fromElsewhere = run(["--tenant", "acme"], { env: { EDGE_DATA: relative }, cwd: elsewhere });
  assert.equal(fromElsewhere.status, 0, fromElsewhere.stderr);
  assert.equal(verified(fromElsewhere.stdout, inRepo.secret).tid, "acme");

  const absolute = dataDir(tempDir());
  const byEnv = run(["--scope", "read"], { env: { EDGE_DATA: absolute.dir }, cwd: elsewhere });
  assert.equal(byEnv.status, 0, byEnv.stderr);
  assert.deepEqual([verified(byEnv.stdout, absolute.secret).tid, verified(byEnv.stdout, absolute.secret).scope], ["demo", "read"]);

  const byFlag = run(["--data", absolute.dir], { env: { EDGE_DATA: relative } });
  assert.equal(byFlag.status, 0, byFlag.stderr);
  verified(byFlag.stdout, absolute.secret);

  const missing = run([], { env: { EDGE_DATA: join(elsewhere, "nothing-here") } });
  assert.equal(missing.status, 1);
  assert.ok(missing.stderr.includes(join(elsewhere, "nothing-here", "dev-secret")), missing.stderr);
});
