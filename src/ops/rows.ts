// Row kernels (wgsl/_rows.wgsl: softmax, norms, row reductions): how the [rows, cols] rows of an
// input are read (vector loads from a realized tensor, scalar loads, or the fused value()), how
// many threads share a row, and the defines that specialize _rows.wgsl.
import type { FusedBody } from '../graph/fuse.js';
import type { NodeInput } from '../graph/node.js';
import { valueDefines } from '../graph/realize.js';
import type { DefineValue } from '../kernels/registry.js';
import { subgroupMin, type GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import { convertValue, isHalf, loadValue, storeType, valueType } from './wgsl-types.js';

/** vec: 4-aligned contiguous rows of a realized tensor; direct: contiguous rows; value: value(). */
export type RowMode = 'vec' | 'direct' | 'value';

export interface RowRead {
  mode: RowMode;
  /** The fused body; in the direct modes its one leaf has strides [row stride, 1] over [rows, cols]. */
  body: FusedBody;
}

/** Element type of a row kernel's loads and folds. */
export type RowType = 'f32' | 'i32' | 'u32';

/** How the rows of `input` (fused as `body` over [..., cols] with the row axis last) are read. */
export function rowRead(input: NodeInput, body: FusedBody, rows: number, cols: number): RowRead {
  const realized = input.kind === 'view' || (input.kind === 'node' && input.node.realized !== null);
  if (!realized || body.leaves.length !== 1) return { mode: 'value', body };
  const leaf = body.leaves[0];
  const [s, t] = [body.shape, leaf.strides];
  // Coalescing merged the row axis into its neighbours where memory allows: [rows * cols] with
  // unit stride, or [rows, cols] with a row stride (a slice, or 0 for an expanded row).
  let rs: number | null = null;
  if (s.length === 1 && t[0] === 1) rs = cols;
  else if (s.length === 1 && cols === 1) rs = t[0];
  else if (s.length === 2 && s[1] === cols && t[1] === 1) rs = t[0];
  if (rs === null || rs < 0) return { mode: 'value', body };
  const vec = cols % 4 === 0 && leaf.offset % 4 === 0 && rs % 4 === 0;
  return { mode: vec ? 'vec' : 'direct', body: { ...body, shape: [rows, cols], leaves: [{ ...leaf, strides: [rs, 1] }] } };
}

export interface RowPlan {
  /** Threads per row (a power of 2). */
  tpr: number;
  /** Rows per workgroup. */
  rpw: number;
  /** Quads (4 elements) each thread holds: ceil(floor(cols / 4) / tpr), at least 1. */
  items: number;
  /** Subgroup size the folds shuffle over (the adapter's smallest), 0 for workgroup memory. */
  sg: number;
  /** Workgroups to dispatch: one per RPW rows, or fewer that loop over rows (prefetch). */
  groups: number;
  /** Workgroups load their next row before working on the current one. */
  prefetch: boolean;
}

/** Row kernels that hold the row in registers (softmax, norms) and ones that stream it (reductions). */
export type RowKind = 'cached' | 'stream';

/**
 * Defaults of rowPlan by kind and element size in bytes: quads per thread (so threads per row),
 * threads per workgroup, and for held rows whether workgroups loop over rows with the next row's
 * loads in flight (at most `groups` workgroups then). 16-bit rows take twice the quads per thread
 * of 32-bit ones: the same bytes in flight per thread, half the threads per row. bench/ops-plans.mjs
 * measures the alternatives on a device (bench/results/ops-notes.md).
 */
export const ROW_TUNING = {
  cached: {
    perThread: { 4: 4, 2: 8 } as Record<number, number>,
    prefetch: { 4: false, 2: false } as Record<number, boolean>,
    groups: { 4: 1024, 2: 1024 } as Record<number, number>,
  },
  stream: { perThread: { 4: 8, 2: 16 } as Record<number, number> },
  minGroup: 256,
};

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Threads for `rows` rows of `cols` elements of `bytes` each: about `perThread` quads per thread
 * (ROW_TUNING), at most 256 threads per row, workgroups of at least minGroup threads. */
export function rowPlan(dev: GpuDevice, rows: number, cols: number, kind: RowKind, bytes: number): RowPlan {
  const t = ROW_TUNING;
  const perThread = t[kind].perThread[bytes] ?? 4;
  const quads = Math.floor(cols / 4);
  const maxThreads = Math.min(256, dev.limits.maxComputeInvocationsPerWorkgroup);
  const tpr = Math.min(maxThreads, nextPow2(Math.ceil(quads / perThread)));
  const rpw = Math.max(1, Math.floor(Math.min(t.minGroup, maxThreads) / tpr));
  const prefetch = kind === 'cached' && (t.cached.prefetch[bytes] ?? false);
  const needed = Math.ceil(rows / rpw);
  return {
    tpr, rpw, items: Math.max(1, Math.ceil(quads / tpr)), sg: subgroupMin(dev, 4),
    groups: prefetch ? Math.min(needed, t.cached.groups[bytes] ?? 1024) : needed, prefetch,
  };
}

/** Element type of an array read a quad at a time: vec4 of 32-bit types, two words of 16-bit ones. */
export function vecType(d: DType): string {
  return isHalf(d) ? 'vec2<u32>' : `vec4<${d}>`;
}

/** A quad (expression `w`, of vecType(d)) as vec4<lt>. */
export function quadAs(d: DType, lt: RowType, w: string): string {
  if (d === 'f16' || d === 'bf16') {
    if (lt !== 'f32') throw new Error(`internal: row loads of ${d} as ${lt}`);
    return `${d}x4(${w})`;
  }
  if (d === lt) return w;
  if (lt !== 'f32') throw new Error(`internal: row loads of ${d} as ${lt}`);
  if (d === 'i32') return `vec4<f32>(${w})`;
  // As convertValue: two exact halves, one rounding.
  return `(vec4<f32>(${w} & vec4<u32>(0xffff0000u)) + vec4<f32>(${w} & vec4<u32>(0xffffu)))`;
}

/** Defines for wgsl/_rows.wgsl (and _value.wgsl) reading `read` as `lt`, folding `rt`. */
export function rowDefines(dev: GpuDevice, read: RowRead, plan: RowPlan, lt: RowType, rt: RowType = 'f32'): Record<string, DefineValue> {
  const { body, mode } = read;
  const f16 = dev.features.f16 || body.usesF16;
  const defines: Record<string, DefineValue> = {
    ...valueDefines(body),
    ENABLE: [f16 ? 'enable f16;' : '', plan.sg ? 'enable subgroups;' : ''].filter(Boolean).join('\n'),
    NATIVE_F16: dev.features.f16,
    TPR: plan.tpr,
    RPW: plan.rpw,
    WG: plan.tpr * plan.rpw,
    ITEMS: plan.items,
    PREFETCH: plan.prefetch,
    SG: plan.sg,
    SG_ONLY: plan.sg > 0 && plan.tpr <= plan.sg,
    SG_PARTS: plan.sg > 0 && plan.tpr > plan.sg,
    LT: lt,
    RT: rt,
    IN_VEC: mode === 'vec',
    IN_DIRECT: mode === 'direct',
    X_LOAD4: '',
    X_LOAD1: convertValue(body.valueType, lt, 'value(row * params.cols + k)'),
  };
  if (mode === 'value') return defines;
  // Direct modes bind the leaf as they read it; value() is left empty (it is not called).
  const d = body.leaves[0].dtype;
  const vt = valueType(d, dev.features.f16);
  return {
    ...defines,
    LEAF_BINDINGS: `@group(0) @binding(1) var<storage, read> leaf0: array<${mode === 'vec' ? vecType(d) : storeType(d)}>;`,
    BODY: '',
    RESULT: `${body.valueType}(0)`,
    X_LOAD4: mode === 'vec' ? quadAs(d, lt, 'leaf0[q4]') : '',
    X_LOAD1: convertValue(vt, lt, loadValue('leaf0', d, vt, 'e')),
  };
}

/** Defines for a row kernel's contiguous [rows, cols] output of `dtype` (16-bit: cols even). */
export function rowOutDefines(dtype: DType, cols: number, binding: number): Record<string, DefineValue> {
  const half = isHalf(dtype);
  if (half && cols % 2 !== 0) throw new Error(`internal: ${dtype} row output with an odd row length ${cols}`);
  return {
    ROW_OUT: true,
    OUT_BINDING: binding,
    OUT_VEC: cols % 4 === 0,
    OUT_HALF: half,
    OUT_VT: half ? 'vec2<u32>' : 'vec4<f32>',
    OUT_CVT4: dtype === 'f16' ? 'pack_halves(f16_bits4(v))' : dtype === 'bf16' ? 'pack_halves(bf16_bits4(v))' : 'v',
  };
}
