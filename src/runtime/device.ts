// The GPU device: adapter and device acquisition, features, limits, toggles, errors.
// It owns the object returned by Dawn's create(): if that is garbage-collected while
// the device lives, Dawn crashes the process. `gpu` stays a field for the device's life.
import { platform } from '#platform';
import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError, NoAdapterError } from '../errors.js';
import { PipelineCache } from '../kernels/cache.js';
import type { TextStore } from '../platform/types.js';
import { fingerprint, type GpuFingerprint } from './family.js';
import { BufferPool, type Lease } from './pool.js';
import { Stream } from './stream.js';
import { UploadRing } from './upload.js';

export interface InitOptions {
  powerPreference?: GPUPowerPreference;
  /** Opt-in fast mode: Dawn skips robustness checks, validation and workgroup zero-init. */
  fast?: boolean;
  /** Where pipeline-variant and tuning records persist (Node); `false` turns persistence off. */
  cacheDir?: string | false;
  /** Budget in bytes for live plus pooled GPU memory. */
  memoryLimit?: number;
  /** Max bytes the buffer pool keeps for reuse. */
  poolLimit?: number;
  /** Compile the kernel variants earlier runs used, in the background (default true). */
  warmup?: boolean;
  /**
   * Re-initialize by itself when the device is lost (driver reset, destroy()): pending work still
   * rejects with DeviceLostError, and `await lb.init()` waits for the new device (default false).
   */
  recover?: boolean;
}

export const OPTIONAL_FEATURES = [
  'shader-f16',
  'subgroups',
  'timestamp-query',
  'chromium-experimental-subgroup-matrix',
] as const;

export const FAST_TOGGLES = ['disable_robustness', 'skip_validation', 'disable_workgroup_init'] as const;
const BASE_TOGGLES = ['vulkan_enable_f16_on_nvidia', 'allow_unsafe_apis'];
const DISABLED_TOGGLES = ['timestamp_quantization'];
/** Fast mode also skips Dawn's zero-fill of new buffers (kernels write every output element). */
const FAST_DISABLED_TOGGLES = ['lazy_clear_resource_on_first_use'];
/**
 * Pooled bytes kept by default: big enough that a batch of large outputs finds its buffers
 * again (a fresh buffer costs Dawn's zero-fill on first use), small next to device memory.
 */
const DEFAULT_POOL_LIMIT = 1024 * 1024 * 1024;

export const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
export const READBACK_USAGE = 0x01 | 0x08; // MAP_READ | COPY_DST
export const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST

export interface DeviceFeatures {
  f16: boolean;
  subgroups: boolean;
  timestamps: boolean;
  subgroupMatrix: boolean;
}

export class GpuDevice {
  readonly features: DeviceFeatures;
  readonly limits: GPUSupportedLimits;
  readonly fingerprint: GpuFingerprint;
  readonly pool: BufferPool<GPUBuffer>;
  readonly pipelines: PipelineCache;
  readonly stream: Stream;
  readonly uploads: UploadRing;
  readonly toggles: readonly string[];
  lostError: DeviceLostError | null = null;
  /** Called once, when the device is lost (the lost event, or destroy()). Set by the context. */
  onLost: ((dev: GpuDevice) => void) | null = null;
  private readonly errors: Error[] = [];
  // Buffers whose creation the driver refused (out of memory): never pooled, never bound again.
  private readonly failedBuffers = new WeakSet<GPUBuffer>();
  private allocChecks: Promise<Error | null>[] = [];
  private mapNextCreate = false;

  private constructor(
    /** Kept only so it stays reachable: see the comment at the top of this file. */
    readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly options: InitOptions,
    toggles: readonly string[],
    store: TextStore | null,
  ) {
    this.toggles = toggles;
    this.limits = plainLimits(device.limits);
    const has = (f: string) => device.features.has(f);
    this.features = {
      f16: has('shader-f16'),
      subgroups: has('subgroups'),
      timestamps: has('timestamp-query'),
      subgroupMatrix: has('chromium-experimental-subgroup-matrix'),
    };
    this.fingerprint = fingerprint(adapter.info ?? {});
    this.pool = new BufferPool<GPUBuffer>(
      {
        create: (bytes, usage, label, requested) => this.createBuffer(bytes, usage, label, requested ?? bytes),
        destroy: (b) => b.destroy(),
        reusable: (b) => !this.failedBuffers.has(b),
      },
      {
        cacheLimitBytes: options.poolLimit ?? DEFAULT_POOL_LIMIT,
        memoryLimitBytes: options.memoryLimit,
        reclaim: () => this.uploads.reclaim(),
      },
    );
    const variantStore = store && { load: () => store.load('pipelines.json'), save: (t: string) => store.save('pipelines.json', t) };
    this.pipelines = new PipelineCache(device, {
      store: variantStore ?? undefined,
      version: `${LIBRARY_VERSION}|${this.fingerprint.id}|${[...device.features].sort().join(',')}`,
      warn: (m) => console.warn(m),
    });
    this.stream = new Stream(this);
    this.uploads = new UploadRing(this);
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(new GpuValidationError(`uncaptured GPU error: ${e.message}`));
    });
    void device.lost.then((info) => this.markLost(info.reason ?? 'unknown', info.message));
  }

  static async create(options: InitOptions = {}): Promise<GpuDevice> {
    // Checked before any device exists: a bad option must not strand a half-made device.
    for (const key of ['memoryLimit', 'poolLimit'] as const) {
      const v = options[key];
      if (v !== undefined && !(typeof v === 'number' && v >= 0)) {
        throw new GpuValidationError(`lb.init: ${key} must be a number of bytes >= 0 (or left out), got ${String(v)}`);
      }
    }
    const toggles = [...BASE_TOGGLES, ...(options.fast ? FAST_TOGGLES : [])];
    const disabled = [...DISABLED_TOGGLES, ...(options.fast ? FAST_DISABLED_TOGGLES : [])];
    const gpu = await platform.getGpu({ enableToggles: toggles, disableToggles: disabled });
    if (!gpu) throw new NoAdapterError(`no WebGPU implementation: ${platform.noAdapterHelp()}`);
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) throw new NoAdapterError(`no WebGPU adapter: ${platform.noAdapterHelp()}`);
    const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
    const L = adapter.limits;
    // Ask for everything the adapter offers that kernels care about; defaults are far lower.
    const requiredLimits: Record<string, number> = {
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    };
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'lbrx' });
    const store = options.cacheDir === false ? null : platform.openStore(options.cacheDir);
    const dev = new GpuDevice(gpu, adapter, device, options, toggles, store);
    if (options.warmup !== false && store) void dev.pipelines.warmup().catch(() => {});
    return dev;
  }

  get lost(): boolean {
    return this.lostError !== null;
  }

  checkAlive(op: string): void {
    if (this.lostError) throw new DeviceLostError(this.lostError.reason, `${op}: this work belongs to a GPU device that was lost (${this.lostError.detail})`);
  }

  /** Throws, for a tensor's storage on this device, when the device is lost: its data went with it. */
  checkTensor(what: string): void {
    if (!this.lostError) return;
    throw new DeviceLostError(
      this.lostError.reason,
      `${what} lived on a GPU device that was lost (${this.lostError.detail}); its data is gone`,
      'Re-create or re-load the tensor on the new device (e.g. from a CPU copy: await cpuCopy.to(\'gpu\')), ' +
        'after `await lb.init()` if no new device was made yet (or init with { recover: true }).',
    );
  }

  /**
   * Records the loss (once) and fails all pending and future work on this device. Dawn's lost
   * event calls it; destroy() calls it at once, so nothing is recorded between destroy and the event.
   */
  markLost(reason: string, message: string): void {
    if (this.lostError) return;
    this.lostError = new DeviceLostError(reason, message);
    this.stream.failAll(this.lostError);
    try {
      this.onLost?.(this);
    } catch (e) {
      console.warn(`lbrx: device-lost handler failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** True when the driver refused to create `buffer` (out of memory); reported at the next sync point. */
  isFailedBuffer(buffer: GPUBuffer): boolean {
    return this.failedBuffers.has(buffer);
  }

  /** A pooled storage buffer; `mapped` asks a newly created one to come mapped for a copy-free upload. */
  acquire(bytes: number, usage = STORAGE_USAGE, label = 'tensor', mapped = false): Lease<GPUBuffer> {
    this.checkAlive('allocate');
    // Checked here, before the pool: the error names the bytes asked for (not the size class),
    // and a request that can never fit leaves the pool's free buffers alone.
    if (bytes > this.limits.maxBufferSize) throw this.overMaxBufferSize(bytes);
    this.mapNextCreate = mapped;
    try {
      return this.pool.acquire(bytes, usage, label);
    } finally {
      this.mapNextCreate = false;
    }
  }

  private createBuffer(bytes: number, usage: number, label: string, requested: number): GPUBuffer {
    if (bytes > this.limits.maxBufferSize) throw this.overMaxBufferSize(bytes);
    // Error scopes turn a driver out-of-memory into GpuOutOfMemoryError at the next sync point.
    this.device.pushErrorScope('out-of-memory');
    const mappedAtCreation = this.mapNextCreate && (usage & 0x01) === 0; // MAP_READ buffers cannot start mapped for writing
    const buffer = this.device.createBuffer({ size: bytes, usage, label, mappedAtCreation });
    const scope = this.device.popErrorScope();
    this.allocChecks.push(
      scope.then(
        (e) => {
          if (!e) return null;
          // Not pooled on release, so a refused buffer is never handed out again.
          this.failedBuffers.add(buffer);
          this.pool.trim();
          const s = this.pool.stats();
          return new GpuOutOfMemoryError(requested, s.liveBytes, s.pooledBytes, `the driver refused a buffer of ${bytes} bytes ('${label}'): ${e.message}`);
        },
        // A lost device rejects the scope: the loss is reported instead.
        () => null,
      ),
    );
    return buffer;
  }

  /** Throws at the op's call when a result of `bytes` could never be allocated. */
  checkAllocatable(bytes: number): void {
    this.checkAlive('allocate');
    if (bytes > this.limits.maxBufferSize) throw this.overMaxBufferSize(bytes);
  }

  private overMaxBufferSize(bytes: number): GpuOutOfMemoryError {
    const s = this.pool.stats();
    return new GpuOutOfMemoryError(bytes, s.liveBytes, s.pooledBytes, `over this device's maxBufferSize of ${this.limits.maxBufferSize} bytes`);
  }

  /** Rejects with the first allocation or uncaptured error since the last check. */
  async checkErrors(): Promise<void> {
    if (this.lostError) throw this.lostError;
    const checks = this.allocChecks;
    this.allocChecks = [];
    const failed = (await Promise.all(checks)).find((e) => e !== null);
    if (failed) {
      this.pool.trim();
      throw failed;
    }
    const e = this.errors.shift();
    if (e) throw e;
  }

  /** Destroys the device and its buffers; to the library this is a device loss (reason 'destroyed'). */
  destroy(): void {
    this.markLost('destroyed', 'GpuDevice.destroy() was called');
    this.pool.destroyAll();
    this.uploads.destroyAll();
    this.device.destroy();
  }
}

export const LIBRARY_VERSION = '0.1.0';

/**
 * The adapter's smallest subgroup size where the device has subgroups and that size is a power of
 * two of at least `atLeast` (kernels index lanes with shifts and masks), else 0.
 */
export function subgroupMin(dev: GpuDevice, atLeast = 1): number {
  if (!dev.features.subgroups) return 0;
  const n = (dev.adapter.info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0;
  return n >= atLeast && n > 0 && (n & (n - 1)) === 0 ? n : 0;
}

/** A plain copy of the limits: each read of Dawn's object is a native call, and kernels read them per op. */
function plainLimits(limits: GPUSupportedLimits): GPUSupportedLimits {
  const out: Record<string, number> = {};
  for (const key in limits) {
    const v = (limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') out[key] = v;
  }
  return Object.freeze(out) as unknown as GPUSupportedLimits;
}
