// Creation: arange (NumPy semantics, dtype inference) and seeded rand/randn generated on the
// GPU by a counter-based generator that the CPU reproduces.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType } from '../src/index.js';
import { expectClose, useGpu } from './helpers.js';
import { threefry2x32 } from '../src/cpu/random.js';

useGpu();

async function values(t: lb.Tensor): Promise<number[]> {
  try {
    return Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

describe('arange', () => {
  it.each(['gpu', 'cpu'] as const)('NumPy forms and dtype inference (%s)', async (device) => {
    const cases: [lb.Tensor, DType, number[]][] = [
      [lb.arange(5, { device }), 'i32', [0, 1, 2, 3, 4]],
      [lb.arange(2, 6, { device }), 'i32', [2, 3, 4, 5]],
      [lb.arange(10, 0, -3, { device }), 'i32', [10, 7, 4, 1]],
      [lb.arange(0, 1, 0.25, { device }), 'f32', [0, 0.25, 0.5, 0.75]],
      [lb.arange(1.5, { device }), 'f32', [0, 1]],
      [lb.arange(0, 0.3, 0.1, { device }), 'f32', [0, 0.1, 0.2].map(Math.fround)],
      [lb.arange(5, 2, { device }), 'i32', []],
      [lb.arange(0, { device }), 'i32', []],
      [lb.arange(3, { dtype: 'f16', device }), 'f16', [0, 1, 2]],
      [lb.arange(-2, 2, { dtype: 'bf16', device }), 'bf16', [-2, -1, 0, 1]],
      [lb.arange(1, 4, 1, { dtype: 'u32', device }), 'u32', [1, 2, 3]],
    ];
    for (const [t, dtype, want] of cases) {
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([want.length]);
      expect(t.device).toBe(device);
      expect(await values(t)).toEqual(want);
    }
    // start + i * step in f64, rounded once: no accumulated drift.
    const big = await values(lb.arange(0, 1000, 0.1, { device }));
    expect(big.length).toBe(10000);
    expect(big[9999]).toBe(Math.fround(999.9000000000001));
  });

  it('errors', () => {
    expect(() => lb.arange(0, 5, 0)).toThrow(/arange: step must not be 0/);
    expect(() => lb.arange(NaN)).toThrow(lb.DTypeError);
    expect(() => lb.arange(0, Infinity)).toThrow(lb.DTypeError);
    expect(() => lb.arange(0, 3, 0.5, { dtype: 'i32' })).toThrow(/integer start and step/);
    expect(() => lb.arange(-3, 0, 1, { dtype: 'u32' })).toThrow(/not representable as u32/);
    expect(() => lb.arange(0, 1, 1, { dtype: 'f64' as DType })).toThrow(/unknown dtype/);
  });
});

describe('rand / randn', () => {
  const FLOATS: DType[] = ['f32', 'f16', 'bf16'];

  it.each(FLOATS)('rand %s: the GPU and the CPU give the same values for a seed', async (dtype) => {
    for (const shape of [[1], [7], [3, 5], [1000], [0]]) {
      const g = await values(lb.rand(shape, { seed: 42, dtype }));
      const c = await values(lb.rand(shape, { seed: 42, dtype, device: 'cpu' }));
      expectClose(g, c, { dtype, exact: true });
      expect(g.every((v) => v >= 0 && v < 1)).toBe(true);
    }
  });

  it('rand is exactly (threefry(seed, (e, 0))[0] >> 8) * 2^-24 for f32', async () => {
    const g = await values(lb.rand([4], { seed: 7 }));
    const want = [0, 1, 2, 3].map((e) => (threefry2x32(7, 0, e, 0)[0] >>> 8) * 2 ** -24);
    expect(g).toEqual(want);
  });

  it.each(FLOATS)('randn %s: the GPU matches the CPU closely', async (dtype) => {
    for (const shape of [[1], [9], [4, 33]]) {
      const g = await values(lb.randn(shape, { seed: 3, dtype }));
      const c = await values(lb.randn(shape, { seed: 3, dtype, device: 'cpu' }));
      // GPU log/cos differ from Math's by a few ulps.
      expectClose(g, c, { dtype, rtol: 1e-5, atol: 1e-5 });
    }
  });

  it('seeds: same seed same values, different seeds differ, prefixes agree, 64-bit seeds', async () => {
    const a = await values(lb.rand([64], { seed: 1 }));
    const b = await values(lb.rand([64], { seed: 1 }));
    const c = await values(lb.rand([64], { seed: 2 }));
    const d = await values(lb.rand([8, 8], { seed: 2 ** 32 + 1 }));
    const e = await values(lb.rand([64], { seed: 1n + (1n << 32n) }));
    const p = await values(lb.rand([10], { seed: 1 }));
    const r1 = await values(lb.rand([16]));
    const r2 = await values(lb.rand([16]));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(d).not.toEqual(a);
    expect(d).toEqual(e);
    expect(p).toEqual(a.slice(0, 10));
    expect(r1).not.toEqual(r2);
    const n = await values(lb.randn([64], { seed: 1 }));
    expect(n).not.toEqual(a);
    const neg = await values(lb.rand([4], { seed: -1 }));
    expect(neg).toEqual(await values(lb.rand([4], { seed: 2n ** 64n - 1n })));
  });

  it('moments: uniform mean 1/2, variance 1/12; normal mean 0, variance 1', async () => {
    const n = 1 << 16;
    const stats = (v: number[]) => {
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
      return { mean, variance };
    };
    for (const dtype of FLOATS) {
      const u = stats(await values(lb.rand([n], { seed: 11, dtype })));
      expect(Math.abs(u.mean - 0.5), `${dtype} uniform mean`).toBeLessThan(0.01);
      expect(Math.abs(u.variance - 1 / 12), `${dtype} uniform variance`).toBeLessThan(0.01);
      const z = await values(lb.randn([n], { seed: 12, dtype }));
      const s = stats(z);
      expect(Math.abs(s.mean), `${dtype} normal mean`).toBeLessThan(0.02);
      expect(Math.abs(s.variance - 1), `${dtype} normal variance`).toBeLessThan(0.03);
      expect(z.every(Number.isFinite)).toBe(true);
      // About 4.55% of a standard normal lies beyond 2 sigma.
      const tail = z.filter((x) => Math.abs(x) > 2).length / n;
      expect(Math.abs(tail - 0.0455), `${dtype} tail`).toBeLessThan(0.005);
    }
  });

  it('errors', () => {
    expect(() => lb.rand([2], { dtype: 'i32' })).toThrow(/rand: dtype must be a float dtype/);
    expect(() => lb.randn([2], { seed: 1.5 })).toThrow(/randn: seed must be a safe integer/);
    expect(() => lb.rand([-1])).toThrow(lb.ShapeError);
  });
});
