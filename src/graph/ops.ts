// Elementwise op definitions: the WGSL expression for the GPU and the JS function the CPU
// reference uses, side by side so both sides have one meaning. Float math runs in f32 (f16
// values widen for transcendental functions); integers wrap like 32-bit hardware.
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
  /** Defined for floats only (transcendentals). */
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
const f = Math.fround;

/** Float predicate on the bits (see _math.wgsl); integers are never NaN. */
const nanIn = (a: string, ct: ValueType) => (ct === 'f32' ? `nan_in(${a})` : ct === 'f16' ? `nan_in(f32(${a}))` : 'false');

function compare(op: string, cpu: (a: number, b: number) => boolean, nanResult: boolean): ElementwiseOp {
  return {
    arity: 2,
    bool: true,
    wgsl: ([a, b], ct) => {
      const plain = `(${a} ${op} ${b})`;
      if (ct !== 'f32' && ct !== 'f16') return `u32${plain}`;
      const either = `(${nanIn(a, ct)} || ${nanIn(b, ct)})`;
      return nanResult ? `u32(${either} || ${plain})` : `u32(!${either} && ${plain})`;
    },
    cpu: ([a, b]) => (isNaN_(a) || isNaN_(b) ? (nanResult ? 1 : 0) : cpu(a, b) ? 1 : 0),
  };
}

function extremum(kind: 'max' | 'min'): ElementwiseOp {
  return {
    arity: 2,
    // NaN-propagating like PyTorch's maximum/minimum; WGSL's max/min leave NaN undefined.
    wgsl: ([a, b], ct) =>
      ct === 'f32' || ct === 'f16'
        ? `select(select(${kind}(${a}, ${b}), ${a}, ${nanIn(a, ct)}), ${b}, ${nanIn(b, ct)})`
        : `${kind}(${a}, ${b})`,
    cpu: ([a, b]) => {
      if (isNaN_(a) || isNaN_(b)) return NaN;
      // Math.max(-0, 0) = 0 and Math.min(-0, 0) = -0, like the GPU's IEEE max/min.
      return kind === 'max' ? Math.max(a, b) : Math.min(a, b);
    },
  };
}

function gelu(x: number): number {
  return f(0.5 * x * (1 + erf(x / Math.SQRT2)));
}

function erf(x: number): number {
  if (isNaN_(x)) return x;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const y = 1 - t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x < 0 ? -y : y;
}

const tanh15 = (x: number) => (isNaN_(x) ? x : Math.tanh(Math.min(15, Math.max(-15, x))));
const sigmoid = (x: number) => (isNaN_(x) ? x : 1 / (1 + Math.exp(-x)));
const GELU_TANH_K = Math.sqrt(2 / Math.PI);

function intDiv(a: number, b: number, d: DType): number {
  if (b === 0) return a; // WGSL defines x / 0 = x for integers
  if (d === 'i32' && a === -2147483648 && b === -1) return a;
  return Math.trunc(a / b);
}

export const ELEMENTWISE_OPS: Readonly<Record<string, ElementwiseOp>> = {
  // Identity: copy/contiguous and casts (the conversion happens at load and store).
  copy: { arity: 1, wgsl: ([a]) => a, cpu: ([a]) => a },
  neg: { arity: 1, wgsl: ([a], ct) => (ct === 'u32' ? `(0u - ${a})` : `(-${a})`), cpu: ([a]) => -a },
  abs: { arity: 1, wgsl: ([a], ct) => (ct === 'u32' ? a : `abs(${a})`), cpu: ([a]) => Math.abs(a) },
  relu: {
    arity: 1,
    wgsl: ([a], ct) => (ct === 'u32' ? a : `select(${a}, ${ct}(0), ${a} < ${ct}(0))`),
    cpu: ([a]) => (a < 0 ? 0 : a),
  },
  exp: f32Unary('exp_f32', (x) => Math.exp(x)),
  log: f32Unary('log_f32', (x) => Math.log(x)),
  sqrt: f32Unary('sqrt_f32', (x) => Math.sqrt(x)),
  rsqrt: f32Unary('rsqrt_f32', (x) => 1 / Math.sqrt(x)),
  sin: f32Unary('sin_f32', (x) => Math.sin(x)),
  cos: f32Unary('cos_f32', (x) => Math.cos(x)),
  tanh: f32Unary('tanh_f32', tanh15),
  sigmoid: f32Unary('sigmoid_f32', sigmoid),
  silu: f32Unary('silu_f32', (x) => (isNaN_(x) ? x : x * sigmoid(x))),
  gelu: f32Unary('gelu_f32', gelu),
  gelu_tanh: f32Unary('gelu_tanh_f32', (x) => 0.5 * x * (1 + tanh15(GELU_TANH_K * (x + 0.044715 * x * x * x)))),
  add: { arity: 2, wgsl: ([a, b]) => `(${a} + ${b})`, cpu: ([a, b]) => a + b },
  sub: { arity: 2, wgsl: ([a, b]) => `(${a} - ${b})`, cpu: ([a, b]) => a - b },
  mul: { arity: 2, wgsl: ([a, b]) => `(${a} * ${b})`, cpu: ([a, b], d) => (isFloat(d) ? a * b : Math.imul(a, b)) },
  div: { arity: 2, wgsl: ([a, b]) => `(${a} / ${b})`, cpu: ([a, b], d) => (isFloat(d) ? a / b : intDiv(a, b, d)) },
  maximum: extremum('max'),
  minimum: extremum('min'),
  pow: {
    arity: 2,
    floatOnly: true,
    wgsl: ([a, b], ct) => (ct === 'f16' ? `f16_of(pow_f32(f32(${a}), f32(${b})))` : `pow_f32(${a}, ${b})`),
    cpu: ([a, b]) => powRef(f(a), f(b)),
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

