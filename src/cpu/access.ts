// Reading and writing CPU-reference tensors as plain JS numbers.
import { CpuStorage } from '../runtime/storage.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { decodeElements, encodeElements } from '../tensor/encode.js';
import { roundTo } from '../tensor/half.js';
import { broadcastStrides, sizeOf, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * The logical elements of a CPU tensor in row-major order, honouring strides and offset;
 * with `shape`, the tensor is read broadcast to that shape.
 */
export function readValues(t: Tensor, shape: Shape = t.shape): Float64Array {
  const storage = t.storage as CpuStorage;
  const all = decodeElements(storage.bytes, t.dtype);
  const strides = broadcastStrides(t.shape, t.strides, shape);
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = t.offset;
  for (let o = 0; o < n; o++) {
    out[o] = all[src];
    // Odometer increment over the shape, moving `src` by strides.
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Converts a JS number to the value `dtype` holds: floats round, integers wrap (C-style). */
export function wrapTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f32':
      return Math.fround(x);
    case 'f16':
    case 'bf16':
      return roundTo(dtype, x);
    case 'i32':
      return x | 0;
    case 'u32':
      return x >>> 0;
  }
}

/** Cast semantics shared with the GPU: float -> integer truncates and saturates, NaN -> 0. */
export function castValue(from: DType, to: DType, x: number): number {
  if (isFloat(from) && !isFloat(to)) {
    if (Number.isNaN(x)) return 0;
    const lo = to === 'i32' ? -2147483648 : 0;
    const hi = to === 'i32' ? 2147483647 : 4294967295;
    return Math.min(Math.max(Math.trunc(x), lo), hi);
  }
  // Integers to f16/bf16 round through f32 first, as the kernels do.
  if (!isFloat(from) && (to === 'f16' || to === 'bf16')) return roundTo(to, Math.fround(x));
  return wrapTo(to, x);
}

export function cpuTensor(values: ArrayLike<number>, shape: Shape, dtype: DType): Tensor {
  if (values.length !== sizeOf(shape)) throw new Error(`internal: ${values.length} values for shape [${shape}]`);
  const bytes = encodeElements(values, dtype);
  // encodeElements may view the caller's memory; CPU storage must own its bytes.
  const owned = bytes.buffer === (values as Float32Array).buffer ? bytes.slice() : bytes;
  return new Tensor(new CpuStorage(owned, dtype), [...shape], dtype);
}
