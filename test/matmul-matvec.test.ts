// M = 1 kernels (wgsl/matvec.wgsl) against the CPU reference for every config parameter: the dot
// kernel's rows per group, loads in flight and workgroup sizes; the axpy kernel's 8 columns per
// thread and its fused split-K (last workgroup sums the partials). Odd and aligned N and K, rows
// and columns past the end, batches, epilogues, 16-bit inputs and outputs, NaN / Inf. Integer data
// keeps the f32 sums exact whatever the summation order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { lastPlan, withConfig, type ForcedConfig } from '../src/ops/matmul-gpu.js';
import { axpyLoop, axpyShape, dotLoop, dotShape, fixedSubgroup, sgReduce } from '../src/ops/matmul-matvec.js';
import type { MatvecConfig } from '../src/tune/table.js';
import { mm, present } from './matmul-check.js';
import type { InputSpec } from './helpers.js';

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

const spec = (shape: number[], dtype: DType = 'f32', data?: Float32Array): InputSpec => ({ dtype, shape, gen: { ints: 3 }, data });
// gelu's sign of zero and last bits differ between the GPU and the CPU reference (test/matmul.test.ts).
const gelu = { rtol: 2e-6, atol: 1e-6, zeroSign: false };


const dot = (matvec: Partial<MatvecConfig>): ForcedConfig => ({ kind: 'dot', matvec: { tpr: 32, ct: 32, ...matvec } });
const axpy = (matvec: Partial<MatvecConfig>, splits?: number): ForcedConfig => ({
  kind: 'axpy', matvec: { tpr: 32, ct: 32, ...matvec }, ...(splits ? { splits } : {}),
});

describe('matvec dot kernel (weights [N, K])', () => {
  it('rows per group, loads in flight, workgroup sizes; odd N and K, rows past N', async () => {
    const configs = [{ rows: 2, unroll: 2 }, { tpr: 16, rows: 4, unroll: 1, wg: 128 }, { tpr: 64, unroll: 8, wg: 64 }, { tpr: 8, rows: 3, unroll: 3 }];
    for (const c of configs) {
      await mm([spec([1, 64]), spec([37, 64])], { transB: true, force: dot(c) }); // 8-element loads
      await mm([spec([1, 63]), spec([50, 63])], { transB: true, force: dot(c) }); // scalar loads, odd K
      expect(lastPlan()?.kind).toBe('dot');
    }
    await mm([spec([1, 200]), spec([3, 200])], { transB: true, force: dot({ tpr: 8, rows: 3, unroll: 3 }) }); // N < rows of a group
  });
  it('16-bit inputs and outputs: pairs of rows share a word (groups of one get two)', async () => {
    for (const d of ['f16', 'bf16'] as const) {
      await mm([spec([1, 72], d), spec([30, 72], d)], { transB: true, force: dot({ tpr: 16, rows: 3, unroll: 2 }) });
      await mm([spec([1, 70], d), spec([30, 70], d)], { transB: true, force: dot({ tpr: 256, rows: 1 }) }); // clamped to 2 groups
      await mm([spec([1, 72], d), spec([31, 72], d)], { transB: true, force: dot({ tpr: 64, wg: 64, rows: 3 }) }); // odd N: f32 then cast
    }
    expect(dotShape({ tpr: 256, ct: 32 }, 256, true)).toEqual({ wg: 256, tpr: 128, r: 1, u: 4, rows: 2 });
    expect(dotShape({ tpr: 64, ct: 32, wg: 64, rows: 2 }, 256, true).rows).toBe(2);
    expect(dotShape({ tpr: 48, ct: 32, wg: 1000, rows: 20, unroll: 0 }, 256, false)).toEqual({ wg: 256, tpr: 32, r: 8, u: 1, rows: 64 });
  });
  it('batches with broadcasting, epilogues, mixed dtypes', async () => {
    const c = dot({ tpr: 16, rows: 2, unroll: 2 });
    await mm([spec([3, 1, 64]), spec([3, 24, 64])], { transB: true, force: c });
    await mm([spec([2, 1, 1, 40]), spec([1, 3, 26, 40])], { transB: true, force: c });
    await mm([spec([1, 40]), spec([24, 40]), spec([24]), spec([1, 24])], { transB: true, bias: present, residual: present, activation: 'relu', alpha: 2, force: c });
    await mm([spec([2, 1, 48], 'f16'), spec([2, 20, 48], 'bf16'), spec([20], 'f32')], { transB: true, bias: present, force: c });
  });
  it('generated loop: one load of x per step for all rows of a group', () => {
    const code = dotLoop(3, 2, true);
    expect(code.match(/load8_a/g)?.length).toBe(3); // 2 in the unrolled loop, 1 in the tail
    expect(code.match(/load8_b/g)?.length).toBe(3 * 2 + 3);
    expect(code).toContain('min(n0 + 2u, last)');
    expect(dotLoop(1, 1, false)).not.toContain('for (; k < params.k; k = k + step)');
  });
});

describe('matvec axpy kernel (weights [K, N])', () => {
  it('8 columns per thread, loads in flight, workgroup sizes; odd N falls back to 4', async () => {
    const configs = [{ cols: 8, unroll: 2 }, { ct: 16, cols: 8, unroll: 8, wg: 128 }, { ct: 64, unroll: 1 }];
    for (const c of configs) {
      await mm([spec([1, 64]), spec([64, 48])], { force: axpy(c) });
      await mm([spec([1, 63]), spec([63, 47])], { force: axpy(c, 3) });
      await mm([spec([1, 100], 'f16'), spec([100, 40], 'f16')], { force: axpy(c, 2) });
      expect(lastPlan()?.kind).toBe('axpy');
    }
    expect(axpyShape({ tpr: 32, ct: 32, cols: 8 }, 256, false).c).toBe(4);
    expect(axpyShape({ tpr: 32, ct: 512, cols: 8, wg: 128 }, 256, true)).toEqual({ wg: 128, ct: 128, c: 8, u: 4 });
    expect(axpyLoop(8, 2)).toContain('acc1 = acc1 + b0[1] * x0 + b1[1] * x1');
  });
  it('fused split-K: the last workgroup of each block sums the partials', async () => {
    for (const c of [{ cols: 8, fuse: true }, { ct: 16, fuse: true, unroll: 2 }, { ct: 128, cols: 8, fuse: true, wg: 128 }]) {
      await mm([spec([1, 300]), spec([300, 48])], { force: axpy(c, 4) });
      await mm([spec([1, 301]), spec([301, 45])], { force: axpy(c, 5) });
      await mm([spec([1, 512]), spec([512, 64])], { force: axpy(c) }); // automatic splits
    }
    // The nvidia default; more splits than split lanes (8 here): two splits per step and a single one left.
    for (const splits of [17, 9]) await mm([spec([1, 300]), spec([300, 48])], { force: axpy({ tpr: 64, ct: 16, cols: 8, fuse: true }, splits) });
    await mm([spec([1, 300]), spec([300, 46])], { force: axpy({ ct: 16, fuse: true }, 17) }); // N % 4 = 2: the last quad has 2 columns
    const c = axpy({ cols: 8, fuse: true }, 3);
    for (const d of ['f16', 'bf16'] as const) {
      await mm([spec([1, 200], d), spec([200, 40], d)], { force: c });
      await mm([spec([1, 200], d), spec([200, 41], d)], { force: c }); // odd N: f32 then cast
    }
    await mm([spec([3, 1, 100]), spec([3, 100, 24])], { force: c });
    await mm([spec([2, 1, 100]), spec([1, 100, 24]), spec([24]), spec([2, 1, 24])], { bias: present, residual: present, activation: 'gelu', force: c }, gelu);
  });
  it('fused split-K: several in one batch reuse the words and counters; NaN and Inf', async () => {
    const force = axpy({ cols: 8, fuse: true }, 4);
    const xd = Float32Array.from({ length: 200 }, (_, i) => (i % 5) - 2);
    const wd = [0, 1, 2].map((s) => Float32Array.from({ length: 200 * 32 }, (_, i) => ((i * (s + 3)) % 7) - 3));
    const x = lb.tensor(xd, [1, 200]);
    const ws = wd.map((d) => lb.tensor(d, [200, 32]));
    const made: Tensor[] = [x, ...ws];
    try {
      // Recorded together: one submit, the same scratch words and counters three times in a row.
      const outs = ws.map((w) => withConfig(force, () => lb.matmul(x, w)));
      made.push(...outs);
      const got = await Promise.all(outs.map((o) => o.data()));
      const xc = lb.tensor(xd, [1, 200], { device: 'cpu' });
      made.push(xc);
      for (let i = 0; i < 3; i++) {
        const wc = lb.tensor(wd[i], [200, 32], { device: 'cpu' });
        const want = lb.matmul(xc, wc);
        made.push(wc, want);
        expect(Array.from(got[i])).toEqual(Array.from(await want.data()));
      }
    } finally {
      made.forEach((t) => t.dispose());
    }
    const xs = Float32Array.from({ length: 96 }, (_, i) => (i % 3) - 1);
    xs[50] = NaN;
    const bs = Float32Array.from({ length: 96 * 16 }, (_, i) => (i % 5) - 2);
    bs[3 * 16 + 5] = Infinity;
    await mm([spec([1, 96], 'f32', xs), spec([96, 16], 'f32', bs)], { force });
    xs[50] = 1;
    await mm([spec([1, 96], 'f32', xs), spec([96, 16], 'f32', bs)], { force });
  });
});

describe('matvec axpy kernel, subgroup variant (k lanes summed by shuffles)', () => {
  // Lavapipe: subgroups of 8; the H100: 32 (cts 1 there: 32 k lanes, three halving steps and two plain ones).
  const configs = [
    { ct: 8, cols: 8, sg: 4 }, // 2 column subgroups, 2 k lanes each
    { ct: 16, cols: 8, sg: 8, wg: 64 }, // one k lane per subgroup: no shuffle
    { ct: 4, cols: 8, sg: 1, unroll: 2 }, // every lane of a subgroup on its own k rows
    { ct: 32, cols: 8, sg: 2, wg: 128, unroll: 8 },
  ];
  it('is taken where the device has one subgroup size', () => {
    const sg = fixedSubgroup(lb.device()!);
    expect(sg).toBeGreaterThanOrEqual(4);
    expect(axpyShape({ tpr: 32, ct: 8, cols: 8, sg: 4 }, 256, true, 8)).toEqual({ wg: 256, ct: 8, c: 8, u: 4, cts: 4, sg: 8 });
    expect(axpyShape({ tpr: 32, ct: 8, cols: 8, sg: 4 }, 256, false, 8).cts).toBeUndefined(); // 4 columns: plain
    expect(axpyShape({ tpr: 32, ct: 8, cols: 8, sg: 4 }, 256, true, 0).cts).toBeUndefined(); // no fixed size
    expect(axpyShape({ tpr: 32, ct: 64, cols: 8, sg: 1, wg: 32 }, 256, true, 8).cts).toBeUndefined(); // 64 column subgroups > 4
    expect(axpyShape({ tpr: 32, ct: 8, cols: 8, sg: 64 }, 256, true, 32).cts).toBe(8); // at most ct
    const code = sgReduce(1, 32);
    expect(code.match(/subgroupShuffleXor/g)?.length).toBe(4 + 2 + 1 + 1 + 1);
    expect(code).toContain('if (ks < 8u)');
    expect(sgReduce(8, 8)).not.toContain('subgroupShuffleXor');
  });
  it('no split, split-K with a reduce pass, fused split-K; partial blocks, odd K, automatic splits', async () => {
    for (const [i, c] of configs.entries()) {
      await mm([spec([1, 64]), spec([64, 48])], { force: axpy(c, 1) });
      await mm([spec([1, 301]), spec([301, 40])], { force: axpy(c, 5) }); // reduce pass
      await mm([spec([1, 301]), spec([301, 40])], { force: axpy({ ...c, fuse: true }, 5) });
      if (i < 2) {
        await mm([spec([1, 300]), spec([300, 136])], { force: axpy({ ...c, fuse: true }, 17) }); // several splits per summing thread
        await mm([spec([1, 512]), spec([512, 64])], { force: axpy({ ...c, fuse: true }) });
      }
      await mm([spec([1, 70]), spec([70, 46])], { force: axpy({ ...c, fuse: true }, 3) }); // N % 8 != 0: the plain kernel
      expect(lastPlan()?.kind).toBe('axpy');
    }
  });
  it('16-bit inputs and outputs, batches, epilogues, NaN and Inf', async () => {
    const c = axpy({ ct: 4, cols: 8, sg: 1, fuse: true }, 3);
    for (const d of ['f16', 'bf16'] as const) {
      await mm([spec([1, 200], d), spec([200, 40], d)], { force: c });
      await mm([spec([1, 200], d), spec([200, 40], d)], { force: axpy({ ct: 8, cols: 8, sg: 4 }, 1) });
    }
    await mm([spec([3, 1, 100]), spec([3, 100, 24])], { force: c });
    await mm([spec([2, 1, 100]), spec([1, 100, 24]), spec([24]), spec([2, 1, 24])], { bias: present, residual: present, activation: 'gelu', force: c }, gelu);
    await mm([spec([1, 100]), spec([100, 24]), spec([24])], { bias: present, activation: 'relu', alpha: 2, force: axpy({ ct: 8, cols: 8, sg: 4 }, 1) });
    const xs = Float32Array.from({ length: 96 }, (_, i) => (i % 3) - 1);
    xs[50] = NaN;
    const bs = Float32Array.from({ length: 96 * 16 }, (_, i) => (i % 5) - 2);
    bs[3 * 16 + 5] = Infinity;
    bs[7 * 16 + 9] = -Infinity;
    await mm([spec([1, 96], 'f32', xs), spec([96, 16], 'f32', bs)], { force: c });
    xs[50] = 1;
    await mm([spec([1, 96], 'f32', xs), spec([96, 16], 'f32', bs)], { force: c });
  });
});
