// What Node keeps in a cache directory, a browser keeps in IndexedDB (localStorage where
// IndexedDB is refused): lb.tune() results and the pipeline-variant record, written by one
// device and used by the next one (as after a page reload) without tuning again.
import { afterAll, describe, expect, it } from 'vitest';
import * as lb from '../../src/index.js';
import { lastPlan } from '../../src/ops/matmul-gpu.js';
import { tuningLoaded } from '../../src/tune/state.js';

const shapes = [{ m: 32, k: 32, n: 32 }];
const names: string[] = [];
/** A fresh database name (the browser meaning of cacheDir), deleted at the end. */
function fresh(label: string): string {
  const name = `lbrx-persist-${label}-${Math.random().toString(36).slice(2)}`;
  names.push(name);
  return name;
}

function readIdb(db: string, key: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const conn = open.result;
      if (!conn.objectStoreNames.contains('records')) {
        conn.close();
        resolve(null);
        return;
      }
      const get = conn.transaction('records').objectStore('records').get(key);
      get.onsuccess = () => {
        conn.close();
        resolve(typeof get.result === 'string' ? get.result : null);
      };
      get.onerror = () => reject(get.error);
    };
  });
}

/** Runs `fn` with `indexedDB.open` refusing, as in a browser whose storage policy blocks it. */
async function withoutIndexedDb<T>(fn: () => Promise<T>): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
  const refusing = { open: () => { throw new DOMException('IndexedDB is disabled', 'InvalidStateError'); } };
  Object.defineProperty(globalThis, 'indexedDB', { value: refusing, configurable: true, writable: true });
  try {
    return await fn();
  } finally {
    if (own) Object.defineProperty(globalThis, 'indexedDB', own);
    else delete (globalThis as { indexedDB?: unknown }).indexedDB;
  }
}

afterAll(async () => {
  await lb.shutdown();
  for (const n of names) {
    await new Promise((r) => {
      const req = indexedDB.deleteDatabase(n);
      req.onsuccess = req.onerror = req.onblocked = r;
    });
    for (const k of Object.keys(localStorage)) if (k.startsWith(`${n}/`)) localStorage.removeItem(k);
  }
});

describe('tuning results persist in IndexedDB', () => {
  it('tunes, saves the record in IndexedDB; a new device reuses it without tuning, and matmul uses it', async () => {
    const db = fresh('tune');
    await lb.init({ cacheDir: db });
    const first = await lb.tune({ shapes, cacheDir: db });
    expect(first.tuned).toBe(1);
    expect(first.record).toMatch(/^tune-.*\.json$/);
    const record = JSON.parse((await readIdb(db, first.record!))!);
    expect(record.kind).toBe('lbrx-tune');
    expect(record.device).toBe(lb.device()!.fingerprint.id);
    expect(Object.keys(record.entries)).toEqual([first.entries[0].class]);
    expect(localStorage.getItem(`${db}/${first.record}`)).toBeNull();

    // A new device starts with an empty in-memory table, as after a reload.
    const dev = await lb.init({ cacheDir: db });
    const a = lb.ones([32, 32]);
    lb.matmul(a, a).dispose(); // the first matmul starts loading the record
    await tuningLoaded(dev);
    const c = lb.matmul(a, a);
    expect(lastPlan()?.config).toEqual(first.entries[0].config);
    expect((await c.data())[0]).toBe(32);
    c.dispose();
    a.dispose();
    const second = await lb.tune({ shapes, cacheDir: db });
    expect(second.tuned).toBe(0);
    expect(second.reused).toBe(1);
  });

  it('the pipeline-variant record is written at shutdown and read by the next device', async () => {
    const db = fresh('pipelines');
    await lb.init({ cacheDir: db });
    const x = lb.randn([16, 16], { seed: 1 });
    const y = lb.tidy(() => lb.softmax(lb.matmul(x, x).gelu(), -1));
    await y.data();
    x.dispose();
    y.dispose();
    await lb.shutdown();
    const text = await readIdb(db, 'pipelines.json');
    expect(text).not.toBeNull();
    expect(text).toMatch(/softmax/);
    await lb.init({ cacheDir: db });
    // Warm-up compiles the recorded variants in the background; wait until they are there.
    for (let i = 0; i < 200 && lb.pipelineStats().pipelines < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lb.pipelineStats().pipelines).toBeGreaterThanOrEqual(3);
  });

  it('cacheDir: false persists nothing', async () => {
    const db = fresh('none');
    await lb.init({ cacheDir: false });
    const r = await lb.tune({ shapes: [{ m: 1, k: 64, n: 48, transB: true }], cacheDir: false });
    expect(r.record).toBeNull();
    expect(await readIdb(db, 'pipelines.json')).toBeNull();
  });
});

describe('localStorage where IndexedDB is refused', () => {
  it('tuning results and variants go to localStorage, and come back from there', async () => {
    const db = fresh('ls');
    await withoutIndexedDb(async () => {
      await lb.init({ cacheDir: db });
      const first = await lb.tune({ shapes, cacheDir: db });
      expect(first.tuned).toBe(1);
      const saved = localStorage.getItem(`${db}/${first.record}`);
      expect(JSON.parse(saved!).kind).toBe('lbrx-tune');
      await lb.shutdown();
      expect(localStorage.getItem(`${db}/pipelines.json`)).toMatch(/matmul/);
      await lb.init({ cacheDir: db });
      const second = await lb.tune({ shapes, cacheDir: db });
      expect(second.reused).toBe(1);
      expect(second.tuned).toBe(0);
    });
  });
});
