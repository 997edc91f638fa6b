// lb.attention: the fused GPU kernel against the CPU reference (f64 softmax(q kᵀ·scale + mask) v)
// over MHA/GQA/MQA, L != S, causal, masks, scale, head sizes, views and dtypes; the subgroup-matrix
// kernel and its plan; peak memory; errors. Split-K decode, forced variants, kvLength: attention-splitk.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { attentionPlan, attentionTuning } from '../src/ops/attention.js';
import { requireDevice } from '../src/runtime/context.js';
import { attentionTable } from '../src/tune/table.js';
import { checkOp, FLOATS, useGpu, type InputSpec } from './helpers.js';
import { gen, resetAttentionTuningAfterEach, rising, run, TOL, type Case } from './attention-helpers.js';

useGpu();
resetAttentionTuningAfterEach();


describe('shapes', () => {
  const CASES: Case[] = [
    { name: 'MHA L=S', Hq: 2, L: 16, S: 16, D: 64 },
    { name: 'GQA 4/2', Hq: 4, Hkv: 2, L: 9, S: 21, D: 64 },
    { name: 'MQA 3/1', B: 2, Hq: 3, Hkv: 1, L: 5, S: 40, D: 32 },
    { name: 'L > S', L: 20, S: 7, D: 16 },
    { name: 'S not a tile multiple', L: 3, S: 67, D: 64 },
    { name: 'L=1 S=1', L: 1, S: 1, D: 64 },
    { name: 'L=1 S=300', L: 1, S: 300, D: 64 },
    { name: 'L=1 S=300 GQA D=128', Hq: 4, Hkv: 1, L: 1, S: 300, D: 128 },
    { name: 'odd D', L: 5, S: 9, D: 7 },
    { name: 'D=1', L: 3, S: 5, D: 1 },
    { name: 'custom scale', L: 6, S: 10, D: 16, scale: 0.9 },
    { name: 'scale 0 (uniform weights)', L: 4, S: 6, D: 8, scale: 0 },
  ];
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => run(c));
});

describe('head sizes', () => {
  // Long kernels for D = 256: lavapipe compiles them in tens of seconds on a loaded machine.
  const T = 240_000;
  for (const D of [64, 80, 96, 128, 256]) {
    it(`D=${D}`, async () => run({ name: `D${D}`, Hq: 2, Hkv: 1, L: 10, S: 19, D }), T);
    it(`D=${D} causal decode`, async () => run({ name: `D${D}c`, L: 1, S: 33, D, causal: true }), T);
  }
});

describe('causal', () => {
  const CASES: Case[] = [
    { name: 'causal L=S', L: 17, S: 17, D: 32, causal: true },
    { name: 'causal L<S', L: 5, S: 37, D: 32, causal: true },
    { name: 'causal L=1', L: 1, S: 12, D: 32, causal: true },
    { name: 'causal GQA', Hq: 4, Hkv: 2, L: 12, S: 70, D: 64, causal: true },
    { name: 'causal L>S (first rows fully masked)', L: 9, S: 4, D: 8, causal: true },
  ];
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => run(c));
});

describe('masks', () => {
  const B = 2;
  const Hq = 2;
  const L = 6;
  const S = 11;
  const mk = (shape: number[], data?: Float32Array, view?: (t: Tensor) => Tensor): InputSpec => ({ dtype: 'f32', shape, gen: { scale: 3 }, data, view });
  // -Inf scattered, and rows 0 and 3 of the [L, S] mask fully masked.
  const holes = new Float32Array(L * S).map((_, e) => {
    const i = Math.floor(e / S);
    if (i === 0 || i === 3) return -Infinity;
    return e % 3 === 0 ? -Infinity : (e % 7) * 0.25 - 0.5;
  });
  const CASES: [string, InputSpec, boolean?][] = [
    ['full [B, Hq, L, S]', mk([B, Hq, L, S])],
    ['[L, S]', mk([L, S])],
    ['[S] (key padding)', mk([S])],
    ['[B, 1, 1, S]', mk([B, 1, 1, S])],
    ['[1, Hq, L, 1]', mk([1, Hq, L, 1])],
    ['-Inf entries, fully masked rows', mk([L, S], holes)],
    ['-Inf with causal', mk([L, S], holes), true],
    ['transposed [S, L] view', mk([S, L], undefined, (t) => t.transpose())],
    ['f16 mask', { dtype: 'f16', shape: [L, S], gen: { scale: 2 } }],
  ];
  it.each(CASES)('%s', async (name, mask, causal) => run({ name: `mask ${name}`, B, Hq, L, S, D: 16, mask, causal }));
});

describe('dtypes', () => {
  for (const dtype of FLOATS) {
    it(`${dtype} GQA causal`, async () => run({ name: `dt${dtype}`, Hq: 4, Hkv: 2, L: 9, S: 23, D: 64, dtype, causal: true }));
    it(`${dtype} odd D`, async () => run({ name: `dto${dtype}`, L: 3, S: 5, D: 5, dtype }));
    it(`${dtype} decode D=128`, async () => run({ name: `dtd${dtype}`, L: 1, S: 50, D: 128, dtype }));
  }
  it('mixed dtypes: f16 q, f32 k/v, bf16 mask; result in q dtype', async () => {
    await checkOp((q, k, v, m) => lb.attention(q, k, v, { mask: m }), [
      { dtype: 'f16', shape: [1, 2, 4, 8], gen },
      { dtype: 'f32', shape: [1, 1, 6, 8], gen },
      { dtype: 'f32', shape: [1, 1, 6, 8], gen },
      { dtype: 'bf16', shape: [4, 6], gen },
    ], { ...TOL.f16, seed: 7 });
  });
});

describe('views', () => {
  const D = 16;
  it('q, k, v as transposed [B, L, H, D] layouts', async () => {
    const perm = (t: Tensor) => t.permute([0, 2, 1, 3]);
    await checkOp((q, k, v) => lb.attention(q, k, v, { causal: true }), [
      { dtype: 'f32', shape: [2, 7, 4, D], gen, view: perm },
      { dtype: 'f32', shape: [2, 13, 2, D], gen, view: perm },
      { dtype: 'f32', shape: [2, 13, 2, D], gen, view: perm },
    ], { ...TOL.f32, seed: 11 });
  });
  it('k given as [B, H, D, S] transposed', async () => {
    await checkOp((q, k, v) => lb.attention(q, k, v), [
      { dtype: 'f32', shape: [1, 2, 5, D], gen },
      { dtype: 'f32', shape: [1, 2, D, 9], gen, view: (t) => t.permute([0, 1, 3, 2]) },
      { dtype: 'f32', shape: [1, 2, 9, D], gen },
    ], { ...TOL.f32, seed: 12 });
  });
  for (const dtype of ['f32', 'f16'] as const) {
    it(`${dtype} KV cache [B, Hkv, Smax, D] sliced to S, without copies`, async () => {
      const slice = (t: Tensor) => t.slice(null, null, [0, 37]);
      await checkOp((q, k, v) => lb.attention(q, k, v, { causal: true }), [
        { dtype, shape: [1, 4, 3, 64], gen },
        { dtype, shape: [1, 2, 64, 64], gen, view: slice },
        { dtype, shape: [1, 2, 64, 64], gen, view: slice },
      ], { ...TOL[dtype], seed: 13 });
    });
  }
  it('a lazy q (q * 2) and an expanded batch', async () => {
    await checkOp((q, k, v) => lb.tidy(() => lb.attention(q.mul(2), k, v)), [
      { dtype: 'f32', shape: [2, 2, 4, 8], gen },
      { dtype: 'f32', shape: [1, 2, 6, 8], gen, view: (t) => t.expand([2, 2, 6, 8]) },
      { dtype: 'f32', shape: [2, 2, 6, 8], gen },
    ], { ...TOL.f32, seed: 14 });
  });
});

describe('subgroup-matrix kernel', () => {
  // Where the adapter has subgroup matrices and the family table enables the kernel, the real
  // kernel over many cases (nvidia, checked on the H100; more in test/attention-sgmat.test.ts). Elsewhere its
  // generated code with the matrix builtins emulated in plain WGSL (fragments of 4x4, every lane
  // holding a whole one): still slow to compile on lavapipe, so one case that takes every path (GQA
  // rows spanning heads, causal, a mask that rises by more than TAU per tile so O is rescaled,
  // split keys, kvLength).
  const T = 600_000;
  const REAL: Case[] = [
    { name: 'sg MHA L=S=64 D=128 causal', L: 64, S: 64, D: 128, causal: true },
    { name: 'sg L != S, S not a tile multiple D=64', L: 70, S: 133, D: 64 },
    { name: 'sg GQA 8/2 D=80 causal L=40', Hq: 8, Hkv: 2, L: 40, S: 90, D: 80, causal: true },
    { name: 'sg D=96 causal L > S (rows fully masked)', L: 50, S: 20, D: 96, causal: true },
    { name: 'sg mask rising and falling (rescales)', L: 20, S: 300, D: 64, mask: rising(20, 300) },
    { name: 'sg kvLength 100 of 160 causal', Hq: 4, Hkv: 1, L: 33, S: 160, D: 128, causal: true, kvLength: 100 },
    { name: 'sg -Inf rows and a [S] mask', L: 20, S: 50, D: 64, mask: { dtype: 'f16', shape: [50], gen: { scale: 2 } } },
  ];
  const EMU: Case = { name: 'sg emulated', Hq: 4, Hkv: 2, L: 9, S: 45, D: 16, causal: true, mask: rising(9, 45), kvLength: 40 };
  it('matches the CPU reference (f16)', async () => {
    const dev = requireDevice('test');
    const real = dev.features.subgroupMatrix && attentionTable(dev.fingerprint).sgmat !== null;
    attentionTuning.force = 'sgmat';
    if (!real) {
      attentionTuning.emulateSgmat = true;
      attentionTuning.sgmat = { sgs: 2, tk: 8 };
      attentionTuning.fill = 64;
      attentionTuning.minChunk = 8;
    }
    for (const c of real ? REAL : [EMU]) await run({ ...c, dtype: 'f16' });
    if (real) {
      attentionTuning.fill = 4096;
      attentionTuning.minChunk = 32;
      await run({ name: 'sg split', Hq: 2, L: 100, S: 400, D: 128, dtype: 'f16', causal: true });
    }
  }, T);
  it('is what f16 prefill runs where the adapter has it and the family table enables it; f32 runs the tiled kernel', () => {
    const dev = requireDevice('test');
    const d = { B: 1, Hq: 8, Hkv: 8, L: 512, S: 512, D: 128 };
    const enabled = dev.features.subgroupMatrix && attentionTable(dev.fingerprint).sgmat !== null;
    expect(attentionPlan(dev, d, ['f16', 'f16', 'f16']).variant).toBe(enabled ? 'sgmat' : 'tile');
    expect(attentionPlan(dev, d, ['f32', 'f32', 'f32']).variant).toBe('tile');
    expect(attentionPlan(dev, { ...d, L: 1 }, ['f16', 'f16', 'f16']).variant).toBe('decode');
  });
});

describe('memory', () => {
  it('peak bytes grow with L·D + S·D, not L·S (scores never stored)', async () => {
    const dev = requireDevice('test');
    const software = dev.fingerprint.family === 'software';
    // [H, L = S, D]: the 1x32x8192x128 f16 on a real GPU; small heads on a CPU adapter.
    const shapes = software ? [[2, 1024, 64], [2, 2048, 64]] : [[32, 4096, 128], [32, 8192, 128]];
    const dtype: DType = dev.features.f16 ? 'f16' : 'f32';
    const esize = dtype === 'f16' ? 2 : 4;
    const extra: number[] = [];
    for (const [H, L, D] of shapes) {
      const [q, k, v] = [1, 2, 3].map((seed) => lb.randn([1, H, L, D], { dtype, seed }));
      await lb.eval(q, k, v);
      lb.resetMemoryStats();
      const base = lb.memory().peakBytes;
      const o = lb.attention(q, k, v, { causal: true });
      try {
        await lb.eval(o);
        const peak = lb.memory().peakBytes - base;
        extra.push(peak);
        const outBytes = H * L * D * esize;
        expect(peak, `[1, ${H}, ${L}, ${D}]`).toBeGreaterThanOrEqual(outBytes);
        expect(peak, `[1, ${H}, ${L}, ${D}]`).toBeLessThanOrEqual(2 * outBytes + 2 ** 20);
        expect(peak).toBeLessThan((H * L * L * 4) / 8); // the f32 scores of every head: H·L·S·4
      } finally {
        for (const t of [q, k, v, o]) t.dispose();
      }
    }
    expect(extra[1] / extra[0]).toBeLessThan(2.5); // twice L = S: linear, not 4x
  }, 600_000);
});

describe('errors', () => {
  it('rejects bad shapes, dtypes and options at the call', () => {
    const t = (shape: number[], dtype: DType = 'f32') => lb.zeros(shape, { dtype });
    const made: Tensor[] = [];
    const mk = (shape: number[], dtype?: DType) => (made.push(t(shape, dtype)), made[made.length - 1]);
    try {
      const q = mk([1, 4, 3, 8]);
      const k = mk([1, 2, 5, 8]);
      expect(() => lb.attention(mk([4, 3, 8]), k, k)).toThrow(lb.ShapeError);
      expect(() => lb.attention(q, mk([1, 3, 5, 8]), mk([1, 3, 5, 8]))).toThrow(/multiple/);
      expect(() => lb.attention(q, k, mk([1, 2, 6, 8]))).toThrow(lb.ShapeError);
      expect(() => lb.attention(q, mk([1, 2, 5, 4]), mk([1, 2, 5, 4]))).toThrow(/head sizes/);
      expect(() => lb.attention(q, mk([2, 2, 5, 8]), mk([2, 2, 5, 8]))).toThrow(/batch/);
      expect(() => lb.attention(q, k, k, { mask: mk([3, 4]) })).toThrow(/mask/);
      expect(() => lb.attention(q, k, k, { mask: mk([2, 1, 1, 1, 5]) })).toThrow(lb.ShapeError);
      expect(() => lb.attention(mk([1, 4, 3, 8], 'i32'), k, k)).toThrow(lb.DTypeError);
      expect(() => lb.attention(q, k, k, { mask: mk([5], 'u32') })).toThrow(lb.DTypeError);
      expect(() => lb.attention(q, [] as unknown as Tensor, k)).toThrow(lb.DTypeError);
      expect(() => lb.attention(q, k, k, { scale: NaN })).toThrow(/scale/);
      expect(() => lb.attention(q, mk([1, 2, 0, 8]), mk([1, 2, 0, 8]))).toThrow(lb.ShapeError);
    } finally {
      for (const x of made) x.dispose();
    }
  });
  it('L = 0 gives an empty result', async () => {
    const q = lb.zeros([1, 2, 0, 8]);
    const k = lb.zeros([1, 2, 3, 8]);
    const o = lb.attention(q, k, k);
    expect(o.shape).toEqual([1, 2, 0, 8]);
    expect((await o.data()).length).toBe(0);
    for (const x of [q, k, o]) x.dispose();
  });
});
