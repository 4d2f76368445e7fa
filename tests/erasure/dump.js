// Raw dumps for the erasure tests (tests/erasure/mod.rs): everything a storage holds, as text.

/**
 * Every object store of the IndexedDB database `name`, walked with cursors: each key and value
 * JSON-stringified, one line per record.
 */
export async function dumpIndexedDb(name) {
  const request = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
  const db = await request(indexedDB.open(name));
  try {
    const names = [...db.objectStoreNames];
    const tx = db.transaction(names);
    const lines = [];
    for (const store of names) {
      await new Promise((resolve, reject) => {
        const cursor = tx.objectStore(store).openCursor();
        cursor.onerror = () => reject(cursor.error);
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c) return resolve();
          lines.push(`${store} ${JSON.stringify(c.key)} ${JSON.stringify(c.value)}`);
          c.continue();
        };
      });
    }
    return lines.join("\n");
  } finally {
    db.close();
  }
}

/**
 * Every row of every `evstore_` table of the running Durable Object's SQLite (the contract
 * suite's object, tests/contract/durable_object.js), JSON-stringified, one line per row.
 */
export function dumpDurableObject() {
  const sql = globalThis.__evstoreContractStorage.sql;
  const tables = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evstore!_%' ESCAPE '!'").toArray();
  const lines = [];
  for (const { name } of tables) {
    for (const row of sql.exec(`SELECT * FROM "${name}"`)) lines.push(`${name} ${JSON.stringify(row)}`);
  }
  return lines.join("\n");
}
