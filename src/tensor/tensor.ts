// The Tensor: a dtype, a shape and a strided view of reference-counted storage.
import { GpuValidationError } from '../errors.js';
import type { DeviceKind, Storage } from '../runtime/storage.js';
import { LazyNode } from '../graph/node.js';
import { realize } from '../graph/realize.js';
import { byteSize, type DType, type DataFor } from './dtype.js';
import { decodeElements } from './encode.js';
import * as view from './view.js';
import { contiguousStrides, isContiguous, sizeOf, type Shape } from './shape.js';
import { track, untrack, type Releasable } from './scope.js';
import * as ops from '../ops/index.js';
import type { QuantizedTensor } from '../formats/quant.js';

export type NestedArray = number | NestedArray[];
export type SliceArg = number | null | readonly [number?, number?, number?];

/** What a tensor holds: realized storage or a lazy node. Swapped in place when a node realizes. */
class SourceRef implements Releasable {
  constructor(public target: Storage | LazyNode | null) {}
  release(): void {
    this.target?.release();
    this.target = null;
  }
}

export class Tensor {
  readonly size: number;
  private readonly src: SourceRef;

  /** @internal Tensors come from lb.tensor(), creation helpers and ops. A lazy tensor is contiguous. */
  constructor(
    source: Storage | LazyNode,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly strides: readonly number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {
    this.src = new SourceRef(source);
    if (!(source instanceof LazyNode)) source.claim?.(); // GPU storage: owned, not an op's orphan
    this.size = sizeOf(shape);
    track(this, this.src);
  }

  /** The storage, computing a lazy value first (its kernel is recorded, not yet submitted). */
  get storage(): Storage {
    const target = this.src.target;
    if (!target) throw new GpuValidationError(`a ${this.dtype} tensor of shape [${this.shape}] was used after dispose()`);
    if (!(target instanceof LazyNode)) return target;
    const storage = realize(target);
    storage.retain();
    this.src.target = storage;
    target.release();
    return storage;
  }

  /**
   * Computes a lazy value into storage now: its fused kernel is recorded into the current batch
   * and runs at the next sync point. Returns this tensor.
   */
  realize(): this {
    void this.storage;
    return this;
  }

  /** The unrealized lazy node behind this tensor, if any. */
  get lazy(): LazyNode | null {
    const t = this.src.target;
    return t instanceof LazyNode && !t.realized ? t : null;
  }

  get device(): DeviceKind {
    const t = this.src.target;
    if (!t) throw new GpuValidationError(`a ${this.dtype} tensor of shape [${this.shape}] was used after dispose()`);
    return t instanceof LazyNode ? 'gpu' : t.kind;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.src.target === null;
  }

  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** Bytes this tensor's elements occupy (not the whole shared storage). */
  get byteLength(): number {
    return this.size * byteSize(this.dtype);
  }

  dispose(): void {
    if (!this.src.target) return;
    untrack(this.src);
    this.src.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The elements in row-major order; f16 and bf16 widen to Float32Array. */
  async data(): Promise<DataFor<DType>> {
    const storage = this.storage;
    if (this.size === 0) return decodeElements(new Uint8Array(0), this.dtype);
    if (!this.isContiguous) {
      const c = this.contiguous();
      try {
        return await c.data();
      } finally {
        c.dispose();
      }
    }
    const width = byteSize(this.dtype);
    return decodeElements(await storage.read(this.offset * width, this.size * width), this.dtype);
  }

  /** The elements as nested JS arrays (a number for a 0-d tensor). */
  async toArray(): Promise<NestedArray> {
    const flat = Array.from(await this.data());
    if (this.ndim === 0) return flat[0];
    const build = (dim: number, start: number): NestedArray[] => {
      const n = this.shape[dim];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: n }, (_, i) =>
        dim === this.ndim - 1 ? flat[start + i] : build(dim + 1, start + i * step),
      );
    };
    return build(0, 0);
  }

  /** A copy on the other device (GPU <-> CPU). Same device: a new reference to the same data. */
  async to(device: DeviceKind): Promise<Tensor> {
    return ops.toDevice(this, device);
  }

  // Views: no data moves.
  reshape(shape: Shape): Tensor {
    return view.reshape(this, shape);
  }
  permute(perm: readonly number[]): Tensor {
    return view.permute(this, perm);
  }
  transpose(perm?: readonly number[]): Tensor {
    return view.permute(this, perm ?? this.shape.map((_, i) => this.ndim - 1 - i));
  }
  slice(...ranges: SliceArg[]): Tensor {
    return view.slice(this, ranges);
  }
  expand(shape: Shape): Tensor {
    return view.expand(this, shape);
  }

  // Ops.
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  // Elementwise ops (src/ops/elementwise.ts has the dtype rules; comparisons give u32 0/1).
  sub(other: Tensor | number): Tensor { return ops.sub(this, other); }
  div(other: Tensor | number): Tensor { return ops.div(this, other); }
  pow(other: Tensor | number): Tensor { return ops.pow(this, other); }
  maximum(other: Tensor | number): Tensor { return ops.maximum(this, other); }
  minimum(other: Tensor | number): Tensor { return ops.minimum(this, other); }
  eq(other: Tensor | number): Tensor { return ops.eq(this, other); }
  ne(other: Tensor | number): Tensor { return ops.ne(this, other); }
  lt(other: Tensor | number): Tensor { return ops.lt(this, other); }
  le(other: Tensor | number): Tensor { return ops.le(this, other); }
  gt(other: Tensor | number): Tensor { return ops.gt(this, other); }
  ge(other: Tensor | number): Tensor { return ops.ge(this, other); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  rsqrt(): Tensor { return ops.rsqrt(this); }
  sin(): Tensor { return ops.sin(this); }
  cos(): Tensor { return ops.cos(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  silu(): Tensor { return ops.silu(this); }
  gelu(opts?: ops.GeluOptions): Tensor { return ops.gelu(this, opts); }
  clamp(min?: Tensor | number | null, max?: Tensor | number | null): Tensor { return ops.clamp(this, min, max); }
  /** where(cond, this, other) */
  where(cond: Tensor, other: Tensor | number): Tensor { return ops.where(cond, this, other); }
  /** this @ other (see lb.matmul for options: transposes, bias, activation, residual, alpha). */
  /** `other` may be a QuantizedTensor weight [N, K] (with { transB: true }): decoded inside the kernel. */
  matmul(other: Tensor | QuantizedTensor, opts?: ops.MatmulOptions): Tensor { return ops.matmul(this, other, opts); }
  sum(axis?: number | readonly number[] | null, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  // Reductions (src/ops/reduce.ts: dtypes, NaN, empty axes) and softmax along an axis.
  mean(axis?: ops.Axis, keepdims = false): Tensor { return ops.mean(this, axis, keepdims); }
  max(axis?: ops.Axis, keepdims = false): Tensor { return ops.max(this, axis, keepdims); }
  min(axis?: ops.Axis, keepdims = false): Tensor { return ops.min(this, axis, keepdims); }
  argmax(axis?: ops.Axis, keepdims = false): Tensor { return ops.argmax(this, axis, keepdims); }
  argmin(axis?: ops.Axis, keepdims = false): Tensor { return ops.argmin(this, axis, keepdims); }
  /** Variance; `keepdims` may be { keepdims, correction } (correction 1: sample variance). */
  var(axis?: ops.Axis, keepdims: boolean | ops.VarOptions = false): Tensor { return ops.variance(this, axis, keepdims); }
  softmax(axis = -1): Tensor { return ops.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return ops.logSoftmax(this, axis); }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}], ${this.disposed ? 'disposed' : this.device})`;
  }
}
