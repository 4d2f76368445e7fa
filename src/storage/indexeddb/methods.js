// The methods only an IndexedDB store has: navigator.storage, where the runtime has it.
async function persistStorage() {
  return (await globalThis.navigator?.storage?.persist?.()) ?? false;
}

async function storageEstimate() {
  const e = (await globalThis.navigator?.storage?.estimate?.()) ?? {};
  return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
}

/** Gives an IndexedDB store `persistStorage()` and `storageEstimate()`. */
export function addStorageMethods(store) {
  Object.defineProperties(store, {
    persistStorage: { value: persistStorage, configurable: true },
    storageEstimate: { value: storageEstimate, configurable: true },
  });
}
