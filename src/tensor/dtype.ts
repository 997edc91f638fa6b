// Dtypes: what each stores, how many bytes, and how they combine.
import { DTypeError } from '../errors.js';

export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u32';
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u32'];

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : D extends 'u32'
      ? Uint32Array
      : Uint16Array;

/** What `data()` returns: f16/bf16 widen to Float32Array. */
export type DataFor<D extends DType> = D extends 'i32' ? Int32Array : D extends 'u32' ? Uint32Array : Float32Array;

export function byteSize(dtype: DType): number {
  return dtype === 'f16' || dtype === 'bf16' ? 2 : 4;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

export function checkDType(op: string, dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new DTypeError(op, `unknown dtype ${JSON.stringify(dtype)}; use one of ${DTYPES.join(', ')}`);
}

/**
 * Result dtype of a binary op: equal dtypes keep theirs, a float wins over an integer, two
 * different floats widen to f32. i32 with u32 is an error: a silent signedness change hides bugs.
 */
export function promote(op: string, a: DType, b: DType): DType {
  if (a === b) return a;
  const fa = isFloat(a);
  const fb = isFloat(b);
  if (fa && !fb) return a;
  if (fb && !fa) return b;
  if (fa && fb) return 'f32'; // f16+bf16, or any 16-bit float with f32
  throw new DTypeError(op, `cannot combine ${a} with ${b}; cast one side first (x.cast('${a}'))`);
}

/** The dtype a plain JS number takes next to a tensor of `other`: it adopts the tensor's dtype. */
export function scalarDType(other: DType): DType {
  return other;
}
