// Views: reshape, permute, slice and expand share storage and only change shape/strides/offset.
import { ShapeError } from '../errors.js';
import { broadcastStrides, checkShape, contiguousStrides, normalizeAxis, sizeOf, type Shape } from './shape.js';
import type { SliceArg, Tensor } from './tensor.js';
import { Tensor as TensorClass } from './tensor.js';

function viewOf(t: Tensor, shape: number[], strides: number[], offset: number): Tensor {
  const storage = t.storage;
  storage.retain();
  return new TensorClass(storage, shape, t.dtype, strides, offset);
}

/** New shape; one dimension may be -1. Copies only when the strides cannot express it. */
export function reshape(t: Tensor, shapeIn: Shape): Tensor {
  const neg = shapeIn.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError('reshape', 'only one dimension may be -1', [t.shape, shapeIn]);
  const known = sizeOf(shapeIn.filter((d) => d !== -1));
  const shape = shapeIn.map((d) => (d === -1 ? (known === 0 ? 0 : t.size / known) : d));
  checkShape('reshape', shape);
  if (sizeOf(shape) !== t.size) {
    throw new ShapeError('reshape', `cannot reshape ${t.size} elements into ${sizeOf(shape)}`, [t.shape, shapeIn]);
  }
  if (t.isContiguous) return viewOf(t, shape, contiguousStrides(shape), t.offset);
  const c = t.contiguous();
  try {
    return viewOf(c, shape, contiguousStrides(shape), 0);
  } finally {
    c.dispose();
  }
}

export function permute(t: Tensor, perm: readonly number[]): Tensor {
  const axes = perm.map((p) => normalizeAxis('permute', p, t.ndim));
  if (axes.length !== t.ndim || new Set(axes).size !== t.ndim) {
    throw new ShapeError('permute', `permutation [${perm}] is not a permutation of ${t.ndim} axes`, [t.shape]);
  }
  return viewOf(t, axes.map((a) => t.shape[a]), axes.map((a) => t.strides[a]), t.offset);
}

/** NumPy-style basic slicing: a number takes one index (dropping the axis), [start, end, step] a range. */
export function slice(t: Tensor, ranges: readonly SliceArg[]): Tensor {
  if (ranges.length > t.ndim) throw new ShapeError('slice', `${ranges.length} ranges for ${t.ndim} dimensions`, [t.shape]);
  const shape: number[] = [];
  const strides: number[] = [];
  let offset = t.offset;
  t.shape.forEach((n, axis) => {
    const r = ranges[axis] ?? null;
    if (typeof r === 'number') {
      const i = r < 0 ? r + n : r;
      if (!Number.isInteger(r) || i < 0 || i >= n) throw new ShapeError('slice', `index ${r} is out of range for axis ${axis} of size ${n}`, [t.shape]);
      offset += i * t.strides[axis];
      return;
    }
    const [s0, e0, step = 1] = r ?? [];
    if (!Number.isInteger(step) || step < 1) throw new ShapeError('slice', `step must be a positive integer, got ${step} on axis ${axis}`, [t.shape]);
    const clampIdx = (v: number | undefined, dflt: number) =>
      v === undefined ? dflt : Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = clampIdx(s0, 0);
    const end = clampIdx(e0, n);
    const len = Math.max(0, Math.ceil((end - start) / step));
    shape.push(len);
    strides.push(t.strides[axis] * step);
    if (len > 0) offset += start * t.strides[axis];
  });
  return viewOf(t, shape, strides, offset);
}

/** Broadcasts size-1 (or missing leading) dimensions to `shape` with stride 0. */
export function expand(t: Tensor, shapeIn: Shape): Tensor {
  const shape = checkShape('expand', shapeIn.map((d, i) => (d === -1 ? (t.shape[i - (shapeIn.length - t.ndim)] ?? -1) : d)));
  const k = shape.length - t.ndim;
  if (k < 0 || t.shape.some((d, i) => d !== 1 && d !== shape[i + k])) {
    throw new ShapeError('expand', 'each dimension must match or be 1', [t.shape, shapeIn]);
  }
  return viewOf(t, shape, broadcastStrides(t.shape, t.strides, shape), t.offset);
}
