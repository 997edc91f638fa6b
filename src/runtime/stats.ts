// Public memory and cache statistics.
import { currentDevice } from './context.js';

export interface MemoryStats {
  /** Bytes held by live tensors (and in-flight work), in pool size classes. */
  liveBytes: number;
  /** Bytes kept free in the pool for reuse. */
  pooledBytes: number;
  /** Released, waiting for GPU work that used them to finish. */
  pendingBytes: number;
  peakBytes: number;
  buffers: number;
  pooledBuffers: number;
  hits: number;
  misses: number;
  /** GPUBuffers created since the device was made. */
  created: number;
  destroyed: number;
  /** Mapped staging memory kept for large uploads (outside the pool and its limits). */
  stagingBytes: number;
}

const EMPTY: MemoryStats = {
  liveBytes: 0, pooledBytes: 0, pendingBytes: 0, peakBytes: 0, buffers: 0,
  pooledBuffers: 0, hits: 0, misses: 0, created: 0, destroyed: 0, stagingBytes: 0,
};

export function memory(): MemoryStats {
  const dev = currentDevice();
  if (!dev) return { ...EMPTY };
  const s = dev.pool.stats();
  return {
    liveBytes: s.liveBytes, pooledBytes: s.pooledBytes, pendingBytes: s.pendingBytes, peakBytes: s.peakBytes,
    buffers: s.buffers, pooledBuffers: s.pooledBuffers, hits: s.hits, misses: s.misses,
    created: s.created, destroyed: s.destroyed, stagingBytes: dev.uploads.stats().stagingBytes,
  };
}

export function pipelineStats() {
  const dev = currentDevice();
  return dev ? dev.pipelines.stats() : { hits: 0, misses: 0, compileMs: 0, pipelines: 0, inFlight: 0 };
}

export function streamStats() {
  const dev = currentDevice();
  return dev ? dev.stream.stats() : { dispatches: 0, copies: 0, submits: 0 };
}
