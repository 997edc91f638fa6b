// A profile's report: per-dispatch records with rates and percent of the device's peaks, a
// summary per kernel name, a text table, and Chrome trace-event JSON (Perfetto, chrome://tracing).
import type { DevicePeaks } from './peaks.js';

export type TimingMode = 'gpu-timestamps' | 'wall-per-submit';

export interface KernelRecord {
  /** The kernel's label (op name), else its WGSL file. */
  name: string;
  file: string;
  hash: string;
  /** The submit (stream fence) this dispatch went out in. */
  submit: number;
  workgroups: readonly [number, number, number];
  /** GPU time; in 'wall-per-submit' mode the batch's wall time split evenly over its dispatches. */
  gpuMs: number;
  cpuEncodeMs: number;
  /** Start on the profile's timeline (ms since start), GPU clock aligned to the first submit. */
  startMs: number;
  /** The FLOP peak that applies: f16 for kernels compiled with `enable f16`, else f32. */
  precision: 'f32' | 'f16';
  flops?: number;
  bytes?: number;
  gflops?: number;
  gbps?: number;
  /** Achieved GB/s and GFLOP/s as percent of the device's peaks (report.peaks). */
  bandwidthPct?: number;
  flopsPct?: number;
}

export interface KernelSummary {
  name: string;
  count: number;
  totalMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  bytes: number;
  flops: number;
  gbps?: number;
  gflops?: number;
  bandwidthPct?: number;
  flopsPct?: number;
}

export interface SubmitRecord {
  fence: number;
  dispatches: number;
  timing: TimingMode;
  /** Encode start and submit, ms since the profile started (CPU clock). */
  encodeStartMs: number;
  submitMs: number;
  /** Submit to done (wall mode) or sum of the batch's dispatch times (timestamp mode). */
  gpuMs: number;
  liveBytes: number;
  pooledBytes: number;
}

export interface TraceEvent {
  name: string;
  ph: 'X' | 'C' | 'M';
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ProfileReport {
  timing: TimingMode;
  device: string;
  kernels: KernelRecord[];
  summary: KernelSummary[];
  submits: SubmitRecord[];
  totalGpuMs: number;
  wallMs: number;
  /** What percentages are measured against, and where it came from; null when turned off. */
  peaks: DevicePeaks | null;
  notes: string[];
  toTrace(): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' };
  toTable(): string;
}

/** What a finished profiling session hands over. */
export interface SessionData {
  timing: TimingMode;
  device: string;
  hasTimestamps: boolean;
  kernels: KernelRecord[];
  submits: SubmitRecord[];
  /** Each kernel's start on the session's timeline (GPU timestamps), else its recorded startMs. */
  place(k: KernelRecord): number;
  anchored: boolean;
  wallMs: number;
}

function rate(amount: number | undefined, ms: number): number | undefined {
  return amount !== undefined && ms > 0 ? amount / (ms * 1e6) : undefined; // per ms*1e6 = per second / 1e9
}

const pct = (x: number | undefined, peak: number | undefined) => (x !== undefined && peak ? (100 * x) / peak : undefined);
const flopPeak = (p: DevicePeaks | null, precision: 'f32' | 'f16') => (precision === 'f16' ? (p?.f16Gflops ?? p?.f32Gflops) : p?.f32Gflops);

export function peaksNote(p: DevicePeaks | null): string {
  if (!p) return 'Percent of peak: off.';
  const t = (g: number | undefined) => (g === undefined ? '-' : g >= 1000 ? `${(g / 1000).toFixed(1)} TFLOP/s` : `${g.toFixed(1)} GFLOP/s`);
  const from = p.source === 'table' ? 'the GPU-family table' : p.source === 'cached' ? `a calibration of this adapter cached on ${p.measuredAt?.slice(0, 10) ?? '?'}` : 'a calibration run now';
  return `Percent of peak against ${p.bandwidthGBs >= 100 ? p.bandwidthGBs.toFixed(0) : p.bandwidthGBs.toPrecision(3)} GB/s, f32 ${t(p.f32Gflops)}, f16 ${t(p.f16Gflops)} (source: ${p.source}, ${from}; ${p.detail}).`;
}

export function buildReport(s: SessionData, peaks: DevicePeaks | null): ProfileReport {
  const timing = s.timing;
  const kernels = s.kernels.map((k) => {
    const gflops = rate(k.flops, k.gpuMs);
    const gbps = rate(k.bytes, k.gpuMs);
    return { ...k, startMs: s.place(k), gflops, gbps, bandwidthPct: pct(gbps, peaks?.bandwidthGBs), flopsPct: pct(gflops, flopPeak(peaks, k.precision)) };
  });
  const by = new Map<string, KernelSummary & { precision: 'f32' | 'f16' }>();
  for (const k of kernels) {
    let e = by.get(k.name);
    if (!e) by.set(k.name, (e = { name: k.name, count: 0, totalMs: 0, meanMs: 0, minMs: Infinity, maxMs: 0, bytes: 0, flops: 0, precision: k.precision }));
    e.count++;
    e.totalMs += k.gpuMs;
    e.minMs = Math.min(e.minMs, k.gpuMs);
    e.maxMs = Math.max(e.maxMs, k.gpuMs);
    e.bytes += k.bytes ?? 0;
    e.flops += k.flops ?? 0;
    if (k.precision === 'f16') e.precision = 'f16';
  }
  const summary: KernelSummary[] = [...by.values()].map(({ precision, ...e }) => {
    const gbps = e.bytes ? rate(e.bytes, e.totalMs) : undefined;
    const gflops = e.flops ? rate(e.flops, e.totalMs) : undefined;
    return { ...e, meanMs: e.totalMs / e.count, gbps, gflops, bandwidthPct: pct(gbps, peaks?.bandwidthGBs), flopsPct: pct(gflops, flopPeak(peaks, precision)) };
  });
  summary.sort((a, b) => b.totalMs - a.totalMs);
  const notes = [
    timing === 'gpu-timestamps'
      ? 'GPU times from timestamp queries; while profiling each dispatch runs in its own compute pass.'
      : `No timestamp queries${s.hasTimestamps ? ' (wall mode asked for)' : " (device lacks 'timestamp-query')"}: each kernel's time is its submit's submit-to-done wall time split evenly over its dispatches.`,
    peaksNote(peaks),
  ];
  const report: ProfileReport = {
    timing, device: s.device, kernels, summary, submits: s.submits.map((b) => ({ ...b })), wallMs: s.wallMs, peaks, notes,
    totalGpuMs: timing === 'gpu-timestamps' ? kernels.reduce((a, k) => a + k.gpuMs, 0) : s.submits.reduce((a, b) => a + b.gpuMs, 0),
    toTrace: () => toTrace(report, s.anchored),
    toTable: () => toTable(report),
  };
  return report;
}

const PID = 1, GPU_TID = 1, CPU_TID = 2;

function toTrace(r: ProfileReport, anchored: boolean): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const ev: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: 0, ts: 0, args: { name: `lbrx (${r.device})` } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: GPU_TID, ts: 0, args: { name: `GPU (${r.timing})` } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: CPU_TID, ts: 0, args: { name: 'CPU encode + submit' } },
  ];
  const us = (ms: number) => Math.max(0, Math.round(ms * 1000 * 1000) / 1000);
  let last = 0;
  const perSubmit = new Map<number, number>();
  for (const k of r.kernels) {
    let start: number;
    if (r.timing === 'gpu-timestamps' && anchored) start = k.startMs;
    else {
      const sub = r.submits.find((b) => b.fence === k.submit);
      start = Math.max(perSubmit.get(k.submit) ?? sub?.submitMs ?? 0, last);
      perSubmit.set(k.submit, start + k.gpuMs);
    }
    const ts = Math.max(us(start), last);
    last = ts + us(k.gpuMs);
    const args: Record<string, unknown> = { file: k.file, hash: k.hash, submit: k.submit, workgroups: k.workgroups.join('x'), cpuEncodeMs: k.cpuEncodeMs, precision: k.precision };
    for (const key of ['flops', 'bytes', 'gflops', 'gbps', 'bandwidthPct', 'flopsPct'] as const) if (k[key] !== undefined) args[key] = k[key];
    ev.push({ name: k.name, cat: 'kernel', ph: 'X', pid: PID, tid: GPU_TID, ts, dur: us(k.gpuMs), args });
  }
  let lastCpu = 0;
  for (const b of r.submits) {
    const ts = Math.max(us(b.encodeStartMs), lastCpu);
    lastCpu = ts;
    ev.push({ name: `submit ${b.fence}`, cat: 'submit', ph: 'X', pid: PID, tid: CPU_TID, ts, dur: Math.max(0, us(b.submitMs) - ts), args: { dispatches: b.dispatches, gpuMs: b.gpuMs } });
  }
  let lastMem = 0;
  for (const b of r.submits) {
    const ts = Math.max(us(b.submitMs), lastMem);
    lastMem = ts;
    ev.push({ name: 'memory', cat: 'memory', ph: 'C', pid: PID, tid: 0, ts, args: { liveBytes: b.liveBytes, pooledBytes: b.pooledBytes } });
  }
  return { traceEvents: ev, displayTimeUnit: 'ms' };
}

function toTable(r: ProfileReport): string {
  const f = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const rows = [['kernel', 'count', 'total ms', 'mean ms', 'min ms', 'max ms', 'GB/s', '% bw', 'GFLOP/s', '% flop']];
  for (const e of r.summary) {
    rows.push([e.name, String(e.count), f(e.totalMs), f(e.meanMs), f(e.minMs), f(e.maxMs), f(e.gbps, 2), f(e.bandwidthPct, 1), f(e.gflops, 2), f(e.flopsPct, 1)]);
  }
  rows.push(['total', String(r.kernels.length), f(r.totalGpuMs), '', '', '', '', '', '', '']);
  const w = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  ').trimEnd();
  return [`lbrx profile on ${r.device}: ${r.timing}, ${r.submits.length} submits, wall ${f(r.wallMs, 1)} ms`, ...r.notes, '',
    line(rows[0]), w.map((x) => '-'.repeat(x)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
