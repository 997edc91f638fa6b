// CPU reference for elementwise ops, with the GPU's semantics (f32 rounding, integer wrap).
import { isFloat, type DType } from '../tensor/dtype.js';
import { broadcastShapes, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { castValue, cpuTensor, readValues, wrapTo } from './access.js';

export type BinaryOp = 'add' | 'mul';

function apply(op: BinaryOp, dtype: DType, a: number, b: number): number {
  if (op === 'mul' && !isFloat(dtype)) return wrapTo(dtype, Math.imul(a, b));
  return wrapTo(dtype, op === 'add' ? a + b : a * b);
}

export function binary(op: BinaryOp, a: Tensor, b: Tensor, out: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const ea = readValues(a, shape);
  const eb = readValues(b, shape);
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) {
    values[i] = apply(op, out, castValue(a.dtype, out, ea[i]), castValue(b.dtype, out, eb[i]));
  }
  return cpuTensor(values, shape, out);
}

export function cast(x: Tensor, to: DType): Tensor {
  const v = readValues(x).map((e) => castValue(x.dtype, to, e));
  return cpuTensor(v, x.shape, to);
}
