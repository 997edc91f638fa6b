// The row kernels (wgsl/_rows.wgsl: softmax_rows, norm_rows, reduce_rows) against the CPU
// reference: every input mode (vector loads, scalar loads at any alignment, the fused value()),
// row lengths around the quad size and the thread counts, one row and many rows, special values,
// 16-bit dtypes, and the paths of adapters without subgroups or without shader-f16.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { ROW_TUNING, rowPlan, rowRead } from '../src/ops/rows.js';
import { fuse } from '../src/graph/fuse.js';
import { asInput } from '../src/ops/gpu-elementwise.js';
import { releaseInput } from '../src/ops/prologue.js';
import { checkOp, encodeRaw, seedOf, type CloseOptions, type InputSpec, useGpu } from './helpers.js';

useGpu();

type OpCase = { name: string; f: (x: Tensor, ...p: Tensor[]) => Tensor; params: number; tol: Omit<CloseOptions, 'dtype'>; gen?: InputSpec['gen'] };
const SOFT = { rtol: 2e-5, atol: 2e-6 };
const NORM = { rtol: 1e-5, atol: 1e-5, zeroSign: false };
const OPS: OpCase[] = [
  { name: 'softmax', f: (x) => x.softmax(-1), params: 0, tol: SOFT, gen: { scale: 4 } },
  { name: 'logSoftmax', f: (x) => x.logSoftmax(-1), params: 0, tol: SOFT, gen: { scale: 4 } },
  { name: 'layerNorm', f: (x, w, b) => lb.layerNorm(x, w, b), params: 2, tol: NORM, gen: { scale: 3 } },
  { name: 'rmsNorm', f: (x, w) => lb.rmsNorm(x, w), params: 1, tol: NORM, gen: { scale: 3 } },
  { name: 'rmsNorm (no weight)', f: (x) => lb.rmsNorm(x), params: 0, tol: NORM, gen: { scale: 3 } },
  // Integer-valued data: every order of summation is exact.
  { name: 'sum', f: (x) => x.sum(-1), params: 0, tol: { exact: true }, gen: { ints: 8 } },
  { name: 'mean', f: (x) => x.mean(-1), params: 0, tol: { rtol: 1e-6 }, gen: { ints: 8 } },
  { name: 'max', f: (x) => x.max(-1), params: 0, tol: { exact: true }, gen: { special: 0.05 } },
  { name: 'min', f: (x) => x.min(-1, true), params: 0, tol: { exact: true }, gen: { special: 0.05 } },
];

const check = (op: OpCase, dtype: DType, x: Omit<InputSpec, 'dtype'>, cols: number, label: string) =>
  checkOp(op.f, [{ ...x, dtype, gen: x.gen ?? op.gen }, ...Array.from({ length: op.params }, () => ({ dtype, shape: [cols], gen: { scale: 2 } }))], {
    ...op.tol,
    seed: seedOf(`${op.name}${dtype}${label}`),
    label: `${op.name} ${dtype} ${label}`,
  });

describe('row lengths', () => {
  // Around the quad (4), one thread per row, the subgroup size, several quads per thread.
  const WIDTHS = [1, 2, 3, 4, 6, 8, 130, 1028, 4097];
  for (const op of OPS) {
    it.each(['f32', 'f16', 'bf16'] as const)(`${op.name} %s`, async (dtype) => {
      for (const w of WIDTHS) await check(op, dtype, { shape: [3, w] }, w, `[3, ${w}]`);
    });
  }
});

describe('input modes', () => {
  // [label, spec, viewed row length]
  const MODES: [string, Omit<InputSpec, 'dtype'>, number][] = [
    ['rows of a slice at an unaligned offset', { shape: [5, 8], view: (t) => t.slice([1, 4], [1, 7]) }, 6],
    ['column slice (row stride 12, offset 1)', { shape: [4, 12], view: (t) => t.slice(null, [1, 9]) }, 8],
    ['aligned column slice (row stride 12, offset 4)', { shape: [4, 12], view: (t) => t.slice(null, [4, 12]) }, 8],
    ['expanded rows (row stride 0)', { shape: [1, 8], view: (t) => t.expand([5, 8]) }, 8],
    ['transposed (value())', { shape: [8, 5], view: (t) => t.transpose() }, 8],
    ['lazy x * 2 + 1 (value())', { shape: [5, 8], view: (t) => t.mul(2).add(1) }, 8],
    ['lazy, rows of 130', { shape: [3, 130], view: (t) => t.mul(2).add(1) }, 130],
    ['one row', { shape: [1, 1028] }, 1028],
    ['many short rows', { shape: [600, 4] }, 4],
    ['many rows of 1', { shape: [700, 1] }, 1],
  ];
  for (const op of OPS) {
    it.each(['f32', 'f16'] as const)(`${op.name} %s`, async (dtype) => {
      for (const [label, x, w] of MODES) await check(op, dtype, x, w, label);
    });
  }

  it('the modes are the ones named', async () => {
    const dev = lb.device()!;
    const mode = (t: Tensor, cols: number) => {
      const input = asInput(t);
      try {
        return rowRead(input, fuse(input, false), t.size / cols, cols).mode;
      } finally {
        releaseInput(input);
      }
    };
    const x = lb.zeros([4, 12]);
    const views = lb.tidy(() => [x.slice(null, [4, 12]), x.slice(null, [1, 9]), x.slice([1, 3]), x.transpose(), x.add(1)]);
    expect(mode(x, 12)).toBe('vec');
    expect(mode(views[0], 8)).toBe('vec');
    expect(mode(views[1], 8)).toBe('direct');
    expect(mode(views[2], 12)).toBe('vec');
    expect(mode(views[3], 4)).toBe('value');
    expect(mode(views[4], 12)).toBe('value');
    expect(rowPlan(dev, 8, 4096, 'cached', 4).tpr).toBeLessThanOrEqual(256);
    for (const t of [x, ...views]) t.dispose();
  });
});

describe('special values', () => {
  const rows = (w: number) => [
    Array.from({ length: w }, (_, i) => (i === w - 1 ? NaN : i - 2)),
    Array.from({ length: w }, (_, i) => (i === 0 ? Infinity : i)),
    Array.from({ length: w }, () => -Infinity),
    Array.from({ length: w }, (_, i) => (i % 2 ? -0 : 0)),
    Array.from({ length: w }, (_, i) => (i % 3 === 1 ? -Infinity : i * 0.25)),
    Array.from({ length: w }, (_, i) => (i % 2 ? -0 : -0.5)),
  ].flat();
  for (const op of OPS) {
    it.each(['f32', 'f16', 'bf16'] as const)(`${op.name} %s: NaN, ±Inf, all -Inf, ±0`, async (dtype) => {
      for (const w of [3, 4, 7, 8, 130]) {
        await check(op, dtype, { shape: [6, w], data: encodeRaw(rows(w), dtype) }, w, `specials [6, ${w}]`);
      }
    });
  }
});

describe('adapters without subgroups or shader-f16', () => {
  const without = async (feature: 'subgroups' | 'f16', fn: () => Promise<void>) => {
    const features = lb.device()!.features as { subgroups: boolean; f16: boolean };
    const saved = features[feature];
    features[feature] = false;
    try {
      await fn();
    } finally {
      features[feature] = saved;
    }
  };
  for (const op of OPS) {
    it(`${op.name}: workgroup-memory folds`, async () => {
      await without('subgroups', async () => {
        for (const w of [6, 130, 1028]) await check(op, 'f32', { shape: [3, w] }, w, `no subgroups [3, ${w}]`);
        await check(op, 'f16', { shape: [40, 8] }, 8, 'no subgroups, many rows');
      });
    });
    it(`${op.name}: f16 decoded on the bits`, async () => {
      await without('f16', async () => {
        for (const w of [6, 8, 130]) await check(op, 'f16', { shape: [3, w] }, w, `no shader-f16 [3, ${w}]`);
        const w = 8;
        await check(op, 'f16', { shape: [6, w], gen: { special: 0.3 } }, w, 'no shader-f16, specials');
      });
    });
  }
});

describe('other plans: threads per row, workgroups looping over rows with the next row prefetched', () => {
  const PLANS = [
    { name: 'prefetch, 2 workgroups, 8 quads per thread', cached: { perThread: { 4: 8, 2: 8 }, prefetch: { 4: true, 2: true }, groups: { 4: 2, 2: 2 } }, stream: { perThread: { 4: 32, 2: 32 } } },
    { name: 'prefetch, 3 workgroups, 1 quad per thread', cached: { perThread: { 4: 1, 2: 1 }, prefetch: { 4: true, 2: true }, groups: { 4: 3, 2: 3 } }, stream: { perThread: { 4: 1, 2: 1 } } },
  ];
  for (const plan of PLANS) {
    for (const op of OPS) {
      it(`${plan.name}: ${op.name}`, async () => {
        const saved = structuredClone(ROW_TUNING);
        Object.assign(ROW_TUNING, { cached: plan.cached, stream: plan.stream });
        try {
          for (const dtype of ['f32', 'f16'] as const) {
            for (const [r, w] of [[7, 6], [5, 130], [3, 1028], [40, 4]]) await check(op, dtype, { shape: [r, w] }, w, `${plan.name} [${r}, ${w}]`);
          }
          const specials = encodeRaw(Array.from({ length: 48 }, (_, i) => [NaN, Infinity, -Infinity, -0, 1, 2][i % 7 % 6]), 'f32');
          await check(op, 'f32', { shape: [6, 8], data: specials }, 8, `${plan.name} specials`);
        } finally {
          Object.assign(ROW_TUNING, saved);
        }
      });
    }
  }
});

describe('edges', () => {
  it('size 0 and a 0-d softmax', async () => {
    for (const shape of [[0, 8], [3, 0]]) {
      const x = lb.zeros(shape, { dtype: 'f16' });
      const ys = [x.softmax(-1), lb.rmsNorm(x), x.sum(-1), lb.layerNorm(x)];
      for (const y of ys) expect((await y.data()).length).toBe(y.size);
      for (const t of [x, ...ys]) t.dispose();
    }
  });

  it('f16 outputs round to nearest even, overflow to Inf, keep subnormals', async () => {
    // sums near the f16 limits and in its subnormal range
    const data = encodeRaw([65504, 16, 2 ** -24, 2 ** -24, 2 ** -14, -(2 ** -24), 1, 2 ** -11], 'f16');
    await checkOp((x) => x.sum(-1), [{ dtype: 'f16', shape: [4, 2], data }], { exact: true });
    await checkOp((x) => x.mean(-1), [{ dtype: 'f16', shape: [4, 2], data }], { exact: true });
  });

  it('one dispatch for a 16-bit row sum and max', async () => {
    for (const dtype of ['f16', 'bf16'] as const) {
      const x = lb.tensor(new Float32Array(4 * 36).map((_, i) => i % 7), [4, 36], { dtype });
      await lb.eval(x);
      for (const f of [(t: Tensor) => t.sum(-1), (t: Tensor) => t.max(-1)]) {
        const before = lb.streamStats().dispatches;
        const y = f(x);
        await y.data();
        expect(lb.streamStats().dispatches - before, dtype).toBe(1);
        y.dispose();
      }
      x.dispose();
    }
  });
});
