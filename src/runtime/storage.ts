// Tensor storage: GPUBuffer-backed (MetalStorage) or host memory (CpuStorage), one interface.
// Storage is reference-counted: views share it, and the buffer returns to the pool (after the
// GPU work that used it) when the last reference goes.
import { GpuOutOfMemoryError, GpuValidationError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { GpuDevice } from './device.js';
import type { Lease } from './pool.js';
import { readBuffer, uploadBytes } from './transfer.js';
import { STAGING_THRESHOLD } from './upload.js';

export type DeviceKind = 'gpu' | 'cpu';

export interface Storage {
  readonly kind: DeviceKind;
  readonly byteLength: number;
  readonly dtype: DType;
  readonly label: string;
  readonly released: boolean;
  retain(): void;
  release(): void;
  /** Marks GPU storage as owned (by a tensor or a lazy node's value), see MetalStorage. */
  claim?(): void;
  /** Bytes [offset, offset + length) as a fresh Uint8Array. */
  read(offset?: number, length?: number): Promise<Uint8Array>;
}

abstract class RefCounted {
  private refs = 1;
  get released(): boolean {
    return this.refs <= 0;
  }
  retain(): void {
    if (this.refs <= 0) throw new GpuValidationError(`${this.describe()} was already disposed`);
    this.refs++;
  }
  release(): void {
    if (this.refs <= 0) return; // disposing twice is harmless
    if (--this.refs === 0) this.free();
  }
  protected abstract free(): void;
  protected abstract describe(): string;
}

// Storage an op allocated that no tensor or node took yet. Ops are synchronous, so whatever is
// still here once the current synchronous code ends was orphaned by an op that threw (out of
// memory, a tensor of a lost device) after allocating its output: it is released then.
const unowned = new Set<MetalStorage>();
let sweepQueued = false;

function sweepUnowned(): void {
  sweepQueued = false;
  const orphans = [...unowned];
  unowned.clear();
  for (const s of orphans) s.release();
}

export class MetalStorage extends RefCounted implements Storage {
  readonly kind = 'gpu';
  private lastUse = 0;

  private constructor(
    readonly dev: GpuDevice,
    private readonly lease: Lease<GPUBuffer>,
    readonly byteLength: number,
    readonly dtype: DType,
    readonly label: string,
  ) {
    super();
    unowned.add(this);
    if (!sweepQueued) {
      sweepQueued = true;
      queueMicrotask(sweepUnowned);
    }
  }

  /** Owned now (a Tensor or a realized node holds it): no longer an orphan candidate. */
  claim(): void {
    unowned.delete(this);
  }

  override retain(): void {
    unowned.delete(this);
    super.retain();
  }

  /** Uninitialized storage for a kernel's output. */
  static empty(dev: GpuDevice, byteLength: number, dtype: DType, label = 'tensor'): MetalStorage {
    return new MetalStorage(dev, dev.acquire(byteLength, undefined, label), byteLength, dtype, label);
  }

  /** Storage holding `bytes`: a new buffer is filled while mapped at creation, a pooled one by writeBuffer. */
  static upload(dev: GpuDevice, bytes: Uint8Array, dtype: DType, label = 'tensor'): MetalStorage {
    // Small uploads go into a buffer mapped at creation (when new); large ones through staging.
    const lease = dev.acquire(bytes.byteLength, undefined, label, bytes.byteLength < STAGING_THRESHOLD);
    uploadBytes(dev, lease.buffer, bytes);
    return new MetalStorage(dev, lease, bytes.byteLength, dtype, label);
  }

  /** The buffer, for binding; marks it busy until the batch now recording completes. */
  use(): GPUBuffer {
    if (this.released) throw new GpuValidationError(`${this.describe()} was used after dispose()`);
    this.dev.checkTensor(this.describe());
    if (this.dev.isFailedBuffer(this.lease.buffer)) {
      const s = this.dev.pool.stats();
      throw new GpuOutOfMemoryError(this.byteLength, s.liveBytes, s.pooledBytes, `${this.describe()} has no memory: the driver refused its buffer; re-create it`);
    }
    this.lastUse = this.dev.stream.currentFence;
    return this.lease.buffer;
  }

  /** Bytes bound for this storage: its lease size (a multiple of 4, at least 16). */
  get bindSize(): number {
    return this.lease.size;
  }

  async read(offset = 0, length = this.byteLength - offset): Promise<Uint8Array> {
    const buffer = this.use();
    return readBuffer(this.dev, buffer, offset, length);
  }

  /** Throws DeviceLostError when this storage's device was lost (its data is gone). */
  checkAlive(): void {
    this.dev.checkTensor(this.describe());
  }

  protected free(): void {
    unowned.delete(this);
    if (this.dev.lost) return; // the buffers went with the device
    this.dev.pool.release(this.lease, this.lastUse);
  }

  protected describe(): string {
    return `GPU tensor storage '${this.label}' (${this.byteLength} bytes, ${this.dtype})`;
  }
}

export class CpuStorage extends RefCounted implements Storage {
  readonly kind = 'cpu';
  constructor(
    readonly bytes: Uint8Array,
    readonly dtype: DType,
    readonly label = 'tensor',
  ) {
    super();
  }

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  async read(offset = 0, length = this.byteLength - offset): Promise<Uint8Array> {
    return this.bytes.slice(offset, offset + length);
  }

  protected free(): void {}

  protected describe(): string {
    return `CPU tensor storage '${this.label}' (${this.byteLength} bytes, ${this.dtype})`;
  }
}
