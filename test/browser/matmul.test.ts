// matmul (tiled, split-K, matrix-vector kernels; epilogues; every float dtype and mixes) and
// flash attention (MHA/GQA/MQA, causal, masks, decode over many keys, KV-cache views) in
// Chromium, against the CPU reference. Integer-valued matmul data keeps f32 sums exact.
import { describe, expect, it } from 'vitest';
import * as lb from '../../src/index.js';
import type { DType, Tensor } from '../../src/index.js';
import { lastPlan } from '../../src/ops/matmul-gpu.js';
import { familyTable, tileFits } from '../../src/tune/table.js';
import { mm, present } from '../matmul-check.js';
import { checkOp, FLOATS, seedOf, useGpu, type InputSpec } from '../helpers.js';

useGpu();

const spec = (shape: number[], dtype: DType = 'f32', view?: (t: Tensor) => Tensor): InputSpec => ({ dtype, shape, gen: { ints: 3 }, view });


describe('matmul', () => {
  it('shapes: primes, 1-D operands, batched with broadcasting, empty and K = 0', async () => {
    await mm([spec([127, 129]), spec([129, 131])]);
    await mm([spec([13]), spec([13, 6])]);
    await mm([spec([6, 13]), spec([13])]);
    await mm([spec([2, 1, 5, 7]), spec([3, 7, 4])]);
    await mm([spec([4, 9, 6]), spec([6, 10])]);
    await mm([spec([0, 4]), spec([4, 3])]);
    await mm([spec([3, 0]), spec([0, 5]), spec([5])], { bias: present });
  });

  it('transposes read in place, strided views, lazy inputs', async () => {
    for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
      await mm([spec(transA ? [33, 17] : [17, 33]), spec(transB ? [21, 33] : [33, 21])], { transA, transB });
    }
    await mm([spec([20, 40], 'f32', (t) => t.slice([1, 18], [3, 39, 2])), spec([18, 9], 'f32', (t) => t.slice(null, [1, 9]))]);
    await mm([spec([9, 12], 'f32', (t) => t.add(1)), spec([12, 7], 'f32', (t) => t.mul(2).sub(1))]);
  });

  for (const activation of [undefined, 'relu', 'gelu', 'silu'] as const) {
    it(`epilogue: bias + ${activation ?? 'no activation'} + residual, alpha`, async () => {
      const tol = activation === 'gelu' || activation === 'silu' ? { rtol: 2e-6, atol: 1e-6, zeroSign: false } : {};
      await mm([spec([19, 23]), spec([23, 29]), spec([29])], { bias: present, activation }, tol);
      await mm([spec([2, 8, 16]), spec([16, 12]), spec([12]), spec([2, 1, 12])], { bias: present, residual: present, activation, alpha: -2 }, tol);
    });
  }

  for (const [da, db] of [['f16', 'f16'], ['bf16', 'bf16'], ['f16', 'f32'], ['bf16', 'f16'], ['f32', 'bf16']] as const) {
    it(`dtypes ${da} x ${db} (f16 packed: no shader-f16 here)`, async () => {
      await mm([spec([17, 24], da), spec([24, 11], db)]);
      await mm([spec([16, 32], da), spec([32, 16], db), spec([16], da)], { bias: present, activation: 'relu' });
      await mm([spec([1, 32], da), spec([16, 32], db)], { transB: true });
      await mm([spec([2, 32, 8], da), spec([2, 16, 32], db)], { transA: true, transB: true });
    });
  }

  it('kernels: matrix-vector (dot, axpy), split-K, forced tile configs', async () => {
    await mm([spec([1, 63]), spec([50, 63])], { transB: true });
    expect(lastPlan()?.kind).toBe('dot');
    await mm([spec([1, 63]), spec([63, 47])]);
    expect(lastPlan()?.kind).toBe('axpy');
    await mm([spec([1, 64]), spec([64, 48])], { force: { kind: 'axpy', splits: 4 } });
    await mm([spec([5, 1001]), spec([1001, 7])], { force: { splits: 4 } });
    await mm([spec([5, 300], 'f16'), spec([300, 6], 'f16')], { force: { splits: 2 } });
    // This device's table configs and two of its tuning candidates (what lb.tune() would try).
    const dev = lb.device()!;
    const table = familyTable(dev.fingerprint);
    const distinct = new Map([table.tile, table.tileSmall, ...table.candidates.tile].map((t) => [JSON.stringify(t), t]));
    const tiles = [...distinct.values()]
      .filter((tile) => tileFits(tile, dev.limits.maxComputeInvocationsPerWorkgroup, dev.limits.maxComputeWorkgroupStorageSize))
      .slice(0, 3);
    expect(tiles.length).toBeGreaterThan(1);
    for (const [i, tile] of tiles.entries()) {
      await mm([spec(i % 2 ? [36, 70] : [70, 36]), spec(i % 2 ? [140, 36] : [36, 140])], { transA: i % 2 === 1, transB: i % 2 === 1, force: { kind: 'tile', tile } });
      expect(lastPlan()?.kind).toBe('tile');
    }
  });

  it('float data with rounding (tolerance)', async () => {
    const gen = { scale: 1 };
    await checkOp((a, b) => lb.matmul(a, b), [{ dtype: 'f32', shape: [33, 257], gen }, { dtype: 'f32', shape: [257, 19], gen }], { rtol: 1e-4, atol: 1e-5 });
    await checkOp((a, b) => lb.matmul(a, b), [{ dtype: 'f16', shape: [33, 64], gen }, { dtype: 'f16', shape: [64, 20], gen }], { ulps: 2, atol: 2e-3 });
  });
});

const TOL = { f32: { rtol: 1e-4, atol: 2e-5 }, f16: { ulps: 2, atol: 1e-3 }, bf16: { ulps: 2, atol: 4e-3 } } as const;
const gen = { scale: 1 };

interface Case { B?: number; Hq?: number; Hkv?: number; L: number; S: number; D: number; causal?: boolean; scale?: number; mask?: InputSpec }

async function attn(name: string, c: Case, dtype: DType = 'f32'): Promise<void> {
  const { B = 1, Hq = 2, Hkv = Hq, L, S, D } = c;
  const inputs: InputSpec[] = [
    { dtype, shape: [B, Hq, L, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
  ];
  if (c.mask) inputs.push(c.mask);
  await checkOp((q, k, v, m) => lb.attention(q, k, v, { causal: c.causal, scale: c.scale, mask: m }), inputs, {
    ...TOL[dtype as 'f32'], label: name, seed: seedOf(name + dtype),
  });
}

describe('attention', () => {
  it.each(FLOATS)('%s: MHA, GQA, odd D, causal (end-aligned), decode', async (dtype) => {
    await attn('MHA', { L: 16, S: 16, D: 64 }, dtype);
    await attn('GQA 4/2', { Hq: 4, Hkv: 2, L: 9, S: 21, D: 64 }, dtype);
    await attn('odd D', { L: 5, S: 9, D: 7 }, dtype);
    await attn('causal L<S', { L: 5, S: 37, D: 32, causal: true }, dtype);
    await attn('decode L=1 S=300 GQA D=128', { Hq: 4, Hkv: 1, L: 1, S: 300, D: 128 }, dtype);
  });

  it('f32: MQA, D=128, scale, fully masked rows give zeros, decode split over workgroups', async () => {
    await attn('MQA 3/1', { B: 2, Hq: 3, Hkv: 1, L: 5, S: 40, D: 32 });
    await attn('D=128', { Hq: 2, Hkv: 1, L: 10, S: 19, D: 128 });
    await attn('scale', { L: 6, S: 10, D: 16, scale: 0.9 });
    await attn('causal L>S (first rows fully masked)', { L: 9, S: 4, D: 8, causal: true });
    await attn('decode L=1 S=2000 (split over workgroups)', { L: 1, S: 2000, D: 64, causal: true });
  });

  it('masks: full, broadcast, key padding, -Inf holes, 16-bit, views', async () => {
    const B = 2, Hq = 2, L = 6, S = 11;
    const holes = new Float32Array(L * S).map((_, e) => (Math.floor(e / S) === 3 || e % 3 === 0 ? -Infinity : (e % 7) * 0.25 - 0.5));
    const masks: [string, InputSpec, boolean?][] = [
      ['[B,Hq,L,S]', { dtype: 'f32', shape: [B, Hq, L, S], gen: { scale: 3 } }],
      ['[S]', { dtype: 'f32', shape: [S], gen: { scale: 3 } }],
      ['[1,Hq,L,1]', { dtype: 'f32', shape: [1, Hq, L, 1], gen: { scale: 3 } }],
      ['-Inf holes, causal', { dtype: 'f32', shape: [L, S], data: holes }, true],
      ['f16', { dtype: 'f16', shape: [L, S], gen: { scale: 2 } }],
      ['transposed view', { dtype: 'f32', shape: [S, L], gen: { scale: 3 }, view: (t) => t.transpose() }],
    ];
    for (const [name, mask, causal] of masks) await attn(`mask ${name}`, { B, Hq, L, S, D: 16, mask, causal });
  });

  it('KV cache [B,Hkv,Smax,D] sliced to S, q as a permuted [B,L,H,D] layout', async () => {
    const slice = (t: Tensor) => t.slice(null, null, [0, 37]);
    for (const dtype of ['f32', 'f16'] as const) {
      await checkOp((q, k, v) => lb.attention(q, k, v, { causal: true }), [
        { dtype, shape: [1, 3, 4, 64], gen, view: (t) => t.permute([0, 2, 1, 3]) },
        { dtype, shape: [1, 2, 64, 64], gen, view: slice },
        { dtype, shape: [1, 2, 64, 64], gen, view: slice },
      ], { ...TOL[dtype], seed: 13 });
    }
  });
});
