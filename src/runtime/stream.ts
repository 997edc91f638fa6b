// Command batching: everything recorded between two sync points is encoded into one
// command encoder and submitted once. Submits are serialized so queue order = record order.
import type { KernelSpec } from '../kernels/registry.js';
import type { CompiledKernel } from '../kernels/cache.js';
import type { GpuDevice } from './device.js';
import { UNIFORM_USAGE } from './device.js';
import { BindGroupCache } from './bind-groups.js';

export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchCommand {
  kind: 'dispatch';
  spec: KernelSpec;
  buffers: Record<string, BufferBinding>;
  /** Uniform parameters, bound as `params` (binding 0) from one per-batch arena. */
  params?: ArrayBuffer;
  workgroups: readonly [number, number, number];
  /** Declared work, for the profiler's GFLOP/s and GB/s (optional). */
  flops?: number;
  bytes?: number;
}

export interface CopyCommand {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

type Command = DispatchCommand | CopyCommand;

/** Installed by the profiler (src/runtime/profiler.ts) while a profile runs; null costs nothing. */
export interface StreamProfiler {
  batch(encoder: GPUCommandEncoder, fence: number, commands: readonly (DispatchCommand | CopyCommand)[]): BatchProfiler;
}
export interface BatchProfiler {
  /** Before dispatch `index` is encoded: its own pass's descriptor (timestampWrites), or null to share a pass. */
  pass(index: number, kernel: CompiledKernel): GPUComputePassDescriptor | null;
  /** After the dispatch (its pass already ended when timed). */
  dispatched(index: number): void;
  /** Before finish(): resolve and copy the batch's queries. */
  finish(encoder: GPUCommandEncoder): void;
  /** Right after queue.submit(). */
  submitted(): void;
}

export interface StreamStats {
  dispatches: number;
  copies: number;
  submits: number;
  bindGroupHits?: number;
  bindGroupMisses?: number;
}

export class Stream {
  private commands: Command[] = [];
  private fence = 1;
  private completed = 0;
  private waiters: { fence: number; fn: () => void }[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private readonly counters: StreamStats = { dispatches: 0, copies: 0, submits: 0 };

  private readonly bindGroups: BindGroupCache;
  /** Set by the profiler while profiling; when null the encode path is the plain one. */
  profiler: StreamProfiler | null = null;

  constructor(private readonly dev: GpuDevice) {
    this.bindGroups = new BindGroupCache(dev.device);
  }

  /** The fence of the batch now recording: buffers used now are busy until it completes. */
  get currentFence(): number {
    return this.fence;
  }

  get pendingCommands(): number {
    return this.commands.length;
  }

  stats(): StreamStats {
    return { ...this.counters, bindGroupHits: this.bindGroups.hits, bindGroupMisses: this.bindGroups.misses };
  }

  record(cmd: DispatchCommand | CopyCommand): void {
    this.dev.checkAlive(cmd.kind === 'dispatch' ? (cmd.spec.label ?? cmd.spec.file) : 'copy');
    this.commands.push(cmd);
  }

  /** Workgroup counts for `count` groups, folded into y when over the per-dimension limit. */
  grid(count: number): { workgroups: [number, number, number]; gridX: number } {
    const max = this.dev.limits.maxComputeWorkgroupsPerDimension;
    if (count <= max) return { workgroups: [Math.max(count, 1), 1, 1], gridX: Math.max(count, 1) };
    const y = Math.ceil(count / max);
    const x = Math.ceil(count / y);
    return { workgroups: [x, y, 1], gridX: x };
  }

  /** Encodes all recorded work plus `extra` into one command buffer and submits it once. */
  submit(extra?: (encoder: GPUCommandEncoder) => void): Promise<number> {
    const commands = this.commands;
    this.commands = [];
    const fence = this.fence++;
    const run = this.tail.then(() => this.encodeAndSubmit(commands, fence, extra));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every submitted batch has finished on the GPU. */
  async idle(): Promise<void> {
    await this.tail;
    await this.dev.device.queue.onSubmittedWorkDone();
  }

  failAll(error: Error): void {
    this.failure = error;
    this.commands = [];
  }

  private async encodeAndSubmit(commands: Command[], fence: number, extra?: (e: GPUCommandEncoder) => void): Promise<number> {
    if (this.failure) throw this.failure;
    const dev = this.dev;
    const kernels: (CompiledKernel | null)[] = [];
    try {
      // Compiled kernels resolve synchronously; only misses wait (and compile concurrently).
      const lookups = commands.map((c) => (c.kind === 'dispatch' ? (dev.pipelines.peek(c.spec) ?? dev.pipelines.get(c.spec)) : null));
      // Promise.all observes every rejection: awaiting one at a time would leave the others
      // unhandled (and Node exits on an unhandled rejection) when several kernels fail.
      kernels.push(...(lookups.some((k) => k instanceof Promise) ? await Promise.all(lookups) : (lookups as (CompiledKernel | null)[])));
      await dev.checkErrors();
    } catch (e) {
      // Nothing of this batch reached the GPU, but earlier batches may still be running.
      void dev.device.queue.onSubmittedWorkDone().then(() => this.complete(fence), () => {});
      throw e;
    }
    const device = dev.device;
    const arena = this.writeParams(commands, fence);
    const encoder = device.createCommandEncoder({ label: `lbrx batch ${fence}` });
    let pass: GPUComputePassEncoder | null = null;
    let pipeline: GPUComputePipeline | null = null;
    const prof = this.profiler?.batch(encoder, fence, commands) ?? null;
    commands.forEach((c, i) => {
      if (c.kind === 'copy') {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
        this.counters.copies++;
        return;
      }
      const kernel = kernels[i]!;
      const timed = prof ? prof.pass(i, kernel) : null;
      const buffers = c.params ? { ...c.buffers, params: { buffer: arena!.buffer, offset: 0, size: c.params.byteLength } } : c.buffers;
      const group = this.bindGroups.get(kernel, buffers);
      if (timed) {
        // Profiling: each dispatch in its own pass, timed by the pass's timestampWrites.
        pass?.end();
        pass = encoder.beginComputePass(timed);
        pipeline = null;
      } else if (!pass) {
        pass = encoder.beginComputePass();
        pipeline = null;
      }
      if (kernel.pipeline !== pipeline) pass.setPipeline((pipeline = kernel.pipeline));
      // `params` is bound with a dynamic offset into the batch's one params buffer.
      if (c.params) pass.setBindGroup(0, group, [arena!.offsets[i]]);
      else pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
      this.counters.dispatches++;
      if (timed) {
        pass.end();
        pass = null;
      }
      prof?.dispatched(i);
    });
    (pass as GPUComputePassEncoder | null)?.end();
    extra?.(encoder);
    prof?.finish(encoder);
    device.queue.submit([encoder.finish()]);
    this.counters.submits++;
    prof?.submitted();
    if (arena) dev.pool.release(arena.lease, fence);
    void device.queue.onSubmittedWorkDone().then(() => this.complete(fence), () => {});
    return fence;
  }

  /** Runs `fn` once the batch with `fence` (and every earlier one) has finished on the GPU. */
  afterFence(fence: number, fn: () => void): void {
    if (fence <= this.completed) fn();
    else this.waiters.push({ fence, fn });
  }

  private complete(fence: number): void {
    if (fence > this.completed) this.completed = fence;
    this.dev.pool.complete(this.completed);
    if (this.waiters.length) {
      const due = this.waiters.filter((w) => w.fence <= this.completed);
      this.waiters = this.waiters.filter((w) => w.fence > this.completed);
      for (const w of due) w.fn();
    }
  }

  /** Packs every dispatch's params into one uniform buffer, written with a single writeBuffer. */
  private writeParams(commands: Command[], fence: number) {
    const align = this.dev.limits.minUniformBufferOffsetAlignment;
    const offsets: number[] = [];
    let size = 0;
    for (const c of commands) {
      offsets.push(size);
      if (c.kind === 'dispatch' && c.params) size += Math.ceil(c.params.byteLength / align) * align;
    }
    if (size === 0) return null;
    const bytes = new Uint8Array(size);
    commands.forEach((c, i) => {
      if (c.kind === 'dispatch' && c.params) bytes.set(new Uint8Array(c.params), offsets[i]);
    });
    const lease = this.dev.acquire(size, UNIFORM_USAGE, `params ${fence}`);
    this.dev.device.queue.writeBuffer(lease.buffer, 0, bytes);
    return { lease, buffer: lease.buffer, offsets };
  }
}
