// The fill kernel (zeros, ones, full) against the CPU reference: every dtype, sizes 0 to odd,
// stored-value rounding and saturation, pooled-buffer reuse, and errors at the call.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType } from '../src/index.js';
import { useGpu, expectClose, sizeOf } from './helpers.js';

const DT = lb.DTYPES;

useGpu();

describe('fill', () => {
  const SIZES: (readonly number[])[] = [[], [0], [1], [3], [7], [2, 5], [1001]];
  const VALUES = [0, -0, 1, -1.5, 2.75, NaN, Infinity, -Infinity, 65520, 1e-7, 3e9, -3e9, 2 ** 24 + 1];
  for (const d of DT) {
    describe(d, () => {
      it.each(SIZES.map((s) => [JSON.stringify(s), s] as const))('zeros/ones %s', async (_, shape) => {
        for (const [fn, v] of [[lb.zeros, 0], [lb.ones, 1]] as const) {
          const t = fn([...shape], { dtype: d });
          expect(t.shape).toEqual(shape);
          expect(t.dtype).toBe(d);
          expectClose(await t.data(), new Array(sizeOf(shape)).fill(v), { dtype: d, exact: true });
          t.dispose();
        }
      });
      it.each(VALUES.map((v) => [Object.is(v, -0) ? '-0' : String(v), v] as const))('full %s', async (_, v) => {
        for (const shape of [[5], [2, 3, 3]]) {
          const g = lb.full(shape, v, { dtype: d });
          const c = lb.full(shape, v, { dtype: d, device: 'cpu' });
          const [gd, cd] = [await g.data(), await c.data()];
          expectClose(gd, cd, { dtype: d, exact: true });
          // Every element is the stored value, including the last element of an odd 16-bit count.
          expect(new Set(Array.from(gd, (x) => (Object.is(x, -0) ? '-0' : String(x)))).size).toBe(1);
          g.dispose();
          c.dispose();
        }
      });
    });
  }

  it('fill values in storage: rounding and saturation', async () => {
    const cases: [DType, number, number][] = [
      ['f16', 65520, Infinity], ['f16', 65519, 65504], ['bf16', 1 + 2 ** -8, 1], ['i32', -1.5, -1],
      ['u32', -1, 4294967295], ['f32', 16777217, 16777216], ['f16', -0, -0], ['bf16', NaN, NaN],
    ];
    for (const [d, v, want] of cases) {
      const t = lb.full([3], v, { dtype: d });
      expectClose(await t.data(), [want, want, want], { dtype: d, exact: true, label: `${d} ${v}` });
      t.dispose();
    }
  });

  it('a fill into a reused pooled buffer overwrites all of it', async () => {
    const a = lb.full([1001], 7, { dtype: 'f16' });
    await a.data();
    a.dispose();
    await lb.eval();
    const b = lb.full([999], 3, { dtype: 'f16' });
    expectClose(await b.data(), new Array(999).fill(3), { dtype: 'f16', exact: true });
    b.dispose();
  });

  it('shape and value errors throw at the call', () => {
    expect(() => lb.full([-1], 0)).toThrow(lb.ShapeError);
    expect(() => lb.full([1.5], 0)).toThrow(lb.ShapeError);
    expect(() => lb.zeros([2], { dtype: 'f64' as DType })).toThrow(lb.DTypeError);
    expect(() => lb.full([2], 'x' as unknown as number)).toThrow(lb.DTypeError);
  });
});
