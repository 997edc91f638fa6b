// Storage: uploads (mapped-at-creation and writeBuffer paths), readbacks, device moves, the
// 16-bit tail, a > 128 MiB round trip, memory accounting through dispose/tidy, use after dispose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { decodeRaw, expectClose, randomData, rng, seedOf, type RawData } from './helpers.js';

const DT = lb.DTYPES;
const width = (d: DType) => (d === 'f16' || d === 'bf16' ? 2 : 4);

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

/** The raw bytes a tensor's elements occupy in its storage (views: their own range). */
async function rawBytes(t: Tensor): Promise<Uint8Array> {
  return t.storage.read(t.offset * width(t.dtype), t.size * width(t.dtype));
}

function bytesOf(a: RawData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Empties the pool's pending list so the next same-size acquire can hit. */
async function settle(): Promise<void> {
  await lb.eval();
}

describe('round trips', () => {
  for (const d of DT) {
    it.each([0, 1, 3, 1000])(`${d} × %i elements: bits and values survive`, async (n) => {
      const data = randomData(rng(seedOf(`rt${d}${n}`)), d, n, { special: 0.3 });
      const t = lb.tensor(data, [n], { dtype: d });
      expect(t.device).toBe('gpu');
      expect(t.shape).toEqual([n]);
      expect(t.dtype).toBe(d);
      expect(Array.from(await rawBytes(t))).toEqual(Array.from(bytesOf(data)));
      expectClose(await t.data(), decodeRaw(data, d), { dtype: d, exact: true });
      const arr = await t.toArray();
      expect((arr as number[]).length).toBe(n);
      t.dispose();
    });
  }

  it('from JS numbers, nested arrays and a single number, every dtype', async () => {
    for (const d of DT) {
      const a = lb.tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype: d });
      expect(a.shape).toEqual([2, 3]);
      expect(await a.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      const s = lb.tensor(7, undefined, { dtype: d });
      expect(s.shape).toEqual([]);
      expect(await s.toArray()).toBe(7);
      const f = lb.tensor([1, 2, 3, 4], [2, 2], { dtype: d });
      expect(await f.toArray()).toEqual([[1, 2], [3, 4]]);
      for (const t of [a, s, f]) t.dispose();
    }
  });

  it('typed arrays that are views into a larger buffer (odd byte offsets for 16-bit)', async () => {
    const backing = new ArrayBuffer(64);
    const cases: [DType, RawData][] = [
      ['f32', new Float32Array(backing, 4, 5)],
      ['i32', new Int32Array(backing, 8, 3)],
      ['u32', new Uint32Array(backing, 12, 7)],
      ['f16', new Uint16Array(backing, 2, 5)],
      ['bf16', new Uint16Array(backing, 6, 3)],
    ];
    const all = new Uint8Array(backing);
    for (let i = 0; i < all.length; i++) all[i] = (i * 37 + 11) & 0xff;
    for (const [d, view] of cases) {
      // Twice: a fresh buffer (mapped at creation), then a reused pooled one (writeBuffer).
      for (const pass of ['fresh', 'pooled']) {
        const t = lb.tensor(view, [view.length], { dtype: d });
        expect(Array.from(await rawBytes(t)), `${d} ${pass}`).toEqual(Array.from(bytesOf(view)));
        t.dispose();
        await settle();
      }
    }
  });

  it('the source array is copied at creation (later writes do not leak in)', async () => {
    for (const d of DT) {
      const src = randomData(rng(3), d, 9);
      const copy = src.slice();
      const t = lb.tensor(src, [9], { dtype: d });
      src.fill(0);
      expect(Array.from(await rawBytes(t)), d).toEqual(Array.from(bytesOf(copy)));
      t.dispose();
    }
  });

  it('data() of offset and strided views in every dtype', async () => {
    for (const d of DT) {
      const data = randomData(rng(seedOf(`views${d}`)), d, 24, { special: 0.2 });
      const t = lb.tensor(data, [4, 6], { dtype: d });
      const c = lb.tensor(data, [4, 6], { dtype: d, device: 'cpu' });
      const views: ((x: Tensor) => Tensor)[] = [
        (x) => x.slice(1),
        (x) => x.slice(2, [1]),
        (x) => x.slice(null, [1, 6, 2]),
        (x) => x.transpose(),
        (x) => x.slice([1, 3]),
        (x) => x.reshape([24]).slice([5, 6]),
      ];
      for (const v of views) {
        const [gv, cv] = [lb.tidy(() => v(t)), lb.tidy(() => v(c))];
        expectClose(await gv.data(), await cv.data(), { dtype: d, exact: true });
        gv.dispose();
        cv.dispose();
      }
      t.dispose();
      c.dispose();
    }
  });
});

describe('GPU -> CPU -> GPU', () => {
  for (const d of DT) {
    it(`${d}: .to() moves data both ways, views become contiguous`, async () => {
      const data = randomData(rng(seedOf(`to${d}`)), d, 35, { special: 0.3 });
      const g = lb.tensor(data, [5, 7], { dtype: d });
      const c = await g.to('cpu');
      expect(c.device).toBe('cpu');
      expect(c.shape).toEqual([5, 7]);
      expect(c.dtype).toBe(d);
      const g2 = await c.to('gpu');
      expect(g2.device).toBe('gpu');
      expect(Array.from(await rawBytes(g2))).toEqual(Array.from(bytesOf(data)));
      expect(Array.from(await rawBytes(c))).toEqual(Array.from(bytesOf(data)));

      const v = g.slice([1, 5], [1, 7, 2]).transpose();
      const vc = await v.to('cpu');
      expect(vc.isContiguous).toBe(true);
      expect(vc.offset).toBe(0);
      expectClose(await vc.data(), await v.data(), { dtype: d, exact: true });
      const vg = await vc.to('gpu');
      expectClose(await vg.data(), await v.data(), { dtype: d, exact: true });

      // Same device: a new reference, still usable after the original is disposed.
      const same = await g.to('gpu');
      g.dispose();
      expect(Array.from(await rawBytes(same))).toEqual(Array.from(bytesOf(data)));
      for (const t of [c, g2, v, vc, vg, same]) t.dispose();
    });
  }

  it('unknown device is rejected', async () => {
    const t = lb.zeros([2]);
    await expect(t.to('tpu' as 'gpu')).rejects.toThrow(lb.LbrxError);
    t.dispose();
  });
});

describe('upload paths', () => {
  for (const d of DT) {
    it.each([1, 3, 1000, 1001])(`${d} × %i: a fresh buffer (mapped at creation) and a reused pooled one (writeBuffer)`, async (n) => {
      const first = randomData(rng(seedOf(`up1${d}${n}`)), d, n, { special: 0.2 });
      const second = randomData(rng(seedOf(`up2${d}${n}`)), d, n, { special: 0.2 });
      const a = lb.tensor(first, [n], { dtype: d });
      expect(Array.from(await rawBytes(a))).toEqual(Array.from(bytesOf(first)));
      a.dispose();
      await settle();
      const hits = lb.memory().hits;
      const b = lb.tensor(second, [n], { dtype: d });
      expect(lb.memory().hits, 'the second upload reuses the pooled buffer').toBe(hits + 1);
      expect(Array.from(await rawBytes(b))).toEqual(Array.from(bytesOf(second)));
      expectClose(await b.data(), decodeRaw(second, d), { dtype: d, exact: true });
      b.dispose();
    });
  }

  it('large uploads go through the staging ring, which is reused once its batch is done', async () => {
    const n = (1 << 20) + 3; // 4 MiB + 12 bytes: over the staging threshold, not a multiple of 16
    const first = new Float32Array(n).map((_, i) => i * 0.5);
    const a = lb.tensor(first);
    const staging = lb.memory().stagingBytes;
    expect(staging).toBeGreaterThanOrEqual(n * 4);
    expect(Array.from((await a.data()).subarray(n - 3))).toEqual(Array.from(first.subarray(n - 3)));
    await settle();
    await new Promise((r) => setTimeout(r, 20)); // re-mapping runs after the batch completes
    const second = new Float32Array(n).map((_, i) => -i);
    const b = lb.tensor(second);
    expect(lb.memory().stagingBytes, 'the ready staging buffer is reused').toBe(staging);
    // An op recorded in the same batch sees the upload: the copy is ordered with kernels.
    const c = b.add(a).realize();
    expect(Array.from((await c.data()).subarray(0, 3))).toEqual([0, -0.5, -1]);
    expect(Array.from(await b.data())).toEqual(Array.from(second));
    for (const t of [a, b, c]) t.dispose();
  });

  it('16-bit odd-length tail: the last element lands, the padding does not spill into the next use', async () => {
    for (const d of ['f16', 'bf16'] as const) {
      // Fill a pooled buffer with a pattern, then upload an odd number of halves into it.
      const big = lb.full([8], 3, { dtype: d });
      await big.data();
      big.dispose();
      await settle();
      const bits = new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400, 0x7bff]); // 5 halves: 10 bytes
      const t = lb.tensor(bits, [5], { dtype: d });
      expect(Array.from(new Uint16Array((await rawBytes(t)).buffer))).toEqual(Array.from(bits));
      // The last element alone (odd offset, 2 bytes).
      const last = t.slice([4]);
      expectClose(await last.data(), decodeRaw(bits.slice(4), d), { dtype: d, exact: true });
      // Ops over the tensor see exactly 5 elements.
      const s = t.sum();
      const want = Array.from(decodeRaw(bits, d)).reduce((x, y) => x + y, 0);
      const cpuSum = lb.tensor(bits, [5], { dtype: d, device: 'cpu' }).sum();
      expectClose(await s.data(), await cpuSum.data(), { dtype: d, exact: true });
      expect(Number.isFinite(want)).toBe(true);
      for (const u of [t, last, s, cpuSum]) u.dispose();
    }
  });

  it('a single f16 element uploaded into a pooled buffer (tail only, no body)', async () => {
    const a = lb.full([2], -7, { dtype: 'f16' });
    await a.data();
    a.dispose();
    await settle();
    const hits = lb.memory().hits;
    const t = lb.tensor(new Uint16Array([0xbc00]), [1], { dtype: 'f16' });
    expect(lb.memory().hits).toBe(hits + 1);
    expectClose(await t.data(), [-1], { dtype: 'f16', exact: true });
    t.dispose();
  });
});

describe('large buffers', () => {
  it('a > 128 MiB u32 round trip (where maxBufferSize allows)', async () => {
    const dev = lb.device()!;
    const n = (136 * 1024 * 1024) / 4;
    // Storage + readback staging + the host copies must fit.
    if (dev.limits.maxBufferSize < 2 * n * 4) {
      console.warn(`skipping: maxBufferSize ${dev.limits.maxBufferSize} < ${2 * n * 4}`);
      return;
    }
    const src = new Uint32Array(n);
    for (let i = 0; i < n; i++) src[i] = Math.imul(i, 2654435761) ^ (i >>> 7);
    const t = lb.tensor(src, [n]);
    expect(t.byteLength).toBe(136 * 1024 * 1024);
    const out = (await t.data()) as Uint32Array;
    expect(out.length).toBe(n);
    for (const i of [0, 1, n >> 1, n - 2, n - 1, 33554432, 33554431]) expect(out[i], `element ${i}`).toBe(src[i] >>> 0);
    let bad = -1;
    for (let i = 0; i < n; i++) {
      if (out[i] !== src[i]) {
        bad = i;
        break;
      }
    }
    expect(bad, 'first mismatching element').toBe(-1);
    // A view reaching past 128 MiB reads back from the right place.
    const tailView = t.slice([n - 5]);
    expect(Array.from(await tailView.data())).toEqual(Array.from(src.subarray(n - 5)));
    tailView.dispose();
    t.dispose();
    await settle();
    // Keep the pool from holding on to 300 MiB for the rest of the file.
    lb.device()!.pool.trim(0);
  });
});

describe('memory accounting', () => {
  it('dispose returns liveBytes to where it was; after eval nothing is pending', async () => {
    await settle();
    const base = lb.memory();
    const a = lb.ones([1000]);
    const a2 = a.add(2);
    const b = a2.mul(3);
    expect(lb.memory().liveBytes).toBeGreaterThan(base.liveBytes);
    // a2 and b are lazy: no buffers until a value is needed, then one fused kernel writes b.
    expect(lb.memory().buffers).toBe(base.buffers + 1);
    expect(Array.from((await b.data()).slice(0, 3))).toEqual([9, 9, 9]);
    expect(lb.memory().buffers).toBe(base.buffers + 2);
    a.dispose();
    a2.dispose();
    b.dispose();
    expect(lb.memory().liveBytes).toBe(base.liveBytes);
    expect(lb.memory().buffers).toBe(base.buffers);
    await settle();
    expect(lb.memory().pendingBytes).toBe(0);
  });

  it('tidy disposes everything but the result, including intermediates of views', async () => {
    await settle();
    const base = lb.memory();
    const out = lb.tidy(() => {
      const x = lb.tensor(new Float32Array(100).fill(1), [10, 10]);
      const y = x.transpose().add(x).slice([2, 5]);
      const z = y.sum(1);
      return { z, nested: [x.mul(0)] };
    });
    expect(lb.memory().buffers).toBe(base.buffers + 2); // z and the mul result; x and y were disposed
    expect(Array.from(await out.z.data())).toEqual([20, 20, 20]);
    out.z.dispose();
    out.nested[0].dispose();
    expect(lb.memory().liveBytes).toBe(base.liveBytes);
    expect(lb.memory().buffers).toBe(base.buffers);
    await settle();
    expect(lb.memory().pendingBytes).toBe(0);
  });

  it('views share storage: the buffer lives until the last view is disposed', async () => {
    const base = lb.memory().buffers;
    const t = lb.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = t.slice(1);
    const r = t.reshape([3, 2]);
    t.dispose();
    expect(lb.memory().buffers).toBe(base + 1);
    expect(Array.from(await v.data())).toEqual([4, 5, 6]);
    v.dispose();
    expect(await r.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    r.dispose();
    expect(lb.memory().buffers).toBe(base);
  });

  it('disposing twice is harmless; `using` disposes', async () => {
    const base = lb.memory().buffers;
    const t = lb.zeros([4]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    {
      using u = lb.zeros([4]);
      expect(lb.memory().buffers).toBe(base + 1);
      expect(u.disposed).toBe(false);
    }
    expect(lb.memory().buffers).toBe(base);
  });

  it('a tensor disposed while its op is still recorded keeps the buffer until the GPU is done', async () => {
    await settle();
    const a = lb.full([4096], 2);
    const b = a.mul(a);
    void b.storage; // records b's kernel without submitting it
    a.dispose(); // b's pending kernel still reads a's buffer
    expect(lb.memory().pendingBytes).toBeGreaterThan(0);
    // Another upload of the same size must not get a's buffer while b is unsubmitted.
    const c = lb.tensor(new Float32Array(4096).fill(5));
    expect(Array.from((await b.data()).slice(0, 2))).toEqual([4, 4]);
    expect(Array.from((await c.data()).slice(0, 2))).toEqual([5, 5]);
    b.dispose();
    c.dispose();
    await settle();
    expect(lb.memory().pendingBytes).toBe(0);
  });
});

describe('use after dispose', () => {
  it('throws a clear error on data(), ops and views', async () => {
    const t = lb.tensor([1, 2, 3]);
    t.dispose();
    await expect(t.data()).rejects.toThrow(lb.GpuValidationError);
    await expect(t.data()).rejects.toThrow(/used after dispose/);
    await expect(t.toArray()).rejects.toThrow(/used after dispose/);
    await expect(t.to('cpu')).rejects.toThrow(/used after dispose/);
    expect(() => t.add(1)).toThrow(/used after dispose/);
    expect(() => t.sum()).toThrow(/after dispose/);
    expect(() => t.cast('f16')).toThrow(/after dispose/);
    expect(() => t.slice(0)).toThrow(/after dispose/);
    expect(() => t.reshape([3])).toThrow(/after dispose/);
    const other = lb.tensor([1, 2, 3]);
    expect(() => other.add(t)).toThrow(/after dispose/);
    expect(Array.from(await other.data())).toEqual([1, 2, 3]);
    other.dispose();
    expect(String(t)).toMatch(/disposed/);
  });

  it('a CPU tensor too', async () => {
    const t = lb.tensor([1, 2], [2], { device: 'cpu' });
    t.dispose();
    await expect(t.data()).rejects.toThrow(/used after dispose/);
    expect(() => t.mul(2)).toThrow(/after dispose/);
  });
});
