// Elementwise ops: validation, dtype rules, then a lazy GPU node or the CPU reference.
//
// Dtype rules (GPU and CPU alike):
// - Two tensors promote (src/tensor/dtype.ts: a float wins over an integer, two different floats
//   widen to f32, i32 with u32 is a DTypeError). A plain number adopts the dtype the op computes
//   in (the tensor's dtype, or f32 for float-only ops) and travels in the kernel's uniforms.
// - Float-only ops (transcendentals, pow, sigmoid, silu, gelu: `floatOnly` in src/graph/ops.ts)
//   on integer tensors compute in f32 and return f32.
// - neg abs relu add sub mul div maximum minimum keep integer dtypes and wrap like 32-bit
//   hardware: u32 neg wraps, i32 div truncates toward zero, x / 0 = x (as WGSL defines it).
// - Comparisons (eq ne lt le gt ge) return u32 0/1; any comparison with NaN is 0, except ne (1).
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import { checkDType, isFloat, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { opDef } from '../graph/ops.js';
import * as cpu from '../cpu/elementwise.js';
import { lazyElementwise, type Operand } from './gpu-elementwise.js';

export type UnaryName = 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu' | 'silu';
export type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | CompareName;
export type CompareName = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export function checkSameDevice(op: string, a: Tensor, b: Tensor): void {
  if (a.device !== b.device) {
    throw new GpuValidationError(`${op}: operands are on different devices (${a.device} and ${b.device}); move one with await t.to('${a.device}')`);
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array (make it a tensor with lb.tensor())';
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x;
}

function tensorArg(op: string, x: unknown, what = 'input'): Tensor {
  if (x instanceof Tensor) return x;
  throw new DTypeError(op, `${what} must be a Tensor, got ${describe(x)}`);
}

function operandArg(op: string, x: unknown, what: string): Tensor | number {
  if (x instanceof Tensor || typeof x === 'number') return x;
  throw new DTypeError(op, `${what} must be a Tensor or a number, got ${describe(x)}`);
}

/** The dtype `op` computes in for operands of dtype `d`: float-only ops lift integers to f32. */
function computeDType(op: string, d: DType): DType {
  return opDef(op).floatOnly && !isFloat(d) ? 'f32' : d;
}

/** Runs `op` on the operands' device: a lazy GPU node or the CPU reference. */
function run(op: string, operands: readonly Operand[], shape: readonly number[], out: DType, ct: DType): Tensor {
  const first = operands.find((o): o is Tensor => o instanceof Tensor)!;
  if (first.device === 'cpu') return cpu.apply(op, operands, shape, out, ct);
  return lazyElementwise(requireDevice(op), op, operands, shape, out, ct);
}

/** The tensors among `xs` must share a device; returns the first. */
function sameDevice(op: string, xs: readonly (Tensor | number)[]): Tensor | undefined {
  const ts = xs.filter((x): x is Tensor => x instanceof Tensor);
  for (let i = 1; i < ts.length; i++) checkSameDevice(op, ts[0], ts[i]);
  return ts[0];
}

/** NumPy broadcasting of any number of shapes; the error names every operand's shape. */
function broadcastAll(op: string, shapes: readonly (readonly number[])[]): number[] {
  try {
    return shapes.reduce<number[]>((s, t) => broadcastShapes(op, s, t), []);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(op, 'operands cannot be broadcast together', shapes);
    throw e;
  }
}

export function unary(op: UnaryName | 'gelu' | 'gelu_tanh', xIn: Tensor): Tensor {
  const x = tensorArg(op, xIn);
  const ct = computeDType(op, x.dtype);
  return run(op, [x], x.shape, ct, ct);
}

export function binary(op: BinaryName, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const a = operandArg(op, aIn, 'first operand');
  const b = operandArg(op, bIn, 'second operand');
  const t = sameDevice(op, [a, b]);
  if (!t) throw new DTypeError(op, 'needs at least one tensor operand, got two numbers');
  let dtype = t.dtype;
  let shape: readonly number[] = t.shape;
  if (a instanceof Tensor && b instanceof Tensor) {
    dtype = promote(op, a.dtype, b.dtype);
    shape = broadcastShapes(op, a.shape, b.shape);
  }
  const ct = computeDType(op, dtype);
  const out = opDef(op).bool ? 'u32' : ct;
  const operands = [a, b].map((x) => (typeof x === 'number' ? { scalar: x, dtype: ct } : x));
  return run(op, operands, shape, out, ct);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);

export interface GeluOptions {
  /** 'none' (default): x·Φ(x) with the exact erf; 'tanh': the tanh approximation. */
  approximate?: 'none' | 'tanh';
}

export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  const approximate = opts?.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new LbrxError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
  }
  return unary(approximate === 'tanh' ? 'gelu_tanh' : 'gelu', x);
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
/** NaN-propagating (like PyTorch); maximum(-0, 0) = 0 and minimum(-0, 0) = -0. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);
/** C99 pow special cases (pow(x, 0) = 1, pow(1, NaN) = 1, negative base needs an integer exponent). */
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => binary('pow', a, b);
// Comparisons: u32 tensors of 0/1 (0 when either side is NaN, except ne).
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary('eq', a, b);
export const ne = (a: Tensor | number, b: Tensor | number): Tensor => binary('ne', a, b);
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => binary('lt', a, b);
export const le = (a: Tensor | number, b: Tensor | number): Tensor => binary('le', a, b);
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => binary('gt', a, b);
export const ge = (a: Tensor | number, b: Tensor | number): Tensor => binary('ge', a, b);

/**
 * min(max(x, lo), hi); either bound may be left out (undefined or null). NaN in x stays NaN;
 * lo > hi gives hi everywhere (as PyTorch). Number bounds adopt x's dtype.
 */
export function clamp(xIn: Tensor, lo?: Tensor | number | null, hi?: Tensor | number | null): Tensor {
  const x = tensorArg('clamp', xIn);
  if (lo != null) operandArg('clamp', lo, 'min');
  if (hi != null) operandArg('clamp', hi, 'max');
  if (lo == null && hi == null) throw new DTypeError('clamp', 'needs at least one of min and max');
  // Validate both bounds before recording anything, so an error leaves no node behind.
  const bounds = [x, ...[lo, hi].filter((b): b is Tensor => b instanceof Tensor)];
  sameDevice('clamp', bounds);
  let dtype = x.dtype;
  for (const b of bounds) dtype = promote('clamp', dtype, b.dtype);
  broadcastAll('clamp', bounds.map((b) => b.shape));
  if (lo == null) return binary('minimum', x, hi!);
  const low = binary('maximum', x, lo);
  if (hi == null) return low;
  try {
    return binary('minimum', low, hi);
  } finally {
    low.dispose();
  }
}

/**
 * where(cond, a, b): a where cond is nonzero (NaN counts as nonzero), else b; all three
 * broadcast. cond may have any dtype; a and b promote (two numbers: f32).
 */
export function where(condIn: Tensor, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const cond = tensorArg('where', condIn, 'cond');
  const a = operandArg('where', aIn, 'a');
  const b = operandArg('where', bIn, 'b');
  sameDevice('where', [cond, a, b]);
  const ta = a instanceof Tensor ? a : null;
  const tb = b instanceof Tensor ? b : null;
  const dtype = ta && tb ? promote('where', ta.dtype, tb.dtype) : (ta ?? tb)?.dtype ?? 'f32';
  const shape = broadcastAll('where', [cond.shape, ...[ta, tb].filter((t) => t).map((t) => t!.shape)]);
  // cond != 0 as u32 0/1 first: the fused kernel then converts exact 0/1 values (a NaN or a
  // fraction would not survive conversion to an integer compute type).
  const mask = run('ne', [cond, { scalar: 0, dtype: cond.dtype }], cond.shape, 'u32', cond.dtype);
  try {
    const operands = [mask, ...[a, b].map((x) => (typeof x === 'number' ? { scalar: x, dtype } : x))];
    return run('where', operands, shape, dtype, dtype);
  } finally {
    mask.dispose();
  }
}

export function cast(x: Tensor, dtypeIn: DType): Tensor {
  tensorArg('cast', x);
  const dtype = checkDType('cast', dtypeIn);
  if (x.device === 'cpu') return cpu.apply('copy', [x], x.shape, dtype, x.dtype);
  return lazyElementwise(requireDevice('cast'), 'copy', [x], x.shape, dtype, x.dtype);
}

/** A row-major copy; a contiguous tensor returns a new reference to the same storage. */
export function contiguous(x: Tensor): Tensor {
  tensorArg('contiguous', x);
  if (x.lazy || (x.isContiguous && x.offset === 0)) {
    return new (x.constructor as typeof Tensor)(retainSource(x), x.shape, x.dtype);
  }
  if (x.device === 'cpu') return cpu.apply('copy', [x], x.shape, x.dtype);
  return lazyElementwise(requireDevice('contiguous'), 'copy', [x], x.shape, x.dtype);
}

function retainSource(x: Tensor) {
  const node = x.lazy;
  if (node) {
    node.retain();
    return node;
  }
  x.storage.retain();
  return x.storage;
}
