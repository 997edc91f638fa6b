// Differential tests of the sum kernel against the CPU reference: every axis subset and keepdims
// per dtype, views, size 0, 16-bit accumulation, grids past 65535 workgroups, multi-pass sizes, errors.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { FLOATS, checkOp, useGpu, expectClose, isInt, seedOf, sizeOf, type GenOptions } from './helpers.js';

const DT = lb.DTYPES;

useGpu();

function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << n; m++) out.push([...Array(n).keys()].filter((i) => m & (1 << i)));
  return out;
}

const SUM_SHAPES: (readonly number[])[] = [[], [1], [7], [257], [3, 5], [1, 9], [2, 3, 4], [3, 1, 5]];

describe('sum', () => {
  for (const shape of SUM_SHAPES) {
    const axesList: (number[] | null | number)[] = [null, ...subsets(shape.length), ...(shape.length ? [-1] : [])];
    for (const d of DT) {
      describe(`${d} [${shape}]`, () => {
        const cases = axesList.flatMap((axes) => [false, true].map((k) => [JSON.stringify(axes), axes, k] as const));
        it.each(cases)('axes %s keepdims %s', async (name, axes, keepdims) => {
          // Integer-valued floats keep every sum exact whatever the order; ints use the full range (wrapping).
          const gen: GenOptions = isInt(d) ? {} : { ints: 8 };
          await checkOp((x) => x.sum(axes, keepdims), [{ dtype: d, shape, gen }], {
            exact: true,
            seed: seedOf(`sum${d}${shape}${name}${keepdims}`),
          });
        });
      });
    }
  }

  for (const d of FLOATS) {
    it.each([[[1000]], [[5, 300]], [[3, 4, 70]]] as const)(`${d} random positive floats %j`, async (shape) => {
      const rtol = d === 'f32' ? 1e-5 : 0;
      await checkOp((x) => x.sum(-1), [{ dtype: d, shape: [...shape], gen: { positive: true, scale: 1 } }], {
        rtol,
        seed: seedOf(`sumr${d}${shape}`),
      });
    });
  }

  for (const d of DT) {
    it.each([
      ['transposed', [4, 6], (t: Tensor) => t.transpose(), 1],
      ['offset view', [5, 6], (t: Tensor) => t.slice([2, 5]), 1],
      ['step slice', [40], (t: Tensor) => t.slice([3, 40, 3]), 0],
      ['expanded', [1, 5], (t: Tensor) => t.expand([6, 5]), 0],
      ['permuted 3-D', [3, 4, 5], (t: Tensor) => t.permute([1, 2, 0]), [0, 2]],
    ] as const)(`${d} non-contiguous input: %s`, async (name, shape, view, axis) => {
      const gen: GenOptions = isInt(d) ? {} : { ints: 8 };
      await checkOp((x) => x.sum(axis as number | number[]), [{ dtype: d, shape: [...shape], view, gen }], {
        exact: true,
        seed: seedOf(`sumv${d}${name}`),
      });
    });
  }

  describe('size 0', () => {
    for (const d of DT) {
      it.each([
        [[0], null, false, []],
        [[0], 0, true, [1]],
        [[0, 3], 0, false, [3]],
        [[0, 3], 1, false, [0]],
        [[3, 0], 1, false, [3]],
        [[3, 0], 1, true, [3, 1]],
        [[2, 0, 4], [0, 2], false, [0]],
        [[2, 0, 4], 1, false, [2, 4]],
      ] as const)(`${d} sum of %j over %j keepdims %s`, async (shape, axis, keepdims, outShape) => {
        const x = lb.zeros([...shape], { dtype: d });
        const s = x.sum(axis as number | number[] | null, keepdims);
        expect(s.shape).toEqual(outShape);
        expect(s.dtype).toBe(d);
        const got = await s.data();
        expect(got.length).toBe(sizeOf(outShape));
        expectClose(got, new Array(got.length).fill(0), { dtype: d, exact: true });
        x.dispose();
        s.dispose();
      });
    }
  });

  it('f16/bf16 accumulate in f32: sum of 4096 ones is 4096', async () => {
    for (const d of ['f16', 'bf16'] as const) {
      const x = lb.ones([4096], { dtype: d });
      const s = x.sum();
      const rowsIn = lb.ones([4, 4096], { dtype: d });
      const r = rowsIn.sum(1);
      expectClose(await s.data(), [4096], { dtype: d, exact: true, label: d });
      expectClose(await r.data(), [4096, 4096, 4096, 4096], { dtype: d, exact: true, label: `${d} rows` });
      // 4097 is rounded once, at the end: to 4096 (ties to even).
      const y = lb.ones([4097], { dtype: d });
      const t = y.sum();
      expectClose(await t.data(), [4096], { dtype: d, exact: true, label: `${d} 4097` });
      for (const u of [x, s, rowsIn, r, y, t]) u.dispose();
    }
  });

  it('many rows (grid folded into y) reduce correctly', async () => {
    const rows = 70000;
    await checkOp((x) => x.sum(1), [{ dtype: 'f32', shape: [rows, 2], gen: { ints: 100 } }], { exact: true, seed: 7 });
  });

  it('more than 65535 workgroups (grid folded into y): fill and add over 17.8M elements', async () => {
    const dev = lb.device()!;
    const n = 2 ** 24 + 2 ** 20;
    expect(Math.ceil(n / 256)).toBeGreaterThan(dev.limits.maxComputeWorkgroupsPerDimension);
    const a = lb.full([n], 7, { dtype: 'u32' });
    const b = lb.tidy(() => a.add(a.slice([n - 1]).reshape([])));
    const d = (await b.data()) as Uint32Array;
    expect(d.length).toBe(n);
    let bad = -1;
    for (let i = 0; i < n; i++) if (d[i] !== 14) { bad = i; break; }
    expect(bad, 'first wrong element').toBe(-1);
    a.dispose();
    b.dispose();
    await lb.eval();
    dev.pool.trim(0);
  });

  it('large f32 sum over 1.1M elements (multi-pass)', async () => {
    const n = 1_100_000;
    const ones = lb.ones([n]);
    const s1 = ones.sum();
    expect(Array.from(await s1.data())).toEqual([n]);
    ones.dispose();
    s1.dispose();
    await checkOp((x) => x.sum(), [{ dtype: 'f32', shape: [n], gen: { ints: 50 } }], { exact: true, seed: 11 });
    await checkOp((x) => x.sum(0), [{ dtype: 'i32', shape: [n] }], { exact: true, seed: 12 });
  });

  it('large add over 1.1M elements', async () => {
    await checkOp((a, b) => a.add(b), [{ dtype: 'f32', shape: [1_100_000] }, { dtype: 'f32', shape: [1_100_000] }], { seed: 13 });
    await checkOp((a, b) => a.mul(b), [{ dtype: 'f16', shape: [1_100_001] }, { dtype: 'f16', shape: [1] }], { seed: 14 });
  });

  it('axis errors throw ShapeError at the call', () => {
    const x = lb.zeros([2, 3]);
    expect(() => x.sum(2)).toThrow(lb.ShapeError);
    expect(() => x.sum(-3)).toThrow(lb.ShapeError);
    expect(() => x.sum([0, 0])).toThrow(lb.ShapeError);
    expect(() => x.sum([1, -1])).toThrow(lb.ShapeError);
    expect(() => x.sum(0.5)).toThrow(lb.ShapeError);
    x.dispose();
  });
});
