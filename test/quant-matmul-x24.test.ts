// The integer matvec that runs lb.matmul(x, q, { transB: true }) at M = 1 (x as 23-bit integers per
// run in three 8-bit digit planes, integer dot products with the weight; wgsl/_quant_idot.wgsl X24)
// against the CPU reference: x spanning many magnitudes inside a run, ±0, subnormals, huge values,
// NaN / ±Inf (summed by the f32 decoder: IEEE results per row), forced configs with several passes
// over K, and the f32-decode kernel it replaces (matvec: 'float').
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { QUANT_TYPES, type QuantType } from '../src/cpu/quant.js';
import { integerPreferred, matvec8Config, recordBytes } from '../src/ops/matmul-quant-i8.js';
import { withQuantConfig, type QuantConfig } from '../src/ops/matmul-quant.js';
import { subgroupMin, type GpuDevice } from '../src/runtime/device.js';
import { rng, seedOf, useGpu } from './helpers.js';
import { quantTensor, quantWeight, type Weight } from './quant-weight.js';

useGpu();

const weight = (type: QuantType, n: number, k: number) => quantWeight('x24', type, n, k);

const qt = quantTensor;

/** GPU result for x ([rows, K]) against the CPU reference on the dequantized weight: within f32
 * rounding of the sums (|x| @ |w|^T) and x's rounding to 2^-22 of its run's max; NaN where the
 * reference has NaN, the same infinity where it has one. */
async function check(w: Weight, xv: Float32Array, label: string, config?: QuantConfig): Promise<void> {
  const rows = xv.length / w.k;
  const x = lb.tensor(xv, [rows, w.k]);
  const q = qt(w);
  const run = () => lb.matmul(x, q, { transB: true });
  // The integer matvec is the default for large weights only: forced here.
  const out = withQuantConfig(config ?? { matvec: 'int' }, run);
  const xc = lb.tensor(xv, [rows, w.k], { device: 'cpu' });
  const wc = lb.tensor(w.values, [w.n, w.k], { device: 'cpu' });
  const ref = lb.matmul(xc, wc, { transB: true });
  const xa = lb.abs(xc);
  const wa = lb.abs(wc);
  const mag = lb.matmul(xa, wa, { transB: true });
  try {
    const [got, want, bound] = [await out.data(), await ref.data(), await mag.data()];
    const bad: string[] = [];
    for (let i = 0; i < want.length; i++) {
      const tol = 2e-6 * bound[i] + 1e-5 * Math.abs(want[i]) + 1e-6;
      const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : !Number.isFinite(want[i]) ? got[i] === want[i] : Math.abs(got[i] - want[i]) <= tol;
      if (!ok && bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]}`);
    }
    expect(bad, label).toEqual([]);
  } finally {
    for (const t of [x, q, out, xc, wc, ref, xa, wa, mag]) t.dispose();
  }
}

/** Values over ~70 binary orders of magnitude (per element), signs mixed, zeros of both signs. */
function wide(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? (i % 2 ? -0 : 0) : (rand() < 0.5 ? -1 : 1) * 2 ** (Math.floor(rand() * 70) - 40) * (1 + rand())));
}

describe('integer matvec (x as 23-bit integers): accuracy', () => {
  for (const type of QUANT_TYPES) {
    it(`${type}: magnitudes from 2^-40 to 2^30 inside each run, ±0, two rows of a`, async () => {
      const w = weight(type, 19, 512);
      await check(w, wide(2 * 512, seedOf(type)), `${type} wide`);
    });
  }

  it('subnormal, tiny and huge runs (scales clamped to normal powers of two)', async () => {
    const w = weight('q4_0', 9, 128);
    const x = new Float32Array(4 * 128);
    for (let i = 0; i < 128; i++) {
      x[i] = (i % 3 - 1) * 1e-40 * (1 + i / 128); // subnormal
      x[128 + i] = Math.sin(i) * 1e-33; // below 2^-104: fewer bits kept, absolute error tiny
      x[256 + i] = Math.cos(i) * 3e36; // huge: products near the top of f32
      x[384 + i] = i === 5 ? 2e38 : Math.sin(i) * 1e-20; // one huge value among tiny ones
    }
    await check(w, x, 'extremes');
  });

  it('NaN and ±Inf: the rows get the reference IEEE results (NaN, +Inf or -Inf per output)', async () => {
    for (const type of ['q8_0', 'q4_k', 'q6_k'] as const) {
      const w = weight(type, 21, 256);
      const x = Float32Array.from({ length: 4 * 256 }, (_, i) => Math.sin(i * 0.7));
      x[3] = Infinity; // one Inf: +/-Inf or NaN (a zero weight) per output
      x[256 + 40] = -Infinity;
      x[256 + 200] = -Infinity;
      x[512 + 77] = NaN;
      await check(w, x, `${type} non-finite`);
    }
  });
});

describe('integer matvec: configs and the f32 kernel', () => {
  it('forced configs: several passes over K, units per thread, row groups', async () => {
    const w = weight('q4_0', 13, 1312); // 41 units per row
    const wk = weight('q5_k', 11, 2304); // 36 units per row
    // (Few configs: each is a pipeline compile, slow on software rasterizers.)
    await check(w, wide(1312, 1), 'q4_0 wg 32 upt 1', { i24: { wg: 32, upt: 1 } });
    await check(w, wide(1312, 1), 'q4_0 wg 32 upt 3 rows 6', { i24: { wg: 32, upt: 3, rows: 6, group: 3 } });
    await check(wk, wide(2304, 2), 'q5_k wg 32 upt 2 rows 2', { i24: { wg: 32, upt: 2, rows: 2, group: 1 } });
    const a = lb.ones([1, 1312]);
    const q = qt(w);
    expect(() => withQuantConfig({ i24: { rows: 3 } }, () => lb.matmul(a, q, { transB: true }))).toThrow(/integer matvec config/);
    expect(() => withQuantConfig({ matvec: 'fast' as 'int' }, () => lb.matmul(a, q, { transB: true }))).toThrow(/want 'int' or 'float'/);
    a.dispose();
    q.dispose();
  });

  it('workgroups with fewer threads than rows store every row (regression: rows past the thread count were never written)', async () => {
    const w = weight('q4_0', 37, 256);
    const sg = subgroupMin(lb.device()!, 4);
    for (const config of [{ i24: { wg: sg, rows: 32, group: 8 } }, { matvec: 'float', tpr: 1, groups: 4, rows: 5 }] as QuantConfig[]) {
      // A NaN-filled buffer of the output's size goes back to the pool first, so rows left unwritten show.
      const poison = lb.full([37], NaN);
      await poison.data();
      poison.dispose();
      await check(w, wide(256, 4), `few threads ${JSON.stringify(config)}`, config);
    }
  });

  it("matvec: 'float' runs the f32-decode kernel (same results within rounding)", async () => {
    for (const type of ['q8_0', 'q4_k'] as const) await check(weight(type, 17, 512), wide(512, 3), `${type} float`, { matvec: 'float' });
  });

  it('f16 a through a strided view, rows as batch entries, bias + residual + gelu + alpha: the integer and f32 kernels agree', async () => {
    const w = weight('q4_k', 10, 512);
    const q = qt(w);
    const rand = rng(9);
    const base = lb.tensor(Float32Array.from({ length: 3 * 600 }, () => rand() * 2 - 1), [3, 600], { dtype: 'f16' });
    const a = base.slice(null, [40, 552]);
    const bias = lb.tensor(Float32Array.from({ length: 10 }, () => rand()), [10]);
    const residual = lb.tensor(Float32Array.from({ length: 30 }, () => rand()), [3, 10]);
    const opts = { transB: true, bias, residual, activation: 'gelu' as const, alpha: 0.5 };
    const int = withQuantConfig({ matvec: 'int' }, () => lb.matmul(a, q, opts));
    const flt = withQuantConfig({ matvec: 'float' }, () => lb.matmul(a, q, opts));
    try {
      expect(int.dtype).toBe('f16');
      const [x, y] = [await int.data(), await flt.data()];
      for (let i = 0; i < y.length; i++) expect(Math.abs(x[i] - y[i]), `[${i}] ${x[i]} vs ${y[i]}`).toBeLessThanOrEqual(2 ** -9 * (1 + Math.abs(y[i])));
    } finally {
      for (const t of [q, base, a, bias, residual, int, flt]) t.dispose();
    }
  });

  it('the default: the integer matvec where its config is persistent (NVIDIA: one dispatch), else for large weights only', () => {
    // Stand-ins for the device fields the choice reads (family, subgroups, limits).
    const fake = (family: string) => ({
      fingerprint: { family, sizeClass: undefined }, features: { subgroups: true }, adapter: { info: { subgroupMinSize: 32 } },
      limits: { maxComputeInvocationsPerWorkgroup: 256 },
    }) as unknown as GpuDevice;
    const [nv, amd] = [fake('nvidia'), fake('amd')];
    expect(integerPreferred(amd, 32000, 4096, 'q4_0')).toBe(true);
    expect(integerPreferred(amd, 11008, 4096, 'q4_0')).toBe(false);
    expect(integerPreferred(amd, 4096, 16384, 'q4_0')).toBe(false);
    expect(integerPreferred(amd, 16384, 2048, 'q4_0')).toBe(false);
    expect(integerPreferred(amd, 16384, 4096, 'q4_0')).toBe(true);
    // NVIDIA: persistent (one unit of K per thread, two row blocks per workgroup) from 11008 x 4096 up.
    for (const type of ['q8_0', 'q4_0', 'q4_k'] as const) {
      expect(integerPreferred(nv, 11008, 4096, type), type).toBe(true);
      expect(integerPreferred(nv, 4096, 4096, type), type).toBe(false);
      expect(integerPreferred(nv, 4096, 11008, type), type).toBe(false);
    }
    expect(matvec8Config(nv, 32000, 4096, 'q4_0', {}, 'x24')).toEqual({ wg: 128, upt: 1, rows: 8, group: 4, persist: 528, fuse: true, pipe: true });
    expect(matvec8Config(nv, 32000, 4096, 'q8_0', {}, 'x24')).toMatchObject({ wg: 128, rows: 4, persist: 528 });
    expect(matvec8Config(nv, 32000, 4096, 'q4_k', {}, 'x8')).toMatchObject({ wg: 64, rows: 4, persist: 1056, fuse: true, pipe: true });
    expect(matvec8Config(nv, 32000, 4096, 'q4_k', {}, 'x24')).toMatchObject({ wg: 64, rows: 4, persist: 792 });
    // Measured types only: Q6_K / Q5_K keep the two-pass kernel.
    expect(matvec8Config(nv, 32000, 4096, 'q6_k', {}, 'x24')).toMatchObject({ persist: 0 });
    expect(matvec8Config(nv, 32000, 4096, 'q5_k', {}, 'x8')).toMatchObject({ persist: 0 });
    expect(matvec8Config(nv, 4096, 11008, 'q4_0', {}, 'x24')).toMatchObject({ upt: 3, persist: 0, fuse: false, pipe: false });
    expect(matvec8Config(amd, 32000, 4096, 'q4_0', {}, 'x24')).toMatchObject({ persist: 0, rows: 8 });
    // Forced: persist 0 gives the two-pass kernel; forced rows keep a persistent default.
    expect(matvec8Config(nv, 32000, 4096, 'q4_0', { persist: 0 }, 'x24')).toMatchObject({ persist: 0, fuse: false, pipe: false, rows: 8 });
    expect(matvec8Config(nv, 32000, 4096, 'q4_0', { rows: 16 }, 'x24')).toMatchObject({ persist: 528, rows: 16 });
  });

  it('record sizes: X24 three digit planes and two run headers per unit, X8 one plane and one header', () => {
    expect(recordBytes(32, 'x24')).toBe(128);
    expect(recordBytes(64, 'x24')).toBe(224);
    expect(recordBytes(32, 'x8')).toBe(48);
    expect(recordBytes(64)).toBe(80);
  });
});
