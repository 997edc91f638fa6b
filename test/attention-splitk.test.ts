// lb.attention's decode paths against the CPU reference: long decodes, the split-K rule and its
// chunk edges, masks and dtypes, each kernel variant forced (decode / tile), and kvLength.
import { beforeEach, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { attentionTuning, type AttentionVariant } from '../src/ops/attention.js';
import { splitsFor } from '../src/ops/attention-kernels.js';
import { checkOp, useGpu, type InputSpec } from './helpers.js';
import { gen, resetAttentionTuningAfterEach, run, TOL, type Case } from './attention-helpers.js';

useGpu();
resetAttentionTuningAfterEach();


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
  // Fewer workgroups than `fill`: split the keys, each chunk at least minChunk keys, a multiple of
  // the kernel's key granule; enough workgroups already: one pass.
  const T = 120_000;
  it('split rule', () => {
    const f = (blocks: number, S: number, granule = 64) => splitsFor(blocks, S, granule, 512, 256);
    expect(f(4, 256).splits).toBe(1);
    expect(f(4, 257)).toEqual({ splits: 2, chunk: 192 });
    expect(f(4, 1000)).toEqual({ splits: 4, chunk: 256 });
    expect(f(4, 32768)).toEqual({ splits: 128, chunk: 256 });
    expect(f(1, 32768, 16)).toEqual({ splits: 128, chunk: 256 });
    expect(splitsFor(1, 32768, 16, 528, 64)).toEqual({ splits: 512, chunk: 64 }); // one query fills an H100
    expect(f(512, 32768).splits).toBe(1); // enough query blocks already
    expect(f(100, 32768).splits).toBe(6); // ceil(512 / 100)
    expect(f(4, 0)).toEqual({ splits: 1, chunk: 1 });
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
  it('two dispatches on the split path, one otherwise (and one when the decode merges its splits itself)', async () => {
    attentionTuning.fill = 512;
    attentionTuning.minChunk = 256;
    for (const [S, n, fuse] of [[1000, 2, 0], [256, 1, 0], [1000, 1, 64]] as const) {
      attentionTuning.decode = { fuse };
      const q = lb.ones([1, 2, 1, 16]);
      const k = lb.ones([1, 2, S, 16]);
      await Promise.all([q.data(), k.data()]);
      const before = lb.streamStats().dispatches;
      const o = lb.attention(q, k, k);
      const got = await o.data();
      expect(lb.streamStats().dispatches - before, `S=${S} fuse ${fuse}`).toBe(n);
      expect(Array.from(got).every((x) => Math.abs(x - 1) < 1e-6)).toBe(true);
      for (const t of [q, k, o]) t.dispose();
    }
  });
});

describe.each(['decode', 'tile'] as const)('%s kernel (forced)', (variant: AttentionVariant) => {
  const T = 120_000;
  beforeEach(() => {
    attentionTuning.force = variant;
  });
  const CASES: Case[] = [
    { name: 'L != S, S not a tile multiple', Hq: 2, L: 7, S: 45, D: 64 },
    { name: 'GQA 6/2 causal (a block spans heads)', Hq: 6, Hkv: 2, L: 5, S: 29, D: 32, causal: true },
    { name: 'MQA 4/1 f16 D=80', Hq: 4, Hkv: 1, L: 3, S: 50, D: 80, dtype: 'f16' },
    { name: 'bf16 D=96 causal L > S', L: 9, S: 6, D: 96, dtype: 'bf16', causal: true },
    { name: 'kvLength 21 of 40, causal (aligned to 21)', L: 3, S: 40, D: 64, causal: true, kvLength: 21 },
    { name: 'kvLength 0: zeros', L: 2, S: 16, D: 16, kvLength: 0 },
    { name: 'odd D=7 f16', L: 4, S: 19, D: 7, dtype: 'f16' },
  ];
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => run({ ...c, name: `${variant} ${c.name}` }), T);
  it('keys split across workgroups, causal GQA', async () => {
    attentionTuning.fill = 64;
    attentionTuning.minChunk = 8;
    await run({ name: `${variant} split`, Hq: 4, Hkv: 2, L: 3, S: 300, D: 32, causal: true });
  }, T);
  it('workgroup-memory reductions (no subgroup operations)', async () => {
    attentionTuning.subgroups = false;
    await run({ name: `${variant} nosg`, Hq: 2, Hkv: 1, L: 5, S: 37, D: 128, dtype: 'f16', causal: true });
  }, T);
  it('f16 loads without shader-f16 (unpack2x16float)', async () => {
    attentionTuning.nativeF16 = false;
    await run({ name: `${variant} nof16`, L: 4, S: 33, D: 64, dtype: 'f16' });
  }, T);
});

describe('kvLength', () => {
  const T = 120_000;
  it('a per-batch i32 tensor (clamped to [0, S]), causal, decode and prefill', async () => {
    for (const L of [1, 6]) {
      await checkOp((q, k, v, n) => lb.attention(q, k, v, { causal: true, kvLength: n }), [
        { dtype: 'f32', shape: [4, 2, L, 16], gen },
        { dtype: 'f32', shape: [4, 1, 24, 16], gen },
        { dtype: 'f32', shape: [4, 1, 24, 16], gen },
        { dtype: 'i32', shape: [4], data: Int32Array.from([0, 7, 24, 99]) },
      ], { ...TOL.f32, seed: 30 + L });
    }
  }, T);
  it('a KV cache [B, Hkv, Smax, D] with kvLength equals the sliced cache', async () => {
    const q = lb.randn([1, 4, 2, 32], { seed: 1 });
    const cache = lb.randn([1, 2, 64, 32], { seed: 2 });
    const a = lb.attention(q, cache, cache, { causal: true, kvLength: 37 });
    const b = lb.tidy(() => lb.attention(q, cache.slice(null, null, [0, 37]), cache.slice(null, null, [0, 37]), { causal: true }));
    const [x, y] = await Promise.all([a.data(), b.data()]);
    expect(Array.from(x)).toEqual(Array.from(y));
    for (const t of [q, cache, a, b]) t.dispose();
  }, T);
  it('rejects bad lengths with typed errors', () => {
    const q = lb.zeros([2, 2, 3, 8]);
    const k = lb.zeros([2, 1, 5, 8]);
    const made = [q, k];
    const mk = (t: Tensor) => (made.push(t), t);
    try {
      expect(() => lb.attention(q, k, k, { kvLength: 6 })).toThrow(lb.ShapeError);
      expect(() => lb.attention(q, k, k, { kvLength: -1 })).toThrow(/kvLength/);
      expect(() => lb.attention(q, k, k, { kvLength: 2.5 })).toThrow(lb.ShapeError);
      expect(() => lb.attention(q, k, k, { kvLength: mk(lb.zeros([2])) })).toThrow(lb.DTypeError);
      expect(() => lb.attention(q, k, k, { kvLength: mk(lb.zeros([3], { dtype: 'i32' })) })).toThrow(/\[B\]/);
      expect(() => lb.attention(q, k, k, { kvLength: '3' as unknown as number })).toThrow(lb.DTypeError);
    } finally {
      for (const t of made) t.dispose();
    }
  });
});
