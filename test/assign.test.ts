// lb.assign: in-place writes into views (KV-cache slices, strided rows, single elements) on the GPU
// and the CPU reference, every dtype; 16-bit neighbours sharing a word keep their bits; src that
// reads dst; broadcasting and casts; ordering against work recorded before; errors.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { decodeRaw, randomData, rng, seedOf, sizeOf, useGpu, type RawData } from './helpers.js';

useGpu();

/** Runs a write whose views and temporaries are disposed after (tidy). */
const put = (fn: () => unknown) => lb.tidy(() => void fn());

const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32'];

/** The expected buffer after writing `src` (row-major over `shape`) into the elements `at` lists. */
function written(base: Float64Array, at: readonly number[], src: Float64Array): Float64Array {
  const out = base.slice();
  at.forEach((e, i) => (out[e] = src[i]));
  return out;
}

/** Element indices (into the base buffer) that a view of shape/strides/offset covers, row-major. */
function indicesOf(t: Tensor): number[] {
  const out: number[] = [];
  const walk = (d: number, at: number) => {
    if (d === t.ndim) return void out.push(at);
    for (let i = 0; i < t.shape[d]; i++) walk(d + 1, at + i * t.strides[d]);
  };
  walk(0, t.offset);
  return out;
}

function data(name: string, dtype: DType, n: number): RawData {
  return randomData(rng(seedOf(name)), dtype, n, { scale: 10 });
}

/** Runs one write on both devices; checks the whole base buffer against the expected bytes. */
async function check(name: string, dtype: DType, baseShape: number[], view: (t: Tensor) => Tensor, srcShape?: number[]) {
  const raw = data(`${name}-base`, dtype, sizeOf(baseShape));
  const base = decodeRaw(raw, dtype);
  for (const device of ['gpu', 'cpu'] as const) {
    const t = lb.tensor(raw, baseShape, { dtype, device });
    const v = view(t);
    const shape = srcShape ?? [...v.shape];
    const srcRaw = data(`${name}-src`, dtype, sizeOf(shape));
    const src = lb.tensor(srcRaw, shape, { dtype, device });
    const full = src.expand(v.shape);
    const srcValues = decodeRaw(srcRaw, dtype);
    const want = written(base, indicesOf(v), Float64Array.from(indicesOf(full), (e) => srcValues[e]));
    expect(lb.assign(v, src)).toBe(v);
    const got = Array.from(await t.data(), Number);
    expect(got, `${name} ${dtype} on ${device}`).toEqual(Array.from(want));
    for (const x of [t, v, src, full]) x.dispose();
  }
}

describe('writes', () => {
  for (const dtype of DTYPES) {
    it(`${dtype}: a KV-cache slice [B, H, pos:pos+L, D] (odd sizes)`, async () => {
      await check('kv', dtype, [2, 3, 7, 5], (t) => t.slice(null, null, [2, 5]));
      await check('kv1', dtype, [1, 2, 9, 3], (t) => t.slice(null, null, [8, 9]));
    });
    it(`${dtype}: every other element, a column, one element, the whole tensor`, async () => {
      await check('step', dtype, [11], (t) => t.slice([1, 11, 2]));
      await check('col', dtype, [5, 7], (t) => t.slice(null, 3));
      await check('one', dtype, [3, 3], (t) => t.slice(1, 2));
      await check('all', dtype, [3, 5], (t) => t);
    });
  }
  it('broadcast src, a number, a lazy src and a cast', async () => {
    await check('bcast', 'f16', [2, 4, 6], (t) => t.slice(null, [1, 3]), [6]);
    for (const device of ['gpu', 'cpu'] as const) {
      const t = lb.zeros([2, 5], { dtype: 'f16', device });
      put(() => lb.assign(t.slice(null, [1, 4]), 1.5));
      const x = lb.tensor([1, 2, 3, 4], [2, 2], { device });
      const lazy = lb.tidy(() => x.mul(2).add(0.25));
      put(() => lb.assign(t.slice(null, [0, 2]), lazy)); // f32 expression into f16
      expect(Array.from(await t.data())).toEqual([2.25, 4.25, 1.5, 1.5, 0, 6.25, 8.25, 1.5, 1.5, 0]);
      for (const y of [t, x, lazy]) y.dispose();
    }
  });
  it('src that reads dst (a shifted copy of itself) sees the old values', async () => {
    for (const device of ['gpu', 'cpu'] as const) {
      for (const dtype of ['f32', 'f16'] as const) {
        const t = lb.tensor([0, 1, 2, 3, 4, 5, 6], [7], { dtype, device });
        put(() => lb.assign(t.slice([1, 7]), t.slice([0, 6])));
        expect(Array.from(await t.data()), `${dtype} ${device}`).toEqual([0, 0, 1, 2, 3, 4, 5]);
        const before = lb.streamStats().dispatches;
        put(() => lb.assign(t.slice([0, 3]), t.slice([4, 7]).mul(-1)));
        expect(Array.from(await t.data())).toEqual([-3, -4, -5, 2, 3, 4, 5]);
        if (device === 'gpu') expect(lb.streamStats().dispatches - before).toBe(2); // the copy, then the write
        t.dispose();
      }
    }
  });
  it('work recorded before the write reads the old values; views of the storage see the new ones', async () => {
    const w = lb.tensor([1, 2, 3, 4], [2, 2]);
    const a = lb.tensor([1, 1], [1, 2]);
    const y = lb.matmul(a, w);
    const row = w.slice(1);
    lb.assign(w, 0);
    expect(Array.from(await y.data())).toEqual([4, 6]);
    expect(Array.from(await row.data())).toEqual([0, 0]);
    for (const t of [w, a, y, row]) t.dispose();
  });
  it('an empty view is a no-op', async () => {
    const t = lb.ones([3, 4]);
    put(() => lb.assign(t.slice(null, [2, 2]), lb.zeros([3, 0])));
    expect(Array.from(await t.data())).toEqual(new Array(12).fill(1));
    t.dispose();
  });
});

describe('errors', () => {
  it('expanded or unevenly spaced dst, shapes that do not broadcast, devices, disposed', async () => {
    const t = lb.zeros([2, 3, 4, 5]);
    const row = lb.zeros([1, 5]);
    const e = row.expand([3, 5]);
    expect(() => lb.assign(e, 1)).toThrow(lb.ShapeError);
    const uneven = t.slice(null, [0, 2], [1, 3]);
    expect(() => lb.assign(uneven, 1)).toThrow(/equally spaced contiguous runs/);
    const t0 = t.slice(0);
    const wrong = lb.zeros([2, 4]);
    expect(() => lb.assign(t0, wrong)).toThrow(lb.ShapeError);
    const t00 = t.slice(0, 0, 0);
    const c = lb.zeros([5], { device: 'cpu' });
    expect(() => lb.assign(t00, c)).toThrow(lb.GpuValidationError);
    expect(() => lb.assign(t, 'x' as unknown as number)).toThrow(lb.DTypeError);
    const d = lb.zeros([2]);
    d.dispose();
    expect(() => lb.assign(d, 1)).toThrow(lb.GpuValidationError);
    for (const x of [t, row, e, uneven, t0, wrong, t00, c]) x.dispose();
  });
});
