// lb.matmul against the CPU reference (checkOp), with the epilogue operands taken from the inputs
// and an optional forced kernel config: shared by the node and browser matmul tests.
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { withConfig, type ForcedConfig } from '../src/ops/matmul-gpu.js';
import { checkOp, type InputSpec } from './helpers.js';

/** Marks which epilogue operands (`bias`, `residual`) are present; the real ones follow a and b in the inputs. */
export const present = {} as Tensor;

export async function mm(
  inputs: InputSpec[],
  opts: lb.MatmulOptions & { force?: ForcedConfig } = {},
  close: { rtol?: number; atol?: number; ulps?: number; zeroSign?: boolean } = {},
) {
  const { force, ...o } = opts;
  const op = (a: Tensor, b: Tensor, ...rest: Tensor[]) => {
    const extra: lb.MatmulOptions = { ...o };
    let i = 0;
    if (o.bias) extra.bias = rest[i++];
    if (o.residual) extra.residual = rest[i++];
    return force ? withConfig(force, () => lb.matmul(a, b, extra)) : lb.matmul(a, b, extra);
  };
  return checkOp(op, inputs, close);
}
