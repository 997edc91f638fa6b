// WGSL snippets for wgsl/matmul.wgsl: operand bindings and loaders per dtype and access mode, and
// the defines of each variant. One generator serves A, B, bias and residual, so a dtype or a
// vector width is a parameter rather than a copied kernel.
import type { DType } from '../tensor/dtype.js';

/** How a kernel reads an operand: `vec` = 4 contiguous elements per load (aligned), else scalars. */
export interface OperandAccess {
  name: 'a' | 'b' | 'e0' | 'e1';
  binding: number;
  dtype: DType;
  vec: boolean;
  /** Bind as array<f16>/array<f32> for subgroupMatrixLoad (no loaders). */
  raw?: boolean;
  /** Bind as array<vec4<u32>> (16-byte loads; no loaders). */
  words?: boolean;
  /** 8 elements per load: `load8_X(i)` (i % 8 = 0, no bounds check) and `elem_X(i)`. */
  vec8?: boolean;
}

const isHalf = (d: DType) => d === 'f16' || d === 'bf16';

/** A 16-bit float (bits in the low half of `h`) as f32. */
function halfToF32(d: DType, h: string): string {
  return d === 'bf16' ? `bitcast<f32>((${h}) << 16u)` : `f16_to_f32(${h})`;
}

function arrayType(op: OperandAccess): string {
  if (op.words) return 'vec4<u32>';
  if (op.vec8) return isHalf(op.dtype) ? 'vec4<u32>' : 'vec4<f32>';
  if (op.raw) return op.dtype === 'f16' ? 'f16' : 'f32';
  if (isHalf(op.dtype)) return op.vec ? 'vec2<u32>' : 'u32';
  return op.vec ? 'vec4<f32>' : 'f32';
}

/** Element `i` (an element index) of the operand, as f32. */
function elemBody(op: OperandAccess): string {
  const x = op.name;
  if (!isHalf(op.dtype)) return op.vec ? `${x}[i >> 2u][i & 3u]` : `${x}[i]`;
  const word = op.vec ? `${x}[i >> 2u][(i >> 1u) & 1u]` : `${x}[i >> 1u]`;
  return halfToF32(op.dtype, `half_at(${word}, i)`);
}

/** 4 aligned contiguous elements at element index `i` (i % 4 = 0) as vec4<f32>. */
function vec4Body(op: OperandAccess): string {
  const x = op.name;
  if (op.dtype === 'f32') return `${x}[i >> 2u]`;
  const w = `${x}[i >> 2u]`;
  if (op.dtype === 'f16') return `vec4<f32>(unpack2x16float(${w}.x), unpack2x16float(${w}.y))`;
  return `vec4<f32>(bitcast<f32>(${w}.x << 16u), bitcast<f32>(${w}.x & 0xffff0000u), bitcast<f32>(${w}.y << 16u), bitcast<f32>(${w}.y & 0xffff0000u))`;
}

/**
 * Binding plus `elem_X(i)` and, for A and B, `load_X(base, r, c, rn, cn)`: elements (r, c..c+3)
 * in X's contiguous orientation with row stride params.X_rs and column stride params.X_cs,
 * zero outside r < rn, c < cn. Vector loads need cs = 1 and base, rs, c, cn multiples of 4.
 */
export function operandWgsl(op: OperandAccess): string {
  const x = op.name;
  const decl = `@group(0) @binding(${op.binding}) var<storage, read> ${x}: array<${arrayType(op)}>;`;
  if (op.raw || op.words) return decl;
  if (op.vec8) return [decl, ...vec8Fns(op)].join('\n');
  const lines = [decl, `fn elem_${x}(i: u32) -> f32 { return ${elemBody(op)}; }`];
  // Epilogue operands bound 4-wide: 4 aligned contiguous elements (i % 4 = 0).
  if ((x === 'e0' || x === 'e1') && op.vec) lines.push(`fn load4_${x}(i: u32) -> vec4<f32> { return ${vec4Body(op)}; }`);
  if (x === 'a' || x === 'b') {
    if (op.vec) {
      lines.push(
        `fn load_${x}(base: u32, r: u32, c: u32, rn: u32, cn: u32) -> vec4<f32> {`,
        `  if (r >= rn || c >= cn) { return vec4<f32>(0.0); }`,
        `  let i = base + r * params.${x}_rs + c;`,
        `  let v = ${vec4Body(op)};`,
        `  return v;`,
        `}`,
      );
    } else {
      lines.push(
        `fn load_${x}(base: u32, r: u32, c: u32, rn: u32, cn: u32) -> vec4<f32> {`,
        `  var v = vec4<f32>(0.0);`,
        `  if (r < rn) {`,
        `    let p = base + r * params.${x}_rs;`,
        `    for (var j = 0u; j < 4u; j = j + 1u) {`,
        `      if (c + j < cn) { v[j] = elem_${x}(p + (c + j) * params.${x}_cs); }`,
        `    }`,
        `  }`,
        `  return v;`,
        `}`,
      );
    }
  }
  return lines.join('\n');
}

/** elem_X and load8_X for an operand bound 8 elements (16 or 32 bytes) per two vec4. */
function vec8Fns(op: OperandAccess): string[] {
  const x = op.name;
  if (op.dtype === 'f32') {
    return [
      `fn elem_${x}(i: u32) -> f32 { return ${x}[i >> 2u][i & 3u]; }`,
      `fn load8_${x}(i: u32) -> mat2x4<f32> { return mat2x4<f32>(${x}[i >> 2u], ${x}[(i >> 2u) + 1u]); }`,
    ];
  }
  const word = `${x}[i >> 3u][(i >> 1u) & 3u]`;
  const half = (w: string) =>
    op.dtype === 'f16' ? `unpack2x16float(${w})` : `vec2<f32>(bitcast<f32>(${w} << 16u), bitcast<f32>(${w} & 0xffff0000u))`;
  return [
    `fn elem_${x}(i: u32) -> f32 { return ${halfToF32(op.dtype, `half_at(${word}, i)`)}; }`,
    `fn load8_${x}(i: u32) -> mat2x4<f32> {`,
    `  let w = ${x}[i >> 3u];`,
    `  return mat2x4<f32>(vec4<f32>(${half('w.x')}, ${half('w.y')}), vec4<f32>(${half('w.z')}, ${half('w.w')}));`,
    `}`,
  ];
}

export type Activation = 'relu' | 'gelu' | 'silu';

/** The activation applied to `r` (f32), with the elementwise ops' NaN behaviour. */
export function activationWgsl(act: Activation | undefined): string {
  switch (act) {
    case undefined:
      return 'r';
    case 'relu':
      return 'select(r, 0.0, r < 0.0)';
    case 'gelu':
      return 'gelu_f32(r)';
    case 'silu':
      return 'silu_f32(r)';
  }
}

export interface OutputForm {
  dtype: DType;
  /** f32 output stored as vec4 (N % 4 = 0). */
  vec4: boolean;
}

/** Defines shared by every variant: enables, operands, output form, epilogue. */
export function commonDefines(
  operands: readonly OperandAccess[],
  out: OutputForm,
  act: Activation | undefined,
  enable: string,
): Record<string, string | number | boolean> {
  const has = (n: string) => operands.some((o) => o.name === n);
  return {
    ENABLE: enable,
    F16: false,
    OPERANDS: operands.map(operandWgsl).join('\n'),
    OUT_TYPE: isHalf(out.dtype) ? 'u32' : out.vec4 ? 'vec4<f32>' : 'f32',
    OUT_HALF: isHalf(out.dtype),
    OUT_VEC4: !isHalf(out.dtype) && out.vec4,
    PACK: out.dtype === 'bf16' ? 'f32_to_bf16' : 'f32_to_f16',
    ACT: activationWgsl(act),
    BIAS: has('e0'),
    RESIDUAL: has('e1'),
  };
}

export const SGMAT_ENABLE = [
  'enable f16;',
  'enable subgroups;',
  'enable chromium_experimental_subgroup_matrix;',
  'diagnostic(off, chromium.subgroup_matrix_uniformity);',
].join('\n');

/**
 * The work a matmul dispatch declares to the profiler: `fraction` of the whole problem (a
 * dispatch may cover part of the batch or of the split-K slices); each operand read once.
 */
export function matmulWork(
  p: { m: number; n: number; k: number; bshape: readonly number[]; a: { dtype: DType }; b: { dtype: DType }; out: DType },
  fraction: number,
): { flops: number; bytes: number } {
  const batch = p.bshape.reduce((x, y) => x * y, 1) * fraction;
  const size = (d: DType) => (d === 'f16' || d === 'bf16' ? 2 : 4);
  const bytes = (p.m * p.k * size(p.a.dtype) + p.k * p.n * size(p.b.dtype) + p.m * p.n * size(p.out)) * batch;
  return { flops: 2 * p.m * p.n * p.k * batch, bytes };
}
