// Quantized weights: ggml blocks kept as they are in a u32 tensor (the bytes packed LE, padded
// to a word), dequantized to f32 on the tensor's device: wgsl/dequant.wgsl on the GPU,
// src/cpu/quant.ts on the CPU (bit-exact twins). The Tensor dtype set has no block types, so a
// quantized weight is this wrapper rather than a Tensor.
import { DTypeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import { CpuStorage, MetalStorage } from '../runtime/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { dequantizeBlocks, QUANT_LAYOUT, type QuantType } from '../cpu/quant.js';

export type { QuantType } from '../cpu/quant.js';

export class QuantizedTensor {
  constructor(
    readonly type: QuantType,
    /** Row-major logical shape (the last dimension a multiple of the block size). */
    readonly shape: readonly number[],
    /** The raw blocks: u32 words, bytes little-endian, zero-padded to a whole word. */
    readonly storage: Tensor,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get device(): 'gpu' | 'cpu' {
    return this.storage.device;
  }

  get disposed(): boolean {
    return this.storage.disposed;
  }

  /** Bytes of the blocks (without the padding). */
  get byteLength(): number {
    return (this.size / QUANT_LAYOUT[this.type].block) * QUANT_LAYOUT[this.type].bytes;
  }

  /** An f32 tensor of `shape`, computed on the device that holds the blocks. */
  dequantize(): Tensor {
    return dequantize(this);
  }

  dispose(): void {
    this.storage.dispose();
  }
}

/** The f32 values of a quantized tensor (on its device). */
export function dequantize(q: QuantizedTensor): Tensor {
  const op = 'dequantize';
  if (!(q instanceof QuantizedTensor)) throw new DTypeError(op, 'takes a QuantizedTensor (from lb.loadGguf)');
  if (q.disposed) throw new DTypeError(op, `the ${q.type} tensor of shape [${q.shape}] was disposed`);
  const n = q.size;
  const shape = [...q.shape];
  if (q.device === 'cpu') {
    const raw = (q.storage.storage as CpuStorage).bytes;
    const values = dequantizeBlocks(q.type, raw, n);
    return new Tensor(new CpuStorage(new Uint8Array(values.buffer), 'f32', op), shape, 'f32');
  }
  const dev = requireDevice(op);
  dev.checkAllocatable(n * 4);
  const blocks = q.storage.storage as MetalStorage;
  const out = MetalStorage.empty(dev, n * 4, 'f32', op);
  if (n > 0) {
    const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / 256));
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'dequant', label: `dequantize ${q.type}` },
      buffers: { blocks: blocks.use(), out: out.use() },
      params: new Uint32Array([n, gridX * 256, QUANT_LAYOUT[q.type].kind]).buffer,
      workgroups,
      bytes: q.byteLength + n * 4,
    });
  }
  return new Tensor(out, shape, 'f32');
}
