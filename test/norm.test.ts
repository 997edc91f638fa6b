// layerNorm / rmsNorm: GPU kernel vs. the CPU reference over dtypes, row lengths (1 to 300,
// odd ones exercising the shared-word 16-bit path), weight/bias variants, views, lazy inputs,
// special values and size 0; errors at the call.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { FLOATS, checkOp, encodeRaw, expectClose, seedOf, type InputSpec, useGpu } from './helpers.js';

useGpu();

/** f32 within 1e-5 (relative and absolute); 16-bit within one ulp of the f64 reference. */
const TOL = { rtol: 1e-5, atol: 1e-5, zeroSign: false };

type XSpec = Omit<InputSpec, 'dtype'>;
/** [label, x, length of the viewed last dim] */
const X_CASES: [string, XSpec, number][] = [
  ['[1,1] D=1', { shape: [1, 1] }, 1],
  ['[4,3] D=3', { shape: [4, 3] }, 3],
  ['[7,5] odd rows, odd D', { shape: [7, 5] }, 5],
  ['[3,64]', { shape: [3, 64] }, 64],
  ['[2,3,80]', { shape: [2, 3, 80] }, 80],
  ['[5,128]', { shape: [5, 128] }, 128],
  ['[3,301] several elements per thread', { shape: [3, 301] }, 301],
  ['[9] 1-D', { shape: [9] }, 9],
  ['[0,8] no rows', { shape: [0, 8] }, 8],
  ['[3,0] empty rows', { shape: [3, 0] }, 0],
  ['transposed [6,5]^T', { shape: [6, 5], view: (t) => t.transpose() }, 6],
  ['strided slice, offset', { shape: [5, 12], view: (t) => t.slice([1, 5], [1, 12, 2]) }, 6],
  ['expanded rows', { shape: [1, 7], view: (t) => t.expand([3, 7]) }, 7],
];

const gen = { scale: 3 };
const NORMS = {
  layerNorm: (x: Tensor, w?: Tensor, b?: Tensor) => lb.layerNorm(x, w ?? null, b ?? null),
  rmsNorm: (x: Tensor, w?: Tensor) => lb.rmsNorm(x, w ?? null),
};

describe.each(Object.keys(NORMS) as (keyof typeof NORMS)[])('%s', (name) => {
  const norm = NORMS[name];
  const params = name === 'layerNorm' ? 2 : 1;
  for (const dtype of FLOATS) {
    describe(dtype, () => {
      it.each(X_CASES)('%s', async (label, x, d) => {
        await checkOp((t) => norm(t), [{ ...x, dtype, gen }], { ...TOL, seed: seedOf(`${name}${dtype}${label}`) });
        const wb: InputSpec[] = Array.from({ length: params }, () => ({ dtype, shape: [d], gen: { scale: 2 } }));
        await checkOp((t, ...p) => norm(t, ...p), [{ ...x, dtype, gen }, ...wb], { ...TOL, seed: seedOf(`${name}${dtype}${label}wb`) });
      });
    });
  }

  it('weight only, in another dtype (f32 weight on bf16 x), as views', async () => {
    await checkOp((x, w) => norm(x, w), [
      { dtype: 'bf16', shape: [4, 6], gen },
      { dtype: 'f32', shape: [12], view: (t) => t.slice([1, 12, 2]) },
    ], { ...TOL, seed: 11 });
    // A broadcast weight: stride 0.
    await checkOp((x, w, b) => norm(x, w, b), [
      { dtype: 'f16', shape: [3, 5], gen },
      { dtype: 'f32', shape: [1], view: (t) => t.expand([5]) },
      { dtype: 'bf16', shape: [5] },
    ], { ...TOL, seed: 12 });
  });

  it.each(FLOATS)('lazy input (fused prologue) %s', async (dtype) => {
    await checkOp((a, b) => lb.tidy(() => norm(a.add(b).mul(2))), [{ dtype, shape: [5, 33], gen }, { dtype, shape: [33], gen }], { ...TOL, seed: 13 });
    // A cast in the prologue: f32 expression, 16-bit result. (The chains are ones whose result
    // does not depend on rounding between ops: NVIDIA contracts a * b + c into an FMA and may
    // keep f16 intermediates wider, which the CPU reference does not model.)
    await checkOp((a) => lb.tidy(() => norm(a.add(0.5).cast(dtype))), [{ dtype: 'f32', shape: [3, 9], gen }], { ...TOL, seed: 14 });
  });

  it('a lazy weight is computed first', async () => {
    await checkOp((x, w) => lb.tidy(() => norm(x, w.add(1))), [{ dtype: 'f32', shape: [4, 10], gen }, { dtype: 'f32', shape: [10] }], { ...TOL, seed: 15 });
  });

  it.each(FLOATS)('special rows %s: NaN row -> NaN row, Inf, zeros, constant', async (dtype) => {
    const d = 8;
    const rows = [
      [1, 2, NaN, 4, 5, 6, 7, 8],
      [1, 2, 3, Infinity, 5, 6, 7, 8],
      [-Infinity, 0, 0, 0, 0, 0, 0, 0],
      [0, -0, 0, -0, 0, 0, -0, 0],
      [2, 2, 2, 2, 2, 2, 2, 2],
      [1e-3, -2e-3, 3e-3, 0, 1, -1, 0.5, 0.25],
    ];
    const data = encodeRaw(rows.flat(), dtype);
    const got = await checkOp((x) => norm(x), [{ dtype, shape: [rows.length, d], data }], { ...TOL });
    const row = (r: number) => Array.from(got).slice(r * d, r * d + d);
    expect(row(0).every(Number.isNaN)).toBe(true);
    if (name === 'layerNorm') {
      expect(row(1).every(Number.isNaN)).toBe(true);
      expect(row(4)).toEqual(new Array(d).fill(0));
    }
  });

  it('f16 values held in f32 (no shader-f16 path)', async () => {
    const features = lb.device()!.features as { f16: boolean };
    const saved = features.f16;
    features.f16 = false;
    try {
      await checkOp((x, w) => lb.tidy(() => norm(x.mul(w), w)), [{ dtype: 'f16', shape: [3, 7], gen }, { dtype: 'f16', shape: [7] }], { ...TOL, seed: 16 });
    } finally {
      features.f16 = saved;
    }
  });
});

describe('norm known values and errors', () => {
  it('layerNorm of [1, 2, 3] and rmsNorm of [3, 4]', async () => {
    const x = lb.tensor([1, 2, 3]);
    const y = lb.tensor([3, 4]);
    const ln = lb.layerNorm(x, null, null, 0);
    const w = lb.tensor([1, 2]);
    const rms = lb.rmsNorm(y, w, 0);
    expectClose(await ln.data(), [-Math.sqrt(1.5), 0, Math.sqrt(1.5)], { dtype: 'f32', rtol: 1e-6 });
    const r = Math.sqrt(12.5);
    expectClose(await rms.data(), [3 / r, 8 / r], { dtype: 'f32', rtol: 1e-6 });
    for (const t of [x, y, w, ln, rms]) t.dispose();
  });

  it('eps is used as given (f32)', async () => {
    const x = lb.tensor([[0, 0, 0, 4]]);
    for (const eps of [1e-5, 1, 100]) {
      const y = lb.rmsNorm(x, null, eps);
      expectClose(await y.data(), [0, 0, 0, 4 / Math.sqrt(4 + Math.fround(eps))], { dtype: 'f32', rtol: 2e-6 });
      y.dispose();
    }
    x.dispose();
  });

  it('errors name the op and shapes', () => {
    const x = lb.zeros([2, 4]);
    const w3 = lb.zeros([3]);
    const wi = lb.zeros([4], { dtype: 'i32' });
    const xi = lb.zeros([2, 4], { dtype: 'i32' });
    const s = lb.zeros([]);
    const wc = lb.zeros([4], { device: 'cpu' });
    try {
      expect(() => lb.layerNorm(x, w3)).toThrow(lb.ShapeError);
      expect(() => lb.layerNorm(x, w3)).toThrow(/layerNorm: weight must have shape \[4\].*\[2, 4\], \[3\]/);
      expect(() => lb.layerNorm(x, null, w3)).toThrow(/layerNorm: bias/);
      expect(() => lb.rmsNorm(x, wi)).toThrow(lb.DTypeError);
      expect(() => lb.rmsNorm(xi)).toThrow(/rmsNorm: x must be a float tensor/);
      expect(() => lb.rmsNorm(s)).toThrow(lb.ShapeError);
      expect(() => lb.rmsNorm(x, null, -1)).toThrow(/eps/);
      expect(() => lb.rmsNorm(x, null, NaN)).toThrow(/eps/);
      expect(() => lb.layerNorm(x, wc)).toThrow(/different devices/);
    } finally {
      for (const t of [x, w3, wi, xi, s, wc]) t.dispose();
    }
  });

  it('a lazy input with many leaves is computed first (binding limit)', async () => {
    const dtype: DType = 'f32';
    const n = lb.device()!.limits.maxStorageBuffersPerShaderStage;
    const parts = Array.from({ length: n - 2 }, (_, i) => lb.full([3, 4], i + 1, { dtype }));
    const w = lb.ones([4]);
    const b = lb.zeros([4]);
    let sum = parts[0];
    const made: Tensor[] = [];
    for (const p of parts.slice(1)) made.push((sum = sum.add(p)));
    const y = lb.layerNorm(sum, w, b);
    const cpu = await Promise.all([sum.data(), y.data()]);
    expect(cpu[1].every((v) => v === 0)).toBe(true);
    for (const t of [...parts, ...made, w, b, y]) t.dispose();
  });
});
