// Quantized matmul with f16 a and more than 16 rows through an f16 weight (withQuantConfig
// prefill 'half': dequantize, cast to f16, the dense f16 matmul) against the CPU reference of
// the same rounding: a @ f16(dequantize(q))^T with the epilogue. Also when the path is taken
// (f16 a only; by default only on GPUs with subgroup matrices) and its config errors.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { QuantType } from '../src/cpu/quant.js';
import { withQuantConfig, type QuantConfig } from '../src/ops/matmul-quant.js';
import { rng, seedOf, useGpu } from './helpers.js';
import { quantTensor, quantWeight } from './quant-weight.js';

useGpu();

function weight(type: QuantType, n: number, k: number): { q: lb.QuantizedTensor; values: Float32Array } {
  const w = quantWeight('', type, n, k);
  return { q: quantTensor(w), values: w.values };
}

const values = (label: string, count: number) => {
  const rand = rng(seedOf(label));
  return Float32Array.from({ length: count }, () => rand() * 2 - 1);
};

interface Case {
  type: QuantType;
  n: number;
  k: number;
  a: number[];
  view?: (t: lb.Tensor) => lb.Tensor;
  transA?: boolean;
  epilogue?: boolean;
}

/** GPU result under `cfg` and the CPU reference with the weight rounded to f16. */
async function run(c: Case, cfg: QuantConfig, label: string): Promise<{ got: Float32Array; want: Float32Array; scale: Float32Array }> {
  const made: lb.Tensor[] = [];
  const keep = <T extends lb.Tensor>(t: T) => (made.push(t), t);
  const { q, values: w } = weight(c.type, c.n, c.k);
  try {
    const av = values(label, c.a.reduce((x, y) => x * y, 1));
    const ag = keep(lb.tensor(av, c.a, { dtype: 'f16' }));
    const ac = keep(lb.tensor(av, c.a, { dtype: 'f16', device: 'cpu' }));
    const out = c.transA ? [c.a[c.a.length - 1], c.n] : [...c.a.slice(0, -1), c.n];
    const e = c.epilogue
      ? { bias: values(`${label} bias`, c.n), residual: values(`${label} residual`, out.reduce((x, y) => x * y, 1)) }
      : null;
    const epi = (device: 'gpu' | 'cpu') => e && {
      bias: keep(lb.tensor(e.bias, [c.n], { device })),
      residual: keep(lb.tensor(e.residual, out, { dtype: 'f16', device })),
      activation: 'gelu' as const,
      alpha: 0.75,
    };
    const view = c.view ?? ((t: lb.Tensor) => t);
    const opts = { transB: true, transA: c.transA };
    const r = keep(withQuantConfig(cfg, () => lb.matmul(keep(view(ag)), q, { ...opts, ...epi('gpu') })));
    expect(r.dtype).toBe('f16');
    const w16 = keep(keep(lb.tensor(w, [c.n, c.k], { device: 'cpu' })).cast('f16'));
    const ref = keep(lb.matmul(keep(view(ac)), w16, { ...opts, ...epi('cpu') }));
    const mag = keep(lb.matmul(keep(lb.abs(keep(view(ac)))), keep(lb.abs(w16)), opts));
    return { got: (await r.data()) as Float32Array, want: (await ref.data()) as Float32Array, scale: (await mag.data()) as Float32Array };
  } finally {
    q.dispose();
    for (const t of made) t.dispose();
  }
}

async function check(c: Case, label: string): Promise<void> {
  const { got, want, scale } = await run(c, { prefill: 'half' }, label);
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    // f32 sums of f16 products in another order, then each result rounded to f16 (and the
    // epilogue's f16 residual): a few f16 steps of the value, plus the sums' rounding.
    const tol = 2e-6 * scale[i % scale.length] + 3 * 2 ** -11 * Math.abs(want[i]) + 1e-4;
    if (!(Math.abs(got[i] - want[i]) <= tol) && bad.length < 6) bad.push(`[${i}] got ${got[i]} want ${want[i]} (tol ${tol.toExponential(2)})`);
  }
  expect(bad, label).toEqual([]);
}

describe('quantized matmul through an f16 weight (f16 a, M > 16)', () => {
  it('Q4_0, Q8_0, Q4_K: odd M and N', async () => {
    for (const type of ['q4_0', 'q8_0', 'q4_k'] as const) await check({ type, n: 65, k: 256, a: [33, 256] }, `${type} 33x256x65`);
  });

  it('epilogue (bias, gelu, residual, alpha), batched a, transA view', async () => {
    await check({ type: 'q4_0', n: 40, k: 64, a: [2, 17, 64], epilogue: true }, 'batched + epilogue');
    await check({ type: 'q8_0', n: 24, k: 96, a: [96, 19], transA: true }, 'transA');
    await check({ type: 'q4_0', n: 31, k: 128, a: [18, 256], view: (t) => t.slice(null, [64, 192]) }, 'column slice of a');
  });

  it('taken for f16 a only, and by default only where the GPU has subgroup matrices', async () => {
    const c: Case = { type: 'q4_0', n: 64, k: 128, a: [128, 128] };
    const fused = await run(c, { prefill: 'fused' }, 'default');
    const half = await run(c, { prefill: 'half' }, 'default');
    const auto = await run(c, {}, 'default');
    const sgmat = lb.device()!.features.subgroupMatrix && lb.device()!.features.f16;
    expect(auto.got).toEqual(sgmat ? half.got : fused.got);
    // The two paths round differently (weights to f16 or not), so this shows 'half' was taken.
    expect(half.got).not.toEqual(fused.got);

    // f32 a keeps the fused kernel even when 'half' is forced (it would round a to f16).
    const { q } = weight('q4_0', 64, 128);
    const a = lb.tensor(values('f32 a', 128 * 128), [128, 128]);
    try {
      const x = withQuantConfig({ prefill: 'half' }, () => lb.matmul(a, q, { transB: true }));
      const y = withQuantConfig({ prefill: 'fused' }, () => lb.matmul(a, q, { transB: true }));
      expect(x.dtype).toBe('f32');
      expect(await x.data()).toEqual(await y.data());
      x.dispose();
      y.dispose();
      // M <= 16 stays on the matrix-vector kernel.
      const a16 = lb.tensor(values('few rows', 16 * 128), [16, 128], { dtype: 'f16' });
      const u = withQuantConfig({ prefill: 'half' }, () => lb.matmul(a16, q, { transB: true }));
      const v = withQuantConfig({ prefill: 'fused' }, () => lb.matmul(a16, q, { transB: true }));
      expect(await u.data()).toEqual(await v.data());
      for (const t of [a16, u, v]) t.dispose();
    } finally {
      q.dispose();
      a.dispose();
    }
  });

  it('an unknown prefill kernel is an LbrxError naming the choices', () => {
    const { q } = weight('q8_0', 8, 32);
    const a = lb.tensor(values('bad', 32 * 32), [32, 32], { dtype: 'f16' });
    try {
      expect(() => withQuantConfig({ prefill: 'dense' as 'half' }, () => lb.matmul(a, q, { transB: true }))).toThrow(/prefill kernel "dense": want 'fused' or 'half'/);
    } finally {
      q.dispose();
      a.dispose();
    }
  });
});
