// A short calibration of what this device reaches: memory bandwidth (a vec4 copy kernel, bytes
// read + written), f32 and f16 FMA rates (8 independent FMA chains per thread, no memory traffic)
// and, where the adapter has subgroup matrices, the f16 matrix rate (f32 accumulation). Each runs
// as raw pipelines on the device, timed from submit to done over several dispatches, best round
// kept. The WGSL is generated here rather than in wgsl/: these are measuring probes run outside
// the kernel registry, the stream and the profiler, not ops.
import { subgroupMatrixConfigs } from '../ops/matmul-sgmat.js';
import type { GpuDevice } from './device.js';

export interface Calibration {
  bandwidthGBs: number;
  f32Gflops: number;
  /**
   * The best rate for f16 operands: f16 FMA, f16 subgroup matrices, or f32 math after widening,
   * whichever is fastest (lavapipe's f16 is slower than its f32); absent without 'shader-f16'.
   */
  f16Gflops?: number;
  /** One line per probe: what ran and what it reached (or why it was skipped). */
  detail: string[];
  /** Wall time the calibration took. */
  ms: number;
}

/** For tests: how many calibrations ran. */
export const calibrationCounters = { runs: 0 };

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, UNIFORM = 0x40;
const MiB = 1024 * 1024;

interface Probe {
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: [number, number, number];
  /** Sets the loop count of FMA probes (a uniform), for sizing a dispatch to a target time. */
  setIters?: (iters: number) => void;
  buffers: GPUBuffer[];
}

interface Budget {
  /** Wall ms one dispatch should take once sized, and dispatches per timed round. */
  targetMs: number;
  perRound: number;
  rounds: number;
}

/** Runs `fn` (creating pipelines, first submit) inside validation and internal error scopes. */
async function scoped<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('validation');
  let value: T | undefined;
  let thrown: unknown = null;
  try {
    value = await fn();
  } catch (e) {
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const internal = await device.popErrorScope();
  if (thrown) throw thrown;
  const err = validation ?? internal;
  if (err) throw new Error(err.message);
  return value as T;
}

async function makeProbe(dev: GpuDevice, code: string, label: string, bindings: GPUBuffer[], groups: number, uniform?: GPUBuffer): Promise<Probe> {
  const device = dev.device;
  const module = device.createShaderModule({ code, label });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
  const entries = bindings.map((buffer, binding) => ({ binding, resource: { buffer } }));
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label });
  const { workgroups } = dev.stream.grid(groups);
  const setIters = uniform ? (n: number) => device.queue.writeBuffer(uniform, 0, new Uint32Array([n, 0, 0, 0])) : undefined;
  return { pipeline, group, workgroups, setIters, buffers: bindings };
}

/** Wall ms per dispatch of `k` dispatches submitted together. */
async function round(device: GPUDevice, p: Probe, k: number): Promise<number> {
  const enc = device.createCommandEncoder({ label: 'lbrx calibration' });
  for (let i = 0; i < k; i++) {
    const pass = enc.beginComputePass();
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, p.group);
    pass.dispatchWorkgroups(p.workgroups[0], p.workgroups[1], p.workgroups[2]);
    pass.end();
  }
  const cb = enc.finish();
  const t0 = performance.now();
  device.queue.submit([cb]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / k;
}

/**
 * Best ms per dispatch. FMA probes first size their loop so one dispatch takes about
 * `targetMs` (returning the loop count used); the copy probe is fixed-size.
 */
async function best(dev: GpuDevice, p: Probe, b: Budget, iters0: number): Promise<{ ms: number; iters: number }> {
  const device = dev.device;
  let iters = iters0;
  p.setIters?.(iters);
  let one = await scoped(device, () => round(device, p, 1)); // compiles, first touch of the buffers
  if (p.setIters) {
    // Sized over several dispatches per submit, so the submit's own cost does not stop the growth.
    one = await round(device, p, 4);
    for (let i = 0; i < 6 && one < b.targetMs / 2; i++) {
      iters = Math.max(1, Math.min(1 << 24, Math.round((iters * b.targetMs) / Math.max(one, 0.05))));
      p.setIters(iters);
      one = await round(device, p, 4);
    }
  }
  const k = p.setIters ? b.perRound : Math.max(1, Math.min(64, Math.round((b.targetMs * b.perRound) / Math.max(one, 0.01))));
  let ms = Infinity;
  for (let r = 0; r < b.rounds; r++) ms = Math.min(ms, await round(device, p, k));
  return { ms, iters };
}

function fmaCode(type: 'f32' | 'f16'): string {
  const v = `vec4<${type}>`;
  const chains = Array.from({ length: 8 }, (_, i) => i);
  const step = chains.map((i) => `x${i} = fma(x${i}, a, b);`).join(' ');
  return `${type === 'f16' ? 'enable f16;\n' : ''}
struct P { iters: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<${v}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 256u;
  let a = ${v}(${type}(0.5));
  let b = ${v}(${type}(0.5));
  let s = ${type}(i & 255u) * ${type}(0.001);
  ${chains.map((c) => `var x${c} = ${v}(s + ${type}(${c}));`).join(' ')}
  for (var n = 0u; n < p.iters; n = n + 1u) {
    ${step}
    ${step}
  }
  out[i] = ${chains.map((c) => `x${c}`).join(' + ')};
}`;
}

/** FLOPs per thread per loop iteration of fmaCode: 16 vec4 FMAs. */
const FMA_FLOPS_PER_ITER = 16 * 4 * 2;

function sgmatCode(sg: number, m: number, n: number, k: number): string {
  const tile = Math.max(m * k, k * n);
  return `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
struct P { iters: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
alias L = subgroup_matrix_left<f16, ${k}, ${m}>;
alias R = subgroup_matrix_right<f16, ${n}, ${k}>;
alias A = subgroup_matrix_result<f32, ${n}, ${m}>;
var<workgroup> tile: array<f16, ${tile}>;
@compute @workgroup_size(${4 * sg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var e = lid; e < ${tile}u; e = e + ${4 * sg}u) { tile[e] = f16(e % 7u) * f16(0.001); }
  workgroupBarrier();
  let l = subgroupMatrixLoad<L>(&tile, 0u, false, ${k}u);
  let r = subgroupMatrixLoad<R>(&tile, 0u, false, ${n}u);
  var c0 = A(); var c1 = A(); var c2 = A(); var c3 = A();
  for (var i = 0u; i < p.iters; i = i + 1u) {
    c0 = subgroupMatrixMultiplyAccumulate(l, r, c0);
    c1 = subgroupMatrixMultiplyAccumulate(l, r, c1);
    c2 = subgroupMatrixMultiplyAccumulate(l, r, c2);
    c3 = subgroupMatrixMultiplyAccumulate(l, r, c3);
  }
  let w = ((wid.x + wid.y * nw.x) * 4u + lid / ${sg}u) * ${4 * m * n}u;
  subgroupMatrixStore(&out, w, c0, false, ${n}u);
  subgroupMatrixStore(&out, w + ${m * n}u, c1, false, ${n}u);
  subgroupMatrixStore(&out, w + ${2 * m * n}u, c2, false, ${n}u);
  subgroupMatrixStore(&out, w + ${3 * m * n}u, c3, false, ${n}u);
}`;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

/** Measures this device's bandwidth and FLOP rates; a second or two on a GPU. */
export async function calibrate(dev: GpuDevice): Promise<Calibration> {
  calibrationCounters.runs++;
  const t0 = performance.now();
  const device = dev.device;
  const software = dev.fingerprint.family === 'software';
  const budget: Budget = software ? { targetMs: 15, perRound: 2, rounds: 3 } : { targetMs: 2, perRound: 10, rounds: 8 };
  const detail: string[] = [];
  const made: GPUBuffer[] = [];
  const buffer = (size: number, usage: number, label: string) => {
    const b = device.createBuffer({ size, usage, label });
    made.push(b);
    return b;
  };
  try {
    // Bandwidth: copy `bytes` with one vec4 per thread; large enough to leave every cache behind.
    const cap = Math.min(dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize);
    const bytes = Math.floor(Math.min(software ? 16 * MiB : 256 * MiB, cap) / 16) * 16;
    const src = buffer(bytes, STORAGE | COPY_SRC | COPY_DST, 'lbrx calibration src');
    const dst = buffer(bytes, STORAGE | COPY_SRC | COPY_DST, 'lbrx calibration dst');
    const copy = await scoped(device, () => makeProbe(dev, `@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < ${bytes / 16}u) { o[i] = a[i]; }
}`, 'lbrx calibration copy', [src, dst], Math.ceil(bytes / 16 / 256)));
    // An idle GPU runs at low clocks and needs about a second of work to reach its own.
    if (!software) {
      const w0 = performance.now();
      while (performance.now() - w0 < 1000) await round(device, copy, 8);
    }
    const c = await best(dev, copy, budget, 0);
    const bandwidthGBs = (2 * bytes) / (c.ms * 1e6);
    detail.push(`bandwidth: vec4 copy kernel over ${bytes / MiB} MiB (read + write): ${fmt(bandwidthGBs)} GB/s`);

    const threads = software ? 4096 : 1 << 20;
    const fma = async (type: 'f32' | 'f16') => {
      const uniform = buffer(16, UNIFORM | COPY_DST, 'lbrx calibration params');
      const out = buffer(threads * (type === 'f32' ? 16 : 8), STORAGE, 'lbrx calibration out');
      const probe = await scoped(device, () => makeProbe(dev, fmaCode(type), `lbrx calibration ${type} fma`, [uniform, out], threads / 256, uniform));
      const r = await best(dev, probe, budget, 16);
      const gflops = (threads * r.iters * FMA_FLOPS_PER_ITER) / (r.ms * 1e6);
      detail.push(`${type}: FMA chains, ${threads} threads x ${r.iters} iterations: ${fmt(gflops)} GFLOP/s`);
      return gflops;
    };
    const f32Gflops = await fma('f32');
    let f16Gflops: number | undefined;
    if (dev.features.f16) {
      f16Gflops = await fma('f16');
      const sg = (dev.adapter.info as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined) ?? {};
      const cfg = subgroupMatrixConfigs(dev).find((x) => x.componentType === 'f16' && x.resultComponentType === 'f32');
      if (cfg && sg.subgroupMaxSize && sg.subgroupMinSize === sg.subgroupMaxSize) {
        try {
          const size = sg.subgroupMaxSize;
          const groups = software ? 16 : 2048;
          const uniform = buffer(16, UNIFORM | COPY_DST, 'lbrx calibration params');
          const out = buffer(groups * 4 * 4 * cfg.M * cfg.N * 4, STORAGE, 'lbrx calibration out');
          const probe = await scoped(device, () => makeProbe(dev, sgmatCode(size, cfg.M, cfg.N, cfg.K), 'lbrx calibration f16 subgroup matrix', [uniform, out], groups, uniform));
          const r = await best(dev, probe, budget, 16);
          const gflops = (groups * 4 * 4 * r.iters * 2 * cfg.M * cfg.N * cfg.K) / (r.ms * 1e6);
          detail.push(`f16: subgroup matrices ${cfg.M}x${cfg.N}x${cfg.K} -> f32, ${groups} x 4 subgroups x ${r.iters} iterations: ${fmt(gflops)} GFLOP/s`);
          f16Gflops = Math.max(f16Gflops, gflops);
        } catch (e) {
          detail.push(`f16: subgroup-matrix probe skipped (${e instanceof Error ? e.message.split('\n')[0] : e})`);
        }
      }
      if (f16Gflops < f32Gflops) detail.push('f16 peak = the f32 rate (faster here than f16 math)');
      f16Gflops = Math.max(f16Gflops, f32Gflops);
    } else {
      detail.push("f16: not measured (no 'shader-f16')");
    }
    return { bandwidthGBs, f32Gflops, f16Gflops, detail, ms: performance.now() - t0 };
  } finally {
    await device.queue.onSubmittedWorkDone().catch(() => {});
    for (const b of made) b.destroy();
  }
}
