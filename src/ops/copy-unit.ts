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

/** Threads per row (a power of 2, at most 256) and workgroups of 256 threads for `rows` rows of
 * `units` units, four units per thread (wgsl/gather.wgsl and concat.wgsl, COPY). */
export function copyPlan(rows: number, units: number): { tpr: number; groups: number } {
  const tpr = Math.min(256, 2 ** Math.ceil(Math.log2(Math.max(1, units))));
  const chunks = Math.ceil(units / (tpr * 4));
  return { tpr, groups: Math.ceil((rows * chunks) / (256 / tpr)) };
}
