// Quantized weights: ggml blocks kept as they are in a u32 tensor (the bytes packed LE, padded
// to a word), dequantized to f32 on the tensor's device: wgsl/dequant.wgsl (decoding in
// wgsl/_quant.wgsl) on the GPU, src/cpu/quant.ts on the CPU (bit-exact twins). The Tensor dtype
// set has no block types, so a quantized weight is this wrapper rather than a Tensor; lb.matmul
// takes it as a transposed weight (src/ops/matmul-quant.ts).
import { DTypeError, ShapeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import { CpuStorage, MetalStorage } from '../runtime/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { dequantizeBlocks, QUANT_LAYOUT, type QuantType } from '../cpu/quant.js';

export type { QuantType } from '../cpu/quant.js';

/** The defines that select a block type in wgsl/_quant.wgsl. */
export function quantDefines(type: QuantType): Record<string, boolean> {
  return {
    [type.toUpperCase()]: true,
    Q5: type === 'q5_0' || type === 'q5_1',
    K45: type === 'q4_k' || type === 'q5_k',
  };
}

export class QuantizedTensor {
  constructor(
    readonly type: QuantType,
    /** Row-major logical shape (the last dimension a multiple of the block size). */
    readonly shape: readonly number[],
    /** The raw blocks: u32 words, bytes little-endian, zero-padded to a whole word. */
    readonly storage: Tensor,
  ) {
    const op = 'QuantizedTensor';
    const layout = QUANT_LAYOUT[type];
    if (!layout) throw new DTypeError(op, `unknown block type '${String(type)}'; expected one of ${Object.keys(QUANT_LAYOUT).join(', ')}`);
    const row = shape.length ? shape[shape.length - 1] : 1;
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || row % layout.block !== 0) {
      throw new ShapeError(op, `a ${type} tensor's rows must be whole blocks of ${layout.block}, got shape [${shape}]`, [shape]);
    }
    const words = Math.ceil(this.byteLength / 4);
    if (storage.dtype !== 'u32' || storage.ndim !== 1 || storage.size < words || !storage.isContiguous || storage.offset !== 0) {
      throw new ShapeError(op, `the blocks of a ${type} tensor of shape [${shape}] need a contiguous u32 tensor of at least ${words} words at offset 0, got ${storage.dtype} [${storage.shape}]`, [storage.shape]);
    }
  }

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

/** vec4s each dequantization thread writes (independent decodes in flight per thread). */
let dequantVecsPerThread = 4;

/** Runs `fn` with GPU dequantizations writing `vpt` vec4s per thread (tests, benchmarks). */
export function withDequantConfig<T>(cfg: { vpt: number }, fn: () => T): T {
  if (!(Number.isInteger(cfg.vpt) && cfg.vpt >= 1 && cfg.vpt <= 16)) throw new RangeError(`dequantize: vpt must be an integer in 1..16, got ${cfg.vpt}`);
  const prev = dequantVecsPerThread;
  dequantVecsPerThread = cfg.vpt;
  try {
    return fn();
  } finally {
    dequantVecsPerThread = prev;
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
    const vecs = n / 4;
    const vpt = dequantVecsPerThread;
    const { workgroups, gridX } = dev.stream.grid(Math.ceil(vecs / (256 * vpt)));
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'dequant', label: `dequantize ${q.type}`, defines: { ...quantDefines(q.type), VPT: vpt } },
      buffers: { blocks: blocks.use(), out: out.use() },
      params: new Uint32Array([vecs, gridX]).buffer,
      workgroups,
      bytes: q.byteLength + n * 4,
    });
  }
  return new Tensor(out, shape, 'f32');
}
