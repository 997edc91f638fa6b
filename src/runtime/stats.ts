// Public memory and cache statistics.
import { currentDevice } from './context.js';
import type { PoolStats } from './pool.js';

/** The pool's statistics (see PoolStats in pool.ts) plus the upload staging memory. */
export type MemoryStats = PoolStats & {
  /** Mapped staging memory kept for large uploads (outside the pool and its limits). */
  stagingBytes: number;
};

const EMPTY: MemoryStats = {
  liveBytes: 0, requestedBytes: 0, pooledBytes: 0, pendingBytes: 0, peakBytes: 0, buffers: 0,
  pooledBuffers: 0, hits: 0, misses: 0, created: 0, destroyed: 0, stagingBytes: 0,
};

export function memory(): MemoryStats {
  const dev = currentDevice();
  if (!dev) return { ...EMPTY };
  return { ...dev.pool.stats(), stagingBytes: dev.uploads.stats().stagingBytes };
}

/**
 * Starts a new measurement window: peakBytes becomes the bytes held now (live + pending), and the
 * hits / misses / created / destroyed counters restart at 0.
 */
export function resetMemoryStats(): void {
  currentDevice()?.pool.resetCounters();
}

export function pipelineStats() {
  const dev = currentDevice();
  return dev ? dev.pipelines.stats() : { hits: 0, misses: 0, compileMs: 0, pipelines: 0, inFlight: 0 };
}

export function streamStats() {
  const dev = currentDevice();
  return dev ? dev.stream.stats() : { dispatches: 0, copies: 0, submits: 0 };
}
