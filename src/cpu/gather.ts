// CPU reference for data movement: index selection (gather) and concat, with the GPU kernels'
// semantics (wgsl/gather.wgsl, wgsl/concat.wgsl): out-of-range ids give zeros.
import type { DType } from '../tensor/dtype.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues } from './access.js';

/** x seen as [outer, a, inner]; k ids pick along the middle axis. */
export interface SelectGeometry {
  outer: number;
  a: number;
  inner: number;
  k: number;
}

export function indexSelect(x: Tensor, ids: Tensor, g: SelectGeometry, outShape: readonly number[]): Tensor {
  const v = readValues(x);
  const id = readValues(ids);
  const out = new Float64Array(sizeOf(outShape));
  let o = 0;
  for (let q = 0; q < g.outer; q++) {
    for (let k = 0; k < g.k; k++) {
      const r = id[k];
      const ok = r >= 0 && r < g.a;
      const src = (q * g.a + r) * g.inner;
      for (let c = 0; c < g.inner; c++) out[o++] = ok ? v[src + c] : 0;
    }
  }
  return cpuTensor(out, outShape, x.dtype);
}

/** Inputs already in the output dtype, concatenated along `axis`. */
export function concat(xs: readonly Tensor[], axis: number, outShape: readonly number[], dtype: DType): Tensor {
  const outer = sizeOf(outShape.slice(0, axis));
  const inner = sizeOf(outShape.slice(axis + 1));
  const stride = outShape[axis] * inner;
  const out = new Float64Array(sizeOf(outShape));
  let at = 0;
  for (const x of xs) {
    const v = readValues(x);
    const len = x.shape[axis] * inner;
    for (let q = 0; q < outer; q++) for (let m = 0; m < len; m++) out[q * stride + at + m] = v[q * len + m];
    at += len;
  }
  return cpuTensor(out, outShape, dtype);
}
