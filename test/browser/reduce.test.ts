// Reductions, softmax, norms and rope in Chromium (SwiftShader: subgroups of 4, f16 packed),
// every dtype each op takes, against the CPU reference: a slice of test/reduce, softmax, norm
// and rope.test.ts with the same data generators and tolerances.
import { describe, it } from 'vitest';
import * as lb from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { checkOp, encodeRaw, FLOATS, seedOf, useGpu, type CloseOptions, type GenOptions, type InputSpec } from '../helpers.js';

useGpu();

const DT = lb.DTYPES;
const isInt = (d: DType) => d === 'i32' || d === 'u32';
type Op = 'sum' | 'mean' | 'max' | 'min' | 'argmax' | 'argmin' | 'var';
const OPS: readonly Op[] = ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'var'];
type AxisArg = number | number[] | null;
const apply = (op: Op, x: Tensor, axis: AxisArg, keepdims = false) => (op === 'var' ? x.var(axis, keepdims) : x[op](axis, keepdims));

function genFor(op: Op, d: DType): { gen: GenOptions; close: Omit<CloseOptions, 'dtype'> } {
  switch (op) {
    case 'sum':
      return { gen: isInt(d) ? {} : { ints: 8 }, close: { exact: true } }; // exact in any order; ints wrap
    case 'mean':
      return { gen: isInt(d) ? { intRange: 1000 } : { ints: 8 }, close: { rtol: 1e-6 } };
    case 'max':
    case 'min':
      return { gen: { special: 0.1 }, close: { exact: true } };
    case 'argmax':
    case 'argmin':
      return { gen: isInt(d) ? { intRange: 2 } : { ints: 2, special: 0.05 }, close: { exact: true } }; // ties: first index wins
    case 'var':
      return { gen: isInt(d) ? { intRange: 1000 } : { scale: 10 }, close: { rtol: 2e-5, atol: 1e-6 } };
  }
}

/** [shape, axis, view] cases: all axes, one axis, several, a view, the chunked multi-pass kernels. */
const CASES: [string, number[], AxisArg, ((t: Tensor) => Tensor)?][] = [
  ['[] all', [], null],
  ['[257] all', [257], null],
  ['[3,5] axis 0', [3, 5], 0],
  ['[2,3,4] axes [0,2] keepdims', [2, 3, 4], [0, 2]],
  ['[2,3,2,3] axis -1', [2, 3, 2, 3], -1],
  ['[0,3] axis 1 (empty result)', [0, 3], 1],
  ['transposed [4,6] axis 1', [4, 6], 1, (t) => t.transpose()],
  ['step slice 2-D', [9, 12], [0, 1], (t) => t.slice([1, 9, 2], [0, 12, 5])],
];
/** The multi-pass kernels (rows split over workgroups, partial states combined): as in Node, on f32, bf16, i32. */
const CHUNKED: [string, number[], AxisArg][] = [
  ['long rows, chunked [3,40000]', [3, 40000], 1],
  ['leading axis, chunked [1200,300]', [1200, 300], 0],
];

describe('reductions', () => {
  for (const op of OPS) {
    it.each(DT)(`${op} %s`, async (d) => {
      const { gen, close } = genFor(op, d);
      for (const [name, shape, axis, view] of CASES) {
        await checkOp((x) => apply(op, x, axis, name.includes('keepdims')), [{ dtype: d, shape, view, gen }], {
          ...close, label: `${op} ${d} ${name}`, seed: seedOf(`${op}${d}${name}`),
        });
      }
    });
    it(`${op}: chunked multi-pass kernels`, async () => {
      for (const d of ['f32', 'bf16', 'i32'] as const) {
        const { gen, close } = genFor(op, d);
        for (const [name, shape, axis] of CHUNKED) {
          await checkOp((x) => apply(op, x, axis), [{ dtype: d, shape, gen }], {
            ...close, ...(op === 'var' || op === 'mean' ? { rtol: 1e-4, atol: 1e-5 } : {}), label: `${op} ${d} ${name}`, seed: seedOf(`${op}${d}${name}`),
          });
        }
      }
    });
  }
});

describe('softmax, logSoftmax', () => {
  const TOL = { rtol: 2e-5, atol: 2e-6 };
  const SM: [number[], number | undefined, ((t: Tensor) => Tensor)?][] = [
    [[], undefined], [[1000], -1], [[2, 3, 4], 1], [[5, 33], -1], [[300, 5, 3], 1], [[5, 6], -1, (t) => t.transpose()],
  ];
  for (const fn of ['softmax', 'logSoftmax'] as const) {
    it.each(FLOATS)(`${fn} %s`, async (d) => {
      for (const [shape, axis, view] of SM) {
        await checkOp((x) => (axis === undefined ? x[fn]() : x[fn](axis)), [{ dtype: d, shape, view, gen: { scale: 4 } }], {
          ...TOL, label: `${shape} axis ${axis}`, seed: seedOf(`${fn}${d}${shape}${axis}`),
        });
      }
      // -Inf entries, a fully masked row (NaN), NaN and +Inf.
      const rows = [[0, -Infinity, 1, 2], [-Infinity, -Infinity, -Infinity, -Infinity], [1, NaN, 0, 0], [Infinity, 0, 1, 2]];
      await checkOp((x) => x[fn](-1), [{ dtype: d, shape: [4, 4], data: encodeRaw(rows.flat(), d) }], TOL);
    });
  }
});

describe('layerNorm, rmsNorm', () => {
  const TOL = { rtol: 1e-5, atol: 1e-5, zeroSign: false };
  const gen = { scale: 3 };
  const X: [string, Omit<InputSpec, 'dtype'>, number][] = [
    ['[7,5] odd rows, odd D', { shape: [7, 5] }, 5],
    ['[3,301]', { shape: [3, 301] }, 301],
    ['[0,8]', { shape: [0, 8] }, 8],
    ['strided slice', { shape: [5, 12], view: (t) => t.slice([1, 5], [1, 12, 2]) }, 6],
  ];
  for (const name of ['layerNorm', 'rmsNorm'] as const) {
    it.each(FLOATS)(`${name} %s`, async (dtype) => {
      const norm = (x: Tensor, w?: Tensor, b?: Tensor) => (name === 'layerNorm' ? lb.layerNorm(x, w ?? null, b ?? null) : lb.rmsNorm(x, w ?? null));
      for (const [label, x, d] of X) {
        await checkOp((t) => norm(t), [{ ...x, dtype, gen }], { ...TOL, label, seed: seedOf(`${name}${dtype}${label}`) });
        const params: InputSpec[] = Array.from({ length: name === 'layerNorm' ? 2 : 1 }, () => ({ dtype, shape: [d], gen: { scale: 2 } }));
        await checkOp((t, ...p) => norm(t, ...p), [{ ...x, dtype, gen }, ...params], { ...TOL, label: `${label} w/b`, seed: seedOf(`${name}${dtype}${label}wb`) });
      }
      // Mixed dtypes (f32 weight on a 16-bit x) and a lazy input fused as the prologue.
      await checkOp((x, w) => norm(x, w), [{ dtype, shape: [4, 6], gen }, { dtype: 'f32', shape: [6] }], TOL);
      await checkOp((a, b) => lb.tidy(() => norm(a.add(b).mul(2))), [{ dtype, shape: [5, 33], gen }, { dtype, shape: [33], gen }], TOL);
    });
  }
});

describe('rope', () => {
  const TOL = { rtol: 1e-5, atol: 2e-5, zeroSign: false };
  const gen = { scale: 2 };
  for (const layout of ['half', 'interleaved'] as const) {
    it.each(FLOATS)(`${layout} %s`, async (dtype) => {
      const cases: [Omit<InputSpec, 'dtype'>, lb.RopeOptions][] = [
        [{ shape: [2, 3, 5, 8] }, {}],
        [{ shape: [1, 1, 5, 80] }, { rotaryDim: 32 }],
        [{ shape: [2, 2, 3, 128] }, { base: 500000, offset: 1000 }],
        [{ shape: [2, 5, 3, 16], view: (t) => t.permute([0, 2, 1, 3]) }, {}],
      ];
      for (const [x, opts] of cases) {
        await checkOp((t) => lb.rope(t, null, { ...opts, layout }), [{ ...x, dtype, gen }], { ...TOL, label: JSON.stringify(x.shape), seed: seedOf(`rope${layout}${dtype}${x.shape}`) });
      }
      for (const pd of ['i32', 'u32'] as const) {
        await checkOp((t, p) => lb.rope(t, p, { layout, offset: 3 }), [
          { dtype, shape: [2, 6, 16], gen },
          { dtype: pd, shape: [6], data: encodeRaw([0, 5, 17, 100, 2047, 3], pd) },
        ], { ...TOL, label: `positions ${pd}` });
      }
    });
  }
});
