// Elementwise op definitions: the WGSL expression for the GPU and the JS function the CPU
// reference uses, side by side so both sides have one meaning.
import { isFloat, type DType } from '../tensor/dtype.js';

export interface ElementwiseOp {
  readonly arity: number;
  /** WGSL over argument expressions (already in compute type `ct`). */
  wgsl(args: readonly string[], ct: string): string;
  /** The same on the CPU, on values of `dtype` (result rounded by the caller). */
  cpu(args: readonly number[], dtype: DType): number;
}

const float = (d: DType) => isFloat(d);

export const ELEMENTWISE_OPS: Readonly<Record<string, ElementwiseOp>> = {
  // Identity: copy/contiguous and casts (the conversion happens at load and store).
  copy: { arity: 1, wgsl: ([a]) => a, cpu: ([a]) => a },
  add: { arity: 2, wgsl: ([a, b]) => `(${a} + ${b})`, cpu: ([a, b]) => a + b },
  mul: {
    arity: 2,
    wgsl: ([a, b]) => `(${a} * ${b})`,
    cpu: ([a, b], d) => (float(d) ? a * b : Math.imul(a, b)),
  },
};

export function opDef(name: string): ElementwiseOp {
  const def = ELEMENTWISE_OPS[name];
  if (!def) throw new Error(`internal: unknown elementwise op '${name}'`);
  return def;
}
