// Attention kernel variants (wgsl/attention*.wgsl): which one runs, with
// which tile configuration, and the generated loaders each operand is read through.
import { subgroupMin, type GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import type { AttentionDecodeConfig, AttentionTable, AttentionTileConfig } from '../tune/table.js';
import { isHalf } from './wgsl-types.js';

/** How one of q, k, v is read: its dtype and whether 8-element chunks are aligned vec4 loads. */
export interface OperandAccess {
  name: 'q' | 'k' | 'v';
  dtype: DType;
  vec: boolean;
}

/** Chunks of 8 elements of a row load as vec4 words when rows are contiguous and 16-byte aligned. */
export function vecAccess(dtype: DType, D: number, offset: number, strides: readonly number[], shape: readonly number[]): boolean {
  const per = isHalf(dtype) ? 8 : 4;
  if (D % 8 !== 0 || strides[3] !== 1 || offset % per !== 0) return false;
  return strides.slice(0, 3).every((s, i) => shape[i] === 1 || s % per === 0);
}

/** WGSL type of the storage array, of one raw 8-element chunk, and the loader functions. */
export function operandCode(a: OperandAccess): { arr: string; raw: string; code: string } {
  const x = a.name;
  const half = isHalf(a.dtype);
  const raw = half ? 'vec4<u32>' : 'V8';
  const arr = a.vec ? (half ? 'vec4<u32>' : 'vec4<f32>') : half ? 'u32' : 'f32';
  let load: string;
  if (a.vec) {
    load = half ? `  return ${x}[(base + d0) >> 3u];` : `  let i = (base + d0) >> 2u;\n  return V8(${x}[i], ${x}[i + 1u]);`;
  } else {
    const elem = half ? `half_at(${x}[i >> 1u], i)` : `${x}[i]`;
    const ret = half ? 'pack8(h)' : 'V8(vec4<f32>(h[0], h[1], h[2], h[3]), vec4<f32>(h[4], h[5], h[6], h[7]))';
    load = [
      `  var h: array<${half ? 'u32' : 'f32'}, 8>;`,
      '  for (var e = 0u; e < 8u; e = e + 1u) {',
      `    if (d0 + e < D) { let i = base + (d0 + e) * params.${x}_sd; h[e] = ${elem}; }`,
      '  }',
      `  return ${ret};`,
    ].join('\n');
  }
  const unpack = a.dtype === 'f16' ? 'V8(f16x4(w.xy), f16x4(w.zw))' : a.dtype === 'bf16' ? 'V8(bf16x4(w.xy), bf16x4(w.zw))' : 'w';
  const code = [
    `// ${x}: ${a.dtype}, ${a.vec ? 'vec4 loads' : 'strided scalar loads'}; 8 elements of the row at \`base\` from d0 (0 past D).`,
    `fn ${x}_raw(base: u32, d0: u32) -> ${raw} {`,
    load,
    '}',
    `fn ${x}_unpack(w: ${raw}) -> V8 { return ${unpack}; }`,
    `fn ${x}8(base: u32, d0: u32) -> V8 { return ${x}_unpack(${x}_raw(base, d0)); }`,
  ].join('\n');
  return { arr, raw, code };
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

export interface DecodePlan { wg: number; dt: number; nc: number; ku: number; r: number; pf: boolean; fuse: number; maxSplits: number; subgroups: boolean; step: number }

/** Decode kernel shape for head size D and `rows` = G * L query rows per kv head. */
export function decodePlan(dev: GpuDevice, c: AttentionDecodeConfig, D: number, rows: number, useSubgroups = true): DecodePlan {
  const nch = Math.ceil(D / 8);
  const sg = useSubgroups ? subgroupMin(dev) : 0;
  let dt = Math.min(c.dt, nextPow2(nch));
  if (sg) dt = Math.min(dt, sg);
  const r = Math.max(1, Math.min(c.rows, rows));
  // Rows x keys per step bound the registers a lane holds (dots, loads in flight).
  const ku = Math.max(1, Math.min(c.ku, Math.floor(c.rowKeys / r)));
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  let wg = Math.min(c.wg, dev.limits.maxComputeInvocationsPerWorkgroup);
  const bytes = (w: number) => (w / dt) * (nch * 8 * 4 + 8) + (sg ? 0 : w * r * ku * 4);
  while (wg > dt && bytes(wg) > limit) wg /= 2;
  wg = Math.max(wg, dt);
  return { wg, dt, nc: Math.ceil(nch / dt), ku, r, pf: c.prefetch, fuse: c.fuse, maxSplits: c.maxSplits, subgroups: sg > 0, step: (wg / dt) * ku };
}

export interface TilePlan extends AttentionTileConfig { cpt: number; subgroups: boolean }

/** The first table tile that fits this device for D and the operands' dtypes, or null. */
export function tilePlan(dev: GpuDevice, table: AttentionTable, D: number, dtypes: readonly DType[], useSubgroups = true): TilePlan | null {
  const nch = Math.ceil(D / 8);
  const chunk = (d: DType) => (isHalf(d) ? 16 : 32);
  const sg = useSubgroups ? subgroupMin(dev) : 0;
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  for (const t of table.tiles) {
    const threads = (t.bq / t.tq) * t.nj;
    const subgroups = sg > 0 && t.nj <= sg;
    const bytes = (nch + 1) * (t.bq * chunk(dtypes[0]) + t.tk * (chunk(dtypes[1]) + chunk(dtypes[2]))) + t.bq * t.tk * 4 + (subgroups ? 0 : t.bq * t.nj * 4);
    if (t.tk % t.nj || t.bq % t.tq || threads > dev.limits.maxComputeInvocationsPerWorkgroup || bytes > limit) continue;
    return { ...t, cpt: Math.ceil(nch / t.nj), subgroups };
  }
  return null;
}

/** Most key splits (bounds the partials' memory and the combine pass's chain of loads). */
export const MAX_SPLITS = 1024;

/** Key splits: enough workgroups to fill the GPU, each split a multiple of `granule` keys, at most `most`. */
export function splitsFor(blocks: number, S: number, granule: number, fill: number, minChunk: number, most = MAX_SPLITS): { splits: number; chunk: number } {
  const want = blocks >= fill ? 1 : Math.min(Math.ceil(S / Math.max(minChunk, granule)), Math.ceil(fill / blocks), most, MAX_SPLITS);
  if (want <= 1) return { splits: 1, chunk: Math.max(S, 1) };
  const chunk = Math.ceil(Math.ceil(S / want) / granule) * granule;
  return { splits: Math.ceil(S / chunk), chunk };
}

/** `enable` lines for the features a variant uses. */
export function enables(f16: boolean, subgroups: boolean, sgmat = false): string {
  return [f16 ? 'enable f16;' : '', subgroups ? 'enable subgroups;' : '', sgmat ? 'enable chromium_experimental_subgroup_matrix;' : '',
    sgmat ? 'diagnostic(off, chromium.subgroup_matrix_uniformity);' : ''].filter(Boolean).join('\n');
}
