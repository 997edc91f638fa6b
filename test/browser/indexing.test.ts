// gather, indexSelect, concat, creation and seeded random numbers in Chromium, every dtype,
// against the CPU reference (random: the same generator on both, so the same values).
import { describe, expect, it } from 'vitest';
import * as lb from '../../src/index.js';
import type { DType } from '../../src/index.js';
import { checkOp, encodeRaw, expectClose, seedOf, useGpu } from '../helpers.js';

useGpu();

const DT = lb.DTYPES;
const EXACT = { exact: true };
const gen = { special: 0.1, intRange: 1000 };

/** ids in [-2, v + 2): some negative and some past the end (those give zero rows). */
function ids(dtype: 'i32' | 'u32', n: number, v: number, seed: number): Int32Array | Uint32Array {
  return encodeRaw(Array.from({ length: n }, (_, i) => ((i * 7 + seed) % (v + 4)) - 2), dtype) as Int32Array | Uint32Array;
}

describe('gather, indexSelect', () => {
  for (const dtype of DT) {
    it.each(['i32', 'u32'] as const)(`gather ${dtype} table, %s ids`, async (idt) => {
      for (const [table, idShape] of [[[7, 3], [2, 3]], [[6, 80], [7]], [[9], []], [[5, 1], [0]]] as [number[], number[]][]) {
        const n = idShape.reduce((a, b) => a * b, 1);
        await checkOp((t, i) => lb.gather(t, i), [{ dtype, shape: table, gen }, { dtype: idt, shape: idShape, data: ids(idt, n, table[0], seedOf(`${table}`) % 5) }], {
          ...EXACT, label: `${table} x ${idShape}`,
        });
      }
    });
    it(`indexSelect ${dtype}: every axis, a lazy table, transposed ids`, async () => {
      for (const axis of [0, 1, 2, -1]) {
        await checkOp((x, i) => lb.indexSelect(x, axis, i), [{ dtype, shape: [3, 5, 4], gen }, { dtype: 'i32', shape: [6], data: ids('i32', 6, 3, axis + 3) }], { ...EXACT, label: `axis ${axis}` });
      }
      await checkOp((t, i) => lb.tidy(() => lb.gather(t.add(t), i)), [
        { dtype, shape: [8, 6], view: (t) => t.slice([2, 7], [1, 6]), gen: { intRange: 100, scale: 100 } },
        { dtype: 'i32', shape: [2, 3], data: ids('i32', 6, 5, 1), view: (t) => t.transpose() },
      ], EXACT);
    });
  }
});

describe('concat', () => {
  it.each(DT)('%s: axes, odd sizes that share 16-bit words, views, empty parts', async (dtype) => {
    const CASES: [number[][], number][] = [
      [[[3], [5], [1]], 0],
      [[[2, 3], [2, 1], [2, 4]], 1],
      [[[1, 3, 2], [4, 3, 2]], 0],
      [[[2, 0], [2, 3]], 1],
      [[[3, 2, 5], [3, 1, 5]], -2],
    ];
    for (const [shapes, axis] of CASES) {
      await checkOp((...xs) => lb.concat(xs, axis), shapes.map((shape) => ({ dtype, shape, gen })), { ...EXACT, label: `${JSON.stringify(shapes)} axis ${axis}`, seed: seedOf(`${shapes}${dtype}`) });
    }
    await checkOp((a, b) => lb.tidy(() => lb.concat([a.transpose(), b.add(b)], 0)), [{ dtype, shape: [3, 4], gen }, { dtype, shape: [2, 3], gen: { intRange: 100, scale: 100 } }], EXACT);
  });

  it('mixed dtypes promote', async () => {
    await checkOp((a, b) => lb.concat([a, b], 0), [{ dtype: 'f16', shape: [3] }, { dtype: 'bf16', shape: [2] }], EXACT);
    await checkOp((a, b) => lb.concat([a, b], 0), [{ dtype: 'i32', shape: [3], gen: { intRange: 3000 } }, { dtype: 'f32', shape: [2] }], EXACT);
  });
});

describe('creation', () => {
  it.each(DT)('tensor, full, zeros, ones, arange %s: the GPU gives what the CPU gives', async (dtype) => {
    const make = (device: 'gpu' | 'cpu') => [
      lb.tensor(encodeRaw([1, -2, 3.5, 0, 65504, -0], dtype), [2, 3], { dtype, device }),
      lb.full([3, 5], dtype === 'u32' ? 7 : -2.75, { dtype, device }),
      lb.full([7], NaN, { dtype, device }),
      lb.zeros([2, 0, 3], { dtype, device }),
      lb.ones([9], { dtype, device }),
      lb.arange(2, 11, 3, { dtype, device }),
    ];
    const gpu = make('gpu');
    const cpu = make('cpu');
    try {
      for (let i = 0; i < gpu.length; i++) {
        expect(gpu[i].dtype).toBe(dtype);
        expect(gpu[i].shape).toEqual(cpu[i].shape);
        expectClose(await gpu[i].data(), await cpu[i].data(), { dtype, exact: true, label: `case ${i}` });
      }
      expect(Array.from(await gpu[5].data())).toEqual([2, 5, 8]);
    } finally {
      for (const t of [...gpu, ...cpu]) t.dispose();
    }
  });

  it('nested arrays and toArray()', async () => {
    const t = lb.tensor([[1, 2], [3, 4]], undefined, { dtype: 'i32' });
    expect(await t.toArray()).toEqual([[1, 2], [3, 4]]);
    t.dispose();
  });
});

describe('random', () => {
  const FL: DType[] = ['f32', 'f16', 'bf16'];
  it.each(FL)('rand %s: the same values on the GPU and the CPU for a seed', async (dtype) => {
    for (const shape of [[1], [7], [3, 5], [1000], [0]]) {
      const g = lb.rand(shape, { seed: 42, dtype });
      const c = lb.rand(shape, { seed: 42, dtype, device: 'cpu' });
      const gv = await g.data();
      expectClose(gv, await c.data(), { dtype, exact: true });
      expect(Array.from(gv).every((v) => v >= 0 && v < 1)).toBe(true);
      g.dispose();
      c.dispose();
    }
  });
  it.each(FL)('randn %s: the GPU matches the CPU closely', async (dtype) => {
    for (const shape of [[9], [4, 33]]) {
      const g = lb.randn(shape, { seed: 3, dtype });
      const c = lb.randn(shape, { seed: 3, dtype, device: 'cpu' });
      expectClose(await g.data(), await c.data(), { dtype, rtol: 1e-5, atol: 1e-5 });
      g.dispose();
      c.dispose();
    }
  });
  it('different seeds differ; a big draw has mean ~0.5 and variance ~1/12', async () => {
    const a = lb.rand([4096], { seed: 1 });
    const b = lb.rand([4096], { seed: 2 });
    const [m, v] = lb.tidy(() => [a.mean(), a.var()]);
    expect(Array.from(await a.data())).not.toEqual(Array.from(await b.data()));
    expect(Math.abs((await m.data())[0] - 0.5)).toBeLessThan(0.02);
    expect(Math.abs((await v.data())[0] - 1 / 12)).toBeLessThan(0.005);
    for (const t of [a, b, m, v]) t.dispose();
  });
});
