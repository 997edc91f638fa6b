// Browser host: navigator.gpu, IndexedDB for persistent records.
import type { Platform, TextStore } from './types.js';

const DB = 'lbrx-cache';
const STORE = 'records';

function idb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function indexedDbStore(): TextStore {
  const run = async <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await idb();
    return new Promise<T>((resolve, reject) => {
      const req = fn(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).finally(() => db.close());
  };
  return {
    async load(key) {
      const v = await run('readonly', (s) => s.get(key) as IDBRequest<unknown>);
      return typeof v === 'string' ? v : null;
    },
    async save(key, text) {
      await run('readwrite', (s) => s.put(text, key));
    },
  };
}

export const platform: Platform = {
  name: 'browser',
  async getGpu() {
    return typeof navigator !== 'undefined' && 'gpu' in navigator ? navigator.gpu : null;
  },
  openStore() {
    return typeof indexedDB !== 'undefined' ? indexedDbStore() : null;
  },
  noAdapterHelp() {
    return 'This browser exposes no WebGPU adapter: use Chrome/Edge 113+, Safari 26+ on macOS, or Firefox with WebGPU enabled.';
  },
  files: null,
};
