// The f32-decode quantized matvec (wgsl/matmul_quant.wgsl QMV: exact x, the M = 1 kernel below
// the integer matvec's size threshold or without subgroups): its config per GPU family and its
// generated per-thread code.
import { LbrxError } from '../errors.js';
import type { QuantType } from '../formats/quant.js';
import type { GpuDevice } from '../runtime/device.js';
import type { QuantConfig } from './matmul-quant.js';
import { memoCode } from '../kernels/memo.js';

export type MatvecQuantConfig = Required<Omit<QuantConfig, 'tiled' | 'splits' | 'i8' | 'i24' | 'matvec' | 'prefill'>>;

/**
 * Defaults per GPU family, measured on the H100 (bench/results/quant-notes.md): 8 groups of a
 * warp, 2 rows each, so a staged x chunk serves 16 rows; `unroll` (units whose loads a thread
 * issues together) by block type: more words in flight per thread until registers run short
 * (Q4_0 11008 x 4096: unroll 2 1126 GB/s, 1 1069, 4 1060; Q4_K: 1 1066, 2 977, 4 566). Software
 * rasterizers run a workgroup as a loop: small groups there.
 */
const DEFAULTS: Record<string, Omit<MatvecQuantConfig, 'unroll'>> = {
  nvidia: { tpr: 32, groups: 8, rows: 2, xc: 4096 },
  software: { tpr: 8, groups: 4, rows: 2, xc: 2048 },
  generic: { tpr: 32, groups: 8, rows: 2, xc: 4096 },
};

/** Units per load group by block type (words per unit: 5-6 for the 32-blocks, 9 for Q8_0, 13 for Q6_K, 12-20 for Q4_K / Q5_K). */
function defaultUnroll(type: QuantType, family: string): number {
  if (family === 'software') return 1;
  return type === 'q4_k' || type === 'q5_k' ? 1 : 2;
}

/** Elements per matvec unit (wgsl/_quant.wgsl QU). */
export const matvecUnit = (type: QuantType): number => (type === 'q4_k' || type === 'q5_k' ? 64 : 32);

const pow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;

/** Workgroup bytes of the matvec: staged x (one pad vec4 per unit of `qu`) and the partial sums. */
export function matvecSharedBytes(c: MatvecQuantConfig, qu: number): number {
  return (c.xc / 4 + c.xc / qu) * 16 + c.groups * c.rows * (c.tpr + 1) * 4;
}

/**
 * The M = 1 config for a weight of K columns: the forced fields over the family default, the x
 * chunk no longer than K needs (rounded to a power of two, at least 256) and halved until the
 * workgroup memory fits the device.
 */
export function matvecConfig(dev: GpuDevice, k = 4096, type: QuantType = 'q4_0', forced: QuantConfig = {}): MatvecQuantConfig {
  const family = dev.fingerprint.family;
  const base = { ...(DEFAULTS[family] ?? DEFAULTS.generic), unroll: defaultUnroll(type, family) };
  const qu = matvecUnit(type);
  const { tiled: _t, splits: _s, i8: _i, i24: _j, matvec: _m, ...matvecFields } = forced;
  const c = { ...base, ...Object.fromEntries(Object.entries(matvecFields).filter(([, v]) => v !== undefined)) } as MatvecQuantConfig;
  const wg = c.tpr * c.groups;
  const ok = pow2(c.tpr) && pow2(c.groups) && wg <= Math.min(256, dev.limits.maxComputeInvocationsPerWorkgroup) && wg >= 4 &&
    Number.isInteger(c.rows) && c.rows >= 1 && c.rows <= 8 && Number.isInteger(c.unroll) && c.unroll >= 1 && c.unroll <= 4 &&
    pow2(c.xc) && c.xc >= 256 && c.xc <= 16384;
  if (!ok) {
    throw new LbrxError(`matmul: quantized matvec config ${JSON.stringify(c)}: want tpr and groups powers of two with tpr * groups in 4..256, rows 1..8, unroll 1..4, xc a power of two in 256..16384`);
  }
  let xc = Math.min(c.xc, Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(k, 1)))));
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  while (xc > 256 && matvecSharedBytes({ ...c, xc }, qu) > limit) xc /= 2;
  const out = { ...c, xc };
  if (matvecSharedBytes(out, qu) > limit) {
    throw new LbrxError(`matmul: quantized matvec config ${JSON.stringify(c)} needs ${matvecSharedBytes(out, qu)} bytes of workgroup memory, over the device's ${limit}; use fewer rows or threads`);
  }
  return out;
}

/**
 * The matvec's per-thread code for `rows` rows and `unroll` units per group (wgsl/matmul_quant.wgsl
 * QMV), straight-line over named variables: WGSL arrays indexed by loop counters behaved like
 * local memory on the H100, so only literal indices remain.
 */
function qmvCodeUncached(rows: number, unroll: number): Record<string, string> {
  const R = [...Array(rows).keys()];
  const U = [...Array(unroll).keys()];
  return {
    QMV_DECL: [
      ...R.map((j) => `var row${j} = min(w * RW + g * ROWS + ${j}u, params.n - 1u) * params.b_rs; var acc${j} = 0.0;`),
      ...U.map((i) => `var t${i}: vec3<u32>; ${R.map((j) => `var g${i}_${j}: array<u32, QW>;`).join(' ')}`),
    ].join('\n  '),
    // Units past the chunk repeat its last one (dropped in QMV_USE), so the loads need no branch.
    QMV_LOAD: U.map((i) => `t${i} = unit_at(min(u0 + ${i}u * TPR, units - 1u), kb0); ${R.map((j) => `g${i}_${j} = q_load(row${j} + t${i}.x, t${i}.y);`).join(' ')}`).join('\n      '),
    QMV_USE: U.map((i) => `{ let x = x_unit(q_runs(t${i}.y) + vec2<u32>(t${i}.z)); let live = u0 + ${i}u * TPR < units; ${R.map((j) => `acc${j} = acc${j} + select(0.0, q_dot(g${i}_${j}, row${j} + t${i}.x, t${i}.y, x), live);`).join(' ')} }`).join('\n      '),
    QMV_RED: R.map((j) => `red[(g * ROWS + ${j}u) * RP + lane] = acc${j};`).join(' '),
  };
}

/** qmvCode, built once per distinct arguments (src/kernels/memo.ts). */
export const qmvCode = memoCode(qmvCodeUncached);
