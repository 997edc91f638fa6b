// CPU reference for reductions, in f64, rounded once to the output dtype. Same meaning as the
// GPU kernels: NaN-propagating max/min, first index for argmax/argmin (NaN counts as the
// extreme), var = sum of squared deviations / max(0, n - correction), NaN if any value is ±Inf.
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ReduceOp, ReduceOptions } from '../ops/gpu-reduce.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

/** The input as rows: row r, column c (row-major over the reduced axes `axes`, sorted). */
function gatherRows(x: Tensor, axes: readonly number[]): { data: Float64Array; rows: number; cols: number } {
  const values = readValues(x);
  const reduced = new Set(axes);
  const cols = axes.reduce((n, a) => n * x.shape[a], 1);
  const rows = cols === 0 ? x.shape.reduce((n, d, i) => (reduced.has(i) ? n : n * d), 1) : values.length / cols;
  const data = new Float64Array(values.length);
  const idx = new Array<number>(x.ndim).fill(0);
  for (let o = 0; o < values.length; o++) {
    let row = 0;
    let col = 0;
    for (let d = 0; d < x.ndim; d++) {
      if (reduced.has(d)) col = col * x.shape[d] + idx[d];
      else row = row * x.shape[d] + idx[d];
    }
    data[row * cols + col] = values[o];
    for (let d = x.ndim - 1; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return { data, rows, cols };
}

function foldRow(op: ReduceOp, v: Float64Array, opts: ReduceOptions): number {
  const n = v.length;
  switch (op) {
    case 'sum':
    case 'mean': {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i];
      return op === 'sum' ? s : s / n;
    }
    case 'max':
    case 'min': {
      let m = op === 'max' ? -Infinity : Infinity;
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(v[i])) return NaN;
        // Math.max(-0, 0) = 0, Math.min(-0, 0) = -0: as the kernel's max_nan/min_nan.
        m = op === 'max' ? Math.max(m, v[i]) : Math.min(m, v[i]);
      }
      return m;
    }
    case 'argmax':
    case 'argmin': {
      let best = 0;
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(v[i])) return i;
        if (op === 'argmax' ? v[i] > v[best] : v[i] < v[best]) best = i;
      }
      return best;
    }
    case 'var': {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i];
      const mean = s / n;
      if (!Number.isFinite(mean)) return NaN;
      let m2 = 0;
      for (let i = 0; i < n; i++) m2 += (v[i] - mean) ** 2;
      return m2 / Math.max(0, n - (opts.correction ?? 0));
    }
  }
}

/** Reduces `x` over `axes` (sorted, normalized); `outShape` is the kept-dims or squeezed shape. */
export function reduce(
  op: ReduceOp, x: Tensor, axes: readonly number[], outShape: readonly number[], out: DType, opts: ReduceOptions = {},
): Tensor {
  const { data, rows, cols } = gatherRows(x, axes);
  const result = new Float64Array(rows);
  for (let r = 0; r < rows; r++) result[r] = foldRow(op, data.subarray(r * cols, (r + 1) * cols), opts);
  // Integer sums wrap like the GPU's 32-bit adds (exact while partial sums stay below 2^53).
  return cpuTensor(result.map((v) => wrapTo(out, v)), outShape, out);
}
