// The browser host: the adapter Chromium gives (SwiftShader: subgroups, no shader-f16), the
// IndexedDB store with its localStorage fallback, and Node-only features failing with a message
// that says what to pass instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../../src/index.js';
import { browserStore, DEFAULT_STORE_NAME, fallbackStore, indexedDbStore, localStorageStore, platform } from '../../src/platform/browser.js';
import type { TextStore } from '../../src/platform/types.js';

describe('adapter', () => {
  beforeAll(async () => {
    await lb.init({ cacheDir: false });
  });
  afterAll(async () => {
    await lb.shutdown();
  });

  it('is WebGPU from navigator.gpu: SwiftShader with subgroups and without shader-f16', async () => {
    expect(platform.name).toBe('browser');
    expect(await platform.getGpu({ enableToggles: [], disableToggles: [] })).toBe(navigator.gpu);
    const dev = lb.device()!;
    expect(dev.gpu).toBe(navigator.gpu);
    expect(dev.adapter.info.architecture).toBe('swiftshader');
    // The packed-f16 path (f16 stored two per u32, computed in f32) is what every f16 test here runs.
    expect(dev.features.f16).toBe(false);
    expect(dev.features.subgroups).toBe(true);
    expect(dev.adapter.info.subgroupMinSize).toBe(4);
  });

  it('runs work end to end', async () => {
    const a = lb.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const c = lb.tidy(() => a.add(lb.ones([3])).mul(2));
    expect(await c.toArray()).toEqual([[4, 6, 8], [10, 12, 14]]);
    a.dispose();
    c.dispose();
    expect(lb.memory().liveBytes).toBe(0);
  });
});

describe('file paths are Node-only', () => {
  it('loaders say to pass a URL, a Response or the bytes', async () => {
    await expect(lb.loadSafetensors('weights/model.safetensors')).rejects.toThrow(lb.FormatError);
    await expect(lb.loadSafetensors('weights/model.safetensors')).rejects.toThrow(/file paths need Node; in a browser pass a URL, a Response or the bytes/);
    await expect(lb.loadSafetensors('weights/model.safetensors.index.json')).rejects.toThrow(/file paths need Node; in a browser pass a URL/);
    await expect(lb.loadGguf('model.gguf')).rejects.toThrow(/file paths need Node; in a browser pass a URL, a Response or the bytes/);
  });

  it('saveSafetensors to a path says to call it without one', async () => {
    const t = lb.tensor([1, 2], [2], { device: 'cpu' });
    await expect(lb.saveSafetensors({ t }, 'out.safetensors')).rejects.toThrow(/writing to a path needs Node; call without a path to get the bytes/);
    expect((await lb.saveSafetensors({ t })).byteLength).toBeGreaterThan(8);
    t.dispose();
  });

  it('no adapter in an insecure context says why', () => {
    // This page is http://localhost, a secure context; the message for one that is not is tested via isSecureContext.
    expect(isSecureContext).toBe(true);
    expect(platform.noAdapterHelp()).toMatch(/Chrome\/Edge 113\+.*Safari 26\+.*Firefox/);
  });
});

/** A fresh database name per case, deleted afterwards. */
const names: string[] = [];
function fresh(label: string): string {
  const name = `lbrx-test-${label}-${Math.random().toString(36).slice(2)}`;
  names.push(name);
  return name;
}
afterAll(async () => {
  for (const n of names) {
    await new Promise((r) => {
      const req = indexedDB.deleteDatabase(n);
      req.onsuccess = req.onerror = req.onblocked = r;
    });
    for (const k of Object.keys(localStorage)) if (k.startsWith(`${n}/`)) localStorage.removeItem(k);
  }
});

async function roundTrip(store: TextStore): Promise<void> {
  expect(await store.load('tune-x.json')).toBeNull();
  await store.save('tune-x.json', '{"a":1}');
  await store.save('pipelines.json', 'p');
  expect(await store.load('tune-x.json')).toBe('{"a":1}');
  await store.save('tune-x.json', '{"a":2}');
  expect(await store.load('tune-x.json')).toBe('{"a":2}');
  expect(await store.load('pipelines.json')).toBe('p');
}

describe('persistent store', () => {
  it('IndexedDB: records survive a new store object (a reload)', async () => {
    const name = fresh('idb');
    await roundTrip(indexedDbStore(name, indexedDB));
    expect(await indexedDbStore(name, indexedDB).load('tune-x.json')).toBe('{"a":2}');
    expect(localStorage.getItem(`${name}/tune-x.json`)).toBeNull(); // IndexedDB worked: nothing in localStorage
  });

  it('localStorage: prefixed keys', async () => {
    const name = fresh('ls');
    await roundTrip(localStorageStore(name, localStorage));
    expect(localStorage.getItem(`${name}/tune-x.json`)).toBe('{"a":2}');
  });

  it('falls back to localStorage when IndexedDB refuses (private windows, storage policies)', async () => {
    const name = fresh('fallback');
    const refusing = { open: () => { throw new DOMException('The user denied permission to access the database.', 'SecurityError'); } } as unknown as IDBFactory;
    const store = browserStore(name, refusing, localStorage)!;
    await roundTrip(store);
    expect(localStorage.getItem(`${name}/tune-x.json`)).toBe('{"a":2}');
    // An open request that errors asynchronously falls back too.
    const erroring = {
      open: () => {
        const req = { error: new DOMException('quota', 'QuotaExceededError') } as unknown as IDBOpenDBRequest;
        setTimeout(() => req.onerror?.(new Event('error')), 0);
        return req;
      },
    } as unknown as IDBFactory;
    const name2 = fresh('fallback2');
    await roundTrip(fallbackStore(indexedDbStore(name2, erroring), localStorageStore(name2, localStorage)));
    expect(localStorage.getItem(`${name2}/pipelines.json`)).toBe('p');
  });

  it('neither: no store; only localStorage: that one', async () => {
    expect(browserStore('x', null, null)).toBeNull();
    const name = fresh('only-ls');
    await roundTrip(browserStore(name, null, localStorage)!);
  });

  it('platform.openStore: cacheDir names the database, default lbrx-cache', async () => {
    const name = fresh('named');
    const store = platform.openStore(name)!;
    await store.save('k', 'v');
    expect(await indexedDbStore(name, indexedDB).load('k')).toBe('v');
    expect(DEFAULT_STORE_NAME).toBe('lbrx-cache');
    expect(platform.openStore()).not.toBeNull();
  });
});
