// The elementwise op tables shared by test/elementwise.test.ts (Node) and the browser slice in
// test/browser/elementwise.test.ts: each op, its tolerance against the CPU reference (see the
// tolerance notes at the top of test/elementwise.test.ts) and its input generator options.
import type { Tensor } from '../src/index.js';
import type { CloseOptions, GenOptions } from './helpers.js';

export const FLT_MIN = 2 ** -126;
export type Tol = Omit<CloseOptions, 'dtype'>;
export const EXACT: Tol = { exact: true };
export const FN: Tol = { rtol: 3e-7, atol: FLT_MIN };
/** Ops whose GPU arithmetic flushes subnormals where the GPU does. */
export const FLUSHING = new Set(['add', 'sub', 'mul']);

type Unary = (x: Tensor) => Tensor;
export const UNARY: Record<string, { fn: Unary; tol: Tol; gen?: GenOptions }> = {
  neg: { fn: (x) => x.neg(), tol: EXACT },
  abs: { fn: (x) => x.abs(), tol: EXACT },
  relu: { fn: (x) => x.relu(), tol: EXACT },
  exp: { fn: (x) => x.exp(), tol: FN, gen: { scale: 30 } },
  log: { fn: (x) => x.log(), tol: FN, gen: { positive: true, scale: 50 } },
  sqrt: { fn: (x) => x.sqrt(), tol: FN, gen: { positive: true, scale: 1e4 } },
  rsqrt: { fn: (x) => x.rsqrt(), tol: FN, gen: { positive: true, scale: 1e4 } },
  sin: { fn: (x) => x.sin(), tol: FN, gen: { scale: 1e3 } },
  cos: { fn: (x) => x.cos(), tol: FN, gen: { scale: 20 } },
  tanh: { fn: (x) => x.tanh(), tol: FN, gen: { scale: 4 } },
  sigmoid: { fn: (x) => x.sigmoid(), tol: FN, gen: { scale: 30 } },
  silu: { fn: (x) => x.silu(), tol: FN, gen: { scale: 30 } },
  gelu: { fn: (x) => x.gelu(), tol: { rtol: 6e-7, atol: FLT_MIN }, gen: { scale: 8 } },
  gelu_tanh: { fn: (x) => x.gelu({ approximate: 'tanh' }), tol: { rtol: 4e-6, atol: 1e-12 }, gen: { scale: 8 } },
};

type Binary = (a: Tensor, b: Tensor) => Tensor;
/** gen: per-side generator options; integers use `intRange` from them (full range when absent). */
export const BINARY: Record<string, { fn: Binary; tol: Tol; gen?: [GenOptions, GenOptions] }> = {
  add: { fn: (a, b) => a.add(b), tol: EXACT },
  sub: { fn: (a, b) => a.sub(b), tol: EXACT },
  mul: { fn: (a, b) => a.mul(b), tol: EXACT },
  div: { fn: (a, b) => a.div(b), tol: EXACT },
  maximum: { fn: (a, b) => a.maximum(b), tol: EXACT },
  minimum: { fn: (a, b) => a.minimum(b), tol: EXACT },
  pow: { fn: (a, b) => a.pow(b), tol: FN, gen: [{ positive: true, scale: 8, intRange: 9 }, { scale: 12, intRange: 9 }] },
  eq: { fn: (a, b) => a.eq(b), tol: EXACT, gen: [{ ints: 3, intRange: 3 }, { ints: 3, intRange: 3 }] },
  ne: { fn: (a, b) => a.ne(b), tol: EXACT, gen: [{ ints: 3, intRange: 3 }, { ints: 3, intRange: 3 }] },
  lt: { fn: (a, b) => a.lt(b), tol: EXACT, gen: [{ ints: 3, intRange: 3 }, { ints: 3, intRange: 3 }] },
  le: { fn: (a, b) => a.le(b), tol: EXACT, gen: [{ ints: 3, intRange: 3 }, { ints: 3, intRange: 3 }] },
  gt: { fn: (a, b) => a.gt(b), tol: EXACT },
  ge: { fn: (a, b) => a.ge(b), tol: EXACT },
};
