// CPU reference for layerNorm / rmsNorm over the last axis: the GPU kernel's formula
// (wgsl/norm.wgsl) with f64 sums, rounded once to x's dtype. eps is taken as an f32, like the GPU.
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

export function norm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number, rms: boolean): Tensor {
  const v = readValues(x);
  const d = x.shape[x.ndim - 1];
  const wv = w ? readValues(w) : null;
  const bv = b ? readValues(b) : null;
  const e = Math.fround(eps);
  const out = new Float64Array(v.length);
  for (let base = 0; base < v.length; base += d) {
    let mean = 0;
    if (!rms) {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[base + k];
      mean = s / d;
    }
    let q = 0;
    for (let k = 0; k < d; k++) {
      const t = v[base + k] - mean;
      q += t * t;
    }
    const rstd = 1 / Math.sqrt(q / d + e);
    for (let k = 0; k < d; k++) {
      let r = (v[base + k] - mean) * rstd;
      if (wv) r *= wv[k];
      if (bv) r += bv[k];
      out[base + k] = wrapTo(x.dtype, r);
    }
  }
  return cpuTensor(out, x.shape, x.dtype);
}
