// CPU reference for rope: the kernel's formula (wgsl/rope.wgsl) with the same f32 angle
// (f32(pos + offset) * inv_freq[i], rounded to f32), exact cos/sin of it, rounded once to x's dtype.
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

export interface CpuRopeArgs {
  half: boolean;
  rot: number;
  offset: number;
  invFreq: Float32Array;
}

export function rope(x: Tensor, positions: Tensor | null, a: CpuRopeArgs): Tensor {
  const v = readValues(x);
  const [l, d] = x.shape.slice(-2);
  const pos = positions ? readValues(positions) : null;
  const out = new Float64Array(v.length);
  const h = a.rot / 2;
  for (let o = 0; o < v.length; o++) {
    const k = o % d;
    if (k >= a.rot) {
      out[o] = v[o];
      continue;
    }
    const first = a.half ? k < h : k % 2 === 0;
    const i = a.half ? (first ? k : k - h) : k >> 1;
    const partner = a.half ? (first ? o + h : o - h) : first ? o + 1 : o - 1;
    const li = Math.floor(o / d) % l;
    // Positions add as 32-bit integers (u32 ones are read as i32 bits), like the kernel.
    const p = ((pos ? pos[li] : li) + a.offset) | 0;
    const t = Math.fround(Math.fround(p) * a.invFreq[i]);
    const c = Math.cos(t);
    const s = Math.sin(t);
    out[o] = wrapTo(x.dtype, first ? v[o] * c - v[partner] * s : v[o] * c + v[partner] * s);
  }
  return cpuTensor(out, x.shape, x.dtype);
}
