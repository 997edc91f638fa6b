// The quantized matvec with 8-bit activations (lb.matmul(a, q, { transB: true,
// quantizeActivations: true })) against its CPU reference: a's runs rounded by roundActivations,
// then the reference matmul on the dequantized weight. Every block type, odd N, batched / 1-D /
// transposed a, epilogues, f16 / bf16 a, several passes over K, NaN / Inf, size 0, errors; and the
// reference itself against the exact product within the rounding's bound.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { QUANT_TYPES, type QuantType } from '../src/cpu/quant.js';
import { roundActivations, runLength, type Matvec8Config } from '../src/ops/matmul-quant-i8.js';
import { withQuantConfig } from '../src/ops/matmul-quant.js';
import { rng, seedOf, useGpu } from './helpers.js';
import { quantTensor, quantWeight, type Weight } from './quant-weight.js';

useGpu();

const weight = (type: QuantType, n: number, k: number) => quantWeight('q8x', type, n, k);

const qt = quantTensor;

interface Case {
  shape: number[];
  dtype?: lb.DType;
  transA?: boolean;
  view?: (t: lb.Tensor) => lb.Tensor;
  bias?: boolean;
  residual?: boolean;
  activation?: 'gelu' | 'silu' | 'relu';
  alpha?: number;
  config?: Partial<Matvec8Config>;
  poison?: number[]; // flat indices of a set to NaN / Inf alternately
}

/** GPU with quantizeActivations against the CPU reference with the same option. */
async function check(w: Weight, c: Case, label: string): Promise<void> {
  const rand = rng(seedOf(label));
  const size = c.shape.reduce((x, y) => x * y, 1);
  const av = Float32Array.from({ length: size }, () => rand() * 2 - 1);
  c.poison?.forEach((i, j) => (av[i] = j % 2 === 0 ? NaN : -Infinity));
  const made: (lb.Tensor | lb.QuantizedTensor)[] = [];
  const keep = <T extends lb.Tensor | lb.QuantizedTensor>(t: T) => (made.push(t), t);
  try {
    const both = (v: Float32Array, shape: number[], dtype: lb.DType = 'f32') =>
      [keep(lb.tensor(v, shape, { dtype })), keep(lb.tensor(v, shape, { dtype, device: 'cpu' }))] as const;
    let [ag, ac] = both(av, c.shape, c.dtype ?? 'f32');
    if (c.view) [ag, ac] = [keep(c.view(ag)), keep(c.view(ac))];
    const sh = ag.shape;
    const lead = c.transA ? [...sh.slice(0, -2), sh[sh.length - 1]] : sh.slice(0, -1);
    const outShape = sh.length === 1 ? [w.n] : [...lead, w.n];
    const rnd = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const bias = c.bias ? both(rnd(w.n), [w.n]) : undefined;
    const residual = c.residual ? both(rnd(outShape.reduce((x, y) => x * y, 1)), outShape) : undefined;
    const opts = { transB: true, transA: c.transA, activation: c.activation, alpha: c.alpha, quantizeActivations: true };
    const run = () => lb.matmul(ag, keep(qt(w)), { ...opts, bias: bias?.[0], residual: residual?.[0] });
    const out = keep(c.config ? withQuantConfig({ i8: c.config }, run) : run());
    expect(out.dtype).toBe(c.dtype ?? 'f32');
    expect(out.shape).toEqual(outShape);
    const got = (await out.data()) as Float32Array;
    const ref = keep(lb.matmul(ac, keep(qt(w, 'cpu')), { ...opts, bias: bias?.[1], residual: residual?.[1] }));
    const want = (await keep(ref.cast('f32')).data()) as Float32Array;
    // |a| @ |w|^T bounds the f32 rounding of the sums; a value on a rounding boundary of x's 8-bit
    // grid may land one step apart (WGSL's 127 / max is not correctly rounded): max |w| * max|x| / 127 each.
    const aAbs = keep(lb.abs(keep(ac.cast('f32'))));
    const mag = (await keep(lb.matmul(aAbs, keep(lb.abs(keep(lb.tensor(w.values, [w.n, w.k], { device: 'cpu' })))), { transB: true, transA: c.transA })).data()) as Float32Array;
    const wmax = w.values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const half = c.dtype === 'f16' ? 2 ** -10 : c.dtype === 'bf16' ? 2 ** -7 : 0;
    const bad: string[] = [];
    for (let i = 0; i < want.length; i++) {
      const s = mag[i % mag.length] * Math.abs(c.alpha ?? 1);
      const tol = 2e-5 * s + 2 * wmax * (1 / 127) * Math.abs(c.alpha ?? 1) + 1e-5 + half * Math.abs(want[i]) * 2;
      const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= tol;
      if (!ok && bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]} (tol ${tol.toExponential(2)})`);
    }
    expect(bad, label).toEqual([]);
  } finally {
    for (const t of made) t.dispose();
  }
}

describe('8-bit-activation matvec: every block type', () => {
  for (const type of QUANT_TYPES) {
    it(`${type}: N = 37, K = 512, 1-D and [1, K] a`, async () => {
      const w = weight(type, 37, 512);
      await check(w, { shape: [512] }, `${type} 1-D`);
      await check(w, { shape: [1, 512], bias: true, activation: 'silu' }, `${type} [1,K] bias silu`);
    });
    it(`${type}: two passes over K (units past the row in the second), rows past N`, async () => {
      // 41, 40 or 36 units per row: with 32 threads of one unit each, a second pass of 9, 8 or 4.
      const k = type === 'q4_k' || type === 'q5_k' ? 2304 : type === 'q6_k' ? 1280 : 1312;
      await check(weight(type, 11, k), { shape: [1, k], config: { wg: 32, upt: 1 } }, `${type} two passes`);
    });
  }
});

describe('8-bit-activation matvec: shapes, epilogues, dtypes', () => {
  const w = weight('q4_0', 45, 256);
  it('several units per thread (the last partly past the row), other row groupings', async () => {
    await check(weight('q4_0', 13, 1312), { shape: [1, 1312], config: { wg: 32, upt: 3, rows: 6, group: 3 } }, 'q4_0 upt 3');
    await check(weight('q4_k', 7, 2304), { shape: [1, 2304], config: { wg: 32, upt: 2, rows: 2, group: 1 } }, 'q4_k upt 2');
  });
  it('rows of a as batch entries (M <= 16), batched a, transA, views', async () => {
    await check(w, { shape: [3, 256], residual: true }, 'M 3');
    await check(w, { shape: [2, 2, 256], bias: true }, 'batched');
    await check(w, { shape: [256, 5], transA: true, alpha: 0.5 }, 'transA');
    await check(w, { shape: [4, 300], view: (t) => t.slice([1, 3], [20, 276]) }, 'view');
  });
  it('every epilogue; f16 and bf16 a (odd N through the f32 output)', async () => {
    for (const activation of ['relu', 'gelu', 'silu'] as const) await check(w, { shape: [1, 256], activation, bias: true, residual: true, alpha: 2 }, activation);
    await check(w, { shape: [1, 256], dtype: 'f16' }, 'f16');
    await check(weight('q8_0', 46, 256), { shape: [2, 256], dtype: 'bf16' }, 'bf16');
  });
  it('NaN or Inf in a run makes its row of the result NaN', async () => {
    await check(w, { shape: [3, 256], poison: [5, 256 + 200] }, 'poison');
    const x = lb.tensor(Float32Array.from({ length: 256 }, (_, i) => (i === 7 ? Infinity : 0.5)), [1, 256]);
    const q = qt(w);
    const y = lb.matmul(x, q, { transB: true, quantizeActivations: true });
    try {
      expect([...(await y.data())].every(Number.isNaN)).toBe(true);
    } finally {
      for (const t of [x, q, y]) t.dispose();
    }
  });
  it('M > 16 runs the exact tiled kernel (the option applies to the matvec)', async () => {
    const rand = rng(3);
    const v = Float32Array.from({ length: 17 * 256 }, () => rand() - 0.5);
    const [a, q] = [lb.tensor(v, [17, 256]), qt(w)];
    const [x, y] = [lb.matmul(a, q, { transB: true, quantizeActivations: true }), lb.matmul(a, q, { transB: true })];
    try {
      expect(await x.data()).toEqual(await y.data());
    } finally {
      for (const t of [a, q, x, y]) t.dispose();
    }
  });
  it('size 0 and the errors', async () => {
    const q = qt(w);
    const a0 = lb.zeros([0, 256]);
    const a1 = lb.zeros([1, 256]);
    const d = lb.zeros([4, 4]);
    const y = lb.matmul(a0, q, { transB: true, quantizeActivations: true });
    try {
      expect(y.shape).toEqual([0, 45]);
      expect(await y.data()).toEqual(new Float32Array(0));
      expect(() => lb.matmul(a1, q, { transB: true, quantizeActivations: 1 as unknown as boolean })).toThrow(/quantizeActivations must be true or false/);
      expect(() => lb.matmul(d, d, { quantizeActivations: true })).toThrow(/applies to a quantized b/);
      expect(() => withQuantConfig({ i8: { rows: 3 } }, () => lb.matmul(a1, q, { transB: true, quantizeActivations: true }))).toThrow(/8-bit-activation matvec config/);
    } finally {
      for (const t of [q, a0, a1, d, y]) t.dispose();
    }
  });
});

describe('roundActivations (the CPU reference of the rounding)', () => {
  it('rounds each run to max|x| / 127 steps, half to even, NaN for non-finite runs', () => {
    const x = new Float32Array(32);
    x[0] = 1.27; // run 0: step 0.01
    x[1] = 0.005; // exactly half a step after f32 rounding? either way 0 or 0.01
    x[2] = -0.633;
    x[16] = NaN; // run 1 (elements 16..31)
    const r = roundActivations(x, 32, 16);
    expect(r[0]).toBeCloseTo(1.27, 6);
    expect(r[2]).toBeCloseTo(-0.63, 6);
    expect([0, Math.fround(0.01)].some((v) => Math.abs(r[1] - v) < 1e-7)).toBe(true);
    expect(r[3]).toBe(0);
    expect([...r.slice(16)].every(Number.isNaN)).toBe(true);
    expect(runLength('q4_k')).toBe(32);
    expect(runLength('q6_k')).toBe(16);
  });
  it('the rounded product stays within the rounding bound of the exact one', async () => {
    const w = weight('q4_k', 9, 512);
    const rand = rng(11);
    const x = Float32Array.from({ length: 512 }, () => rand() * 2 - 1);
    const r = roundActivations(x, 512, 32);
    for (let i = 0; i < 512; i++) expect(Math.abs(r[i] - x[i])).toBeLessThanOrEqual(0.5 / 127 + 1e-7);
    for (let n = 0; n < w.n; n++) {
      let exact = 0;
      let rounded = 0;
      let bound = 0;
      for (let k = 0; k < w.k; k++) {
        exact += w.values[n * w.k + k] * x[k];
        rounded += w.values[n * w.k + k] * r[k];
        bound += Math.abs(w.values[n * w.k + k]) * (0.5 / 127);
      }
      expect(Math.abs(exact - rounded)).toBeLessThanOrEqual(bound + 1e-5);
    }
  });
});
