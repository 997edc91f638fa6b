// rope: GPU kernel vs. the CPU reference over dtypes, both layouts, head dims (2 to 128),
// partial rotary dims, given/omitted positions (i32, u32, views), offsets, views and lazy x,
// size 0; the f32 frequency table; errors at the call.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { FLOATS, checkOp, encodeRaw, expectClose, seedOf, type InputSpec, useGpu } from './helpers.js';

useGpu();

/** GPU cos/sin after range reduction vs. exact ones: ~1e-6 on values of magnitude ~2. */
const TOL = { rtol: 1e-5, atol: 2e-5, zeroSign: false };
const gen = { scale: 2 };
const LAYOUTS = ['half', 'interleaved'] as const;

type XSpec = Omit<InputSpec, 'dtype'>;
const X_CASES: [string, XSpec, lb.RopeOptions][] = [
  ['[1,2] D=2', { shape: [1, 2] }, {}],
  ['[2,3,5,8]', { shape: [2, 3, 5, 8] }, {}],
  ['[1,2,7,64]', { shape: [1, 2, 7, 64] }, {}],
  ['[1,1,5,80] rotaryDim 32', { shape: [1, 1, 5, 80] }, { rotaryDim: 32 }],
  ['[2,2,3,128] base 5e5, offset 1000', { shape: [2, 2, 3, 128] }, { base: 500000, offset: 1000 }],
  ['[3,3] D=3 rotaryDim 2', { shape: [3, 3] }, { rotaryDim: 2 }],
  ['[2,0,8] L=0', { shape: [2, 0, 8] }, {}],
  ['[B,L,H,D] permuted to [B,H,L,D]', { shape: [2, 5, 3, 16], view: (t) => t.permute([0, 2, 1, 3]) }, {}],
  ['strided slice of D', { shape: [2, 4, 20], view: (t) => t.slice(null, null, [1, 20, 2]) }, {}],
];

describe.each(LAYOUTS)('rope %s', (layout) => {
  for (const dtype of FLOATS) {
    describe(dtype, () => {
      it.each(X_CASES)('%s', async (label, x, opts) => {
        const seed = seedOf(`rope${layout}${dtype}${label}`);
        await checkOp((t) => lb.rope(t, null, { ...opts, layout }), [{ ...x, dtype, gen }], { ...TOL, seed });
      });
    });
  }

  it.each([
    ['i32', 'i32'],
    ['u32', 'u32'],
  ] as const)('positions %s, with an offset, and as a strided view', async (_, pdtype) => {
    const L = 6;
    const pos = encodeRaw([0, 5, 17, 100, 2047, 3], pdtype);
    await checkOp((x, p) => lb.rope(x, p, { layout }), [
      { dtype: 'f32', shape: [2, L, 16], gen },
      { dtype: pdtype, shape: [L], data: pos },
    ], { ...TOL, seed: 21 });
    await checkOp((x, p) => lb.rope(x, p, { layout, offset: 7 }), [
      { dtype: 'bf16', shape: [3, L, 8], gen },
      { dtype: pdtype, shape: [L], data: pos },
    ], { ...TOL, seed: 22 });
    await checkOp((x, p) => lb.rope(x, p, { layout }), [
      { dtype: 'f16', shape: [L, 10] , gen },
      { dtype: pdtype, shape: [2 * L + 1], data: encodeRaw(Array.from({ length: 2 * L + 1 }, (_, i) => 3 * i), pdtype), view: (t) => t.slice([1, 2 * L + 1, 2]) },
    ], { ...TOL, seed: 23 });
  });

  it.each(FLOATS)('lazy x (fused prologue) %s', async (dtype) => {
    await checkOp((a, b) => lb.tidy(() => lb.rope(a.add(b).mul(2), null, { layout })), [
      { dtype, shape: [2, 3, 12], gen },
      { dtype, shape: [12], gen },
    ], { ...TOL, seed: 24 });
  });

  it('own inverse frequencies', async () => {
    const invFreq = [1, 0.5, 0.125, 0.001];
    await checkOp((x) => lb.rope(x, null, { layout, invFreq, offset: -3 }), [{ dtype: 'f32', shape: [4, 8], gen }], { ...TOL, seed: 25 });
  });

  it('no shader-f16 path', async () => {
    const features = lb.device()!.features as { f16: boolean };
    const saved = features.f16;
    features.f16 = false;
    try {
      await checkOp((x) => lb.rope(x, null, { layout }), [{ dtype: 'f16', shape: [3, 5, 6], gen }], { ...TOL, seed: 26 });
    } finally {
      features.f16 = saved;
    }
  });
});

describe('rope known values and errors', () => {
  it('inv_freq is 1 / base^(2i/d) in f32 steps (as PyTorch computes it)', () => {
    const f = lb.ropeInvFreq(8, 10000);
    expect(Array.from(f)).toEqual([1, 0.10000000149011612, 0.009999999776482582, 0.0010000000474974513]);
    expect(lb.ropeInvFreq(128, 500000)[63]).toBe(Math.fround(1 / Math.fround(Math.pow(500000, Math.fround(126 / 128)))));
  });

  it.each(LAYOUTS)('pairs and angles (%s), position 3', async (layout) => {
    const x = [1, 2, 3, 4];
    const t = lb.tensor([x], [1, 4]);
    const p = lb.tensor(new Int32Array([3]));
    const y = lb.rope(t, p, { layout });
    const th = [3, Math.fround(3 * 0.01)];
    const [a, b, c, d] = layout === 'half' ? [0, 2, 1, 3] : [0, 1, 2, 3];
    const want = new Array<number>(4);
    want[a] = x[a] * Math.cos(th[0]) - x[b] * Math.sin(th[0]);
    want[b] = x[b] * Math.cos(th[0]) + x[a] * Math.sin(th[0]);
    want[c] = x[c] * Math.cos(th[1]) - x[d] * Math.sin(th[1]);
    want[d] = x[d] * Math.cos(th[1]) + x[c] * Math.sin(th[1]);
    expectClose(await y.data(), want, { dtype: 'f32', rtol: 1e-6, atol: 1e-6 });
    for (const u of [t, p, y]) u.dispose();
  });

  it('large positions: angles reduced before cos/sin', async () => {
    const pos = encodeRaw([0, 1, 1000, 10000, 50000, 131071], 'i32');
    await checkOp((x, p) => lb.rope(x, p), [{ dtype: 'f32', shape: [6, 4], data: encodeRaw(new Array(24).fill(1), 'f32') }, { dtype: 'i32', shape: [6], data: pos }], {
      rtol: 1e-5, atol: 2e-5,
    });
  });

  it('the result dims beyond rotaryDim are a copy', async () => {
    const x = lb.tensor(Float32Array.from({ length: 12 }, (_, i) => i + 0.5), [2, 6]);
    const y = lb.rope(x, null, { rotaryDim: 2, offset: 5 });
    const v = await y.data();
    expect([v[2], v[3], v[4], v[5], v[8], v[11]]).toEqual([2.5, 3.5, 4.5, 5.5, 8.5, 11.5]);
    x.dispose();
    y.dispose();
  });

  it('errors name the op and shapes', () => {
    const x = lb.zeros([2, 3, 5]);
    const x8 = lb.zeros([2, 3, 8]);
    const xi = lb.zeros([3, 8], { dtype: 'i32' });
    const p2 = lb.zeros([2], { dtype: 'i32' });
    const pf = lb.zeros([3]);
    const x1 = lb.zeros([8]);
    const made: Tensor[] = [x, x8, xi, p2, pf, x1];
    try {
      expect(() => lb.rope(x)).toThrow(lb.ShapeError);
      expect(() => lb.rope(x)).toThrow(/rope: rotaryDim must be an even integer.*\[2, 3, 5\]/);
      expect(() => lb.rope(x8, null, { rotaryDim: 10 })).toThrow(lb.ShapeError);
      expect(() => lb.rope(x8, null, { rotaryDim: 3 })).toThrow(lb.ShapeError);
      expect(() => lb.rope(x8, p2)).toThrow(/rope: positions must have shape \[L\] = \[3\].*\[2, 3, 8\], \[2\]/);
      expect(() => lb.rope(x8, pf)).toThrow(lb.DTypeError);
      expect(() => lb.rope(xi)).toThrow(lb.DTypeError);
      expect(() => lb.rope(x1)).toThrow(lb.ShapeError);
      expect(() => lb.rope(x8, null, { layout: 'neox' as 'half' })).toThrow(/layout/);
      expect(() => lb.rope(x8, null, { invFreq: [1, 2] })).toThrow(/invFreq needs rotaryDim \/ 2 = 4/);
      expect(() => lb.rope(x8, null, { offset: 0.5 })).toThrow(/offset/);
    } finally {
      for (const t of made) t.dispose();
    }
  });
});

describe('rope quads (D % 4 = 0: four pairs per thread, quads loaded whole)', () => {
  const CASES: [string, number[], lb.RopeOptions][] = [
    ['[3,5,8] half', [3, 5, 8], {}],
    ['[2,9,16] interleaved', [2, 9, 16], { layout: 'interleaved' }],
    ['[1,4,24] half, rotaryDim 16', [1, 4, 24], { rotaryDim: 16 }],
    ['[2,3,12] interleaved, rotaryDim 4', [2, 3, 12], { layout: 'interleaved', rotaryDim: 4 }],
    ['[40,128] half, base 5e5, offset 4096', [40, 128], { base: 500000, offset: 4096 }],
    ['[2,3,12] interleaved, rotaryDim 12', [2, 3, 12], { layout: 'interleaved', rotaryDim: 12 }],
  ];
  for (const dtype of FLOATS) {
    it.each(CASES)(`${dtype} %s`, async (label, shape, opts) => {
      await checkOp((t) => lb.rope(t, null, opts), [{ dtype, shape, gen }], { ...TOL, seed: seedOf(`quads${dtype}${label}`) });
      // The same as a lazy expression and as a view at an unaligned offset (value() and scalar loads).
      await checkOp((t) => lb.tidy(() => lb.rope(t.mul(2), null, opts)), [{ dtype, shape, gen }], { ...TOL, seed: 2 });
      const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const d = shape[shape.length - 1];
      await checkOp((t) => lb.tidy(() => lb.rope(t.slice(null, [1, d + 1]).reshape(shape), null, opts)), [{ dtype, shape: [rows, d + 2], gen }], { ...TOL, seed: 3 });
    });
  }

  it('positions, specials and the no-shader-f16 path', async () => {
    const pos = encodeRaw([3, 0, 70000, 9], 'i32');
    await checkOp((x, p) => lb.rope(x, p), [{ dtype: 'f16', shape: [2, 4, 16], gen: { special: 0.2 } }, { dtype: 'i32', shape: [4], data: pos }], { ...TOL, seed: 27 });
    await checkOp((x, p) => lb.rope(x, p, { layout: 'interleaved' }), [{ dtype: 'f32', shape: [2, 4, 8], gen: { special: 0.2 } }, { dtype: 'u32', shape: [4], data: encodeRaw([3, 0, 7, 9], 'u32') }], { ...TOL, seed: 28 });
    const features = lb.device()!.features as { f16: boolean };
    const saved = features.f16;
    features.f16 = false;
    try {
      for (const layout of LAYOUTS) await checkOp((x) => lb.rope(x, null, { layout }), [{ dtype: 'f16', shape: [3, 5, 8], gen }], { ...TOL, seed: 29 });
    } finally {
      features.f16 = saved;
    }
  });
});
