// Elementwise ops: validation, dtype promotion, then a lazy GPU node or the CPU reference.
import { DTypeError, GpuValidationError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import { checkDType, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/elementwise.js';
import { lazyElementwise } from './gpu-elementwise.js';

export type BinaryName = 'add' | 'mul';

export function checkSameDevice(op: string, a: Tensor, b: Tensor): void {
  if (a.device !== b.device) {
    throw new GpuValidationError(`${op}: operands are on different devices (${a.device} and ${b.device}); move one with await t.to('${a.device}')`);
  }
}

export function binary(op: BinaryName, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === 'number' || typeof b === 'number') {
    // A plain number adopts the tensor's dtype and travels in the kernel's uniforms.
    const t = typeof a === 'number' ? b : a;
    if (typeof t === 'number') throw new DTypeError(op, 'needs at least one tensor operand, got two numbers');
    const operands = [a, b].map((x) => (typeof x === 'number' ? { scalar: x, dtype: t.dtype } : x));
    if (t.device === 'cpu') return cpu.apply(op, operands, t.shape, t.dtype);
    return lazyElementwise(requireDevice(op), op, operands, t.shape, t.dtype);
  }
  checkSameDevice(op, a, b);
  const out = promote(op, a.dtype, b.dtype);
  const shape = broadcastShapes(op, a.shape, b.shape);
  if (a.device === 'cpu') return cpu.apply(op, [a, b], shape, out);
  return lazyElementwise(requireDevice(op), op, [a, b], shape, out);
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);

export function cast(x: Tensor, dtypeIn: DType): Tensor {
  const dtype = checkDType('cast', dtypeIn);
  if (x.device === 'cpu') return cpu.apply('copy', [x], x.shape, dtype, x.dtype);
  return lazyElementwise(requireDevice('cast'), 'copy', [x], x.shape, dtype, x.dtype);
}

/** A row-major copy; a contiguous tensor returns a new reference to the same storage. */
export function contiguous(x: Tensor): Tensor {
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
