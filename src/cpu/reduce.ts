// CPU reference for reductions: sums accumulate in f64, then round to the output dtype.
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

/** Sums over `axes` (sorted, normalized); `outShape` is the kept-dims or squeezed result shape. */
export function sum(x: Tensor, axes: readonly number[], outShape: readonly number[], out: DType): Tensor {
  const values = readValues(x);
  const reduced = new Set(axes);
  const keptSizes = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outSize = keptSizes.reduce((a, b) => a * b, 1);
  const acc = new Float64Array(outSize);
  const idx = new Array<number>(x.ndim).fill(0);
  for (let o = 0; o < values.length; o++) {
    let dst = 0;
    for (let d = 0; d < x.ndim; d++) dst = dst * keptSizes[d] + (reduced.has(d) ? 0 : idx[d]);
    acc[dst] += values[o];
    for (let d = x.ndim - 1; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  // Integer sums wrap like the GPU's 32-bit adds (exact while partial sums stay below 2^53).
  return cpuTensor(acc.map((v) => wrapTo(out, v)), outShape, out);
}
