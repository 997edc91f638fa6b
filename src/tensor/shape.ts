// Shapes, strides and broadcasting. Strides and offsets count elements, not bytes.
import { ShapeError } from '../errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Element-wise equality of two index arrays (null equals only null). */
export function sameArray(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isContiguous(shape: Shape, strides: Shape): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(op, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (shape.length > 8) throw new ShapeError(op, `at most 8 dimensions are supported, got ${shape.length}`, [shape]);
  return [...shape];
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `cannot broadcast dimension ${i} (${da} vs ${db})`, [a, b]);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if it had `target` shape (0 = repeat). */
export function broadcastStrides(shape: Shape, strides: Shape, target: Shape): number[] {
  const k = target.length - shape.length;
  return target.map((_, i) => (i < k || shape[i - k] === 1 ? 0 : strides[i - k]));
}

export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1)) {
    throw new ShapeError(op, `axis ${axis} is out of range for a tensor of ${ndim} dimensions`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Merges adjacent dimensions that every operand walks contiguously (stride[i] = stride[i+1] *
 * shape[i+1]), so kernels index fewer dimensions. Size-1 dimensions are dropped.
 */
export function coalesce(shape: Shape, strideSets: readonly Shape[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && strideSets.every((s, k) => outStrides[k][last] === s[i] * shape[i]);
    if (mergeable) {
      outShape[last] *= shape[i];
      strideSets.forEach((s, k) => (outStrides[k][last] = s[i]));
    } else {
      outShape.push(shape[i]);
      strideSets.forEach((s, k) => outStrides[k].push(s[i]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}
