// How each dtype is stored, loaded and stored back in WGSL: the dtype substitution that the
// elementwise and reduce kernels are specialized with.
import type { GpuDevice } from '../runtime/device.js';
import { isFloat, type DType } from '../tensor/dtype.js';

export type ComputeType = 'f32' | 'f16' | 'i32' | 'u32';

export const isHalf = (d: DType): boolean => d === 'f16' || d === 'bf16';

/** WGSL element type of the storage array: 16-bit types live packed in u32 words. */
export function storeType(d: DType): string {
  return isHalf(d) ? 'u32' : d;
}

/** The type kernels compute in: f16 natively where the adapter has shader-f16 and every operand is f16. */
export function computeType(dev: GpuDevice, inputs: readonly DType[], out: DType): ComputeType {
  const all = [...inputs, out];
  if (all.every((d) => d === 'f16') && dev.features.f16) return 'f16';
  if (all.some(isFloat)) return 'f32';
  return inputs[0] as ComputeType; // integers only: compute in the (first) input's type
}

/** Expression reading element `i` of binding `name` (dtype `d`) as compute type `ct`. */
export function loadExpr(name: string, d: DType, ct: ComputeType): string {
  if (d === 'f16') {
    if (ct === 'f16') return `bitcast<vec2<f16>>(${name}[i >> 1u])[i & 1u]`;
    return convert('f32', ct, `f16_to_f32(half_at(${name}[i >> 1u], i))`);
  }
  if (d === 'bf16') return convert('f32', ct, `bf16_to_f32(half_at(${name}[i >> 1u], i))`);
  return convert(d, ct, `${name}[i]`);
}

/** Expression turning `r` (compute type) into what the output array stores (16-bit: the bits). */
export function storeExpr(d: DType, ct: ComputeType): string {
  if (d === 'f16') return ct === 'f16' ? `(bitcast<u32>(vec2<f16>(r, 0.0h)) & 0xffffu)` : `f32_to_f16(${convert(ct, 'f32', 'r')})`;
  if (d === 'bf16') return `f32_to_bf16(${convert(ct, 'f32', 'r')})`;
  return convert(ct, d, 'r');
}

/** Conversion between 32-bit WGSL scalars; float to integer truncates and saturates, NaN -> 0. */
function convert(from: string, to: string, e: string): string {
  if (from === to) return e;
  if (from === 'f32' && to === 'i32') return `f32_to_i32(${e})`;
  if (from === 'f32' && to === 'u32') return `f32_to_u32(${e})`;
  if (from === 'f16' && (to === 'i32' || to === 'u32')) return convert('f32', to, `f32(${e})`);
  return `${to}(${e})`;
}

export function enableDirectives(ct: ComputeType): string {
  return ct === 'f16' ? 'enable f16;' : '';
}
