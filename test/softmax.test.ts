// softmax / logSoftmax: GPU against the CPU reference over float dtypes, row lengths, axes,
// views, lazy inputs and special values; one dispatch per call.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { checkOp, encodeRaw, expectClose, FLOATS, seedOf, type CloseOptions, useGpu } from './helpers.js';

useGpu();

type Fn = 'softmax' | 'logSoftmax';
const FNS: readonly Fn[] = ['softmax', 'logSoftmax'];
const apply = (fn: Fn, x: Tensor, axis?: number) => (axis === undefined ? x[fn]() : x[fn](axis));

/** f32 math against f64: exp is within a few ulps; logSoftmax loses eps * |x - max| in the subtraction. */
const TOL: Omit<CloseOptions, 'dtype'> = { rtol: 2e-5, atol: 2e-6 };

describe('shapes and axes', () => {
  const CASES: [number[], number | undefined][] = [
    [[], undefined], [[], 0], [[1], undefined], [[7], 0], [[1000], -1], [[3, 5], 0], [[3, 5], 1],
    [[2, 3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], 2], [[2, 3, 4], -2], [[4, 1, 3], 1], [[5, 33], -1],
    [[2, 2, 3, 5], 1], [[300, 6], 1], [[6, 300], 0],
    // Many strided rows (32 rows per workgroup): inner 40, inner 3 (tiles cross outer rows), inner 2.
    [[7, 9, 40], 1], [[300, 5, 3], 1], [[3, 301, 2], 1],
  ];
  for (const fn of FNS) {
    for (const d of FLOATS) {
      it.each(CASES)(`${fn} ${d} %j axis %s`, async (shape, axis) => {
        await checkOp((x) => apply(fn, x, axis), [{ dtype: d, shape, gen: { scale: 4 } }], {
          ...TOL,
          seed: seedOf(`${fn}${d}${shape}${axis}`),
        });
      });
    }
  }
});

describe('non-contiguous and lazy inputs', () => {
  const VIEWS = [
    ['transposed', [5, 6], (t: Tensor) => t.transpose(), -1],
    ['transposed, axis 0', [5, 6], (t: Tensor) => t.transpose(), 0],
    ['step slice', [40], (t: Tensor) => t.slice([3, 40, 3]), 0],
    ['offset rows', [7, 9], (t: Tensor) => t.slice([2, 6], [1, 8]), -1],
    ['expanded rows', [1, 9], (t: Tensor) => t.expand([4, 9]), -1],
    ['expanded along the axis', [4, 1], (t: Tensor) => t.expand([4, 9]), 1],
    ['permuted 3-D', [3, 4, 5], (t: Tensor) => t.permute([2, 0, 1]), 1],
    ['lazy (x * 2 + 1)', [6, 11], (t: Tensor) => t.mul(2).add(1), -1],
    ['lazy x * x along axis 0', [6, 11], (t: Tensor) => t.mul(t), 0],
  ] as const;
  for (const fn of FNS) {
    for (const d of FLOATS) {
      it.each(VIEWS)(`${fn} ${d}: %s`, async (name, shape, view, axis) => {
        await checkOp((x) => apply(fn, x, axis), [{ dtype: d, shape: [...shape], view, gen: { scale: 3 } }], {
          ...TOL,
          seed: seedOf(`view${fn}${d}${name}`),
        });
      });
    }
  }

  it('softmax of a lazy expression is one dispatch; the expression stays lazy', async () => {
    for (const d of FLOATS) {
      const x = lb.tensor(new Float32Array(4 * 37).map((_, i) => (i % 11) - 5), [4, 37], { dtype: d });
      await lb.eval(x);
      for (const [fn, axis] of [['softmax', -1], ['logSoftmax', -1], ['softmax', 0]] as const) {
        const e = lb.tidy(() => x.mul(0.5).add(1));
        const y = apply(fn, e, axis);
        const before = lb.streamStats().dispatches;
        await y.data();
        expect(lb.streamStats().dispatches - before, `${fn} ${d} axis ${axis}`).toBe(1);
        expect(e.lazy).not.toBeNull();
        e.dispose();
        y.dispose();
      }
      x.dispose();
    }
  });
});

describe('special values', () => {
  for (const fn of FNS) {
    for (const d of FLOATS) {
      it(`${fn} ${d}: -Inf entries, all -Inf rows, NaN rows, +Inf rows, ±0`, async () => {
        const rows = [
          [1, -Infinity, 2, -Infinity, 0.5],
          [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
          [1, NaN, 2, 3, 4],
          [1, Infinity, 2, 3, -Infinity],
          [0, -0, 0, -0, 0],
          [-Infinity, -Infinity, 7, -Infinity, -Infinity],
        ];
        const flat = rows.flat();
        for (const axis of [1, 0]) {
          await checkOp((x) => apply(fn, x, axis), [{ dtype: d, shape: [6, 5], data: encodeRaw(flat, d) }], { ...TOL, label: `axis ${axis}` });
        }
        const x = lb.tensor(flat, [6, 5], { dtype: d });
        const y = apply(fn, x, 1);
        const got = Array.from(await y.data());
        const row = (r: number) => got.slice(r * 5, r * 5 + 5);
        for (const r of [1, 2, 3]) expect(row(r).every(Number.isNaN), `row ${r} is NaN`).toBe(true);
        expect(row(5)).toEqual(fn === 'softmax' ? [0, 0, 1, 0, 0] : [-Infinity, -Infinity, 0, -Infinity, -Infinity]);
        x.dispose();
        y.dispose();
      });
    }
  }

  it('huge values where a naive exp overflows: 1e30 (f32, bf16)', async () => {
    for (const d of ['f32', 'bf16'] as const) {
      const data = [1e30, 1e30, -1e30, 1e30 * 0.5, 3e38, 1, 2, 3];
      for (const fn of FNS) {
        await checkOp((x) => apply(fn, x, -1), [{ dtype: d, shape: [2, 4], data: encodeRaw(data, d) }], { ...TOL, label: `${fn} ${d}` });
      }
      const x = lb.tensor([1e30, 1e30, -1e30, 0], [4], { dtype: d });
      const y = x.softmax();
      expectClose(await y.data(), [0.5, 0.5, 0, 0], { dtype: d, exact: true });
      x.dispose();
      y.dispose();
    }
  });

  it('f16 inputs near the top of the range (65504)', async () => {
    await checkOp((x) => x.softmax(-1), [{ dtype: 'f16', shape: [3, 9], data: encodeRaw([65504, -65504, 60000, 1, 0, ...Array(22).fill(65000)], 'f16') }], TOL);
    await checkOp((x) => x.logSoftmax(0), [{ dtype: 'f16', shape: [3, 9], gen: { special: 0.3 } }], TOL);
  });
});

describe('long rows', () => {
  it('a row of 100k (f32 and f16): matches and sums to 1', async () => {
    for (const d of ['f32', 'f16'] as const) {
      const got = await checkOp((x) => x.softmax(), [{ dtype: d, shape: [100_000], gen: { scale: 8 } }], { ...TOL, seed: 3 });
      let s = 0;
      for (const v of Array.from(got)) s += v;
      expect(Math.abs(s - 1), d).toBeLessThan(d === 'f32' ? 1e-4 : 2e-2);
    }
    await checkOp((x) => x.logSoftmax(0), [{ dtype: 'bf16', shape: [100_001, 2] }], { ...TOL, seed: 4 });
  });

  it('few long rows split over workgroups: odd lengths, f16 halves, strided, specials across chunks', async () => {
    await checkOp((x) => x.softmax(-1), [{ dtype: 'f16', shape: [3, 9001], gen: { scale: 6 } }], { ...TOL, seed: 5 });
    await checkOp((x) => x.logSoftmax(-1), [{ dtype: 'f32', shape: [2, 8193] }], { ...TOL, seed: 6 });
    await checkOp((x) => x.softmax(0), [{ dtype: 'bf16', shape: [9000, 3] }], { ...TOL, seed: 7 });
    // Small integers: x * x is exact, whether or not a driver contracts it into an fma.
    await checkOp((x) => lb.tidy(() => x.mul(x).logSoftmax(1)), [{ dtype: 'f32', shape: [2, 3, 5000], gen: { ints: 40 }, view: (t: Tensor) => t.permute([0, 2, 1]) }], { ...TOL, seed: 8 });
    await checkOp((x) => x.softmax(0), [{ dtype: 'f16', shape: [3000, 40] }], { ...TOL, seed: 9 });
    // Row 0: one NaN late; row 1: all -Inf; row 2: -Inf except one entry in the last chunk; row 3: +Inf.
    const n = 10000;
    const v = new Float32Array(4 * n).map((_, i) => ((i * 7919) % 13) - 6);
    v[9999] = NaN;
    v.fill(-Infinity, n, 3 * n);
    v[2 * n + 9000] = 4;
    v[3 * n + 5] = Infinity;
    for (const fn of FNS) {
      await checkOp((x) => apply(fn, x, -1), [{ dtype: 'f32', shape: [4, n], data: v }], { ...TOL, label: fn });
    }
  });

  it('a split row of a lazy sum of as many tensors as a kernel can bind', async () => {
    const k = lb.device()!.limits.maxStorageBuffersPerShaderStage;
    const specs = Array.from({ length: k }, () => ({ dtype: 'f32' as const, shape: [2, 9000], gen: { scale: 2 } }));
    await checkOp((...xs) => lb.tidy(() => xs.reduce((a, b) => a.add(b)).softmax(-1)), specs, { ...TOL, seed: 10 });
  });

  it('many rows (grid folded into y) and rows of 1', async () => {
    await checkOp((x) => x.softmax(1), [{ dtype: 'f16', shape: [70001, 1] }], TOL);
    await checkOp((x) => x.logSoftmax(0), [{ dtype: 'f32', shape: [1, 300] }], TOL);
  });
});

describe('errors and API', () => {
  it('bad axis → ShapeError, integer input → DTypeError, at the call', () => {
    const x = lb.zeros([2, 3]);
    const i = lb.zeros([2, 3], { dtype: 'i32' });
    const s = lb.zeros([]);
    for (const fn of FNS) {
      expect(() => apply(fn, x, 2)).toThrow(lb.ShapeError);
      expect(() => apply(fn, x, -3)).toThrow(lb.ShapeError);
      expect(() => apply(fn, x, 0.5)).toThrow(lb.ShapeError);
      expect(() => apply(fn, s, 1)).toThrow(lb.ShapeError);
      expect(() => apply(fn, i, -1)).toThrow(lb.DTypeError);
    }
    for (const t of [x, i, s]) t.dispose();
  });

  it('lb.softmax / lb.logSoftmax, empty tensors, a 0-d tensor', async () => {
    const x = lb.tensor([[0, Math.log(3)], [1, 1]]);
    const y = lb.softmax(x, 1);
    expectClose(await y.data(), [0.25, 0.75, 0.5, 0.5], { dtype: 'f32', rtol: 1e-6 });
    const z = lb.logSoftmax(x, 0);
    expectClose(await z.data(), [-Math.log(1 + Math.E), Math.log(3 / (3 + Math.E)), Math.log(Math.E / (1 + Math.E)), Math.log(Math.E / (3 + Math.E))], { dtype: 'f32', rtol: 1e-6 });
    const e = lb.zeros([3, 0]);
    const es = e.softmax(-1);
    expect(es.shape).toEqual([3, 0]);
    expect((await es.data()).length).toBe(0);
    const e0 = lb.zeros([0, 4], { dtype: 'f16' });
    const e0s = e0.logSoftmax(1);
    expect(e0s.shape).toEqual([0, 4]);
    const s = lb.tensor(5);
    const ss = s.softmax();
    const sl = s.logSoftmax(0);
    expect(ss.shape).toEqual([]);
    expect(Array.from(await ss.data())).toEqual([1]);
    expect(Array.from(await sl.data())).toEqual([0]);
    for (const t of [x, y, z, e, es, e0, e0s, s, ss, sl]) t.dispose();
  });
});

describe('random rows, wide value range', () => {
  for (const fn of FNS) {
    it.each(FLOATS)(`${fn} %s, scale 100 (most terms underflow)`, async (d) => {
      await checkOp((x) => apply(fn, x, -1), [{ dtype: d, shape: [9, 129], gen: { scale: 100 } }], {
        ...TOL,
        atol: fn === 'logSoftmax' ? 1e-4 : TOL.atol,
        seed: seedOf(`wide${fn}${d}`),
      });
    });
  }
});
