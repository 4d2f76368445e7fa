// The JS half of the contract suite's Durable Object factory (tests/contract/durable_object.rs).
// The object that runs the suite (tests/js/edge/do-suite-worker.mjs) puts its `ctx.storage` in
// `globalThis.__evstoreContractStorage` first.

/** That storage with every `evstore_` table dropped (in one transaction), so a case starts empty. */
export function emptiedStorage() {
  const storage = globalThis.__evstoreContractStorage;
  if (!storage) throw new Error("no Durable Object storage: this suite runs inside workerd (tests/js/edge/do-suite.test.mjs)");
  storage.transactionSync(() => {
    const tables = storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evstore!_%' ESCAPE '!'").toArray();
    for (const { name } of tables) storage.sql.exec(`DROP TABLE "${name}"`);
  });
  return storage;
}
