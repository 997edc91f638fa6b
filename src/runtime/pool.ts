// Generic GPU buffer pool: size-classed free lists keyed by (usage, class size), reuse deferred
// until a fence completes, LRU trimming and a memory budget. No GPU types, so it tests without a GPU.
import { GpuOutOfMemoryError, GpuValidationError, LbrxError } from '../errors.js';

export interface PoolAllocator<B> {
  /** May throw (any error) when the driver refuses. `bytes` is the class size; `requested`, what was asked for. */
  create(bytes: number, usage: number, label: string, requested?: number): B;
  destroy(buffer: B): void;
  /** False for a buffer that must never be handed out again (the driver refused it): destroyed on release. */
  reusable?(buffer: B): boolean;
}

export interface PoolOptions {
  /** Max bytes kept free in the pool for reuse; default 256 MiB. */
  cacheLimitBytes?: number;
  /** Budget for live + pending + pooled bytes (and reserved outside bytes); default Infinity. */
  memoryLimitBytes?: number;
  /** Called when a request would fit the budget only without outside bytes (e.g. idle upload staging). */
  reclaim?: () => void;
}

export interface PoolStats {
  /** Bytes of buffers handed out and not yet released (class size, not requested size). */
  liveBytes: number;
  /** Sum of requested sizes of live buffers (waste = liveBytes - requestedBytes). */
  requestedBytes: number;
  /** Bytes sitting free in the pool, ready for reuse. */
  pooledBytes: number;
  /** Released but waiting for GPU work (a fence) to finish. */
  pendingBytes: number;
  /** Max over time of liveBytes + pendingBytes. */
  peakBytes: number;
  buffers: number;
  pooledBuffers: number;
  hits: number;
  misses: number;
  created: number;
  destroyed: number;
}

export interface Lease<B> {
  readonly buffer: B;
  /** Class size: the buffer's real size. */
  readonly size: number;
  readonly requested: number;
  readonly usage: number;
}

const MIN_CLASS = 16;
const DEFAULT_CACHE_LIMIT = 256 * 1024 * 1024;

class PoolLease<B> implements Lease<B> {
  constructor(
    readonly buffer: B,
    readonly size: number,
    readonly requested: number,
    readonly usage: number,
    /** Only for error messages. */
    readonly label: string,
  ) {}
}

/** A buffer the pool owns: pending on a fence, or free for reuse. `seq` orders releases for LRU. */
interface Idle<B> {
  readonly buffer: B;
  readonly size: number;
  readonly usage: number;
  readonly seq: number;
  readonly fence: number;
}

type Counters = Omit<PoolStats, 'buffers' | 'pooledBuffers'>;

export class BufferPool<B> {
  private cacheLimit = DEFAULT_CACHE_LIMIT;
  private memoryLimit = Infinity;
  // usage -> class size -> free buffers, most recently released last (reused first).
  private readonly free = new Map<number, Map<number, Idle<B>[]>>();
  // Every free buffer in release order, oldest first: trimming walks it from the front.
  private lru = new Set<Idle<B>>();
  private lastPooledSeq = -1;
  private pending: Idle<B>[] = [];
  private readonly live = new Set<Lease<B>>();
  // Leases released already, to tell a double release from a foreign lease.
  private readonly released = new WeakSet<Lease<B>>();
  private completed = -Infinity;
  private seq = 0;
  // Bytes held outside the pool under the same budget (upload staging), see reserveExternal.
  private external = 0;
  private readonly reclaim: (() => void) | undefined;
  private s: Counters = {
    liveBytes: 0, requestedBytes: 0, pooledBytes: 0, pendingBytes: 0, peakBytes: 0,
    hits: 0, misses: 0, created: 0, destroyed: 0,
  };

  constructor(
    private readonly allocator: PoolAllocator<B>,
    options: PoolOptions = {},
  ) {
    this.reclaim = options.reclaim;
    this.setLimits(options);
  }

  /**
   * Class size for a request: at least 16 bytes, 16-byte steps up to 256, then 8 steps per
   * power of two (waste under 12.5%). Always a multiple of 16, so vec4 tails stay in bounds.
   */
  static sizeClass(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) {
      throw new GpuValidationError(`buffer size must be a finite number >= 0, got ${bytes}`);
    }
    const b = Math.max(MIN_CLASS, Math.ceil(bytes));
    // pow: the power of two with pow < b <= 2 * pow (log2 may be off by one near powers of two).
    let pow = 2 ** Math.floor(Math.log2(b - 1));
    if (pow >= b) pow /= 2;
    else if (pow * 2 < b) pow *= 2;
    const step = Math.max(MIN_CLASS, pow / 8);
    return Math.ceil(b / step) * step;
  }

  acquire(bytes: number, usage: number, label = 'lbrx buffer'): Lease<B> {
    const size = BufferPool.sizeClass(bytes);
    const idle = this.free.get(usage)?.get(size)?.pop();
    let buffer: B;
    if (idle) {
      this.lru.delete(idle);
      this.s.pooledBytes -= size;
      this.s.hits++;
      buffer = idle.buffer;
    } else {
      buffer = this.create(bytes, size, usage, label);
      this.s.misses++;
      this.s.created++;
    }
    const lease = new PoolLease(buffer, size, bytes, usage, label);
    this.live.add(lease);
    this.s.liveBytes += size;
    this.s.requestedBytes += bytes;
    this.s.peakBytes = Math.max(this.s.peakBytes, this.s.liveBytes + this.s.pendingBytes);
    return lease;
  }

  release(lease: Lease<B>, afterFence?: number): void {
    if (afterFence !== undefined && Number.isNaN(afterFence)) {
      throw new GpuValidationError(`BufferPool.release: fence is NaN for buffer '${labelOf(lease)}'`);
    }
    if (!this.live.delete(lease)) {
      const why = this.released.has(lease) ? 'was released twice' : 'was not acquired from this pool';
      throw new GpuValidationError(`BufferPool.release: buffer '${labelOf(lease)}' ${why}`);
    }
    this.released.add(lease);
    this.s.liveBytes -= lease.size;
    this.s.requestedBytes -= lease.requested;
    if (this.allocator.reusable?.(lease.buffer) === false) {
      this.destroy(lease.buffer);
      return;
    }
    const idle: Idle<B> = {
      buffer: lease.buffer, size: lease.size, usage: lease.usage,
      seq: this.seq++, fence: afterFence ?? -Infinity,
    };
    if (idle.fence <= this.completed) {
      this.addToPool([idle]);
      this.trim(this.cacheLimit);
    } else {
      this.pending.push(idle);
      this.s.pendingBytes += idle.size;
    }
  }

  complete(fence: number): void {
    this.completed = Math.max(this.completed, fence);
    const done: Idle<B>[] = [];
    const waiting: Idle<B>[] = [];
    for (const p of this.pending) (p.fence <= fence ? done : waiting).push(p);
    if (done.length > 0) {
      this.pending = waiting;
      for (const d of done) this.s.pendingBytes -= d.size;
      this.addToPool(done);
    }
    this.trim(this.cacheLimit);
  }

  trim(targetPooledBytes = 0): number {
    let freed = 0;
    for (const idle of this.lru) {
      if (this.s.pooledBytes <= targetPooledBytes) break;
      this.lru.delete(idle);
      const list = this.free.get(idle.usage)!.get(idle.size)!;
      list.splice(list.indexOf(idle), 1);
      this.s.pooledBytes -= idle.size;
      freed += idle.size;
      this.destroy(idle.buffer);
    }
    return freed;
  }

  setLimits(options: PoolOptions): void {
    const { cacheLimitBytes = this.cacheLimit, memoryLimitBytes = this.memoryLimit } = options;
    for (const [name, v] of [['cacheLimitBytes', cacheLimitBytes], ['memoryLimitBytes', memoryLimitBytes]] as const) {
      if (!(v >= 0)) throw new GpuValidationError(`BufferPool: ${name} must be a number >= 0, got ${v}`);
    }
    this.cacheLimit = cacheLimitBytes;
    this.memoryLimit = memoryLimitBytes;
    this.trim(Math.min(this.cacheLimit, Math.max(0, this.memoryLimit - this.committed())));
  }

  /** Budget bytes in use: live, pending on a fence and reserved outside the pool (not pooled). */
  private committed(): number {
    return this.s.liveBytes + this.s.pendingBytes + this.external;
  }

  get memoryLimitBytes(): number {
    return this.memoryLimit;
  }

  /**
   * Reserves `bytes` held outside the pool (upload staging) under the memory budget, trimming
   * pooled buffers if needed. False, reserving nothing, when they do not fit.
   */
  reserveExternal(bytes: number): boolean {
    const committed = this.committed();
    if (committed + bytes > this.memoryLimit) return false;
    if (committed + this.s.pooledBytes + bytes > this.memoryLimit) this.trim(this.memoryLimit - committed - bytes);
    this.external += bytes;
    return true;
  }

  releaseExternal(bytes: number): void {
    this.external = Math.max(0, this.external - bytes);
  }

  stats(): PoolStats {
    return { ...this.s, buffers: this.live.size, pooledBuffers: this.lru.size };
  }

  resetCounters(): void {
    this.s.hits = this.s.misses = this.s.created = this.s.destroyed = 0;
    this.s.peakBytes = this.s.liveBytes + this.s.pendingBytes;
  }

  destroyAll(): void {
    this.trim(0);
    const pending = this.pending;
    this.pending = [];
    this.s.pendingBytes = 0;
    for (const p of pending) this.destroy(p.buffer);
  }

  /** Creates a buffer within the memory budget; on a driver refusal, empties the pool and retries once. */
  private create(bytes: number, size: number, usage: number, label: string): B {
    if (this.committed() + size > this.memoryLimit && this.external > 0) this.reclaim?.();
    const committed = this.committed();
    // Check before trimming, so a request that cannot fit leaves the pool untouched.
    if (committed + size > this.memoryLimit) {
      const s = this.s;
      const parts = `${s.liveBytes} live + ${s.pendingBytes} awaiting GPU work` + (this.external ? ` + ${this.external} upload staging` : '');
      const wait = s.pendingBytes > 0 ? `; ${s.pendingBytes} bytes free up once recorded GPU work is done: await lb.eval() first` : '';
      throw new GpuOutOfMemoryError(bytes, s.liveBytes, s.pooledBytes, `memory limit of ${this.memoryLimit} bytes: ${parts} + ${size} asked > limit${wait}`);
    }
    if (committed + this.s.pooledBytes + size > this.memoryLimit) this.trim(this.memoryLimit - committed - size);
    try {
      return this.allocator.create(size, usage, label, bytes);
    } catch {
      this.trim(0);
    }
    try {
      return this.allocator.create(size, usage, label, bytes);
    } catch (err) {
      // Typed lbrx errors (an OOM from the allocator, a lost device) keep their class.
      if (err instanceof LbrxError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      const oom = new GpuOutOfMemoryError(bytes, this.s.liveBytes, this.s.pooledBytes, reason);
      oom.cause = err;
      throw oom;
    }
  }

  /** Puts idle buffers (in seq order) on the free lists, keeping the LRU set in release order. */
  private addToPool(items: Idle<B>[]): void {
    for (const it of items) {
      let bySize = this.free.get(it.usage);
      if (!bySize) this.free.set(it.usage, (bySize = new Map()));
      let list = bySize.get(it.size);
      if (!list) bySize.set(it.size, (list = []));
      list.push(it);
      this.s.pooledBytes += it.size;
    }
    // Fenced buffers may have been released before ones already pooled: merge by seq then.
    if (items[0].seq > this.lastPooledSeq) for (const it of items) this.lru.add(it);
    else this.lru = new Set([...this.lru, ...items].sort((a, b) => a.seq - b.seq));
    this.lastPooledSeq = Math.max(this.lastPooledSeq, items[items.length - 1].seq);
  }

  private destroy(buffer: B): void {
    this.s.destroyed++;
    this.allocator.destroy(buffer);
  }
}

function labelOf(lease: Lease<unknown>): string {
  return lease instanceof PoolLease ? lease.label : 'unlabeled';
}
