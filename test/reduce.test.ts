// Reductions (sum, mean, max, min, argmax, argmin, var): GPU against the CPU reference over
// dtypes, shapes, every axis subset, keepdims, views, lazy inputs, special values and size 0.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { checkOp, encodeRaw, expectClose, pair, rng, seedOf, sizeOf, type CloseOptions, type GenOptions, useGpu } from './helpers.js';

const DT = lb.DTYPES;
const isInt = (d: DType) => d === 'i32' || d === 'u32';
type Op = 'sum' | 'mean' | 'max' | 'min' | 'argmax' | 'argmin' | 'var';
const OPS: readonly Op[] = ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'var'];
type AxisArg = number | number[] | null;

useGpu();

function apply(op: Op, x: Tensor, axis: AxisArg, keepdims = false): Tensor {
  return op === 'var' ? x.var(axis, keepdims) : x[op](axis, keepdims);
}

/** Data that keeps each op's result exact or well conditioned, and tolerances to match. */
function genFor(op: Op, d: DType): { gen: GenOptions; close: Omit<CloseOptions, 'dtype'> } {
  switch (op) {
    case 'sum':
      // Integer-valued floats: every order of summation is exact. Ints wrap over the full range.
      return { gen: isInt(d) ? {} : { ints: 8 }, close: { exact: true } };
    case 'mean':
      return { gen: isInt(d) ? { intRange: 1000 } : { ints: 8 }, close: { rtol: 1e-6 } };
    case 'max':
    case 'min':
      return { gen: { special: 0.1 }, close: { exact: true } };
    case 'argmax':
    case 'argmin':
      // Few distinct values: ties everywhere (the first index must win), some NaN/Inf.
      return { gen: isInt(d) ? { intRange: 2 } : { ints: 2, special: 0.05 }, close: { exact: true } };
    case 'var':
      return { gen: isInt(d) ? { intRange: 1000 } : { scale: 10 }, close: { rtol: 2e-5, atol: 1e-6 } };
  }
}

function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << n; m++) out.push([...Array(n).keys()].filter((i) => m & (1 << i)));
  return out;
}

/** Every way to name axes of an n-d tensor worth testing: all, each subset, negative ones. */
function axesFor(n: number): AxisArg[] {
  const out: AxisArg[] = [null, ...subsets(n)];
  if (n === 0) out.push(0, -1);
  if (n >= 1) out.push(-1);
  if (n >= 2) out.push([-1, 0], -2);
  return out;
}

const SHAPES: (readonly number[])[] = [[], [1], [7], [257], [3, 5], [1, 9], [2, 3, 4], [3, 1, 5], [2, 3, 2, 3]];

describe('every op x dtype x shape x axes x keepdims', () => {
  for (const op of OPS) {
    describe(op, () => {
      for (const d of DT) {
        it.each(SHAPES.map((s) => [JSON.stringify(s), s] as const))(`${d} %s`, async (_, shape) => {
          const { gen, close } = genFor(op, d);
          for (const axis of axesFor(shape.length)) {
            for (const keepdims of [false, true]) {
              await checkOp((x) => apply(op, x, axis, keepdims), [{ dtype: d, shape, gen }], {
                ...close,
                label: `${op} ${d} [${shape}] axis ${JSON.stringify(axis)} keepdims ${keepdims}`,
                seed: seedOf(`${op}${d}${shape}${JSON.stringify(axis)}${keepdims}`),
              });
            }
          }
        });
      }
    });
  }
});

describe('result dtypes and shapes', () => {
  it.each(DT)('%s', (d) => {
    const x = lb.zeros([2, 3], { dtype: d });
    const want: Record<Op, DType> = {
      sum: d, max: d, min: d, argmax: 'i32', argmin: 'i32', mean: isInt(d) ? 'f32' : d, var: isInt(d) ? 'f32' : d,
    };
    for (const op of OPS) {
      const r = lb.tidy(() => apply(op, x, 1, true));
      expect(r.dtype, op).toBe(want[op]);
      expect(r.shape, op).toEqual([2, 1]);
      r.dispose();
    }
    x.dispose();
  });
});

describe('non-contiguous inputs', () => {
  const VIEWS = [
    ['transposed', [4, 6], (t: Tensor) => t.transpose(), 1],
    ['transposed, axis 0', [6, 300], (t: Tensor) => t.transpose(), 0],
    ['offset view', [5, 6], (t: Tensor) => t.slice([2, 5]), 1],
    ['step slice', [40], (t: Tensor) => t.slice([3, 40, 3]), 0],
    ['step slice 2-D', [9, 12], (t: Tensor) => t.slice([1, 9, 2], [0, 12, 5]), [0, 1]],
    ['expanded', [1, 5], (t: Tensor) => t.expand([6, 5]), 0],
    ['expanded, reduced over the copies', [3, 1], (t: Tensor) => t.expand([3, 7]), 1],
    ['permuted 3-D', [3, 4, 5], (t: Tensor) => t.permute([1, 2, 0]), [0, 2]],
  ] as const;
  for (const op of OPS) {
    for (const d of DT) {
      it.each(VIEWS)(`${op} ${d}: %s`, async (name, shape, view, axis) => {
        const { gen, close } = genFor(op, d);
        await checkOp((x) => apply(op, x, axis as AxisArg), [{ dtype: d, shape: [...shape], view, gen }], {
          ...close,
          seed: seedOf(`view${op}${d}${name}`),
        });
      });
    }
  }
});

describe('kernel modes: thread per row, several passes', () => {
  // [300, 5] over 1: many short rows. [1200, 300] over 0: leading axis, 19 chunks per row, then a
  // thread-per-row pass over the partial states. [3, 40000] over 1: rows split over workgroups,
  // 2 passes. [4500, 260] over 0: 71 chunks per row, so the second pass is a workgroup per row.
  const CASES = [
    ['short rows', [300, 5], 1, ['f32', 'i32', 'bf16']],
    ['leading axis, chunked', [1200, 300], 0, ['f32', 'i32', 'bf16']],
    ['long rows, chunked', [3, 40000], 1, ['f32', 'i32', 'bf16']],
    ['leading axes of 3-D', [70, 9, 40], [0, 1], ['f32', 'i32', 'bf16']],
    ['leading axis, many chunks', [4500, 260], 0, ['f32']],
  ] as const;
  for (const op of OPS) {
    it.each(CASES)(`${op}: %s`, async (name, shape, axis, dtypes) => {
      for (const d of dtypes) {
        const { gen, close } = genFor(op, d);
        await checkOp((x) => apply(op, x, axis as AxisArg), [{ dtype: d, shape: [...shape], gen }], {
          ...close,
          ...(op === 'var' || op === 'mean' ? { rtol: 1e-4, atol: 1e-5 } : {}),
          label: `${op} ${d}`,
          seed: seedOf(`mode${op}${d}${name}`),
        });
      }
    });
  }
});

describe('lazy inputs are fused, not materialized', () => {
  for (const op of OPS) {
    it.each(['f32', 'f16', 'i32'] as const)(`${op} of (x + 1) * x, %s`, async (d) => {
      const { gen, close } = genFor(op, d);
      // No subnormal specials: GPUs may flush the prologue's subnormal products to zero.
      const g: GenOptions = isInt(d) ? { intRange: 100 } : op === 'var' ? gen : { ints: 4 };
      for (const axis of [null, 0, 1, [0, 2]] as AxisArg[]) {
        await checkOp((x) => lb.tidy(() => apply(op, x.add(1).mul(x), axis)), [{ dtype: d, shape: [3, 4, 5], gen: g }], {
          ...close,
          label: `${op} ${d} axis ${JSON.stringify(axis)}`,
          seed: seedOf(`lazy${op}${d}${JSON.stringify(axis)}`),
        });
      }
    });
  }

  it('a reduction of a lazy expression is one dispatch and leaves the expression lazy', async () => {
    const x = lb.tensor(new Float32Array(600).map((_, i) => (i % 13) - 6), [20, 30]);
    await lb.eval(x);
    for (const op of OPS) {
      const e = lb.tidy(() => x.mul(2).add(1));
      const r = apply(op, e, 1);
      const before = lb.streamStats().dispatches;
      await r.data();
      expect(lb.streamStats().dispatches - before, op).toBe(1);
      expect(e.lazy, `${op}: the input stays lazy`).not.toBeNull();
      e.dispose();
      r.dispose();
    }
    x.dispose();
  });
});

describe('special values', () => {
  const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5];
  for (const op of OPS) {
    for (const d of ['f32', 'f16', 'bf16'] as const) {
      it(`${op} ${d}`, async () => {
        const rand = rng(seedOf(`special${op}${d}`));
        // Rows with and without NaN/Inf, so every combination shows up somewhere.
        const n = 8 * 33;
        const values = Array.from({ length: n }, (_, i) => (i % 33 < 16 ? SPECIAL[Math.floor(rand() * SPECIAL.length)] : [0, -0, 1, -1][Math.floor(rand() * 4)]));
        for (const axis of [1, 0, null]) {
          await checkOp((x) => apply(op, x, axis), [{ dtype: d, shape: [8, 33], data: encodeRaw(values, d) }], {
            exact: op !== 'mean' && op !== 'var',
            label: `${op} ${d} axis ${axis}`,
          });
        }
      });
    }
  }

  it('max/min/argmax/argmin: NaN wins, first NaN index; ±0', async () => {
    const x = lb.tensor([[1, NaN, 3, NaN], [-0, 0, -0, 0], [0, -0, 0, -0], [-Infinity, -Infinity, -Infinity, -Infinity]]);
    const [mx, mn, amx, amn] = [x.max(1), x.min(1), x.argmax(1), x.argmin(1)];
    expectClose(await mx.data(), [NaN, 0, 0, -Infinity], { dtype: 'f32', exact: true });
    expectClose(await mn.data(), [NaN, -0, -0, -Infinity], { dtype: 'f32', exact: true });
    expect(Array.from(await amx.data())).toEqual([1, 0, 0, 0]);
    expect(Array.from(await amn.data())).toEqual([1, 0, 0, 0]);
    for (const t of [x, mx, mn, amx, amn]) t.dispose();
  });

  it('integer extremes: max/min/argmax over the full i32 and u32 ranges', async () => {
    for (const [d, v] of [['i32', [5, -2147483648, 2147483647, 7, 2147483647]], ['u32', [5, 0, 4294967295, 7, 4294967295]]] as const) {
      const x = lb.tensor([...v], [5], { dtype: d });
      const r = [x.max(), x.min(), x.argmax(), x.argmin()];
      const got = await Promise.all(r.map((t) => t.data()));
      expect(got.map((a) => a[0]), d).toEqual([v[2], v[1], 2, 1]);
      for (const t of [x, ...r]) t.dispose();
    }
  });
});

describe('var', () => {
  it('a large mean with small noise (naive E[x^2] - E[x]^2 would fail)', async () => {
    const rand = rng(5);
    const n = 10000;
    const values = Float32Array.from({ length: n }, () => 1e4 + (rand() * 2 - 1));
    const exact = (v: ArrayLike<number>, lo: number, hi: number, step: number) => {
      let s = 0;
      let c = 0;
      for (let i = lo; i < hi; i += step) (s += v[i]), c++;
      const m = s / c;
      let q = 0;
      for (let i = lo; i < hi; i += step) q += (v[i] - m) ** 2;
      return q / c;
    };
    // The test can tell: E[x^2] - E[x]^2 with f32 sums is far off here.
    let s1 = 0;
    let s2 = 0;
    for (const v of values) (s1 = Math.fround(s1 + v)), (s2 = Math.fround(s2 + Math.fround(v * v)));
    const naive = s2 / n - (s1 / n) ** 2;
    expect(Math.abs(naive - exact(values, 0, n, 1))).toBeGreaterThan(0.1);
    const x = lb.tensor(values, [n]);
    const whole = x.var();
    expectClose(await whole.data(), [exact(values, 0, n, 1)], { dtype: 'f32', rtol: 1e-5 });
    // The same through the thread-per-row kernel (axis 0 of [100, 100]) and the chunked passes.
    const m = x.reshape([100, 100]);
    const cols = m.var(0);
    const want = Array.from({ length: 100 }, (_, j) => exact(values, j, n, 100));
    expectClose(await cols.data(), want, { dtype: 'f32', rtol: 1e-5 });
    const tall = x.reshape([250, 40]);
    const tallVar = tall.var(0);
    expectClose(await tallVar.data(), Array.from({ length: 40 }, (_, j) => exact(values, j, n, 40)), { dtype: 'f32', rtol: 1e-5 });
    tall.dispose();
    tallVar.dispose();
    const big = lb.tensor(Float32Array.from({ length: 50000 }, () => 1e4 + (rand() * 2 - 1)), [50000]);
    const bigVar = big.var();
    const bigData = await big.data();
    expectClose(await bigVar.data(), [exact(bigData, 0, 50000, 1)], { dtype: 'f32', rtol: 1e-5 });
    for (const t of [x, whole, m, cols, big, bigVar]) t.dispose();
  });

  it('correction (Bessel) and counts at or below it', async () => {
    await checkOp((x) => x.var(1, { correction: 1 }), [{ dtype: 'f32', shape: [4, 9] }], { rtol: 1e-5 });
    await checkOp((x) => x.var(null, { keepdims: true, correction: 1 }), [{ dtype: 'bf16', shape: [3, 5] }], {});
    await checkOp((x) => x.var(0, { correction: 0.5 }), [{ dtype: 'i32', shape: [6, 300], gen: { intRange: 50 } }], { rtol: 1e-5 });
    // One element with correction 1: 0 / 0 = NaN. Two distinct elements with correction 2: Inf.
    const one = lb.tensor([3]);
    const two = lb.tensor([1, 2]);
    const r = [one.var(0, { correction: 1 }), two.var(0, { correction: 2 }), two.var(0, { correction: 5 }), one.var(0)];
    expectClose(await Promise.all(r.map(async (t) => (await t.data())[0])), [NaN, Infinity, Infinity, 0], { dtype: 'f32', exact: true });
    for (const t of [one, two, ...r]) t.dispose();
    const x = lb.zeros([2]);
    expect(() => x.var(0, { correction: NaN })).toThrow(lb.DTypeError);
    x.dispose();
  });
});

describe('size 0', () => {
  for (const d of DT) {
    it.each([
      [[0], null, false, []],
      [[0], 0, true, [1]],
      [[0, 3], 0, false, [3]],
      [[3, 0], 1, true, [3, 1]],
      [[2, 0, 4], [0, 2], false, [0]],
    ] as const)(`${d}: sum 0, mean/var NaN over %j axis %j keepdims %s`, async (shape, axis, keepdims, outShape) => {
      const x = lb.zeros([...shape], { dtype: d });
      for (const op of ['sum', 'mean', 'var'] as const) {
        for (const dev of ['gpu', 'cpu'] as const) {
          const xs = dev === 'gpu' ? x : await x.to('cpu');
          const r = apply(op, xs, axis as AxisArg, keepdims);
          expect(r.shape).toEqual(outShape);
          const got = await r.data();
          const want = op === 'sum' ? 0 : NaN;
          expectClose(got, new Array(sizeOf(outShape)).fill(want), { dtype: r.dtype, exact: true, label: `${op} ${dev}` });
          r.dispose();
          if (xs !== x) xs.dispose();
        }
      }
      x.dispose();
    });
  }

  it('max/min/argmax/argmin over an empty axis throw ShapeError at the call; non-empty axes of an empty tensor work', async () => {
    for (const dev of ['gpu', 'cpu'] as const) {
      const x = lb.zeros([0, 3], { device: dev });
      for (const op of ['max', 'min', 'argmax', 'argmin'] as const) {
        expect(() => apply(op, x, null), `${op} ${dev}`).toThrow(lb.ShapeError);
        expect(() => apply(op, x, 0), `${op} ${dev}`).toThrow(lb.ShapeError);
        const r = apply(op, x, 1, true);
        expect(r.shape).toEqual([0, 1]);
        expect((await r.data()).length).toBe(0);
        r.dispose();
      }
      x.dispose();
    }
  });
});

describe('errors and 0-d', () => {
  it('bad and repeated axes throw ShapeError at the call', () => {
    const x = lb.zeros([2, 3]);
    for (const op of OPS) {
      expect(() => apply(op, x, 2), op).toThrow(lb.ShapeError);
      expect(() => apply(op, x, -3), op).toThrow(lb.ShapeError);
      expect(() => apply(op, x, [0, 0]), op).toThrow(lb.ShapeError);
      expect(() => apply(op, x, [1, -1]), op).toThrow(lb.ShapeError);
      expect(() => apply(op, x, 0.5), op).toThrow(lb.ShapeError);
    }
    const s = lb.zeros([]);
    expect(() => s.max(1)).toThrow(lb.ShapeError);
    expect(() => s.max([0, -1])).toThrow(lb.ShapeError);
    expect(() => lb.max(null as unknown as Tensor)).toThrow(lb.DTypeError);
    s.dispose();
    x.dispose();
  });

  it('a 0-d tensor reduces over axis 0 or -1 to itself (argmax 0)', async () => {
    const x = lb.tensor(2.5);
    for (const op of OPS) {
      for (const axis of [0, -1, null, []] as AxisArg[]) {
        const r = apply(op, x, axis, true);
        expect(r.shape).toEqual([]);
        const want = { sum: 2.5, mean: 2.5, max: 2.5, min: 2.5, argmax: 0, argmin: 0, var: 0 }[op];
        expect((await r.data())[0], `${op} ${JSON.stringify(axis)}`).toBe(want);
        r.dispose();
      }
    }
    x.dispose();
  });

  it('lb.* functions match the methods', async () => {
    const x = lb.tensor([[3, 1, 2], [0, 5, 4]]);
    const r = [lb.mean(x, 1), lb.max(x, 0), lb.min(x), lb.argmax(x, 1), lb.argmin(x, 1, true), lb.var(x, 1, { correction: 1 })];
    const got = await Promise.all(r.map(async (t) => Array.from(await t.data())));
    expect(got).toEqual([[2, 3], [3, 5, 4], [0], [0, 1], [1, 0], [1, 7]]);
    for (const t of [x, ...r]) t.dispose();
  });
});

describe('large', () => {
  it('max, argmax, mean and var over 2^20 + 3 elements (several passes)', async () => {
    const n = (1 << 20) + 3;
    const rand = rng(99);
    const data = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    data[777777] = 5; // the max, once
    const { gpu, cpu } = pair(data, [n], 'f32');
    for (const op of ['max', 'argmax', 'argmin', 'mean', 'var'] as const) {
      const [g, c] = [apply(op, gpu, null), apply(op, cpu, null)];
      expectClose(await g.data(), await c.data(), { dtype: g.dtype, rtol: 1e-4, atol: 1e-6, label: op });
      g.dispose();
      c.dispose();
    }
    gpu.dispose();
    cpu.dispose();
  });
});
