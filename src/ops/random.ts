// Seeded random tensors, generated on the GPU by a counter-based generator (wgsl/random.wgsl,
// Threefry-2x32): element e depends only on (seed, e), so the CPU (src/cpu/random.ts) computes
// the same values: identical for rand, within a few f32 ulps for randn (GPU log/cos).
import { DTypeError } from '../errors.js';
import { currentDevice, requireDevice } from '../runtime/context.js';
import { MetalStorage, type DeviceKind } from '../runtime/storage.js';
import { byteSize, checkDType, isFloat, type DType } from '../tensor/dtype.js';
import { checkShape, sizeOf, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/random.js';
import { isHalf, storeType, storeValue } from './wgsl-types.js';

export interface RandomOptions {
  /** Any safe integer or bigint (taken modulo 2^64). Omitted: a fresh random seed per call. */
  seed?: number | bigint;
  /** A float dtype; default f32. */
  dtype?: DType;
  device?: DeviceKind;
}

/** Uniform in [0, 1): every value is a multiple of 2^-p with p the dtype's significand bits. */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random('rand', shape, opts, false);
}

/** Standard normal (Box-Muller in f32). */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random('randn', shape, opts, true);
}

/** The generator key (k0, k1) for a seed. */
export function seedKey(op: string, seed: number | bigint | undefined): [number, number] {
  if (seed === undefined) return [(Math.random() * 2 ** 32) >>> 0, (Math.random() * 2 ** 32) >>> 0];
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new DTypeError(op, `seed must be a safe integer or a bigint, got ${seed}`);
  if (typeof seed !== 'number' && typeof seed !== 'bigint') throw new DTypeError(op, `seed must be a number or a bigint, got ${typeof seed}`);
  const b = BigInt.asUintN(64, BigInt(seed));
  return [Number(b & 0xffffffffn), Number(b >> 32n)];
}

function random(op: string, shapeIn: Shape, opts: RandomOptions, normal: boolean): Tensor {
  const shape = checkShape(op, shapeIn);
  const dtype = checkDType(op, opts.dtype ?? 'f32');
  if (!isFloat(dtype)) throw new DTypeError(op, `dtype must be a float dtype (f32, f16, bf16), got ${dtype}`);
  const [k0, k1] = seedKey(op, opts.seed);
  const n = sizeOf(shape);
  if (n >= 2 ** 32) throw new DTypeError(op, `at most 2^32 - 1 elements, got ${n}`);
  const device = opts.device ?? (currentDevice() ? 'gpu' : 'cpu');
  if (device === 'cpu') return cpu.random(shape, dtype, k0, k1, normal);
  const dev = requireDevice(op);
  const bytes = n * byteSize(dtype);
  dev.checkAllocatable(bytes);
  const out = MetalStorage.empty(dev, bytes, dtype, op);
  if (n > 0) {
    const half = isHalf(dtype);
    const bits = cpu.UNIFORM_BITS[dtype];
    const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / (half ? 2 : 1) / 256));
    dev.stream.record({
      kind: 'dispatch',
      spec: {
        file: 'random',
        label: op,
        defines: {
          ELEMENT: 'sample',
          NORMAL: normal,
          BITS: bits,
          SCALE: `${2 ** -bits}`,
          OUT_HALF: half,
          OUT_STORE: storeType(dtype),
          STORE: storeValue(dtype, 'f32'),
        },
      },
      buffers: { out: out.use() },
      params: new Uint32Array([n, gridX * 256, k0, k1]).buffer,
      workgroups,
    });
  }
  return new Tensor(out, shape, dtype);
}
