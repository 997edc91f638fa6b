// Profiling: per-dispatch GPU time from timestamp queries (or submit-to-done wall time without
// 'timestamp-query'), CPU encode time, declared FLOPs/bytes, a summary per kernel, a Chrome trace.
// While a profile runs every dispatch gets its own compute pass with timestampWrites (one pass per
// dispatch, so timings include a pass boundary each). One QuerySet per device, reused by every
// submit; each batch resolves into a pooled buffer that is read back once the batch is done.
import type { CompiledKernel } from '../kernels/cache.js';
import { currentDevice, requireDevice } from './context.js';
import type { GpuDevice } from './device.js';
import { devicePeaks, type DevicePeaks, type PeaksOptions } from './peaks.js';
import { buildReport, type KernelRecord, type ProfileReport, type SubmitRecord, type TimingMode } from './profile-report.js';
import type { BatchProfiler, CopyCommand, DispatchCommand, StreamProfiler } from './stream.js';

export type { KernelRecord, KernelSummary, ProfileReport, SubmitRecord, TimingMode, TraceEvent } from './profile-report.js';

export interface ProfileOptions {
  /** Force a timing mode; 'gpu-timestamps' is used only where the device has 'timestamp-query'. */
  timing?: TimingMode;
  /**
   * What percent of peak is measured against: a source for lb.peaks() (default 'auto': a cached
   * calibration, else the GPU-family table, else a calibration now, once per device), given
   * peaks, or false for none.
   */
  peaks?: PeaksOptions['source'] | DevicePeaks | false;
}

/** Counters for tests: profiling off must leave them unchanged. */
export const profilerCounters = { querySetsCreated: 0, querySetsDestroyed: 0, timestampWrites: 0, timedPasses: 0 };

const QUERIES = 4096; // the WebGPU maximum per QuerySet: 2048 dispatches per resolve chunk
const CHUNK_BYTES = QUERIES * 8;
const QUERY_RESOLVE = 0x200, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01;
const FREE_KEPT = 4;
const now = () => performance.now();

interface Readback { resolve: GPUBuffer; read: GPUBuffer; bytes: number }

class Session {
  readonly t0 = now();
  readonly kernels: KernelRecord[] = [];
  readonly submits: SubmitRecord[] = [];
  anchor: { ns: bigint; ms: number } | null = null;
  constructor(readonly dev: GpuDevice, readonly timing: TimingMode, readonly options: ProfileOptions) {}
}

/** Whether a compiled kernel computes in f16 (its source, inside the key, enables f16), per pipeline hash. */
const halfKernels = new Map<string, boolean>();
function precisionOf(kernel: CompiledKernel): 'f32' | 'f16' {
  let half = halfKernels.get(kernel.hash);
  if (half === undefined) halfKernels.set(kernel.hash, (half = /enable\s+f16\s*;/.test(kernel.key)));
  return half ? 'f16' : 'f32';
}

const IDLE_BATCH: BatchProfiler = { pass: () => null, dispatched: () => {}, finish: () => {}, submitted: () => {} };

/** Per device: the stream hook, its one QuerySet and the readback pool. */
class DeviceTimer implements StreamProfiler {
  readonly sessions: Session[] = [];
  private querySet: GPUQuerySet | null = null;
  private readonly free: Readback[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly dev: GpuDevice) {}

  batch(encoder: GPUCommandEncoder, fence: number, commands: readonly (DispatchCommand | CopyCommand)[]): BatchProfiler {
    // The empty batch a sync point submits when nothing was recorded is not a submit worth listing.
    if (commands.length === 0) return IDLE_BATCH;
    const sessions = [...this.sessions];
    const timing: TimingMode = this.dev.features.timestamps && sessions.every((s) => s.timing === 'gpu-timestamps') ? 'gpu-timestamps' : 'wall-per-submit';
    const tEncode = now();
    const slot = new Map<number, number>(); // command index -> dispatch index in this batch
    const records: KernelRecord[] = [];
    commands.forEach((c, i) => {
      if (c.kind !== 'dispatch') return;
      slot.set(i, records.length);
      const name = c.spec.label ?? c.spec.file;
      records.push({ name, file: c.spec.file, hash: '', submit: fence, workgroups: c.workgroups, gpuMs: 0, cpuEncodeMs: 0, startMs: 0, precision: 'f32', flops: c.flops, bytes: c.bytes });
    });
    // Records go in now, so every session lists dispatches in encode order whatever resolves first.
    for (const s of sessions) s.kernels.push(...records);
    const n = records.length;
    const qs = timing === 'gpu-timestamps' && n > 0 ? this.ensureQuerySet() : null;
    const rb = qs ? this.takeReadback(n * 16) : null;
    let started = 0;
    let used = 0; // queries written in the current chunk
    const resolveChunk = (e: GPUCommandEncoder, chunk: number) => {
      if (used > 0) e.resolveQuerySet(qs!, 0, used, rb!.resolve, chunk * CHUNK_BYTES);
      used = 0;
    };
    const dev = this.dev;
    const timer = this;
    return {
      pass(index: number, kernel: CompiledKernel) {
        const k = slot.get(index)!;
        records[k].hash = kernel.hash;
        records[k].precision = precisionOf(kernel);
        started = now();
        if (!qs) return null;
        if (used === QUERIES) resolveChunk(encoder, (2 * k) / QUERIES - 1);
        const at = used;
        used += 2;
        profilerCounters.timestampWrites += 2;
        profilerCounters.timedPasses++;
        return { label: records[k].name, timestampWrites: { querySet: qs, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } };
      },
      dispatched(index: number) {
        records[slot.get(index)!].cpuEncodeMs = now() - started;
      },
      finish(e: GPUCommandEncoder) {
        if (!qs) return;
        resolveChunk(e, Math.floor((2 * (n - 1)) / QUERIES));
        e.copyBufferToBuffer(rb!.resolve, 0, rb!.read, 0, n * 16);
      },
      submitted() {
        const tSubmit = now();
        const mem = dev.pool.stats();
        const subs = sessions.map((s) => {
          const sub: SubmitRecord = {
            fence, dispatches: n, timing, encodeStartMs: tEncode - s.t0, submitMs: tSubmit - s.t0, gpuMs: 0,
            liveBytes: mem.liveBytes, pooledBytes: mem.pooledBytes,
          };
          s.submits.push(sub);
          return sub;
        });
        const done = qs
          ? rb!.read.mapAsync(MAP_READ, 0, n * 16).then(() => {
              const t = new BigUint64Array(rb!.read.getMappedRange(0, n * 16).slice(0));
              rb!.read.unmap();
              timer.giveBack(rb!);
              records.forEach((r, k) => (r.gpuMs = t[2 * k + 1] > t[2 * k] ? Number(t[2 * k + 1] - t[2 * k]) / 1e6 : 0));
              records.forEach((r, k) => beginNs.set(r, t[2 * k]));
              sessions.forEach((s, j) => {
                s.anchor ??= { ns: t[0], ms: tSubmit - s.t0 };
                subs[j].gpuMs = records.reduce((a, r) => a + r.gpuMs, 0);
              });
            })
          : dev.device.queue.onSubmittedWorkDone().then(() => {
              const wall = now() - tSubmit;
              subs.forEach((sub) => (sub.gpuMs = wall));
              records.forEach((r) => (r.gpuMs = wall / n));
            });
        const p = done.catch(() => { if (rb) timer.dropReadback(rb); });
        timer.pending.add(p);
        void p.then(() => timer.pending.delete(p));
      },
    };
  }

  async drain(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private ensureQuerySet(): GPUQuerySet {
    if (!this.querySet) {
      this.querySet = this.dev.device.createQuerySet({ type: 'timestamp', count: QUERIES, label: 'lbrx profiler' });
      profilerCounters.querySetsCreated++;
    }
    return this.querySet;
  }

  private takeReadback(bytes: number): Readback {
    const i = this.free.findIndex((r) => r.bytes >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0];
    // Chunk c resolves at c * CHUNK_BYTES, so n dispatches end exactly at n * 16 bytes.
    let size = 4096;
    while (size < bytes) size *= 2;
    const d = this.dev.device;
    return {
      bytes: size,
      resolve: d.createBuffer({ size, usage: QUERY_RESOLVE | COPY_SRC, label: 'lbrx profiler resolve' }),
      read: d.createBuffer({ size, usage: MAP_READ | COPY_DST, label: 'lbrx profiler readback' }),
    };
  }

  private giveBack(rb: Readback): void {
    this.free.push(rb);
    if (this.free.length > FREE_KEPT) this.dropReadback(this.free.shift()!);
  }

  private dropReadback(rb: Readback): void {
    rb.resolve.destroy();
    rb.read.destroy();
  }
}

const timers = new WeakMap<GpuDevice, DeviceTimer>();
/** Raw GPU begin timestamps; each session places them on its own timeline. */
const beginNs = new WeakMap<KernelRecord, bigint>();
const started: { dev: GpuDevice; session: Session }[] = [];

function timerFor(dev: GpuDevice): DeviceTimer {
  let t = timers.get(dev);
  if (!t) timers.set(dev, (t = new DeviceTimer(dev)));
  return t;
}

function open(options: ProfileOptions): { dev: GpuDevice; session: Session } {
  const dev = requireDevice('profiler.start');
  const want = options.timing ?? 'gpu-timestamps';
  const session = new Session(dev, dev.features.timestamps ? want : 'wall-per-submit', options);
  const timer = timerFor(dev);
  timer.sessions.push(session);
  dev.stream.profiler = timer;
  return { dev, session };
}

function detach(dev: GpuDevice, session: Session): void {
  const timer = timerFor(dev);
  const i = timer.sessions.indexOf(session);
  if (i >= 0) timer.sessions.splice(i, 1);
  if (timer.sessions.length === 0 && dev.stream.profiler === timer) dev.stream.profiler = null;
}

/** Submits what is recorded, waits for every profiled batch to be read back, then ends the session. */
async function close(dev: GpuDevice, session: Session): Promise<ProfileReport> {
  try {
    await dev.stream.submit();
    await dev.stream.idle();
    await timerFor(dev).drain();
  } finally {
    detach(dev, session);
  }
  const wallMs = now() - session.t0;
  // Peaks are resolved after the session ended: a calibration (first use on an unknown GPU) is
  // never part of the profile.
  const p = session.options.peaks ?? 'auto';
  const peaks = p === false ? null : typeof p === 'object' ? p : await devicePeaks(dev, { source: p });
  return buildReport(sessionData(dev, session, wallMs), peaks);
}

function sessionData(dev: GpuDevice, s: Session, wallMs: number) {
  const timing: TimingMode = s.submits.every((b) => b.timing === 'gpu-timestamps') ? 'gpu-timestamps' : 'wall-per-submit';
  const info = dev.adapter.info;
  return {
    timing, wallMs, kernels: s.kernels, submits: s.submits, anchored: s.anchor !== null, hasTimestamps: dev.features.timestamps,
    device: [info?.vendor, info?.device || info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown',
    place: (k: KernelRecord) => {
      const ns = beginNs.get(k);
      return s.anchor && ns !== undefined ? s.anchor.ms + Number(ns - s.anchor.ns) / 1e6 : k.startMs;
    },
  };
}

/** Runs `fn` (awaited), then a sync point, profiling every dispatch submitted meanwhile. */
export async function profile(fn: () => unknown, options: ProfileOptions = {}): Promise<ProfileReport> {
  const dev = requireDevice('profile');
  await dev.stream.submit(); // work recorded before the profile is not counted
  const { session } = open(options);
  try {
    await fn();
  } catch (e) {
    await dev.stream.idle().catch(() => {});
    detach(dev, session);
    throw e;
  }
  return close(dev, session);
}

export const profiler = {
  /** Starts a profile; work already recorded but not yet submitted is included. */
  start(options: ProfileOptions = {}): void {
    started.push(open(options));
  },
  /** Ends the most recently started profile and returns its report. */
  async stop(): Promise<ProfileReport> {
    const s = started.pop();
    if (!s) throw new Error('lb.profiler.stop(): no profile is running; call lb.profiler.start() first');
    return close(s.dev, s.session);
  },
  get active(): boolean {
    const dev = currentDevice();
    return !!dev && dev.stream.profiler !== null;
  },
};
