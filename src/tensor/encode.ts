// Host-side conversion between JS values and a dtype's bytes.
import { DTypeError } from '../errors.js';
import type { DType, DataFor } from './dtype.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';

export type TensorData = ArrayLike<number> | Float32Array | Int32Array | Uint32Array | Uint16Array;

/** Bytes of `values` stored as `dtype`. A typed array already in that layout is viewed, not copied. */
export function encodeElements(values: TensorData, dtype: DType): Uint8Array {
  const n = values.length;
  const direct =
    (dtype === 'f32' && values instanceof Float32Array) ||
    (dtype === 'i32' && values instanceof Int32Array) ||
    (dtype === 'u32' && values instanceof Uint32Array);
  if (direct) {
    const v = values as Float32Array;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  switch (dtype) {
    case 'f32':
      return bytesOf(Float32Array.from(values as ArrayLike<number>));
    case 'i32':
      return bytesOf(Int32Array.from(values as ArrayLike<number>, (x) => Number(x) | 0));
    case 'u32':
      return bytesOf(Uint32Array.from(values as ArrayLike<number>, (x) => Number(x) >>> 0));
    case 'f16':
    case 'bf16': {
      const bits = new Uint16Array(n);
      const conv = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < n; i++) bits[i] = conv(values[i]);
      return bytesOf(bits);
    }
    default:
      throw new DTypeError('tensor', `unknown dtype ${String(dtype)}`);
  }
}

function bytesOf(a: Float32Array | Int32Array | Uint32Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Elements of `bytes` (a dtype's layout) as a typed array; 16-bit floats widen to f32. */
export function decodeElements(bytes: Uint8Array, dtype: DType): DataFor<DType> {
  // Copy to an aligned buffer when the bytes do not start on an element boundary.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case 'f32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    case 'i32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    case 'u32':
      return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    default: {
      const bits = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
      const conv = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = conv(bits[i]);
      return out;
    }
  }
}

/** Flattens nested arrays, checking that they are rectangular; returns values and shape. */
export function flatten(op: string, data: unknown): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: number[] = [];
  const walk = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new DTypeError(op, `expected a number, got ${typeof v}`);
      values.push(Number(v));
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new DTypeError(op, `nested arrays are not rectangular at depth ${dim} (expected length ${shape[dim]})`);
    }
    for (const x of v) walk(x, dim + 1);
  };
  walk(data, 0);
  return { values, shape };
}
