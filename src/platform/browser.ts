// Browser host: navigator.gpu, records in IndexedDB (localStorage where IndexedDB cannot open),
// no file paths. No Node imports: this module is what the `browser` condition of `#platform` gives.
import type { Platform, TextStore } from './types.js';

/** The IndexedDB database (and localStorage key prefix) used when `cacheDir` is not given. */
export const DEFAULT_STORE_NAME = 'lbrx-cache';
const OBJECT_STORE = 'records';

/** `indexedDB` or `localStorage` of this global, or null where missing or forbidden (opaque origins throw on access). */
function hostObject<K extends 'indexedDB' | 'localStorage'>(key: K): (typeof globalThis)[K] | null {
  try {
    return (globalThis as Partial<typeof globalThis>)[key] ?? null;
  } catch {
    return null;
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** Records in the object store `records` of IndexedDB database `name`, one string per key. */
export function indexedDbStore(name: string, idb: IDBFactory): TextStore {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const req = idb.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(OBJECT_STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error(`IndexedDB '${name}' could not be opened`));
      req.onblocked = () => reject(new Error(`IndexedDB '${name}' is blocked by another open connection`));
    });
  // One connection per call: records are read once per device and written after tuning.
  const run = async <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    try {
      return await request(fn(db.transaction(OBJECT_STORE, mode).objectStore(OBJECT_STORE)));
    } finally {
      db.close();
    }
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

/** Records as localStorage items `${prefix}/${key}` (synchronous, ~5 MB per origin). */
export function localStorageStore(prefix: string, storage: Storage): TextStore {
  return {
    async load(key) {
      return storage.getItem(`${prefix}/${key}`);
    },
    async save(key, text) {
      storage.setItem(`${prefix}/${key}`, text);
    },
  };
}

/** Uses `first` until one of its calls fails (IndexedDB refused, e.g. in a private window), then `second`. */
export function fallbackStore(first: TextStore, second: TextStore): TextStore {
  let use = first;
  const call = async <T>(fn: (s: TextStore) => Promise<T>): Promise<T> => {
    if (use === second) return fn(second);
    try {
      return await fn(first);
    } catch {
      use = second;
      return fn(second);
    }
  };
  return {
    load: (key) => call((s) => s.load(key)),
    save: (key, text) => call((s) => s.save(key, text)),
  };
}

/** The store for `name`: IndexedDB, falling back to localStorage; null where neither exists. */
export function browserStore(name: string, idb: IDBFactory | null, storage: Storage | null): TextStore | null {
  const ls = storage ? localStorageStore(name, storage) : null;
  if (!idb) return ls;
  const db = indexedDbStore(name, idb);
  return ls ? fallbackStore(db, ls) : db;
}

export const platform: Platform = {
  name: 'browser',
  async getGpu() {
    return typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu ? navigator.gpu : null;
  },
  /** `cacheDir` names the IndexedDB database (and localStorage prefix); default `lbrx-cache`. */
  openStore(cacheDir) {
    return browserStore(cacheDir || DEFAULT_STORE_NAME, hostObject('indexedDB'), hostObject('localStorage'));
  },
  noAdapterHelp() {
    // navigator.gpu exists only in secure contexts: https:// pages, or http://localhost / 127.0.0.1.
    if (typeof isSecureContext !== 'undefined' && !isSecureContext) {
      return 'WebGPU needs a secure context: serve the page over https:// or from http://localhost (or 127.0.0.1).';
    }
    return (
      'This browser exposes no WebGPU adapter: use Chrome/Edge 113+, Safari 26+ on macOS, or Firefox with WebGPU ' +
      'enabled (Windows 141+; elsewhere dom.webgpu.enabled in about:config); check chrome://gpu for a blocklisted GPU.'
    );
  },
  files: null,
};
