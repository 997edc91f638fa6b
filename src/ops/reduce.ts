// Reductions over any axes with keepdims: sum, mean, max, min, argmax, argmin, var.
// Result dtypes: sum/max/min keep the input's (ints stay ints, wrapping); mean/var of integers
// give f32 (computed in f32), of floats the input's; argmax/argmin give i32. f16/bf16 accumulate
// in f32. max/min/argmax/argmin over an empty axis throw ShapeError (nothing to pick); an empty
// sum is 0, an empty mean or var NaN. `axis` null/undefined = all axes; [] = none.
import { requireDevice } from '../runtime/context.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { DTypeError, ShapeError } from '../errors.js';
import * as cpu from '../cpu/reduce.js';
import { reduceAxes, type ReduceOp, type ReduceOptions } from './gpu-reduce.js';
import { fullLike } from './create.js';

export type Axis = number | readonly number[] | null | undefined;

export function resolveAxes(op: string, x: Tensor, axis: Axis): number[] {
  if (axis === null || axis === undefined) return x.shape.map((_, i) => i);
  const raw = typeof axis === 'number' ? [axis] : [...axis];
  // A 0-d tensor has one element: axis 0 or -1 reduces nothing, like PyTorch.
  if (x.ndim === 0) {
    for (const a of raw) if (a !== 0 && a !== -1) normalizeAxis(op, a, 0);
    if (raw.length > 1) throw new ShapeError(op, `repeated axis in [${raw}]`, [x.shape]);
    return [];
  }
  const list = raw.map((a) => normalizeAxis(op, a, x.ndim));
  if (new Set(list).size !== list.length) throw new ShapeError(op, `repeated axis in [${raw}]`, [x.shape]);
  return list.sort((p, q) => p - q);
}

function reduction(op: ReduceOp, x: Tensor, axis: Axis, keepdims: boolean, opts: ReduceOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `x must be a Tensor, got ${typeof x}`);
  const axes = resolveAxes(op, x, axis);
  const reduced = new Set(axes);
  const outShape = keepdims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
  const cols = sizeOf(axes.map((a) => x.shape[a]));
  const out: DType = op === 'argmax' || op === 'argmin' ? 'i32' : (op === 'mean' || op === 'var') && !isFloat(x.dtype) ? 'f32' : x.dtype;
  if (cols === 0 && op !== 'sum' && op !== 'mean' && op !== 'var') {
    throw new ShapeError(op, `cannot reduce over an empty axis (axes [${axes}] hold no elements)`, [x.shape]);
  }
  if (x.device === 'cpu') return cpu.reduce(op, x, axes, outShape, out, opts);
  const dev = requireDevice(op);
  if (cols === 0 || sizeOf(outShape) === 0) return fullLike(op === 'sum' ? 0 : NaN, outShape, out, x);
  return reduceAxes(dev, op, x, axes, outShape, out, opts);
}

export interface VarOptions {
  keepdims?: boolean;
  /** Subtracted from the count: 0 (default) population variance, 1 sample variance (Bessel). */
  correction?: number;
}

export const sum = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('sum', x, axis, keepdims);
export const mean = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('mean', x, axis, keepdims);
/** NaN-propagating maximum over axes. */
export const max = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('max', x, axis, keepdims);
/** NaN-propagating minimum over axes. */
export const min = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('min', x, axis, keepdims);
/** i32 index of the first maximum (a NaN counts as the maximum); over several axes, the row-major index within them. */
export const argmax = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('argmax', x, axis, keepdims);
/** i32 index of the first minimum (a NaN counts as the minimum). */
export const argmin = (x: Tensor, axis?: Axis, keepdims = false): Tensor => reduction('argmin', x, axis, keepdims);

/** Variance over axes: sum((x - mean)^2) / max(0, n - correction); any ±Inf or NaN gives NaN. */
export function variance(x: Tensor, axis?: Axis, keepdims: boolean | VarOptions = false): Tensor {
  const opts: VarOptions = typeof keepdims === 'object' && keepdims !== null ? keepdims : { keepdims };
  const correction = opts.correction ?? 0;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) {
    throw new DTypeError('var', `correction must be a finite number, got ${String(correction)}`);
  }
  return reduction('var', x, axis, opts.keepdims ?? false, { correction });
}
