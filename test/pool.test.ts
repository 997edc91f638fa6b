import { describe, it, expect } from 'vitest';
import { BufferPool, type PoolAllocator } from '../src/runtime/pool.js';
import { GpuOutOfMemoryError, GpuValidationError } from '../src/errors.js';

interface FakeBuffer {
  id: number;
  bytes: number;
  usage: number;
  label: string;
}

/** Records every create/destroy; `failures` makes the next N creates throw `failWith`. */
class FakeAllocator implements PoolAllocator<FakeBuffer> {
  created: FakeBuffer[] = [];
  destroyed: FakeBuffer[] = [];
  failures = 0;
  failWith: unknown = new Error('driver refused');
  creates = 0;

  create(bytes: number, usage: number, label: string): FakeBuffer {
    this.creates++;
    if (this.failures > 0) {
      this.failures--;
      throw this.failWith;
    }
    const b = { id: this.created.length, bytes, usage, label };
    this.created.push(b);
    return b;
  }

  destroy(buffer: FakeBuffer): void {
    if (this.destroyed.includes(buffer)) throw new Error(`buffer ${buffer.id} destroyed twice`);
    this.destroyed.push(buffer);
  }

  get destroyedIds(): number[] {
    return this.destroyed.map((b) => b.id);
  }
}

const STORAGE = 0x80;
const UNIFORM = 0x40;

function setup(options?: ConstructorParameters<typeof BufferPool>[1]) {
  const alloc = new FakeAllocator();
  return { alloc, pool: new BufferPool(alloc, options) };
}

/** Tiny seeded LCG (Numerical Recipes constants), uniform in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('BufferPool.sizeClass', () => {
  it('rounds to known classes', () => {
    const cases: [number, number][] = [
      [0, 16], [1, 16], [4, 16], [16, 16], [17, 32], [100, 112], [128, 128], [129, 144],
      [256, 256], [257, 288], [1000, 1024], [1025, 1152], [4096, 4096], [4097, 4608],
      [2 ** 20 + 1, 2 ** 20 + 2 ** 17], [2 ** 33 + 1, 2 ** 33 + 2 ** 30], [10.5, 16],
    ];
    for (const [bytes, cls] of cases) expect([bytes, BufferPool.sizeClass(bytes)]).toEqual([bytes, cls]);
  });

  it('is >= the request, a multiple of 16, and monotonic', () => {
    let prev = 0;
    for (let b = 0; b <= 70_000; b++) {
      const c = BufferPool.sizeClass(b);
      if (c < b || c % 16 !== 0 || c < prev) throw new Error(`bad class ${c} for ${b} (previous ${prev})`);
      prev = c;
    }
    // Around every power of two up to 2^40, where log2 rounding could slip.
    for (let k = 4; k <= 40; k++) {
      for (const b of [2 ** k - 1, 2 ** k, 2 ** k + 1]) {
        const c = BufferPool.sizeClass(b);
        expect(c).toBeGreaterThanOrEqual(b);
        expect(c - b).toBeLessThanOrEqual(Math.max(15, b / 8));
        expect(BufferPool.sizeClass(b + 1)).toBeGreaterThanOrEqual(c);
      }
    }
  });

  it('rejects negative, NaN and infinite sizes', () => {
    for (const b of [-1, NaN, Infinity]) expect(() => BufferPool.sizeClass(b)).toThrow(GpuValidationError);
  });

  it('keeps waste small over many random sizes', () => {
    const rand = lcg(12345);
    const { pool } = setup();
    const sizes: number[] = [];
    for (let i = 0; i < 5000; i++) {
      // Log-uniform over 1 B .. 64 MiB, plus some tiny sizes.
      const b = i % 10 === 0 ? Math.floor(rand() * 64) : Math.floor(2 ** (rand() * 26));
      sizes.push(b);
      const c = BufferPool.sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      if (b > 128) expect((c - b) / c).toBeLessThan(0.125);
      pool.acquire(b, STORAGE);
    }
    const s = pool.stats();
    expect(s.buffers).toBe(5000);
    expect(s.requestedBytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(s.liveBytes - s.requestedBytes).toBeLessThan(0.25 * s.liveBytes);
    // Monotonic over the drawn sizes too.
    const sorted = [...sizes].sort((a, b) => a - b).map((b) => BufferPool.sizeClass(b));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBeGreaterThanOrEqual(sorted[i - 1]);
  });
});

describe('BufferPool', () => {
  it('reuses a released buffer for the same usage and class', () => {
    const { alloc, pool } = setup();
    const a = pool.acquire(100, STORAGE, 'a');
    expect(a.size).toBe(112);
    expect(a.requested).toBe(100);
    expect(a.usage).toBe(STORAGE);
    expect(alloc.created).toEqual([{ id: 0, bytes: 112, usage: STORAGE, label: 'a' }]);
    pool.release(a);
    expect(pool.stats()).toMatchObject({ liveBytes: 0, pooledBytes: 112, pooledBuffers: 1, buffers: 0 });
    const b = pool.acquire(110, STORAGE, 'b');
    expect(b.buffer).toBe(a.buffer);
    expect(b.requested).toBe(110);
    expect(pool.stats()).toEqual({
      liveBytes: 112, requestedBytes: 110, pooledBytes: 0, pendingBytes: 0, peakBytes: 112,
      buffers: 1, pooledBuffers: 0, hits: 1, misses: 1, created: 1, destroyed: 0,
    });
    expect(alloc.creates).toBe(1);
  });

  it('does not reuse across usages or size classes', () => {
    const { alloc, pool } = setup();
    pool.release(pool.acquire(100, STORAGE));
    const u = pool.acquire(100, UNIFORM);
    const big = pool.acquire(113, STORAGE); // class 128, not 112
    expect(u.buffer.id).toBe(1);
    expect(big.buffer.id).toBe(2);
    expect(alloc.created.map((b) => [b.bytes, b.usage])).toEqual([[112, STORAGE], [112, UNIFORM], [128, STORAGE]]);
    expect(pool.stats()).toMatchObject({ hits: 0, misses: 3, created: 3, pooledBytes: 112, pooledBuffers: 1 });
    expect(pool.acquire(97, STORAGE).buffer.id).toBe(0);
    expect(pool.stats()).toMatchObject({ hits: 1, misses: 3, pooledBytes: 0 });
  });

  it('defers reuse until the release fence completes', () => {
    const { alloc, pool } = setup();
    const a = pool.acquire(64, STORAGE);
    pool.release(a, 5);
    expect(pool.stats()).toMatchObject({ liveBytes: 0, pendingBytes: 64, pooledBytes: 0, pooledBuffers: 0 });
    const b = pool.acquire(64, STORAGE); // a is still in use by the GPU
    expect(b.buffer).not.toBe(a.buffer);
    pool.complete(4);
    expect(pool.stats()).toMatchObject({ pendingBytes: 64, pooledBytes: 0 });
    pool.complete(5);
    expect(pool.stats()).toMatchObject({ pendingBytes: 0, pooledBytes: 64, pooledBuffers: 1 });
    expect(pool.acquire(64, STORAGE).buffer).toBe(a.buffer);
    // A fence already completed means reusable at once.
    pool.release(b, 3);
    expect(pool.stats()).toMatchObject({ pendingBytes: 0, pooledBytes: 64 });
    expect(pool.stats()).toMatchObject({ hits: 1, misses: 2, created: 2, destroyed: 0 });
    expect(alloc.creates).toBe(2);
  });

  it('trims least recently released buffers first', () => {
    const { alloc, pool } = setup();
    const [a, b, c, d] = [16, 32, 48, 64].map((n) => pool.acquire(n, STORAGE));
    pool.release(c);
    pool.release(a, 1); // released second, pooled only after complete(1)
    pool.release(d);
    pool.release(b);
    pool.complete(1);
    expect(pool.stats()).toMatchObject({ pooledBytes: 160, pooledBuffers: 4 });
    expect(pool.trim(160 - 48)).toBe(48); // c
    expect(alloc.destroyedIds).toEqual([2]);
    expect(pool.trim(100)).toBe(16); // a, then 96 <= 100
    expect(alloc.destroyedIds).toEqual([2, 0]);
    expect(pool.trim()).toBe(96); // d, b
    expect(alloc.destroyedIds).toEqual([2, 0, 3, 1]);
    expect(pool.stats()).toMatchObject({ pooledBytes: 0, pooledBuffers: 0, destroyed: 4 });
    expect(pool.trim()).toBe(0);
  });

  it('reuse takes a buffer out of the LRU order', () => {
    const { alloc, pool } = setup();
    const [a, b] = [pool.acquire(16, STORAGE), pool.acquire(16, STORAGE)];
    pool.release(a);
    pool.release(b);
    expect(pool.acquire(16, STORAGE).buffer).toBe(b.buffer); // most recent first
    expect(pool.trim()).toBe(16);
    expect(alloc.destroyedIds).toEqual([0]);
  });

  it('enforces cacheLimitBytes on complete and on release', () => {
    const { alloc, pool } = setup({ cacheLimitBytes: 100 });
    const leases = [32, 32, 32, 32].map((n) => pool.acquire(n, STORAGE));
    leases.forEach((l) => pool.release(l, 1));
    expect(pool.stats()).toMatchObject({ pendingBytes: 128, pooledBytes: 0 });
    pool.complete(1);
    expect(pool.stats()).toMatchObject({ pendingBytes: 0, pooledBytes: 96, pooledBuffers: 3, destroyed: 1 });
    expect(alloc.destroyedIds).toEqual([0]);
    const e = pool.acquire(48, STORAGE);
    pool.release(e); // 144 > 100: drops the two oldest
    expect(alloc.destroyedIds).toEqual([0, 1, 2]);
    expect(pool.stats()).toMatchObject({ pooledBytes: 80, pooledBuffers: 2 });
    pool.setLimits({ cacheLimitBytes: 48 });
    expect(alloc.destroyedIds).toEqual([0, 1, 2, 3]);
    expect(pool.stats()).toMatchObject({ pooledBytes: 48, pooledBuffers: 1 });
    pool.setLimits({ cacheLimitBytes: 0 });
    expect(pool.stats()).toMatchObject({ pooledBytes: 0, destroyed: 5 });
    expect(() => pool.setLimits({ cacheLimitBytes: -1 })).toThrow(GpuValidationError);
  });

  it('throws on the memory limit without changing anything', () => {
    const { alloc, pool } = setup({ memoryLimitBytes: 1024 });
    const a = pool.acquire(512, STORAGE);
    const p = pool.acquire(256, STORAGE);
    pool.release(p, 1); // pending still counts
    const q = pool.acquire(128, STORAGE);
    pool.release(q); // pooled: 128
    const before = pool.stats();
    let err: unknown;
    try {
      pool.acquire(300, STORAGE, 'too-big'); // class 320: 512 + 256 + 320 > 1024
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    const oom = err as GpuOutOfMemoryError;
    expect([oom.requestedBytes, oom.liveBytes, oom.pooledBytes]).toEqual([300, 512, 128]);
    expect(oom.message).toContain('memory limit of 1024 bytes');
    expect(oom.message).toContain('300 B');
    expect(pool.stats()).toEqual(before);
    expect(alloc.creates).toBe(3);
    expect(alloc.destroyed).toEqual([]);
    pool.release(a);
    expect(pool.stats().pooledBytes).toBe(640);
  });

  it('trims pooled buffers to fit the memory limit, then creates', () => {
    const { alloc, pool } = setup({ memoryLimitBytes: 1024 });
    const leases = [256, 256, 256].map((n) => pool.acquire(n, STORAGE));
    leases.forEach((l) => pool.release(l));
    const big = pool.acquire(512, STORAGE); // 768 pooled + 512 > 1024: trims the oldest
    expect(alloc.destroyedIds).toEqual([0]);
    expect(big.buffer.id).toBe(3);
    expect(pool.stats()).toMatchObject({ liveBytes: 512, pooledBytes: 512, misses: 4, destroyed: 1 });
    pool.setLimits({ memoryLimitBytes: 600 }); // 512 live + 512 pooled > 600: only 88 bytes may stay pooled
    expect(alloc.destroyedIds).toEqual([0, 1, 2]);
    expect(pool.stats().pooledBytes).toBe(0);
  });

  it('empties the pool and retries once when the allocator throws', () => {
    const { alloc, pool } = setup();
    const leases = [64, 128].map((n) => pool.acquire(n, STORAGE));
    leases.forEach((l) => pool.release(l));
    alloc.failures = 1;
    const l = pool.acquire(1000, STORAGE, 'retry');
    expect(l.buffer).toEqual({ id: 2, bytes: 1024, usage: STORAGE, label: 'retry' });
    expect(alloc.creates).toBe(4);
    expect(alloc.destroyedIds).toEqual([0, 1]);
    expect(pool.stats()).toMatchObject({
      liveBytes: 1024, pooledBytes: 0, pooledBuffers: 0, misses: 3, created: 3, destroyed: 2,
    });
  });

  it('throws GpuOutOfMemoryError when the retry fails too', () => {
    const { alloc, pool } = setup();
    const live = pool.acquire(2048, STORAGE);
    pool.release(pool.acquire(1024, STORAGE));
    alloc.failures = 2;
    alloc.failWith = new Error('vkAllocateMemory failed');
    const before = { ...pool.stats(), pooledBytes: 0, pooledBuffers: 0, destroyed: 1 };
    let err: unknown;
    try {
      pool.acquire(4000, STORAGE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    const oom = err as GpuOutOfMemoryError;
    expect([oom.requestedBytes, oom.liveBytes, oom.pooledBytes]).toEqual([4000, 2048, 0]);
    expect(oom.message).toContain('asked for 3.91 KiB with 2.00 KiB live and 0 B pooled');
    expect(oom.message).toContain('vkAllocateMemory failed');
    expect(oom.cause).toBe(alloc.failWith);
    expect(alloc.creates).toBe(4);
    expect(pool.stats()).toEqual(before);
    pool.release(live);
  });

  it('keeps a GpuOutOfMemoryError thrown by the allocator as is', () => {
    const { alloc, pool } = setup();
    const own = new GpuOutOfMemoryError(1, 2, 3, 'from the driver');
    alloc.failures = 2;
    alloc.failWith = own;
    expect(() => pool.acquire(16, STORAGE)).toThrow(own);
    expect(alloc.creates).toBe(2);
    expect(pool.stats()).toMatchObject({ buffers: 0, misses: 0, created: 0 });
  });

  it('rejects double release and foreign leases, naming the buffer', () => {
    const { pool } = setup();
    const other = setup().pool;
    const a = pool.acquire(16, STORAGE, 'weights.0');
    pool.release(a);
    expect(() => pool.release(a)).toThrow(GpuValidationError);
    expect(() => pool.release(a)).toThrow("buffer 'weights.0' was released twice");
    // Still caught after the buffer went out again under a new lease.
    const b = pool.acquire(16, STORAGE, 'kv');
    expect(b.buffer).toBe(a.buffer);
    expect(() => pool.release(a, 2)).toThrow("'weights.0' was released twice");
    const f = other.acquire(16, STORAGE, 'elsewhere');
    expect(() => pool.release(f)).toThrow("buffer 'elsewhere' was not acquired from this pool");
    expect(pool.stats()).toMatchObject({ buffers: 1, liveBytes: 16, pooledBytes: 0, pendingBytes: 0 });
    pool.release(b);
    other.release(f);
  });

  it('tracks peak live + pending bytes and resets counters', () => {
    const { pool } = setup();
    const a = pool.acquire(1024, STORAGE);
    const b = pool.acquire(1024, STORAGE);
    pool.release(a, 1);
    const c = pool.acquire(2048, STORAGE); // 1024 live + 1024 pending + 2048
    expect(pool.stats().peakBytes).toBe(4096);
    pool.complete(1);
    pool.release(c);
    const d = pool.acquire(1024, STORAGE); // hit
    expect(d.buffer).toBe(a.buffer);
    expect(pool.stats()).toMatchObject({ peakBytes: 4096, liveBytes: 2048, hits: 1, misses: 3, created: 3 });
    pool.resetCounters();
    expect(pool.stats()).toMatchObject({
      peakBytes: 2048, liveBytes: 2048, pooledBytes: 2048, hits: 0, misses: 0, created: 0, destroyed: 0,
    });
    pool.release(b, 7);
    pool.resetCounters();
    expect(pool.stats().peakBytes).toBe(2048);
    pool.release(d);
  });

  it('destroyAll destroys pooled and pending buffers but not live ones', () => {
    const { alloc, pool } = setup();
    const [a, b, c] = [16, 32, 48].map((n) => pool.acquire(n, STORAGE));
    pool.release(a);
    pool.release(b, 9);
    pool.destroyAll();
    expect(alloc.destroyedIds).toEqual([0, 1]);
    expect(pool.stats()).toMatchObject({
      liveBytes: 48, buffers: 1, pooledBytes: 0, pooledBuffers: 0, pendingBytes: 0, destroyed: 2,
    });
    pool.complete(9); // the destroyed pending buffer must not come back
    expect(pool.stats().pooledBytes).toBe(0);
    expect(pool.acquire(32, STORAGE).buffer.id).toBe(3);
    pool.release(c);
    expect(pool.stats().pooledBytes).toBe(48);
  });

  it('serves zero-byte requests with a 16-byte buffer', () => {
    const { alloc, pool } = setup();
    const z = pool.acquire(0, UNIFORM);
    expect([z.size, z.requested]).toEqual([16, 0]);
    expect(alloc.created[0].bytes).toBe(16);
    pool.release(z);
    expect(pool.acquire(0, UNIFORM).buffer).toBe(z.buffer);
    expect(pool.acquire(12, UNIFORM).buffer.id).toBe(1);
    expect(pool.stats()).toMatchObject({ liveBytes: 32, requestedBytes: 12, hits: 1, misses: 2 });
    expect(() => pool.acquire(-4, UNIFORM)).toThrow(GpuValidationError);
  });
});
