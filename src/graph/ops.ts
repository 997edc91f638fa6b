// Elementwise op definitions: the WGSL expression for the GPU and the JS function the CPU
// reference uses, side by side so both sides have one meaning. Float functions run in f32 on the
// GPU (wgsl/_math.wgsl, a few ulps from the double-precision CPU values, rounded once; f16 values
// widen to f32); exact ops (sign ops, + - * /, max/min, comparisons, where) give the same bits
// on both sides; integers wrap like 32-bit hardware. Where PyTorch and IEEE leave a choice, the
// choice is made here for both sides: relu(-0) = +0, max(-0, 0) = 0, min(-0, 0) = -0, NaN
// propagates through maximum/minimum, silu/gelu(-Inf) = -0 (the limit, not NaN).
import { isFloat, type DType } from '../tensor/dtype.js';
import type { ValueType } from '../ops/wgsl-types.js';

export interface ElementwiseOp {
  readonly arity: number;
  /** WGSL over argument expressions (already in value type `ct`); result in `ct` unless `bool`. */
  wgsl(args: readonly string[], ct: ValueType): string;
  /** The same on the CPU, on values of the compute dtype; the caller rounds the result. */
  cpu(args: readonly number[], dtype: DType): number;
  /** Comparisons: the result is u32 0/1 whatever the compute type. */
  readonly bool?: boolean;
  /** Defined for floats only (transcendentals, pow): integer operands compute (and return) f32. */
  readonly floatOnly?: boolean;
}

/** A float function of one argument, computed through f32 also for f16 values. */
function f32Unary(fn: string, cpu: (x: number) => number): ElementwiseOp {
  return {
    arity: 1,
    floatOnly: true,
    wgsl: ([a], ct) => (ct === 'f16' ? `f16_of(${fn}(f32(${a})))` : `${fn}(${a})`),
    cpu: ([a]) => cpu(Math.fround(a)),
  };
}

const isNaN_ = (x: number) => Number.isNaN(x);
const isFloatVT = (ct: ValueType) => ct === 'f32' || ct === 'f16';
/** A float function of f32 values applied to value type ct (f16 goes through f32 exactly). */
const viaF32 = (fn: string, args: readonly string[], ct: ValueType) =>
  ct === 'f16' ? `f16_of(${fn}(${args.map((a) => `f32(${a})`).join(', ')}))` : `${fn}(${args.join(', ')})`;

/** Float predicate on the bits (see _math.wgsl); integers are never NaN. */
const nanIn = (a: string, ct: ValueType) => (ct === 'f32' ? `nan_in(${a})` : ct === 'f16' ? `nan_in(f32(${a}))` : 'false');
/** Floats compare as integer orderings of their bits (exact even where subnormals flush). */
const ord = (a: string, ct: ValueType) => (ct === 'f32' ? `ford(${a})` : `ford(f32(${a}))`);

function compare(op: string, cpu: (a: number, b: number) => boolean, nanResult: boolean): ElementwiseOp {
  return {
    arity: 2,
    bool: true,
    wgsl: ([a, b], ct) => {
      if (!isFloatVT(ct)) return `u32(${a} ${op} ${b})`;
      const plain = `(${ord(a, ct)} ${op} ${ord(b, ct)})`;
      const either = `(${nanIn(a, ct)} || ${nanIn(b, ct)})`;
      return nanResult ? `u32(${either} || ${plain})` : `u32(!${either} && ${plain})`;
    },
    cpu: ([a, b]) => (isNaN_(a) || isNaN_(b) ? (nanResult ? 1 : 0) : cpu(a, b) ? 1 : 0),
  };
}

function extremum(kind: 'max' | 'min'): ElementwiseOp {
  return {
    arity: 2,
    // NaN-propagating like PyTorch's maximum/minimum (WGSL's max/min leave NaN undefined), and
    // ordered zeros: max(-0, 0) = 0, min(-0, 0) = -0 (WGSL leaves the sign to the GPU).
    wgsl: (args, ct) => (isFloatVT(ct) ? viaF32(`${kind}_f32`, args, ct) : `${kind}(${args[0]}, ${args[1]})`),
    cpu: ([a, b]) => {
      if (isNaN_(a) || isNaN_(b)) return NaN;
      return kind === 'max' ? Math.max(a, b) : Math.min(a, b);
    },
  };
}

/**
 * erfc(|x| / sqrt 2) by Numerical Recipes' erfcc (relative error < 1.2e-7 against the true
 * erfc), the same formula as erfc_scaled in _math.wgsl, here in double precision.
 */
function erfcScaled(a: number): number {
  const z = a / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  return t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
}

const negative = (x: number) => x < 0 || Object.is(x, -0);

/** gelu(x) = x Φ(x); the limit -0 at -Inf (x * 0 would be NaN). */
function gelu(x: number): number {
  if (isNaN_(x)) return x;
  if (x === -Infinity) return -0;
  if (x === Infinity) return x;
  const e = erfcScaled(Math.abs(x));
  return negative(x) ? 0.5 * x * e : x - 0.5 * x * e;
}

const sigmoid = (x: number) => (isNaN_(x) ? x : 1 / (1 + Math.exp(-x)));
/** 0.5 x (1 + tanh(u)) written as x sigmoid(2u): no cancellation for x << 0. */
const GELU_K1 = 2 * Math.sqrt(2 / Math.PI);
const GELU_K3 = GELU_K1 * 0.044715;
const geluTanh = (x: number) => (isNaN_(x) ? x : x === -Infinity ? -0 : x * sigmoid(x * (GELU_K1 + GELU_K3 * x * x)));

function intDiv(a: number, b: number, d: DType): number {
  if (b === 0) return a; // WGSL defines x / 0 = x for integers
  if (d === 'i32' && a === -2147483648 && b === -1) return a;
  return Math.trunc(a / b);
}

/** f32 bit operations for the value type (f16 has no single-value bitcast: use the builtin). */
const signFlip = (a: string, ct: ValueType) => (ct === 'f32' ? `bitcast<f32>(bitcast<u32>(${a}) ^ 0x80000000u)` : `(-${a})`);
const signClear = (a: string, ct: ValueType) => (ct === 'f32' ? `bitcast<f32>(bitcast<u32>(${a}) & 0x7fffffffu)` : `abs(${a})`);

export const ELEMENTWISE_OPS: Readonly<Record<string, ElementwiseOp>> = {
  // Identity: copy/contiguous and casts (the conversion happens at load and store).
  copy: { arity: 1, wgsl: ([a]) => a, cpu: ([a]) => a },
  // Sign operations act on the sign bit for floats (neg(0) = -0, abs(-NaN) = NaN); integers wrap.
  neg: { arity: 1, wgsl: ([a], ct) => (ct === 'u32' ? `(0u - ${a})` : isFloatVT(ct) ? signFlip(a, ct) : `(-${a})`), cpu: ([a]) => -a },
  abs: { arity: 1, wgsl: ([a], ct) => (ct === 'u32' ? a : isFloatVT(ct) ? signClear(a, ct) : `abs(${a})`), cpu: ([a]) => Math.abs(a) },
  // relu(-0) = +0 as in PyTorch; NaN stays NaN.
  relu: {
    arity: 1,
    wgsl: ([a], ct) => (ct === 'u32' ? a : isFloatVT(ct) ? viaF32('relu_f32', [a], ct) : `max(${a}, 0i)`),
    cpu: ([a]) => (negative(a) ? 0 : a),
  },
  exp: f32Unary('exp_f32', Math.exp),
  log: f32Unary('log_f32', Math.log),
  sqrt: f32Unary('sqrt_f32', Math.sqrt),
  rsqrt: f32Unary('rsqrt_f32', (x) => 1 / Math.sqrt(x)),
  sin: f32Unary('sin_f32', Math.sin),
  cos: f32Unary('cos_f32', Math.cos),
  tanh: f32Unary('tanh_f32', Math.tanh),
  sigmoid: f32Unary('sigmoid_f32', sigmoid),
  // silu(-Inf) = -0, the limit (x * sigmoid(x) would be NaN).
  silu: f32Unary('silu_f32', (x) => (isNaN_(x) ? x : x === -Infinity ? -0 : x * sigmoid(x))),
  gelu: f32Unary('gelu_f32', gelu),
  gelu_tanh: f32Unary('gelu_tanh_f32', geluTanh),
  add: { arity: 2, wgsl: ([a, b]) => `(${a} + ${b})`, cpu: ([a, b]) => a + b },
  sub: { arity: 2, wgsl: ([a, b]) => `(${a} - ${b})`, cpu: ([a, b]) => a - b },
  mul: { arity: 2, wgsl: ([a, b]) => `(${a} * ${b})`, cpu: ([a, b], d) => (isFloat(d) ? a * b : Math.imul(a, b)) },
  // Floats: correctly rounded also where the GPU's own division is not (div_f32 in _math.wgsl).
  div: {
    arity: 2,
    wgsl: (args, ct) => (isFloatVT(ct) ? viaF32('div_f32', args, ct) : `(${args[0]} / ${args[1]})`),
    cpu: ([a, b], d) => (isFloat(d) ? a / b : intDiv(a, b, d)),
  },
  maximum: extremum('max'),
  minimum: extremum('min'),
  pow: {
    arity: 2,
    floatOnly: true,
    wgsl: (args, ct) => viaF32('pow_f32', args, ct),
    cpu: ([a, b]) => powRef(Math.fround(a), Math.fround(b)),
  },
  eq: compare('==', (a, b) => a === b, false),
  ne: compare('!=', (a, b) => a !== b, true),
  lt: compare('<', (a, b) => a < b, false),
  le: compare('<=', (a, b) => a <= b, false),
  gt: compare('>', (a, b) => a > b, false),
  ge: compare('>=', (a, b) => a >= b, false),
  // where(c, a, b): the op layer first turns c into u32 0/1 with `ne(c, 0)` (NaN is true).
  where: {
    arity: 3,
    wgsl: ([c, a, b], ct) => `select(${b}, ${a}, ${c} != ${ct}(0))`,
    cpu: ([c, a, b]) => (c !== 0 ? a : b),
  },
};

/** pow with the C99 special cases, matching pow_f32 in _math.wgsl (JS's Math.pow differs at 1 and -1). */
export function powRef(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (Math.abs(x) === 1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

export function opDef(name: string): ElementwiseOp {
  const def = ELEMENTWISE_OPS[name];
  if (!def) throw new Error(`internal: unknown elementwise op '${name}'`);
  return def;
}

