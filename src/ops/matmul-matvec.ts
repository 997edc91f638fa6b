// M = 1 kernels of wgsl/matvec.wgsl: the config as the kernel takes it (defaults filled in and
// clamped to what it can run), the per-thread loops generated as straight-line code over named
// variables (no indexed register arrays), and the persistent buffers of the fused split-K.
import type { GpuDevice } from '../runtime/device.js';
import { fusedScratch, type FusedScratch } from '../runtime/fused-scratch.js';
import type { MatvecConfig } from '../tune/table.js';
import { memoCode } from '../kernels/memo.js';

const floorPow2 = (x: number) => 2 ** Math.floor(Math.log2(Math.max(1, x)));

/** The dot kernel's shape: WG threads, TPR per row group, R rows per group, U loads in flight per row. */
export interface DotShape {
  wg: number;
  tpr: number;
  r: number;
  u: number;
  /** Rows per workgroup. */
  rows: number;
}

/**
 * `cfg` for the dot kernel: powers of two, TPR <= WG <= `maxThreads`; R 1..8, U 1..8. With 16-bit
 * outputs (`pairs`) a workgroup covers an even number of rows (two share a word).
 */
export function dotShape(cfg: MatvecConfig, maxThreads: number, pairs: boolean): DotShape {
  const wg = floorPow2(Math.min(cfg.wg ?? 256, maxThreads, 1024));
  const r = Math.max(1, Math.min(8, Math.round(cfg.rows ?? 1)));
  const u = Math.max(1, Math.min(8, Math.round(cfg.unroll ?? 4)));
  let tpr = Math.min(floorPow2(cfg.tpr), wg);
  if (pairs && r % 2 === 1 && tpr === wg) tpr = Math.max(1, wg / 2);
  return { wg, tpr, r, u, rows: (wg / tpr) * r };
}

/**
 * The axpy kernel's shape: WG threads, CT column threads of C columns, U k rows in flight; with
 * `cts` (the subgroup variant, SGK) a subgroup of `sg` lanes is cts column lanes x sg / cts k lanes.
 */
export interface AxpyShape {
  wg: number;
  ct: number;
  c: 4 | 8;
  u: number;
  cts?: number;
  sg?: number;
}

/**
 * The device's subgroup size where every subgroup has it (min = max, a power of two >= 4: the
 * subgroup variant's code is generated for it), else 0.
 */
export function fixedSubgroup(dev: GpuDevice): number {
  if (!dev.features.subgroups) return 0;
  const info = dev.adapter.info as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
  const n = info?.subgroupMinSize ?? 0;
  return n >= 4 && n === info?.subgroupMaxSize && (n & (n - 1)) === 0 ? n : 0;
}

/**
 * `cfg` for the axpy kernel; 8 columns per thread only where B allows 8-element loads (`v8`).
 * `cfg.sg` (column lanes per row in a subgroup) takes the subgroup variant where the device has a
 * fixed subgroup size `sg`, C = 8 and the ct / cts column subgroups fit the workgroup; else plain.
 */
export function axpyShape(cfg: MatvecConfig, maxThreads: number, v8: boolean, sg = 0): AxpyShape {
  const wg = floorPow2(Math.min(cfg.wg ?? 256, maxThreads, 1024));
  const ct = Math.min(floorPow2(cfg.ct), wg);
  const u = Math.max(1, Math.min(8, Math.round(cfg.unroll ?? 4)));
  const c = cfg.cols === 8 && v8 ? 8 : 4;
  const base: AxpyShape = { wg, ct, c, u };
  if (!cfg.sg || !sg || c !== 8 || wg < sg) return base;
  const cts = Math.min(floorPow2(cfg.sg), sg, ct);
  return ct / cts <= wg / sg ? { ...base, cts, sg } : base;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * DOT_LOOP: accumulators acc0..acc{R-1}, the k loop (U steps of TPR x 4 or 8 elements at a time,
 * then single steps) and each row's partial sum stored to red[r * WG + lid]. With `v8` (rows
 * 8-aligned, K % 8 = 0) rows load unchecked, so rows past N read row N - 1.
 */
function dotLoopUncached(r: number, u: number, v8: boolean): string {
  const R = range(r);
  const U = range(u);
  const out: string[] = R.map((i) => `var acc${i} = vec4<f32>(0.0);`);
  const w = v8 ? 8 : 4;
  if (v8) {
    out.push('let last = params.n - 1u;');
    for (const i of R) out.push(`let row${i} = b_base + min(n0 + ${i}u, last) * params.b_rs;`);
  }
  const x = (at: string) => (v8 ? `load8_a(a_base + ${at})` : `load_a(a_base, 0u, ${at}, 1u, params.k)`);
  const b = (i: number, at: string) => (v8 ? `load8_b(row${i} + ${at})` : `load_b(b_base, n0 + ${i}u, ${at}, params.n, params.k)`);
  const fma = (bv: string, xv: string) => (v8 ? `${bv}[0] * ${xv}[0] + ${bv}[1] * ${xv}[1]` : `${bv} * ${xv}`);
  const at = (j: number) => (j === 0 ? 'k' : `k + ${j}u * step`);
  out.push(`let step = TPR * ${w}u;`, `var k = lane * ${w}u;`);
  out.push(`for (; ${u > 1 ? `k + ${u - 1}u * step` : 'k'} < params.k; k = k + ${u}u * step) {`);
  for (const j of U) out.push(`  let x${j} = ${x(at(j))};`);
  for (const i of R) for (const j of U) out.push(`  let b${i}_${j} = ${b(i, at(j))};`);
  for (const i of R) out.push(`  acc${i} = acc${i} + ${U.map((j) => fma(`b${i}_${j}`, `x${j}`)).join(' + ')};`);
  out.push('}');
  if (u > 1) {
    out.push('for (; k < params.k; k = k + step) {', `  let x0 = ${x('k')};`);
    for (const i of R) out.push(`  let b${i} = ${b(i, 'k')};`, `  acc${i} = acc${i} + ${fma(`b${i}`, 'x0')};`);
    out.push('}');
  }
  for (const i of R) out.push(`red[${i}u * WG + lid] = (acc${i}.x + acc${i}.y) + (acc${i}.z + acc${i}.w);`);
  return out.join('\n  ');
}

/**
 * AXPY_LOOP: accumulators acc0 (columns n..n+3) and with C = 8 acc1 (n+4..n+7), the loop over the
 * thread's k rows kbeg + kl, + KL, ... below kend (U at a time, then single), stored to
 * red[c * WG + lid]. C = 8 loads 8 elements unchecked: N % 8 = 0 and 8-aligned rows.
 */
function axpyLoopUncached(c: 4 | 8, u: number, toRed = true): string {
  const U = range(u);
  const cv = c / 4;
  const out: string[] = range(cv).map((i) => `var acc${i} = vec4<f32>(0.0);`);
  const kk = (j: number) => (j === 0 ? 'k' : `k + ${j}u * KL`);
  const b = (j: number) => (c === 8 ? `load8_b(b_base + (${kk(j)}) * params.b_rs + n)` : `load_b(b_base, ${kk(j)}, n, kend, params.n)`);
  const acc = (js: number[], suffix: (j: number) => string) =>
    range(cv).map((i) => `    acc${i} = acc${i} + ${js.map((j) => `b${suffix(j)}${c === 8 ? `[${i}]` : ''} * x${suffix(j)}`).join(' + ')};`);
  out.push('if (n < params.n) {', '  var k = kbeg + kl;');
  out.push(`  for (; ${u > 1 ? `k + ${u - 1}u * KL` : 'k'} < kend; k = k + ${u}u * KL) {`);
  for (const j of U) out.push(`    let x${j} = elem_a(a_base + (${kk(j)}) * params.a_cs);`);
  for (const j of U) out.push(`    let b${j} = ${b(j)};`);
  out.push(...acc(U, (j) => String(j)), '  }');
  if (u > 1) {
    out.push('  for (; k < kend; k = k + KL) {', `    let x = elem_a(a_base + k * params.a_cs);`, `    let b = ${b(0)};`);
    out.push(...acc([0], () => ''), '  }');
  }
  out.push('}');
  if (toRed) for (const i of range(cv)) out.push(`red[${i}u * WG + lid] = acc${i};`);
  return out.join('\n  ');
}

/**
 * SG_RED: the 8 column sums acc0, acc1 of a lane summed over its subgroup's sg / cts k lanes (lane
 * bits cts, 2 cts, ...), transposed: at each of the first three k bits a lane keeps half of its
 * columns (the upper half where its bit is set) and adds its partner's copy of that half (8 / h
 * shuffles of h values instead of 8 full reductions); past 8 k lanes the one value left is summed
 * by plain xor shuffles. The lanes whose higher k bits are 0 store their columns to redf.
 */
function sgReduceUncached(cts: number, sg: number): string {
  let vals = ['acc0.x', 'acc0.y', 'acc0.z', 'acc0.w', 'acc1.x', 'acc1.y', 'acc1.z', 'acc1.w'];
  const out: string[] = [];
  const offs: string[] = [];
  let level = 0;
  for (let m = cts; m < sg; m *= 2, level++) {
    if (vals.length > 1) {
      const h = vals.length / 2;
      out.push(`let up${level} = (sl & ${m}u) != 0u;`);
      const next = range(h).map((j) => `r${level}_${j}`);
      for (const j of range(h)) {
        const [lo, hi] = [vals[j], vals[j + h]];
        out.push(`let r${level}_${j} = select(${lo}, ${hi}, up${level}) + subgroupShuffleXor(select(${hi}, ${lo}, up${level}), ${m}u);`);
      }
      offs.push(`select(0u, ${h}u, up${level})`);
      vals = next;
    } else {
      out.push(`let r${level}_0 = ${vals[0]} + subgroupShuffleXor(${vals[0]}, ${m}u);`);
      vals = [`r${level}_0`];
    }
  }
  out.push(`if (ks < ${8 / vals.length}u) {`, `  let o = kg * CWN + cl + ${offs.length ? offs.join(' + ') : '0u'};`);
  vals.forEach((v, j) => out.push(`  redf[o + ${j}u] = ${v};`));
  out.push('}');
  return out.join('\n  ');
}

/** The axpy kernel's shape defines (WG, CT, C, the generated loop; SGK's subgroup size and reduction). */
export function axpyDefines(s: AxpyShape): Record<string, string | number | boolean> {
  const common = { WG: s.wg, CT: s.ct, C: s.c };
  if (!s.cts || !s.sg) return { ...common, AXPY_LOOP: axpyLoop(s.c, s.u) };
  return { ...common, SGK: true, SG: s.sg, CTS: s.cts, AXPY_LOOP: axpyLoop(s.c, s.u, false), SG_RED: sgReduce(s.cts, s.sg) };
}

/** Largest partials buffer kept for the fused split-K (past it the REDUCE pass runs). */
export const MATVEC_SCRATCH_MAX_BYTES = 16 * 2 ** 20;

/** The fused split-K's buffers (src/runtime/fused-scratch.ts), or null: run the REDUCE pass. */
export const matvecScratch = (dev: GpuDevice, words: number, counters: number): FusedScratch | null =>
  fusedScratch(dev, 'matvec split-K', words, counters, MATVEC_SCRATCH_MAX_BYTES);

/** dotLoop, built once per distinct arguments (src/kernels/memo.ts). */
export const dotLoop = memoCode(dotLoopUncached);
/** axpyLoop, built once per distinct arguments (src/kernels/memo.ts). */
export const axpyLoop = memoCode(axpyLoopUncached);
/** sgReduce, built once per distinct arguments (src/kernels/memo.ts). */
export const sgReduce = memoCode(sgReduceUncached);
