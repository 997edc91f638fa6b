// CPU reference for elementwise ops: the same op table as the GPU (src/graph/ops.ts), with the
// GPU's semantics: args converted to the compute dtype, results rounded to it, then cast.
import { opDef } from '../graph/ops.js';
import type { DType } from '../tensor/dtype.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { castValue, cpuTensor, readValues, wrapTo } from './access.js';

export type CpuOperand = Tensor | { scalar: number; dtype: DType };

/** out = op(inputs...) over `shape` (inputs broadcast to it), computed in `computeDType`. */
export function apply(op: string, inputs: readonly CpuOperand[], shape: readonly number[], out: DType, computeDType: DType = out): Tensor {
  const def = opDef(op);
  const n = sizeOf(shape);
  const columns = inputs.map((t) =>
    'scalar' in t ? { values: null, scalar: castValue(t.dtype, computeDType, wrapTo(t.dtype, t.scalar)) } : { values: readValues(t, shape), dtype: t.dtype, scalar: 0 },
  );
  const result = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    columns.forEach((c, k) => (args[k] = c.values ? castValue(c.dtype!, computeDType, c.values[i]) : c.scalar));
    const r = def.cpu(args, computeDType);
    result[i] = def.bool ? r : castValue(computeDType, out, wrapTo(computeDType, r));
  }
  return cpuTensor(result, shape, out);
}
