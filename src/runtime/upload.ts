// Uploads through a ring of staging buffers kept mapped for writing: the caller's bytes are
// copied once into mapped memory and a GPU copy into the tensor's buffer is recorded in the
// batch (so it is ordered with the kernels). Used buffers are re-mapped in the background once
// their batch finishes. Dawn's writeBuffer, by contrast, runs at ~1.3 GB/s on large writes.
import type { GpuDevice } from './device.js';
import { BufferPool } from './pool.js';

const MAP_WRITE_COPY_SRC = 0x02 | 0x04;
/** Below this, queue.writeBuffer is as fast and needs no staging. */
export const STAGING_THRESHOLD = 256 * 1024;

export interface UploadStats {
  stagingBytes: number;
  stagingBuffers: number;
  readyBuffers: number;
  created: number;
}

export class UploadRing {
  private readonly ready: GPUBuffer[] = [];
  private bytes = 0;
  private count = 0;
  private created = 0;

  constructor(
    private readonly dev: GpuDevice,
    /** Staging memory kept beyond this is destroyed after use instead of re-mapped. */
    private readonly keepBytes = 256 * 1024 * 1024,
  ) {}

  /**
   * Copies `bytes` into the start of `dst` (a COPY_DST buffer) via staging, recorded in the batch.
   * Returns false, doing nothing, when staging memory is at its cap (the caller writes directly).
   */
  upload(dst: GPUBuffer, bytes: Uint8Array): boolean {
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    const staging = this.take(size);
    if (!staging) return false;
    new Uint8Array(staging.getMappedRange(0, size), 0, bytes.byteLength).set(bytes);
    staging.unmap();
    const stream = this.dev.stream;
    stream.record({ kind: 'copy', src: staging, srcOffset: 0, dst, dstOffset: 0, size });
    stream.afterFence(stream.currentFence, () => this.recycle(staging));
    return true;
  }

  stats(): UploadStats {
    return { stagingBytes: this.bytes, stagingBuffers: this.count, readyBuffers: this.ready.length, created: this.created };
  }

  destroyAll(): void {
    for (const b of this.ready) b.destroy();
    this.ready.length = 0;
  }

  /** Destroys the idle staging buffers, giving their bytes back to the memory budget. */
  reclaim(): void {
    for (const b of this.ready.splice(0)) this.drop(b);
  }

  /** The smallest ready buffer that fits (and is not over twice the size), or a new mapped one. */
  private take(size: number): GPUBuffer | null {
    let best = -1;
    for (let i = 0; i < this.ready.length; i++) {
      const s = this.ready[i].size;
      if (s >= size && s <= 2 * size && (best < 0 || s < this.ready[best].size)) best = i;
    }
    if (best >= 0) return this.ready.splice(best, 1)[0];
    const bytes = BufferPool.sizeClass(size);
    // Uploads in one synchronous burst cannot wait for re-mapping: past the cap, stop growing.
    if (this.bytes + bytes > this.keepBytes || bytes > this.dev.limits.maxBufferSize) return null;
    // Staging counts against lb.init({ memoryLimit }); without room the caller writes directly.
    if (!this.dev.pool.reserveExternal(bytes)) return null;
    this.created++;
    this.count++;
    this.bytes += bytes;
    return this.dev.device.createBuffer({ size: bytes, usage: MAP_WRITE_COPY_SRC, mappedAtCreation: true, label: 'upload staging' });
  }

  private drop(buffer: GPUBuffer): void {
    this.count--;
    this.bytes -= buffer.size;
    this.dev.pool.releaseExternal(buffer.size);
    buffer.destroy();
  }

  private recycle(buffer: GPUBuffer): void {
    if (this.dev.lost || this.bytes > this.keepBytes) return this.drop(buffer);
    buffer.mapAsync(GPUMapMode.WRITE).then(
      () => this.ready.push(buffer),
      () => this.drop(buffer),
    );
  }
}
