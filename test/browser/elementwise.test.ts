// Elementwise ops in Chromium (SwiftShader; f16 packed, computed in f32): every unary and binary op,
// where (a u32 0/1 "bool" condition, as comparisons give), clamp, cast between every dtype pair,
// over every dtype, on odd sizes, broadcasting, views and special values, against the CPU
// reference; then fusion: a chain is one generated kernel with the same result. A slice of
// test/elementwise.test.ts and test/fusion.test.ts, with the same tolerances.
import { beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { checkOp, seedOf, useGpu, type GenOptions, type InputSpec } from '../helpers.js';
import { BINARY, EXACT, FLUSHING, UNARY } from '../elementwise-ops.js';

const DT = lb.DTYPES;
const isInt = (d: DType) => d === 'i32' || d === 'u32';

let ftz = false;
const gpu = useGpu();
beforeAll(() => {
  ftz = gpu.quirks.ftz;
});


type Side = Omit<InputSpec, 'dtype'>;
const UNARY_CASES: [string, Side][] = [
  ['0-d', { shape: [] }],
  ['empty', { shape: [0] }],
  ['[257] with specials', { shape: [257], gen: { special: 0.3 } }],
  ['transpose [5,3]', { shape: [5, 3], view: (t) => t.transpose() }],
  ['odd-offset step slice', { shape: [20], view: (t) => t.slice([1, 20, 3]) }],
];

function spec(d: DType, side: Side, gen: GenOptions | undefined): InputSpec {
  // Integer inputs of float functions: small values (their results are f32).
  const g = isInt(d) ? { ...(gen ? { intRange: gen.positive ? 100 : 60 } : {}), ...side.gen } : { ...gen, ...side.gen };
  return { ...side, dtype: d, gen: g };
}

describe('unary', () => {
  for (const [op, { fn, tol, gen }] of Object.entries(UNARY)) {
    it.each(DT)(`${op} %s`, async (d) => {
      for (const [name, side] of UNARY_CASES) {
        await checkOp(fn, [spec(d, side, gen)], { ...tol, label: name, seed: seedOf(`${op}${d}${name}`) });
      }
    });
  }
});


const BIN_CASES: [string, Side, Side][] = [
  ['[33] specials', { shape: [33], gen: { special: 0.5 } }, { shape: [33], gen: { special: 0.5 } }],
  ['broadcast [3,1,5]x[4,1]', { shape: [3, 1, 5] }, { shape: [4, 1] }],
  ['transpose x step slice', { shape: [7, 3], view: (t) => t.transpose() }, { shape: [3, 22], view: (t) => t.slice(null, [1, 22, 3]) }],
];
/** Mixed dtypes: promotion is the point (i32 with u32 is an error, tested in Node). */
const MIXED: [DType, DType][] = [['f32', 'f16'], ['f16', 'bf16'], ['bf16', 'i32'], ['u32', 'f32'], ['i32', 'f16']];

function binSpec(d: DType, side: Side, gen: GenOptions | undefined): InputSpec {
  const g = isInt(d) ? { ...(gen?.intRange !== undefined ? { intRange: gen.intRange } : {}), ...side.gen } : { ...gen, ...side.gen };
  return { ...side, dtype: d, gen: g };
}

describe('binary', () => {
  for (const [op, { fn, tol, gen }] of Object.entries(BINARY)) {
    const pairs: [DType, DType][] = [...DT.map((d) => [d, d] as [DType, DType]), ...MIXED];
    it.each(pairs)(`${op} %s with %s`, async (da, db) => {
      const cases = da === db ? BIN_CASES : BIN_CASES.slice(1, 2);
      for (const [name, a, b] of cases) {
        await checkOp(fn, [binSpec(da, a, gen?.[0]), binSpec(db, b, gen?.[1])], {
          ...tol,
          flushSubnormals: ftz && FLUSHING.has(op),
          flushed: ftz,
          label: name,
          seed: seedOf(`${op}${da}${db}${name}`),
        });
      }
    });
  }

  it.each(DT)('numbers on either side (%s)', async (d) => {
    for (const n of [2.5, -3, -0, NaN, Infinity]) {
      await checkOp((x) => lb.tidy(() => lb.sub(n, x).mul(x.add(n))), [{ dtype: d, shape: [2, 9], gen: { special: 0.4, ...(isInt(d) ? { intRange: 9 } : { scale: 9 }) } }], {
        exact: true, flushed: ftz, label: `${n}`, seed: seedOf(`num${d}${n}`),
      });
    }
  });
});

describe('where, clamp, cast', () => {
  it.each(DT)('where: cond u32 0/1 (a comparison result) and %s values, broadcast', async (dv) => {
    await checkOp((c, a, b) => lb.where(c, a, b), [
      { dtype: 'u32', shape: [3, 1], gen: { intRange: 1 } },
      { dtype: dv, shape: [1, 4] },
      { dtype: dv, shape: [], gen: { special: 1 } },
    ], EXACT);
    // cond straight from a comparison: fused with it.
    await checkOp((x, a, b) => lb.tidy(() => lb.where(x.gt(0), a, b)), [
      { dtype: dv, shape: [40], gen: { special: 0.3 } },
      { dtype: dv, shape: [40] },
      { dtype: dv, shape: [40] },
    ], EXACT);
  });

  it.each(DT)('where: cond %s (nonzero, NaN included, is true)', async (dc) => {
    await checkOp((c, a, b) => lb.where(c, a, b), [
      { dtype: dc, shape: [5, 3], view: (t) => t.transpose(), gen: { ints: 1, intRange: 1, special: 0.3 } },
      { dtype: 'f32', shape: [3, 5] },
      { dtype: 'f32', shape: [5] },
    ], EXACT);
  });

  it.each(DT)('clamp %s: number and tensor bounds', async (d) => {
    for (const [lo, hi] of [[-1, 1], [0, undefined], [3, -3], [NaN, 1]] as [number, number | undefined][]) {
      await checkOp((x) => x.clamp(lo, hi), [{ dtype: d, shape: [33], gen: { special: 0.4, scale: 4, intRange: 5 } }], {
        exact: true, label: `clamp(${lo}, ${hi})`, seed: seedOf(`clamp${d}${lo}${hi}`),
      });
    }
    await checkOp((x, l, h) => lb.clamp(x, l, h), [
      { dtype: d, shape: [5, 4], view: (t) => t.transpose(), gen: { special: 0.3 } },
      { dtype: d, shape: [5] },
      { dtype: d, shape: [4, 1] },
    ], EXACT);
  });

  for (const from of DT) {
    it.each(DT)(`cast ${from} -> %s`, async (to) => {
      // Specials include NaN/Inf/out-of-range values: float->int casts saturate the same way on both.
      await checkOp((x) => x.cast(to), [{ dtype: from, shape: [65], gen: { special: 0.5, scale: 1e5 } }], { exact: true, seed: seedOf(`cast${from}${to}`) });
      await checkOp((x) => x.cast(to), [{ dtype: from, shape: [6, 5], view: (t) => t.slice([1, 6], [0, 5, 2]).transpose() }], { exact: true });
    });
  }
  it('u32 -> f32 rounds once to nearest even above 2^31 (SwiftShader\'s f32(u32) was an ulp off)', async () => {
    const v = [2 ** 31 + 129, 2 ** 31 + 128, 2 ** 31 + 384, 4093083800, 4294967295, 4294967167, 4294967168, 3422860160, 16777217, 0];
    for (const device of ['gpu', 'cpu'] as const) {
      const x = lb.tensor(Uint32Array.from(v), [v.length], { dtype: 'u32', device });
      const ys = lb.tidy(() => [x.cast('f32'), x.add(lb.zeros([1], { device }))]);
      try {
        for (const y of ys) expect(Array.from(await y.data()), device).toEqual(v.map(Math.fround));
      } finally {
        for (const t of [x, ...ys]) t.dispose();
      }
    }
  });
});

describe('fusion', () => {
  it.each(['f32', 'f16', 'bf16'] as DType[])('a chain of elementwise ops is one kernel, same values (%s)', async (d) => {
    const chain = (x: Tensor, w: Tensor, b: Tensor) => lb.tidy(() => lb.gelu(x.mul(w).add(b)).sub(x.sigmoid().mul(0.5)).abs());
    await checkOp(chain, [
      { dtype: d, shape: [9, 17], gen: { scale: 3 } },
      { dtype: d, shape: [17], gen: { scale: 2 } },
      { dtype: d, shape: [9, 1], gen: { scale: 2 } },
    ], { rtol: 2e-6, atol: 1e-6, ulps: 2, zeroSign: false, seed: seedOf(`fuse${d}`) });

    const x = lb.randn([9, 17], { seed: 5, dtype: d });
    const w = lb.randn([17], { seed: 6, dtype: d });
    const b = lb.randn([9, 1], { seed: 7, dtype: d });
    await lb.eval(x, w, b);
    const before = lb.streamStats().dispatches;
    const y = chain(x, w, b);
    await y.data();
    expect(lb.streamStats().dispatches - before).toBe(1);
    for (const t of [x, w, b, y]) t.dispose();
  });

  it('an elementwise prologue fused into a reduction reads its inputs once', async () => {
    await checkOp((x, y) => lb.tidy(() => x.mul(y).sum(1)), [
      { dtype: 'f32', shape: [7, 33], gen: { ints: 5 } },
      { dtype: 'f32', shape: [33], gen: { ints: 5 } },
    ], EXACT);
    await checkOp((x) => lb.tidy(() => x.add(1).softmax(-1)), [{ dtype: 'bf16', shape: [5, 19], gen: { scale: 3 } }], { rtol: 2e-5, atol: 2e-6 });
  });
});
