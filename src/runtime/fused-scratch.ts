// Persistent buffers of a fused split-K (attention decode, matvec): the last workgroup of each block
// sums the others' partial words, then leaves the words EMPTY and the block counters 0 for the next
// dispatch, so the buffers are created once per device and use, and grown by doubling.
import { STORAGE_USAGE, type GpuDevice } from './device.js';

export interface FusedScratch { part: GPUBuffer; ctr: GPUBuffer; bytes: number; ctrBytes: number }

/** A partial word no workgroup has written yet (a NaN pattern no f32 result takes). */
const EMPTY_WORD = 0xffffffff;

const byUse = new Map<string, WeakMap<GpuDevice, FusedScratch>>();
const grow = (need: number, had: number) => Math.ceil(Math.max(need, 2 * had, 4096) / 256) * 256;

/**
 * Buffers of `words` partial words and `counters` counters for `use` (a label, one pair per use and
 * device), grown as needed; null when the partials would pass `maxBytes` or the device's limits (the
 * caller then runs its separate combine pass). Created filled (EMPTY, 0).
 */
export function fusedScratch(dev: GpuDevice, use: string, words: number, counters: number, maxBytes: number): FusedScratch | null {
  let scratches = byUse.get(use);
  if (!scratches) byUse.set(use, (scratches = new WeakMap()));
  const old = scratches.get(dev);
  if (old && old.bytes >= words * 4 && old.ctrBytes >= counters * 4) return old;
  const bytes = grow(words * 4, old?.bytes ?? 0);
  const ctrBytes = grow(counters * 4, old?.ctrBytes ?? 0);
  if (bytes > maxBytes || bytes > dev.limits.maxStorageBufferBindingSize || !dev.pool.reserveExternal(bytes + ctrBytes)) return null;
  const part = dev.device.createBuffer({ size: bytes, usage: STORAGE_USAGE, label: `${use} partials` });
  const ctr = dev.device.createBuffer({ size: ctrBytes, usage: STORAGE_USAGE, label: `${use} counters` });
  dev.device.queue.writeBuffer(part, 0, new Uint32Array(bytes / 4).fill(EMPTY_WORD));
  dev.device.queue.writeBuffer(ctr, 0, new Uint32Array(ctrBytes / 4));
  if (old) {
    // Work recorded in this batch may still use the old pair: destroyed once the batch is done.
    dev.stream.afterFence(dev.stream.currentFence, () => {
      old.part.destroy();
      old.ctr.destroy();
      dev.pool.releaseExternal(old.bytes + old.ctrBytes);
    });
  }
  const s = { part, ctr, bytes, ctrBytes };
  scratches.set(dev, s);
  return s;
}
