// CPU reference for matmul: f64 accumulation, then the epilogue (alpha, bias, activation,
// residual) in f64, rounded once to the output dtype. Same semantics as the GPU kernels.
import { ELEMENTWISE_OPS } from '../graph/ops.js';
import type { DType } from '../tensor/dtype.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

export interface CpuMatmulArgs {
  /** A as [...batch, M, K] and B as [...batch, K, N] views (already transposed and broadcast). */
  a: Tensor;
  b: Tensor;
  batch: readonly number[];
  m: number;
  k: number;
  n: number;
  /** Bias and residual as views broadcast to [...batch, M, N]. */
  bias?: Tensor;
  residual?: Tensor;
  activation?: 'relu' | 'gelu' | 'silu';
  alpha: number;
  out: DType;
  /** The result's shape (1-D operands drop their M or N). */
  outShape: readonly number[];
}

export function activate(act: CpuMatmulArgs['activation'], x: number): number {
  if (act === undefined) return x;
  if (act === 'relu') return x < 0 ? 0 : x;
  return ELEMENTWISE_OPS[act].cpu([x], 'f32');
}

export function matmul(args: CpuMatmulArgs): Tensor {
  const { batch, m, k, n } = args;
  const full = [...batch, m, n];
  const av = readValues(args.a, [...batch, m, k]);
  const bv = readValues(args.b, [...batch, k, n]);
  const bias = args.bias ? readValues(args.bias, full) : null;
  const res = args.residual ? readValues(args.residual, full) : null;
  const count = sizeOf(batch);
  const out = new Float64Array(count * m * n);
  const row = new Float64Array(n);
  for (let z = 0; z < count; z++) {
    const ao = z * m * k;
    const bo = z * k * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const x = av[ao + i * k + p];
        const bRow = bo + p * n;
        for (let j = 0; j < n; j++) row[j] += x * bv[bRow + j];
      }
      const o = (z * m + i) * n;
      for (let j = 0; j < n; j++) {
        let v = args.alpha * row[j];
        if (bias) v += bias[o + j];
        v = activate(args.activation, v);
        if (res) v += res[o + j];
        out[o + j] = wrapTo(args.out, v);
      }
    }
  }
  return cpuTensor(out, args.outShape, args.out);
}
