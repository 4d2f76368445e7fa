// The package's contract suite on `storage: "postgres"`: on PGlite (embedded) and on a real
// PostgreSQL cluster started for the run (tests/js/postgres/cluster.mjs). Every case gets a fresh
// tenant of one shared database, as tenants share a database in the server.
import { after, before, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { EventStore } from "evstore";
import { cases } from "../contract.mjs";
import { pgliteDatabase } from "../../../server/db.js";
import { startCluster } from "./cluster.mjs";

let tenants = 0;

/** The suite's `open(options)` for one case: a store of a tenant of its own in `database()`. */
function opener(database) {
  const tenant = `case-${++tenants}`;
  return (o = {}) =>
    typeof o === "object" && o !== null
      ? EventStore.open({ storage: "postgres", database: database(), tenant, ...o })
      : EventStore.open(o);
}

/** Registers every case of the suite, each run on a fresh tenant of `database()`. */
function suite(database) {
  for (const name of Object.keys(cases(() => {}))) {
    test(name, () => cases(opener(database))[name]());
  }
}

describe("PGlite", () => {
  let pglite;
  let db;
  before(async () => {
    pglite = await PGlite.create();
    db = pgliteDatabase(pglite);
  });
  after(() => pglite?.close());
  suite(() => db);
});

describe("PostgreSQL", () => {
  let cluster;
  let db;
  before(async () => {
    cluster = await startCluster();
    db = cluster.database();
  });
  after(() => cluster?.stop());
  suite(() => db);
});
