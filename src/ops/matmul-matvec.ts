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

/** The axpy kernel's shape: WG threads, CT column threads of C columns, U k rows in flight. */
export interface AxpyShape {
  wg: number;
  ct: number;
  c: 4 | 8;
  u: number;
}

/** `cfg` for the axpy kernel; 8 columns per thread only where B allows 8-element loads (`v8`). */
export function axpyShape(cfg: MatvecConfig, maxThreads: number, v8: boolean): AxpyShape {
  const wg = floorPow2(Math.min(cfg.wg ?? 256, maxThreads, 1024));
  const ct = Math.min(floorPow2(cfg.ct), wg);
  const u = Math.max(1, Math.min(8, Math.round(cfg.unroll ?? 4)));
  return { wg, ct, c: cfg.cols === 8 && v8 ? 8 : 4, u };
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
function axpyLoopUncached(c: 4 | 8, u: number): string {
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
  for (const i of range(cv)) out.push(`red[${i}u * WG + lid] = acc${i};`);
  return out.join('\n  ');
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
