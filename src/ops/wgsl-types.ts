// How each dtype is stored, loaded, held and stored back in WGSL: the dtype substitution that
// generated kernels are specialized with.
import { roundTo } from '../tensor/half.js';
import type { DType } from '../tensor/dtype.js';

/** The WGSL type a value of a dtype is held in while computing: f16 only with shader-f16. */
export type ValueType = 'f32' | 'f16' | 'i32' | 'u32';

export const isHalf = (d: DType): boolean => d === 'f16' || d === 'bf16';

/** WGSL element type of the storage array: 16-bit types live packed in u32 words. */
export function storeType(d: DType): string {
  return isHalf(d) ? 'u32' : d;
}

export function valueType(d: DType, nativeF16: boolean): ValueType {
  if (d === 'f16') return nativeF16 ? 'f16' : 'f32';
  if (d === 'bf16') return 'f32';
  return d;
}

/** Expression reading element `index` of binding `name` (dtype `d`) as value type `vt`. */
export function loadValue(name: string, d: DType, vt: ValueType, index: string): string {
  if (d === 'f16') {
    if (vt === 'f16') return `bitcast<vec2<f16>>(${name}[${index} >> 1u])[${index} & 1u]`;
    return convertValue('f32', vt, `f16_to_f32(half_at(${name}[${index} >> 1u], ${index}))`);
  }
  if (d === 'bf16') return convertValue('f32', vt, `bf16_to_f32(half_at(${name}[${index} >> 1u], ${index}))`);
  return convertValue(d, vt, `${name}[${index}]`);
}

/** Expression turning `r` (value type `vt`) into what the output array stores (16-bit: the bits). */
export function storeValue(d: DType, vt: ValueType, r = 'r'): string {
  if (d === 'f16') return vt === 'f16' ? `(bitcast<u32>(vec2<f16>(${r}, 0.0h)) & 0xffffu)` : `f32_to_f16(${convertValue(vt, 'f32', r)})`;
  if (d === 'bf16') return `f32_to_bf16(${convertValue(vt, 'f32', r)})`;
  return convertValue(vt, d, r);
}

/** Rounds a value held in f32 to what its 16-bit dtype can hold, so fused = unfused results. */
export function roundValue(d: DType, vt: ValueType, e: string): string {
  if (vt !== 'f32') return e;
  if (d === 'f16') return `f16_to_f32(f32_to_f16(${e}))`;
  if (d === 'bf16') return `bf16_to_f32(f32_to_bf16(${e}))`;
  return e;
}

/** Conversion between value types; float to integer truncates and saturates, NaN -> 0. */
export function convertValue(from: ValueType, to: ValueType, e: string): string {
  if (from === to) return e;
  if (from === 'f16') return convertValue('f32', to, `f32(${e})`);
  if (to === 'f16') return `bitcast<vec2<f16>>(f32_to_f16(${convertValue(from, 'f32', e)}))[0]`;
  if (from === 'f32' && to === 'i32') return `f32_to_i32(${e})`;
  if (from === 'f32' && to === 'u32') return `f32_to_u32(${e})`;
  // f32(u32) is off by an ulp above 2^31 on some drivers (SwiftShader): two exact halves, one rounding.
  if (from === 'u32' && to === 'f32') return `(f32((${e}) & 0xffff0000u) + f32((${e}) & 0xffffu))`;
  return `${to}(${e})`;
}

/** The u32 word a scalar of `dtype` travels in through a uniform (floats as f32 bits). */
export function scalarWord(value: number, dtype: DType): number {
  if (dtype === 'i32') return (value | 0) >>> 0;
  if (dtype === 'u32') return value >>> 0;
  const f = new Float32Array([isHalf(dtype) ? roundTo(dtype as 'f16' | 'bf16', value) : value]);
  return new Uint32Array(f.buffer)[0];
}

/** Expression reading scalar word `k` of the params uniform as value type `vt`. */
export function scalarValue(k: number, dtype: DType, vt: ValueType): string {
  const raw = `params.scalars[${k >> 2}][${k & 3}]`;
  if (dtype === 'i32') return convertValue('i32', vt, `bitcast<i32>(${raw})`);
  if (dtype === 'u32') return convertValue('u32', vt, raw);
  return convertValue('f32', vt, `bitcast<f32>(${raw})`);
}
