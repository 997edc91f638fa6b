// lb.attention: the fused GPU kernel against the CPU reference (f64 softmax(q kᵀ·scale + mask) v)
// over MHA/GQA/MQA, L != S, causal, masks, scale, head sizes, views and dtypes; plus errors.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { attentionSplits } from '../src/ops/attention.js';
import { checkOp, FLOATS, seedOf, useGpu, type InputSpec } from './helpers.js';

useGpu();

const TOL = { f32: { rtol: 1e-4, atol: 2e-5 }, f16: { ulps: 2, atol: 1e-3 }, bf16: { ulps: 2, atol: 4e-3 } } as const;
const gen = { scale: 1 };

interface Case {
  name: string;
  B?: number; Hq?: number; Hkv?: number; L: number; S: number; D: number;
  dtype?: DType;
  causal?: boolean;
  scale?: number;
  mask?: InputSpec;
}

async function run(c: Case): Promise<void> {
  const { B = 1, Hq = 2, Hkv = Hq, L, S, D, dtype = 'f32' } = c;
  const inputs: InputSpec[] = [
    { dtype, shape: [B, Hq, L, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
  ];
  if (c.mask) inputs.push(c.mask);
  await checkOp(
    (q, k, v, m) => lb.attention(q, k, v, { causal: c.causal, scale: c.scale, mask: m }),
    inputs,
    { ...TOL[dtype as 'f32'], seed: seedOf(c.name) },
  );
}

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
  for (const D of [64, 80, 96, 128, 256]) {
    it(`D=${D}`, async () => run({ name: `D${D}`, Hq: 2, Hkv: 1, L: 10, S: 19, D }));
    it(`D=${D} causal decode`, async () => run({ name: `D${D}c`, L: 1, S: 33, D, causal: true }));
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

describe('long decode', () => {
  it('L=1, S=4096, GQA, f16', async () => {
    await checkOp((q, k, v) => lb.attention(q, k, v), [
      { dtype: 'f16', shape: [1, 2, 1, 64], gen },
      { dtype: 'f16', shape: [1, 1, 4096, 64], gen },
      { dtype: 'f16', shape: [1, 1, 4096, 64], gen },
    ], { ...TOL.f16, seed: 15 });
  }, 120_000);
});

describe('split-K decode', () => {
  // Blocks here are few (B·Hq·ceil(L/BQ) < 512), so splits = min(ceil(S / 256), 64, ...) with
  // chunks rounded to the 64-key tile: S <= 256 single pass, 257 -> 2, 1000 -> 4, 4096 -> 16.
  const T = 120_000;
  it('split rule', () => {
    expect(attentionSplits(4, 256, 64).splits).toBe(1);
    expect(attentionSplits(4, 257, 64)).toEqual({ splits: 2, chunk: 192 });
    expect(attentionSplits(4, 1000, 64)).toEqual({ splits: 4, chunk: 256 });
    expect(attentionSplits(4, 32768, 64)).toEqual({ splits: 64, chunk: 512 });
    expect(attentionSplits(512, 32768, 64).splits).toBe(1); // enough query blocks already
    expect(attentionSplits(100, 32768, 64).splits).toBe(6); // ceil(512 / 100)
  });
  for (const S of [1, 2, 255, 256, 257, 1000, 4096]) {
    it(`L=1 S=${S} GQA 4/2`, async () => run({ name: `sk${S}`, Hq: 4, Hkv: 2, L: 1, S, D: 64 }), T);
    it(`L=1 S=${S} causal D=128`, async () => run({ name: `skc${S}`, L: 1, S, D: 128, causal: true }), T);
  }
  it('causal L=200 S=1000 (later chunks partly hidden from early rows)', async () => run({ name: 'skc200', L: 200, S: 1000, D: 32, causal: true }), T);
  it('causal L=400 S=300 (first 100 rows fully masked -> 0)', async () => run({ name: 'skc400', Hq: 1, L: 400, S: 300, D: 16, causal: true }), T);
  it('MQA 8/1 S=1000 custom scale', async () => run({ name: 'skmqa', Hq: 8, Hkv: 1, L: 1, S: 1000, D: 80, scale: 0.3 }), T);
  {
    const L = 3;
    const S = 1000;
    // Row 0 fully masked; row 1 hides keys 0..511 (whole chunks); row 2 scattered -Inf.
    const data = new Float32Array(L * S).map((_, e) => {
      const i = Math.floor(e / S);
      const j = e % S;
      if (i === 0 || (i === 1 && j < 512)) return -Infinity;
      return j % 5 === 0 ? -Infinity : (j % 7) * 0.25 - 0.5;
    });
    const mask: InputSpec = { dtype: 'f32', shape: [L, S], gen: { scale: 1 }, data };
    it('-Inf mask, a fully masked row, masked whole chunks', async () => run({ name: 'skm', Hq: 2, L, S, D: 64, mask }), T);
    it('-Inf mask with causal', async () => run({ name: 'skmc', Hq: 2, L, S, D: 64, mask, causal: true }), T);
  }
  for (const dtype of ['f16', 'bf16'] as const) {
    it(`${dtype} GQA S=1000`, async () => run({ name: `skd${dtype}`, Hq: 4, Hkv: 2, L: 1, S: 1000, D: 128, dtype, causal: true }), T);
    it(`${dtype} odd D=5 S=700`, async () => run({ name: `sko${dtype}`, Hq: 3, L: 1, S: 700, D: 5, dtype }), T);
  }
  it('f16 KV cache [1, 2, 2048, 64] sliced to 1000, GQA', async () => {
    const slice = (t: Tensor) => t.slice(null, null, [0, 1000]);
    await checkOp((q, k, v) => lb.attention(q, k, v, { causal: true }), [
      { dtype: 'f16', shape: [1, 4, 1, 64], gen },
      { dtype: 'f16', shape: [1, 2, 2048, 64], gen, view: slice },
      { dtype: 'f16', shape: [1, 2, 2048, 64], gen, view: slice },
    ], { ...TOL.f16, seed: 21 });
  }, T);
  it('L=1 S=32768 f16', async () => {
    await checkOp((q, k, v) => lb.attention(q, k, v), [
      { dtype: 'f16', shape: [1, 1, 1, 64], gen },
      { dtype: 'f16', shape: [1, 1, 32768, 64], gen },
      { dtype: 'f16', shape: [1, 1, 32768, 64], gen },
    ], { ...TOL.f16, seed: 22 });
  }, T);
  it('two dispatches on the split path, one otherwise', async () => {
    for (const [S, n] of [[1000, 2], [256, 1]] as const) {
      const q = lb.ones([1, 2, 1, 16]);
      const k = lb.ones([1, 2, S, 16]);
      await Promise.all([q.data(), k.data()]);
      const before = lb.streamStats().dispatches;
      const o = lb.attention(q, k, k);
      const got = await o.data();
      expect(lb.streamStats().dispatches - before, `S=${S}`).toBe(n);
      expect(Array.from(got).every((x) => Math.abs(x - 1) < 1e-6)).toBe(true);
      for (const t of [q, k, o]) t.dispose();
    }
  });
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
