// Elementwise ops: validation, dtype promotion, then the GPU kernel or the CPU reference.
import { DTypeError, GpuValidationError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import { checkDType, isFloat, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/elementwise.js';
import { elementwise } from './gpu-elementwise.js';
import { scalarLike } from './create.js';

const BINARY_EXPR = { add: '(a + b)', mul: '(a * b)' } as const;
export type BinaryName = keyof typeof BINARY_EXPR;

export function checkSameDevice(op: string, a: Tensor, b: Tensor): void {
  if (a.device !== b.device) {
    throw new GpuValidationError(`${op}: operands are on different devices (${a.device} and ${b.device}); move one with await t.to('${a.device}')`);
  }
}

export function binary(op: BinaryName, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  if (typeof aIn === 'number') {
    // A plain number on the left: a 0-d tensor of the right operand's dtype, order kept.
    if (typeof bIn === 'number') throw new DTypeError(op, 'needs at least one tensor operand, got two numbers');
    const a = scalarLike(aIn, bIn);
    try {
      return binary(op, a, bIn);
    } finally {
      a.dispose();
    }
  }
  const a = aIn;
  const b = typeof bIn === 'number' ? scalarLike(bIn, a) : bIn;
  try {
    checkSameDevice(op, a, b);
    const out = promote(op, a.dtype, b.dtype);
    const shape = broadcastShapes(op, a.shape, b.shape);
    if (a.device === 'cpu') return cpu.binary(op, a, b, out);
    return elementwise(requireDevice(op), op, BINARY_EXPR[op], [a, b], shape, out);
  } finally {
    if (b !== bIn) b.dispose();
  }
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);

export function cast(x: Tensor, dtypeIn: DType): Tensor {
  const dtype = checkDType('cast', dtypeIn);
  if (x.device === 'cpu') return cpu.cast(x, dtype);
  // Casts compute in f32 whenever a float is involved, so ±Inf, NaN and saturation match the reference.
  const ct = isFloat(x.dtype) || isFloat(dtype) ? 'f32' : (x.dtype as 'i32' | 'u32');
  return elementwise(requireDevice('cast'), 'cast', 'a', [x], x.shape, dtype, ct);
}

/** A row-major copy; a contiguous tensor returns a new reference to the same storage. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous && x.offset === 0) {
    x.storage.retain();
    return new (x.constructor as typeof Tensor)(x.storage, x.shape, x.dtype);
  }
  if (x.device === 'cpu') return cpu.cast(x, x.dtype);
  return elementwise(requireDevice('contiguous'), 'copy', 'a', [x], x.shape, x.dtype);
}

export function assertNumeric(op: string, value: unknown): number {
  if (typeof value !== 'number') throw new DTypeError(op, `expected a number, got ${typeof value}`);
  return value;
}
