// Quantized matmul (lb.matmul(a, q, { transB: true })) against the CPU reference: the weight
// dequantized on the CPU, then the reference matmul. Every block type through the M = 1 kernel and
// the tiled one, K of 1..3 blocks, odd N, batched and 1-D a, every epilogue, f16 / bf16 a, views,
// forced kernel configs, size 0, and the errors.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { dequantizeBlocks, QUANT_LAYOUT, QUANT_TYPES, type QuantType } from '../src/cpu/quant.js';
import { quantize } from '../src/cpu/quantize.js';
import { withQuantConfig, type QuantConfig } from '../src/ops/matmul-quant.js';
import { rng, seedOf, useGpu } from './helpers.js';

useGpu();

interface Weight {
  type: QuantType;
  n: number;
  k: number;
  raw: Uint8Array;
  values: Float32Array;
}

function weight(type: QuantType, n: number, k: number, seed = seedOf(`${type}${n}x${k}`)): Weight {
  const rand = rng(seed);
  const x = Float32Array.from({ length: n * k }, () => (rand() * 2 - 1) * 2);
  const raw = quantize(type, x);
  return { type, n, k, raw, values: dequantizeBlocks(type, raw, n * k) };
}

function quantized(w: Weight, device: 'gpu' | 'cpu' = 'gpu'): lb.QuantizedTensor {
  const words = new Uint32Array(Math.ceil(w.raw.length / 4));
  new Uint8Array(words.buffer).set(w.raw);
  return new lb.QuantizedTensor(w.type, [w.n, w.k], lb.tensor(words, [words.length], { dtype: 'u32', device }));
}

const randn = (rand: () => number, n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);

interface Case {
  a: { shape: number[]; dtype?: lb.DType; view?: (t: lb.Tensor) => lb.Tensor };
  bias?: number[];
  residual?: number[];
  opts?: Omit<lb.MatmulOptions, 'bias' | 'residual'>;
  config?: QuantConfig;
}

/** Runs the case on the GPU and on the CPU reference (same values) and compares. */
async function check(w: Weight, c: Case, label: string): Promise<void> {
  const rand = rng(seedOf(label));
  const dtype = c.a.dtype ?? 'f32';
  const make = (shape: number[], dt: lb.DType = 'f32') => {
    const v = randn(rand, shape.reduce((x, y) => x * y, 1));
    return { gpu: lb.tensor(v, shape, { dtype: dt }), cpu: lb.tensor(v, shape, { dtype: dt, device: 'cpu' }) };
  };
  const made: lb.Tensor[] = [];
  const keep = <T extends lb.Tensor>(t: T) => (made.push(t), t);
  try {
    const a = make(c.a.shape, dtype);
    made.push(a.gpu, a.cpu);
    const ag = c.a.view ? keep(c.a.view(a.gpu)) : a.gpu;
    const ac = c.a.view ? keep(c.a.view(a.cpu)) : a.cpu;
    const bias = c.bias && make(c.bias);
    const residual = c.residual && make(c.residual);
    for (const t of [bias, residual]) if (t) made.push(t.gpu, t.cpu);
    const q = quantized(w);
    const wc = keep(lb.tensor(w.values, [w.n, w.k], { device: 'cpu' }));
    const opts = { transB: true, ...c.opts };
    let got: Float32Array;
    try {
      const run = () => lb.matmul(ag, q, { ...opts, bias: bias?.gpu, residual: residual?.gpu });
      const out = keep(c.config ? withQuantConfig(c.config, run) : run());
      expect(out.dtype).toBe(dtype);
      got = (await out.data()) as Float32Array;
    } finally {
      q.dispose();
    }
    const ref = keep(lb.matmul(ac, wc, { ...opts, bias: bias?.cpu, residual: residual?.cpu }));
    // |a| @ |w|^T bounds the f32 rounding of the sums.
    const mag = keep(lb.matmul(keep(lb.abs(ac)), keep(lb.abs(wc)), { transB: true, transA: opts.transA }));
    const out = keep(ref.cast(dtype));
    const want = await ref.data();
    const scale = await mag.data();
    const rounded = await out.data();
    expect(got.length).toBe(want.length);
    const ulp = dtype === 'bf16' ? 2 ** -8 : dtype === 'f16' ? 2 ** -11 : 0;
    const bad: string[] = [];
    const mShape = ref.shape;
    for (let i = 0; i < want.length; i++) {
      const s = scale[i % scale.length] * Math.abs(opts.alpha ?? 1);
      const tol = 2e-6 * s + 1e-5 * Math.abs(want[i]) + 1e-6 + 2 * ulp * Math.abs(want[i]);
      const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= tol || got[i] === rounded[i];
      if (!ok && bad.length < 6) bad.push(`[${i}] got ${got[i]} want ${want[i]} (tol ${tol.toExponential(2)})`);
    }
    expect(bad, `${label}: shape [${mShape}]`).toEqual([]);
  } finally {
    for (const t of made) t.dispose();
  }
}

const kBlocks = (type: QuantType, blocks: number) => QUANT_LAYOUT[type].block * blocks;

describe('quantized matmul: every block type', () => {
  for (const type of QUANT_TYPES) {
    it(`${type}: M = 1, 7, 64; K = 1, 2, 3 blocks; N = 131`, async () => {
      for (const blocks of [1, 2, 3]) {
        const w = weight(type, 131, kBlocks(type, blocks));
        for (const m of [1, 7, 64]) {
          if (blocks !== 3 && m === 64) continue; // keep lavapipe time down: M = 64 once per type
          await check(w, { a: { shape: [m, w.k] } }, `${type} M ${m} K ${w.k}`);
        }
      }
    });
  }
});

describe('quantized matmul: shapes, views, dtypes', () => {
  const w8 = weight('q8_0', 37, 64);
  const w4 = weight('q4_0', 50, 96);
  const wk = weight('q4_k', 9, 512);

  it('1-D a, batched a (folded into M and not), transA', async () => {
    await check(w8, { a: { shape: [64] } }, '1-D');
    await check(w4, { a: { shape: [2, 3, 96] } }, 'batched, folded');
    await check(w4, { a: { shape: [2, 1, 96] } }, 'batched M = 1, folded');
    // [5, 2, K] permuted to [2, 5, K]: batch stride K, row stride 2K do not merge, so z = batch.
    await check(w4, { a: { shape: [5, 2, 96], view: (t) => t.permute([1, 0, 2]) } }, 'batched, strided');
    await check(w4, { a: { shape: [1, 3, 96], view: (t) => t.permute([1, 0, 2]) }, residual: [3, 1, 50] }, 'batched M = 1 strided');
    await check(wk, { a: { shape: [512, 6], view: (t) => t }, opts: { transA: true } }, 'transA');
    await check(w8, { a: { shape: [1, 64], view: (t) => t }, opts: { transA: false } }, 'M = 1 2-D');
  });

  it('N a multiple of 4 (vector stores in the tiled kernel, single ones in the matvec)', async () => {
    // Regression: the matvec was compiled with a vec4 output binding when N % 4 = 0.
    const w = weight('q4_0', 64, 64);
    for (const m of [1, 5]) await check(w, { a: { shape: [m, 64] }, bias: [64] }, `N 64 M ${m}`);
  });

  it('views of a: sliced rows and columns, unaligned offsets', async () => {
    await check(w8, { a: { shape: [4, 65], view: (t) => t.slice(null, [1, 65]) } }, 'offset 1 columns');
    await check(w8, { a: { shape: [3, 64], view: (t) => t.slice([2, 3]) } }, 'one row at offset 128');
    await check(w8, { a: { shape: [2, 64], view: (t) => lb.tidy(() => t.slice([1, 2]).reshape([64])) } }, '1-D at offset 64');
    await check(wk, { a: { shape: [7, 513], view: (t) => t.slice([1, 6], [1, 513]) } }, 'q4_k sliced');
  });

  it('every epilogue on both kernels', async () => {
    // M = 5 runs the matvec once per row (rows as batch entries); the tiled kernel is forced below.
    for (const m of [1, 5]) {
      // Each activation once per kernel would compile 8 variants; M = 5 takes one.
      for (const activation of m === 1 ? ([undefined, 'relu', 'gelu', 'silu'] as const) : (['gelu'] as const)) {
        await check(w4, { a: { shape: [m, 96] }, bias: [50], residual: [m, 50], opts: { activation, alpha: 0.75 } }, `M ${m} ${activation}`);
      }
      await check(wk, { a: { shape: [2, m, 512] }, bias: [1, 9], residual: [2, 1, 9] }, `M ${m} broadcast epilogue`);
      await check(w8, { a: { shape: [m, 64] }, residual: [37], opts: { alpha: -2 } }, `M ${m} residual only`);
    }
  });

  it('the tiled kernel: every epilogue, split-K (forced and by occupancy) with its reduce pass', async () => {
    for (const config of [{ tiled: true }, { tiled: true, splits: 3 }] as QuantConfig[]) {
      const tag = JSON.stringify(config);
      await check(w4, { a: { shape: [5, 96] }, bias: [50], residual: [5, 50], opts: { activation: 'gelu', alpha: 0.75 }, config }, `${tag} gelu`);
      await check(wk, { a: { shape: [2, 3, 512] }, bias: [1, 9], residual: [2, 1, 9], config }, `${tag} broadcast epilogue`);
      await check(w8, { a: { shape: [3, 64], dtype: 'f16' }, residual: [37], opts: { alpha: -2 }, config }, `${tag} f16 residual only`);
    }
    // K = 1024 with few tiles splits by itself (N = 37: one column of tiles).
    const long = weight('q8_0', 37, 1024);
    await check(long, { a: { shape: [20, 1024] }, bias: [37] }, 'tiled, split by occupancy');
  });

  it('few rows of a: the matvec once per row up to 16 rows, tiles from 17', async () => {
    for (const m of [2, 16, 17]) await check(w4, { a: { shape: [m, 96] }, bias: [50], residual: [m, 1] }, `M ${m}`);
    // Rows of a strided view (every other row) and a batch with rows: the rows become batch entries.
    await check(w8, { a: { shape: [8, 64], view: (t) => lb.tidy(() => t.reshape([4, 2, 64]).slice(null, [0, 1])) } }, 'strided rows');
    await check(wk, { a: { shape: [3, 4, 512], view: (t) => t.permute([1, 0, 2]) }, residual: [4, 3, 9] }, 'batched rows, permuted');
  });

  it('f16 and bf16 a give f16 and bf16 results (odd and even N)', async () => {
    const even = weight('q6_k', 10, 256);
    for (const dtype of ['f16', 'bf16'] as const) {
      for (const m of [1, 6]) {
        await check(w4, { a: { shape: [m, 96], dtype }, bias: [50] }, `${dtype} M ${m} N 50`);
        await check(w8, { a: { shape: [m, 64], dtype } }, `${dtype} M ${m} N 37`);
        await check(even, { a: { shape: [m, 256], dtype }, opts: { activation: 'silu' } }, `${dtype} M ${m} q6_k`);
      }
      await check(w4, { a: { shape: [96], dtype } }, `${dtype} 1-D`);
    }
  });

  it('forced configs: threads per row, groups, rows per group, unrolled units, x chunks, the tiled kernel at M = 1', async () => {
    const configs: QuantConfig[] = [
      { tpr: 4, groups: 64, rows: 1 }, { tpr: 8, groups: 4, rows: 3, unroll: 3 }, { tpr: 64, groups: 4, rows: 4, unroll: 2 },
      { tpr: 256, groups: 1, rows: 2 }, { tpr: 1, groups: 4, rows: 5, unroll: 4 }, { tpr: 16, groups: 2, rows: 2, xc: 256 }, { tiled: true },
    ];
    // The f32-decode matvec (where subgroups let the integer one run by default).
    for (const forcedConfig of configs) {
      const config: QuantConfig = { ...forcedConfig, matvec: 'float' };
      await check(wk, { a: { shape: [1, 512] }, bias: [9] }, `q4_k ${JSON.stringify(config)}`);
      await check(w4, { a: { shape: [1, 96], dtype: 'f16' } }, `q4_0 f16 ${JSON.stringify(config)}`);
    }
  });

  it('NaN and Inf in a propagate to their rows', async () => {
    const q = quantized(w8);
    const v = new Float32Array(3 * 64).fill(0.5);
    v[5] = NaN;
    v[64 + 7] = Infinity;
    const a = lb.tensor(v, [3, 64]);
    for (const m of [3, 1]) {
      const x = m === 3 ? a : a.slice([0, 1]);
      const out = lb.matmul(x, q, { transB: true });
      const y = await out.data();
      expect(Array.from(y.subarray(0, 37)).every(Number.isNaN)).toBe(true);
      if (m === 3) {
        expect(Array.from(y.subarray(37, 74)).every((z) => !Number.isFinite(z))).toBe(true);
        expect(Array.from(y.subarray(74)).every(Number.isFinite)).toBe(true);
      }
      out.dispose();
      if (x !== a) x.dispose();
    }
    a.dispose();
    q.dispose();
  });
});

describe('quantized matmul: edges and errors', () => {
  it('size 0: M = 0 and N = 0', async () => {
    const q = quantized(weight('q4_0', 3, 32));
    const a = lb.zeros([0, 32]);
    const out = lb.matmul(a, q, { transB: true });
    expect(out.shape).toEqual([0, 3]);
    expect((await out.data()).length).toBe(0);
    out.dispose();
    a.dispose();
    q.dispose();
    const empty = new lb.QuantizedTensor('q8_0', [0, 32], lb.zeros([0], { dtype: 'u32' }));
    const x = lb.ones([2, 32]);
    const y = lb.matmul(x, empty, { transB: true });
    expect(y.shape).toEqual([2, 0]);
    y.dispose();
    x.dispose();
    empty.dispose();
  });

  it('Tensor.matmul takes a QuantizedTensor like lb.matmul (typed, same result)', async () => {
    const w = weight('q4_0', 6, 64);
    const q = quantized(w);
    const a = lb.tensor(randn(rng(7), 2 * 64), [2, 64]);
    // The method's signature accepts the quantized weight (a type error before).
    const viaMethod: lb.Tensor = a.matmul(q, { transB: true, activation: 'relu' });
    const viaOp = lb.matmul(a, q, { transB: true, activation: 'relu' });
    expect(viaMethod.shape).toEqual([2, 6]);
    expect(Array.from(await viaMethod.data())).toEqual(Array.from(await viaOp.data()));
    expect(() => a.matmul(q)).toThrow(/pass \{ transB: true \}/);
    for (const t of [viaMethod, viaOp, a, q]) t.dispose();
  });

  it('the CPU device dequantizes and runs the reference', async () => {
    const w = weight('q5_k', 5, 256);
    const q = quantized(w, 'cpu');
    const a = lb.tensor(randn(rng(1), 2 * 256), [2, 256], { device: 'cpu' });
    const wc = lb.tensor(w.values, [5, 256], { device: 'cpu' });
    const got = lb.matmul(a, q, { transB: true, activation: 'relu' });
    const want = lb.matmul(a, wc, { transB: true, activation: 'relu' });
    expect(got.device).toBe('cpu');
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    for (const t of [got, want, a, wc, q]) t.dispose();
  });

  it('bad forced configs are refused', () => {
    const q = quantized(weight('q8_0', 4, 64));
    const a = lb.ones([64]);
    for (const config of [{ tpr: 3 }, { tpr: 64, groups: 8 }, { rows: 9 }, { unroll: 0 }, { xc: 100 }, { xc: 65536 }]) {
      expect(() => withQuantConfig(config, () => lb.matmul(a, q, { transB: true })), JSON.stringify(config)).toThrow(/quantized matvec config/);
    }
    a.dispose();
    q.dispose();
  });

  it('typed errors: no transB, K mismatch, non-2-D weights, devices, dtypes, disposed', async () => {
    const q = quantized(weight('q8_0', 4, 64));
    const a = lb.ones([2, 64]);
    expect(() => lb.matmul(a, q)).toThrow(lb.ShapeError);
    expect(() => lb.matmul(a, q)).toThrow(/pass \{ transB: true \}/);
    const short = lb.ones([2, 32]);
    expect(() => lb.matmul(short, q, { transB: true })).toThrow(/K = 32, b gives K = 64/);
    const q3 = new lb.QuantizedTensor('q8_0', [2, 2, 32], q.storage);
    expect(() => lb.matmul(a, q3, { transB: true })).toThrow(/2-D weight \[N, K\], got shape \[2,2,32\]/);
    const ints = lb.ones([2, 64], { dtype: 'i32' });
    expect(() => lb.matmul(ints, q, { transB: true })).toThrow(lb.DTypeError);
    const onCpu = lb.ones([2, 64], { device: 'cpu' });
    expect(() => lb.matmul(onCpu, q, { transB: true })).toThrow(lb.GpuValidationError);
    const bias = lb.ones([5]);
    expect(() => lb.matmul(a, q, { transB: true, bias })).toThrow(/bias of shape \[5\]/);
    for (const t of [short, ints, onCpu, bias]) t.dispose();
    q.dispose();
    expect(() => lb.matmul(a, q, { transB: true })).toThrow(/was disposed/);
    a.dispose();
  });

  it('QuantizedTensor checks its shape and blocks', () => {
    const words = lb.zeros([4], { dtype: 'u32' });
    expect(() => new lb.QuantizedTensor('q8_0', [2, 16], words)).toThrow(/whole blocks of 32/);
    expect(() => new lb.QuantizedTensor('q8_0', [1, 32], words)).toThrow(/at least 9 words/);
    expect(() => new lb.QuantizedTensor('q9' as QuantType, [32], words)).toThrow(/unknown block type 'q9'/);
    words.dispose();
  });
});
