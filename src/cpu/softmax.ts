// CPU reference for softmax / logSoftmax along one axis, in f64, rounded once to x's dtype.
// Same meaning as wgsl/softmax.wgsl: a row whose max is not finite (NaN, +Inf, all -Inf) is NaN.
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

export function softmax(x: Tensor, axis: number, log: boolean): Tensor {
  const v = readValues(x);
  const shape = x.ndim === 0 ? [1] : x.shape;
  const cols = shape[axis];
  const inner = shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  const out = new Float64Array(v.length);
  const rows = cols === 0 ? 0 : v.length / cols;
  for (let r = 0; r < rows; r++) {
    const o0 = Math.floor(r / inner) * cols * inner + (r % inner);
    let m = -Infinity;
    for (let k = 0; k < cols; k++) {
      const e = v[o0 + k * inner];
      m = Number.isNaN(e) || Number.isNaN(m) ? NaN : Math.max(m, e);
    }
    if (!Number.isFinite(m)) {
      for (let k = 0; k < cols; k++) out[o0 + k * inner] = NaN;
      continue;
    }
    let s = 0;
    for (let k = 0; k < cols; k++) s += Math.exp(v[o0 + k * inner] - m);
    const logS = Math.log(s);
    for (let k = 0; k < cols; k++) {
      const d = v[o0 + k * inner] - m;
      out[o0 + k * inner] = log ? d - logS : Math.exp(d) / s;
    }
  }
  return cpuTensor(out.map((y) => wrapTo(x.dtype, y)), x.shape, x.dtype);
}
