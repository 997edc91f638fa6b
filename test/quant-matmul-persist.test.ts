// The persistent integer matvec (wgsl/matmul_quant.wgsl QMV8 with PERSIST: fewer workgroups than
// row blocks, each looping over blocks with its threads' x records in registers; FUSEX: those
// records computed from a in the matvec, no x pass; PIPE: the next block's loads first). Each config
// must give exactly the two-pass kernel's result (same records, same sums in the same order) and
// match the CPU reference: odd N, blocks left over after the last full round of workgroups, dead
// threads (units < wg * upt), NaN / ±Inf runs, rows as batch entries, f16 output, 8-bit x.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { QuantType } from '../src/cpu/quant.js';
import { withQuantConfig, type QuantConfig } from '../src/ops/matmul-quant.js';
import type { Matvec8Config } from '../src/ops/matmul-quant-i8.js';
import { subgroupMin } from '../src/runtime/device.js';
import { rng, seedOf, useGpu } from './helpers.js';
import { quantTensor, quantWeight, type Weight } from './quant-weight.js';

useGpu();

/** The smallest workgroup the integer matvec takes here (its subgroup size), at least `w`. */
const wgAtLeast = (w: number) => Math.max(w, subgroupMin(lb.device()!, 4));

const weight = (type: QuantType, n: number, k: number) => quantWeight('persist', type, n, k);

const qt = quantTensor;

/** Mixed magnitudes (2^-20 .. 2^10), signs and zeros. */
function xs(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : (rand() < 0.5 ? -1 : 1) * 2 ** (Math.floor(rand() * 30) - 20) * (1 + rand())));
}

/**
 * The persistent config `cfg` against the two-pass kernel (persist 0, same wg / upt / rows /
 * group): bit-identical (NaN where it has NaN); and, for exact x, against the CPU reference within
 * the exact kernels' tolerance.
 */
async function same(w: Weight, xv: Float32Array, cfg: Partial<Matvec8Config>, q8 = false, half = false): Promise<void> {
  const rows = xv.length / w.k;
  const x32 = lb.tensor(xv, [rows, w.k]);
  const x = half ? x32.cast('f16') : x32;
  const q = qt(w);
  const key = q8 ? 'i8' : 'i24';
  const base: Partial<Matvec8Config> = { ...cfg, persist: 0, fuse: false, pipe: false };
  const run = (c: Partial<Matvec8Config>) => withQuantConfig({ matvec: 'int', [key]: c } as QuantConfig, () => lb.matmul(x, q, { transB: true, quantizeActivations: q8 }));
  const xf = x.cast('f32');
  const wc = lb.tensor(w.values, [w.n, w.k], { device: 'cpu' });
  const made: lb.Tensor[] = [];
  const keep = <T extends lb.Tensor>(t: T): T => (made.push(t), t);
  const label = `${w.type} ${w.n}x${w.k} rows ${rows} ${JSON.stringify(cfg)}${q8 ? ' 8-bit' : ''}${half ? ' f16' : ''}`;
  try {
    const got = keep(run(cfg));
    const two = keep(run(base));
    const xc = keep(lb.tensor(await xf.data(), [rows, w.k], { device: 'cpu' }));
    const ref = keep(lb.matmul(xc, wc, { transB: true }));
    const mag = keep(lb.matmul(keep(lb.abs(xc)), keep(lb.abs(wc)), { transB: true }));
    const [g, t, want, bound] = [await got.data(), await two.data(), await ref.data(), await mag.data()];
    const diff: string[] = [];
    const bad: string[] = [];
    for (let i = 0; i < t.length; i++) {
      if (!Object.is(g[i], t[i]) && !(Number.isNaN(g[i]) && Number.isNaN(t[i])) && diff.length < 5) diff.push(`[${i}] ${g[i]} vs two-pass ${t[i]}`);
      if (q8) continue;
      const tol = half ? 2 ** -9 * (1 + Math.abs(want[i])) + 2e-6 * bound[i] : 2e-6 * bound[i] + 1e-5 * Math.abs(want[i]) + 1e-6;
      const ok = Number.isNaN(want[i]) ? Number.isNaN(g[i]) : !Number.isFinite(want[i]) ? g[i] === want[i] : Math.abs(g[i] - want[i]) <= tol;
      if (!ok && bad.length < 5) bad.push(`[${i}] got ${g[i]} want ${want[i]}`);
    }
    expect(diff, `${label}: persistent vs two-pass`).toEqual([]);
    expect(bad, `${label}: vs CPU reference`).toEqual([]);
  } finally {
    for (const t of new Set([x32, x, xf, q, wc, ...made])) t.dispose();
  }
}

describe('persistent integer matvec', () => {
  it('x24, q4_0: fused and not, pipelined and not; odd N, a partial last round of blocks, dead threads', async () => {
    // 37 rows in blocks of 4: 10 blocks over 3 workgroups (4, 3, 3 blocks); 41 units on 32 threads x 2.
    const w = weight('q4_0', 37, 1312);
    const x = xs(1312, 1);
    for (const cfg of [{ persist: 3, pipe: false }, { persist: 3, fuse: false, pipe: false }, { persist: 3 }, { persist: 1, fuse: false }]) {
      await same(w, x, { wg: wgAtLeast(32), upt: 2, rows: 4, group: 2, ...cfg });
    }
  });

  it('x24, every block family (q8_0, q4_k, q5_k, q6_k, q5_1): fused and pipelined, two rows of a', async () => {
    const cases: [QuantType, number, number][] = [['q8_0', 23, 512], ['q4_k', 19, 768], ['q5_k', 9, 512], ['q6_k', 11, 512], ['q5_1', 15, 320]];
    for (const [type, n, k] of cases) {
      await same(weight(type, n, k), xs(2 * k, seedOf(type)), { wg: wgAtLeast(16), upt: 1, rows: 4, group: 2, persist: 2 });
    }
  });

  it('x24: NaN and ±Inf runs give the reference IEEE results through the fused records', async () => {
    for (const type of ['q4_0', 'q4_k'] as const) {
      const w = weight(type, 21, 512);
      const x = Float32Array.from({ length: 3 * 512 }, (_, i) => Math.sin(i * 0.7));
      x[3] = Infinity;
      x[512 + 40] = -Infinity;
      x[512 + 300] = -Infinity;
      x[1024 + 77] = NaN;
      await same(w, x, { wg: wgAtLeast(16), upt: 2, rows: 4, group: 4, persist: 2, pipe: false });
    }
  });

  it('8-bit x (quantizeActivations): fused records equal the x pass', async () => {
    for (const type of ['q4_0', 'q4_k'] as const) {
      await same(weight(type, 27, 512), xs(512, 7), { wg: wgAtLeast(16), upt: 1, rows: 4, group: 4, persist: 3 }, true);
    }
  });

  it('f16 a and output (pairs of outputs per word), rows of a as batch entries', async () => {
    await same(weight('q4_0', 30, 256), xs(3 * 256, 9), { wg: wgAtLeast(8), upt: 1, rows: 6, group: 3, persist: 2 }, false, true);
  });

  it('configs a persistent matvec cannot run are refused with what to change', () => {
    const w = weight('q4_0', 8, 1312);
    const q = qt(w);
    const a = lb.ones([1, 1312]);
    try {
      // 41 units > 32 threads x 1 unit: one pass over K does not hold them.
      expect(() => withQuantConfig({ i24: { wg: 32, upt: 1, persist: 4 } }, () => lb.matmul(a, q, { transB: true }))).toThrow(/units of 32 > wg \* upt = 32; raise upt/);
      expect(() => withQuantConfig({ i24: { fuse: true } }, () => lb.matmul(a, q, { transB: true }))).toThrow(/fuse and pipe only with persist > 0/);
    } finally {
      a.dispose();
      q.dispose();
    }
  });
});
