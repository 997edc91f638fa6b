// Reductions: sum over any axes with keepdims.
import { requireDevice } from '../runtime/context.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import * as cpu from '../cpu/reduce.js';
import { sumAxes } from './gpu-reduce.js';
import { fullLike } from './create.js';

function resolveAxes(op: string, x: Tensor, axis: number | readonly number[] | null | undefined): number[] {
  if (axis === null || axis === undefined) return x.shape.map((_, i) => i);
  const list = (typeof axis === 'number' ? [axis] : [...axis]).map((a) => normalizeAxis(op, a, x.ndim));
  if (new Set(list).size !== list.length) throw new ShapeError(op, `repeated axis in [${list}]`, [x.shape]);
  return list.sort((p, q) => p - q);
}

export function sum(x: Tensor, axis?: number | readonly number[] | null, keepdims = false): Tensor {
  const axes = resolveAxes('sum', x, axis);
  const reduced = new Set(axes);
  const outShape = keepdims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
  if (x.device === 'cpu') return cpu.sum(x, axes, outShape, x.dtype);
  const dev = requireDevice('sum');
  const cols = sizeOf(axes.map((a) => x.shape[a]));
  const rows = sizeOf(outShape);
  if (cols === 0 || rows === 0) return fullLike(0, outShape, x.dtype, x);
  // The kernel reads the input with the reduced axes last, through strides: no copy.
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced.has(i));
  return sumAxes(dev, x, [...kept, ...axes], rows, cols, outShape);
}
