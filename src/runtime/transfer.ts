// Uploads and readbacks. Readback copies into a pooled MAP_READ staging buffer in the same
// submit as the pending work, then maps it: one submit per sync point.
import type { GpuDevice } from './device.js';
import { READBACK_USAGE } from './device.js';
import { STAGING_THRESHOLD } from './upload.js';

/**
 * Writes `bytes` to the start of `buffer`: through the mapping if it is mapped at creation,
 * through the staging ring when large, else with writeBuffer.
 */
export function uploadBytes(dev: GpuDevice, buffer: GPUBuffer, bytes: Uint8Array): void {
  if (buffer.mapState !== 'mapped' && bytes.byteLength >= STAGING_THRESHOLD && dev.uploads.upload(buffer, bytes)) return;
  if (buffer.mapState === 'mapped') {
    new Uint8Array(buffer.getMappedRange(), 0, bytes.byteLength).set(bytes);
    buffer.unmap();
    return;
  }
  // writeBuffer wants 4-byte multiples: the body goes straight from the caller's memory, a
  // padded copy of the last partial word goes after it.
  const body = bytes.byteLength & ~3;
  if (body > 0) dev.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, body);
  if (body < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(body));
    dev.device.queue.writeBuffer(buffer, body, tail);
  }
}

/** Reads bytes [offset, offset + length) of `buffer` after all recorded work has run. */
export async function readBuffer(dev: GpuDevice, buffer: GPUBuffer, offset: number, length: number): Promise<Uint8Array> {
  if (length <= 0) {
    await dev.stream.submit();
    return new Uint8Array(0);
  }
  // Copies need 4-byte aligned offsets and sizes: read the covering words, then slice.
  const start = offset & ~3;
  const end = Math.ceil((offset + length) / 4) * 4;
  const staging = dev.acquire(end - start, READBACK_USAGE, 'readback');
  let mapped = false;
  try {
    await dev.stream.submit((enc) => enc.copyBufferToBuffer(buffer, start, staging.buffer, 0, end - start));
    try {
      await staging.buffer.mapAsync(GPUMapMode.READ, 0, end - start);
    } catch (e) {
      // A device lost mid-readback aborts the map: report the loss, not a bare AbortError.
      throw (await lostWithin(dev, 100)) ?? e;
    }
    mapped = true;
    const view = new Uint8Array(staging.buffer.getMappedRange(0, end - start));
    return view.slice(offset - start, offset - start + length);
  } finally {
    if (mapped) staging.buffer.unmap();
    if (!dev.lost) dev.pool.release(staging);
  }
}

/** The device's DeviceLostError if it is lost now or within `ms` (the lost event may trail a failed map). */
async function lostWithin(dev: GpuDevice, ms: number): Promise<Error | null> {
  if (!dev.lostError) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([dev.device.lost, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }
  return dev.lostError;
}
