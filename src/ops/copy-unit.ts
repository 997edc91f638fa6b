// Raw-bit copies of contiguous runs (gather, concat): the widest load (16, 8 or 4 bytes) that
// every run length, offset and stride allows.
import { byteSize, type DType } from '../tensor/dtype.js';

export interface CopyUnit {
  /** WGSL type of one unit: vec4<u32>, vec2<u32> or u32. */
  type: string;
  /** Elements of the dtype in one unit (a power of 2). */
  elements: number;
}

/** The widest unit dividing every count in `elements` (lengths, offsets, strides in elements), or
 * null where a 16-bit run is not word-aligned. */
export function copyUnit(dtype: DType, elements: readonly number[]): CopyUnit | null {
  const bytes = byteSize(dtype);
  for (const words of [4, 2, 1]) {
    const per = (words * 4) / bytes;
    if (elements.every((e) => e % per === 0)) return { type: words === 1 ? 'u32' : `vec${words}<u32>`, elements: per };
  }
  return null;
}
