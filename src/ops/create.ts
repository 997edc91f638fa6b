// Tensor creation: from typed or nested arrays, constants, and moves between devices.
import { DTypeError } from '../errors.js';
import { currentDevice, requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { CpuStorage, MetalStorage, type DeviceKind } from '../runtime/storage.js';
import { byteSize, checkDType, type DType } from '../tensor/dtype.js';
import { encodeElements, flatten, type TensorData } from '../tensor/encode.js';
import { checkShape, sizeOf, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: DeviceKind;
}

function inferDType(data: unknown): DType {
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint32Array) return 'u32';
  return 'f32';
}

function pickDevice(opts: CreateOptions): DeviceKind {
  return opts.device ?? (currentDevice() ? 'gpu' : 'cpu');
}

/** A tensor from a typed array, a flat array with a shape, nested arrays, or a number. */
export function tensor(data: TensorData | number | readonly unknown[], shape?: Shape, opts: CreateOptions = {}): Tensor {
  let values: TensorData;
  let dims: number[];
  if (typeof data === 'number') {
    values = [data];
    dims = shape ? checkShape('tensor', shape) : [];
  } else if (ArrayBuffer.isView(data) || (Array.isArray(data) && !data.some(Array.isArray) && shape)) {
    values = data as TensorData;
    dims = checkShape('tensor', shape ?? [values.length]);
  } else {
    const flat = flatten('tensor', data);
    values = flat.values;
    dims = shape ? checkShape('tensor', shape) : flat.shape;
  }
  const dtype = checkDType('tensor', opts.dtype ?? inferDType(data));
  if (values.length !== sizeOf(dims)) {
    throw new DTypeError('tensor', `${values.length} values do not fill shape [${dims}] (${sizeOf(dims)} elements)`);
  }
  if (data instanceof Uint16Array && (dtype === 'f16' || dtype === 'bf16')) {
    // A Uint16Array given for a 16-bit float dtype holds the raw bits.
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return fromBytes(raw, dims, dtype, pickDevice(opts));
  }
  return fromBytes(encodeElements(values, dtype), dims, dtype, pickDevice(opts));
}

/** A tensor holding `bytes` (the dtype's layout). GPU: uploaded without an intermediate copy. */
export function fromBytes(bytes: Uint8Array, shape: Shape, dtype: DType, device: DeviceKind): Tensor {
  if (device === 'cpu') return new Tensor(new CpuStorage(bytes.slice(), dtype), [...shape], dtype);
  const dev = requireDevice('tensor');
  return new Tensor(MetalStorage.upload(dev, bytes, dtype), [...shape], dtype);
}

/** The u32 word a fill kernel repeats: 16-bit values appear in both halves. */
function fillPattern(value: number, dtype: DType): number {
  const bytes = encodeElements([value], dtype);
  if (byteSize(dtype) === 2) {
    const bits = bytes[0] | (bytes[1] << 8);
    return (bits | (bits << 16)) >>> 0;
  }
  return new Uint32Array(bytes.slice().buffer)[0];
}

function gpuFill(dev: GpuDevice, value: number, shape: Shape, dtype: DType): Tensor {
  const bytes = sizeOf(shape) * byteSize(dtype);
  const storage = MetalStorage.empty(dev, bytes, dtype, 'full');
  const words = Math.ceil(bytes / 4);
  if (words > 0) {
    const { workgroups, gridX } = dev.stream.grid(Math.ceil(words / 256));
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'fill', label: 'fill' },
      buffers: { out: storage.use() },
      params: new Uint32Array([words, gridX * 256, fillPattern(value, dtype)]).buffer,
      workgroups,
    });
  }
  return new Tensor(storage, [...shape], dtype);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  const dims = checkShape('full', shape);
  if (typeof value !== 'number') throw new DTypeError('full', `value must be a number, got ${typeof value}`);
  const dtype = checkDType('full', opts.dtype ?? 'f32');
  if (pickDevice(opts) === 'cpu') {
    return fromBytes(encodeElements(new Array<number>(sizeOf(dims)).fill(value), dtype), dims, dtype, 'cpu');
  }
  return gpuFill(requireDevice('full'), value, dims, dtype);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 1, opts);

/**
 * Evenly spaced values in [start, stop) like NumPy: arange(stop), arange(start, stop, step?);
 * options may come last. Values are start + i * step computed in f64, then stored in the dtype.
 * Default dtype: i32 when start, stop and step are all integers, else f32.
 */
export function arange(stop: number, opts?: CreateOptions): Tensor;
export function arange(start: number, stop: number, opts?: CreateOptions): Tensor;
export function arange(start: number, stop: number, step?: number, opts?: CreateOptions): Tensor;
export function arange(...args: (number | CreateOptions | undefined)[]): Tensor {
  const opts = (typeof args[args.length - 1] === 'object' ? args.pop() : {}) as CreateOptions;
  const nums = args.filter((a) => a !== undefined);
  if (nums.length < 1 || nums.length > 3 || nums.some((a) => typeof a !== 'number' || !Number.isFinite(a))) {
    throw new DTypeError('arange', `takes (stop), (start, stop) or (start, stop, step) as finite numbers, got (${args.map(String).join(', ')})`);
  }
  const [start, stop, step = 1] = (nums.length === 1 ? [0, nums[0]] : nums) as number[];
  if (step === 0) throw new DTypeError('arange', 'step must not be 0');
  const dtype = checkDType('arange', opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'i32' : 'f32'));
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > 2 ** 31) throw new DTypeError('arange', `${n} elements is too many`);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  if (dtype === 'i32' || dtype === 'u32') {
    const lo = dtype === 'i32' ? -(2 ** 31) : 0;
    const hi = dtype === 'i32' ? 2 ** 31 - 1 : 2 ** 32 - 1;
    if (!Number.isInteger(start) || !Number.isInteger(step)) throw new DTypeError('arange', `${dtype} needs integer start and step, got ${start} and ${step}`);
    const bad = n > 0 ? [values[0], values[n - 1]].find((v) => v < lo || v > hi) : undefined;
    if (bad !== undefined) throw new DTypeError('arange', `value ${bad} is not representable as ${dtype}`);
  }
  return fromBytes(encodeElements(values, dtype), [n], dtype, pickDevice(opts));
}

/** A constant on the same device as `like`. */
export function fullLike(value: number, shape: Shape, dtype: DType, like: Tensor): Tensor {
  return full(shape, value, { dtype, device: like.device });
}

export async function toDevice(t: Tensor, device: DeviceKind): Promise<Tensor> {
  if (device !== 'cpu' && device !== 'gpu') throw new DTypeError('to', `unknown device '${String(device)}'; use 'gpu' or 'cpu'`);
  if (t.device === device) return t.contiguous();
  const c = t.contiguous();
  try {
    const width = byteSize(t.dtype);
    const bytes = await c.storage.read(c.offset * width, c.size * width);
    return fromBytes(bytes, t.shape, t.dtype, device);
  } finally {
    c.dispose();
  }
}
