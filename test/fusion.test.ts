// Fusion: chains of lazy elementwise ops become one kernel when realized. Counted through
// lb.streamStats() (dispatches) and lb.pipelineStats() (compiles); results checked against the
// CPU reference; memory checked through lb.memory(). Exact comparisons allow a few ulps where
// the GPU contracts a*b+c into a fused multiply-add (gpuQuirks().contracts: NVIDIA).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { fuse } from '../src/graph/fuse.js';
import { expectClose, gpuQuirks, pair, randomData, rng, type CloseOptions, type GenOptions } from './helpers.js';

/** Exact, or within 2 ulps where the GPU fuses multiply-adds. */
let EXACT: Omit<CloseOptions, 'dtype'> = { exact: true };
beforeAll(async () => {
  await lb.init({ cacheDir: false });
  if ((await gpuQuirks()).contracts) EXACT = { rtol: 1e-6, ulps: 2 };
});
afterAll(async () => {
  await lb.shutdown();
});

/** Dispatches recorded and submitted while `fn` runs (it builds and realizes what it measures). */
async function dispatches(fn: () => Promise<unknown>): Promise<number> {
  await lb.eval();
  const before = lb.streamStats().dispatches;
  await fn();
  await lb.eval();
  return lb.streamStats().dispatches - before;
}

/** A GPU tensor and its CPU twin with random data. */
function inputs(seed: number, shapes: (readonly number[])[], dtype: DType = 'f32', gen: GenOptions = { scale: 2 }): { gpu: Tensor; cpu: Tensor }[] {
  const r = rng(seed);
  return shapes.map((s) => pair(randomData(r, dtype, s.reduce((a, b) => a * b, 1), gen), s, dtype));
}

function disposeAll(...ts: (Tensor | { gpu: Tensor; cpu: Tensor })[]): void {
  for (const t of ts) {
    if ('gpu' in t) {
      t.gpu.dispose();
      t.cpu.dispose();
    } else t.dispose();
  }
}

describe('one kernel per fused expression', () => {
  it('gelu(x * w + b) with broadcast rows is one dispatch', async () => {
    const [x, w, b] = inputs(1, [[6, 33], [33], [1, 33]]);
    const f = (x: Tensor, w: Tensor, b: Tensor) => lb.tidy(() => lb.gelu(x.mul(w).add(b)));
    let got!: ArrayLike<number>;
    let y!: Tensor;
    expect(await dispatches(async () => (got = await (y = f(x.gpu, w.gpu, b.gpu)).data()))).toBe(1);
    const want = f(x.cpu, w.cpu, b.cpu);
    expectClose(got, await want.data(), { dtype: 'f32', rtol: 1e-6, atol: 1e-30 });
    disposeAll(x, w, b, y, want);
  });

  it('a chain of 20 mixed unary/binary ops over views is one dispatch', async () => {
    const [a, b, c] = inputs(2, [[9, 5], [5, 20], [1, 9]]);
    const chain = (a: Tensor, b: Tensor, c: Tensor) =>
      lb.tidy(() => {
        const x = a.transpose(); // [5, 9]
        const y = b.slice(null, [1, 19, 2]); // [5, 9], strided
        const z = c.expand([5, 9]);
        let t = x.mul(y); // 1
        t = t.add(z).tanh().mul(3); // 4
        t = t.sub(y).abs().add(1).sqrt(); // 8
        t = t.maximum(z).minimum(x.add(4)).neg(); // 12 (x.add: 13)
        t = lb.where(t.gt(-1.5), t.sigmoid(), t.exp()); // 17
        t = t.pow(2).mul(z).silu(); // 20
        return t;
      });
    let y!: Tensor;
    let got!: ArrayLike<number>;
    expect(await dispatches(async () => (got = await (y = chain(a.gpu, b.gpu, c.gpu)).data()))).toBe(1);
    const want = chain(a.cpu, b.cpu, c.cpu);
    expectClose(got, await want.data(), { dtype: 'f32', rtol: 1e-5, atol: 1e-6 });
    disposeAll(a, b, c, y, want);
  });

  it('a diamond (y = x*x; z = y + exp(y)) is one dispatch and computes y once', async () => {
    const [x] = inputs(3, [[17]]);
    const y = x.gpu.mul(x.gpu);
    const e = y.exp();
    const z = y.add(e);
    // The generated body has one exp and one product: a shared node is one `let`.
    const body = fuse({ kind: 'node', node: z.lazy! }, lb.device()!.features.f16).body;
    expect(body.match(/exp_f32\(/g)?.length).toBe(1);
    expect(body.match(/\*/g)?.length).toBe(1);
    let got!: ArrayLike<number>;
    expect(await dispatches(async () => (got = await z.data()))).toBe(1);
    const yc = x.cpu.mul(x.cpu);
    const ec = yc.exp();
    const want = yc.add(ec);
    expectClose(got, await want.data(), { dtype: 'f32', rtol: 3e-7 });
    // Reading an intermediate later computes it on its own (one more kernel).
    expect(await dispatches(async () => expectClose(await y.data(), await yc.data(), { dtype: 'f32', exact: true }))).toBe(1);
    disposeAll(x, y, e, z, yc, ec, want);
  });

  it('sum of an elementwise expression is one dispatch (the expression is the reduction prologue)', async () => {
    // Integer values: the sum is exact in any order.
    const [x, y] = inputs(4, [[8, 33], [8, 33]], 'f32', { ints: 8 });
    const f = (x: Tensor, y: Tensor) => lb.tidy(() => x.mul(y).sum(1));
    let s!: Tensor;
    let got!: ArrayLike<number>;
    expect(await dispatches(async () => (got = await (s = f(x.gpu, y.gpu)).data()))).toBe(1);
    const want = f(x.cpu, y.cpu);
    expectClose(got, await want.data(), { dtype: 'f32', exact: true });
    disposeAll(x, y, s, want);
  });

  it('broadcasting and permuted views fuse: one dispatch, right values', async () => {
    const [a, b, c] = inputs(5, [[3, 1, 5], [4, 5], [5, 4, 3]]);
    const f = (a: Tensor, b: Tensor, c: Tensor) =>
      lb.tidy(() => a.permute([1, 0, 2]).add(b.reshape([4, 1, 5])).mul(c.permute([1, 2, 0])).relu().sub(a.reshape([3, 5]))); // [4, 3, 5]
    let y!: Tensor;
    let got!: ArrayLike<number>;
    expect(await dispatches(async () => (got = await (y = f(a.gpu, b.gpu, c.gpu)).data()))).toBe(1);
    expect(y.shape).toEqual([4, 3, 5]);
    const want = f(a.cpu, b.cpu, c.cpu);
    expectClose(got, await want.data(), { dtype: 'f32', ...EXACT });
    disposeAll(a, b, c, y, want);
  });

  it('one view used 20 times is one binding: one dispatch', async () => {
    const [x] = inputs(11, [[5, 7]]);
    const f = (x: Tensor) => lb.tidy(() => {
      let t = x.transpose();
      for (let i = 0; i < 20; i++) t = i % 2 ? t.mul(x.transpose()) : t.add(x.transpose()).mul(0.5);
      return t;
    });
    let y!: Tensor;
    let got!: ArrayLike<number>;
    expect(await dispatches(async () => (got = await (y = f(x.gpu)).data()))).toBe(1);
    const want = f(x.cpu);
    expectClose(got, await want.data(), { dtype: 'f32', ...EXACT });
    disposeAll(x, y, want);
  });

  it('more distinct inputs than storage bindings: split into several kernels, same values', async () => {
    const n = lb.device()!.limits.maxStorageBuffersPerShaderStage + 3;
    const xs = inputs(12, Array.from({ length: n }, () => [9]));
    const f = (ts: Tensor[]) => lb.tidy(() => ts.reduce((acc, t, i) => (i % 3 ? acc.add(t) : acc.sub(t.exp()))));
    let y!: Tensor;
    let got!: ArrayLike<number>;
    const count = await dispatches(async () => (got = await (y = f(xs.map((p) => p.gpu))).data()));
    expect(count).toBeGreaterThan(1);
    const want = f(xs.map((p) => p.cpu));
    expectClose(got, await want.data(), { dtype: 'f32', rtol: 1e-6, atol: 1e-6 });
    disposeAll(...xs, y, want);
  });

  for (const d of ['f16', 'bf16', 'i32'] as const) {
    it(`${d}: a fused chain gives the same bits as op-by-op evaluation`, async () => {
      const [x, w] = inputs(6, [[41], [41]], d, { scale: 6, special: 0.1 });
      const steps = [(t: Tensor) => t.mul(w.gpu), (t: Tensor) => t.add(0.3), (t: Tensor) => t.div(x.gpu.add(7)), (t: Tensor) => t.sub(w.gpu)];
      const fused = lb.tidy(() => steps.reduce((t, s) => s(t), x.gpu));
      let t = x.gpu;
      for (const s of steps) {
        const next = lb.tidy(() => s(t));
        await lb.eval(next); // each step its own kernel
        if (t !== x.gpu) t.dispose();
        t = next;
      }
      expectClose(await fused.data(), await t.data(), { dtype: d, ...EXACT });
      disposeAll(x, w, fused, t);
    });
  }
});

describe('pipeline cache', () => {
  it('the same expression on new data (and new scalars) compiles nothing new', async () => {
    const f = (x: Tensor, w: Tensor, k: number) => lb.tidy(() => x.mul(w).add(k).tanh().maximum(x.neg()));
    const run = async (seed: number, k: number) => {
      const [x, w] = inputs(seed, [[7, 9], [9]]);
      const y = f(x.gpu, w.gpu, k);
      const want = f(x.cpu, w.cpu, k);
      expectClose(await y.data(), await want.data(), { dtype: 'f32', rtol: 3e-7 });
      disposeAll(x, w, y, want);
    };
    await run(7, 0.5);
    const before = lb.pipelineStats().misses;
    const d = lb.streamStats().dispatches;
    await run(8, -2.25);
    await run(9, 1e3);
    expect(lb.pipelineStats().misses).toBe(before);
    expect(lb.streamStats().dispatches - d).toBe(2);
  });
});

describe('memory', () => {
  it('a 1000-op workload under tidy() returns liveBytes (and buffers) to the start', async () => {
    await lb.eval();
    const start = lb.memory();
    const rand = rng(10);
    const x = lb.tensor(randomData(rand, 'f32', 64, { scale: 1 }) as Float32Array, [8, 8]);
    const w = lb.tensor(randomData(rand, 'f32', 8, { scale: 1 }) as Float32Array, [8]);
    let carry = lb.tidy(() => x.mul(1));
    for (let round = 0; round < 100; round++) {
      const next = lb.tidy(() => {
        let t = carry.add(w).tanh().mul(x.transpose()); // 3 ops
        t = t.sub(0.25).abs().sqrt().neg(); // 7
        return lb.maximum(t, -3).add(x.slice(null, 2).reshape([8, 1])).mul(0.5); // 10
      });
      if (round % 9 === 0) expect((await next.data()).every((v) => Number.isFinite(v))).toBe(true);
      if (round % 20 === 0) {
        const s = next.sum();
        expect(Number.isFinite((await s.data())[0])).toBe(true);
        s.dispose();
      }
      carry.dispose();
      carry = next;
    }
    expect((await carry.data()).length).toBe(64);
    carry.dispose();
    x.dispose();
    w.dispose();
    await lb.eval();
    const end = lb.memory();
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(end.buffers).toBe(start.buffers);
  });
});
