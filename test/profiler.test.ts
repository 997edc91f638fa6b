import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { calibrationCounters } from '../src/runtime/peak-calibrate.js';
import { tablePeaks } from '../src/runtime/peak-table.js';
import { devicePeaks, forgetPeaks, peaksRecordKey, type DevicePeaks } from '../src/runtime/peaks.js';
import { profilerCounters, type ProfileReport, type TraceEvent } from '../src/runtime/profiler.js';

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

/** 3 realized elementwise kernels, a sum and a softmax: five dispatches. */
async function workload(): Promise<void> {
  const a = lb.tensor(Float32Array.from({ length: 1000 }, (_, i) => i / 1000), [10, 100]);
  const b = lb.tensor(Float32Array.from({ length: 1000 }, (_, i) => 1 - i / 1000), [10, 100]);
  await lb.eval(a, b); // uploads only
  const x = a.add(b).realize();
  const y = x.exp().realize();
  const z = y.mul(3).realize();
  const s = lb.sum(z, 1);
  const p = lb.softmax(z, 1);
  await lb.eval(s, p);
  for (const t of [a, b, x, y, z, s, p]) t.dispose();
}

/** Checks the trace-event format: required fields and types, ts monotonic per track. */
function validateTrace(trace: { traceEvents: TraceEvent[] }): void {
  expect(Array.isArray(trace.traceEvents)).toBe(true);
  expect(() => JSON.parse(JSON.stringify(trace))).not.toThrow();
  const last = new Map<string, number>();
  for (const e of trace.traceEvents) {
    expect(typeof e.name).toBe('string');
    expect(['X', 'C', 'M']).toContain(e.ph);
    expect(Number.isInteger(e.pid)).toBe(true);
    expect(Number.isInteger(e.tid)).toBe(true);
    expect(typeof e.ts).toBe('number');
    expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
    if (e.ph === 'X') {
      expect(typeof e.dur).toBe('number');
      expect(Number.isFinite(e.dur!) && e.dur! >= 0).toBe(true);
    }
    if (e.ph === 'C') {
      for (const v of Object.values(e.args ?? {})) expect(typeof v).toBe('number');
    }
    if (e.ph === 'M') continue;
    const track = `${e.pid}/${e.tid}/${e.ph === 'C' ? e.name : ''}`;
    expect(e.ts).toBeGreaterThanOrEqual(last.get(track) ?? 0);
    last.set(track, e.ts);
  }
}

function names(r: ProfileReport): string[] {
  return r.kernels.map((k) => k.name);
}

describe('profiler', () => {
  it('lists every dispatch of a known workload once, in order, with times and names', async () => {
    await workload(); // compile first, so the profile holds only this run's dispatches
    const before = lb.streamStats().dispatches;
    const r = await lb.profile(workload);
    const dispatched = lb.streamStats().dispatches - before;
    expect(r.kernels.length).toBe(dispatched);
    expect(names(r).filter((n, i, all) => n !== all[i - 1])).toEqual(['add', 'exp', 'mul', 'sum', 'softmax']);
    // The upload-only eval submits no commands: only submits with work are listed.
    expect(r.submits.length).toBeGreaterThanOrEqual(1);
    expect(r.submits.every((b) => b.dispatches > 0)).toBe(true);
    expect(r.kernels.map((k) => k.submit)).toEqual([...r.kernels.map((k) => k.submit)].sort((p, q) => p - q));
    expect(r.timing).toBe(lb.device()!.features.timestamps ? 'gpu-timestamps' : 'wall-per-submit');
    for (const k of r.kernels) {
      expect(k.gpuMs).toBeGreaterThanOrEqual(0);
      expect(k.cpuEncodeMs).toBeGreaterThanOrEqual(0);
      expect(k.hash).not.toBe('');
    }
    expect(r.totalGpuMs).toBeGreaterThan(0);
    // Elementwise kernels declare their traffic: two 4000-byte leaves read, 4000 bytes written.
    expect(r.kernels[0].bytes).toBe(12000);
    // Summary per name, and a table that names each kernel.
    const add = r.summary.find((e) => e.name === 'add')!;
    expect(add.count).toBe(1);
    expect(add.totalMs).toBeCloseTo(r.kernels[0].gpuMs, 9);
    expect(add.minMs).toBeLessThanOrEqual(add.maxMs);
    expect(r.summary.reduce((a, e) => a + e.count, 0)).toBe(r.kernels.length);
    const table = r.toTable();
    if (process.env.LBRX_PRINT_PROFILE) console.log(table);
    for (const n of ['add', 'exp', 'mul', 'sum', 'softmax', 'total ms', '% bw', '% flop', r.timing]) expect(table).toContain(n);
    // Percent of peak: a GPU the family table knows (the H100) takes its peaks from there; one it
    // does not (lavapipe) was calibrated by the first profile.
    const known = tablePeaks(lb.device()!.fingerprint) !== null;
    expect(r.peaks?.source).toBe(known ? 'table' : 'calibrated');
    expect(r.notes.join(' ')).toMatch(known ? /Percent of peak against .* GB\/s.*source: table/ : /Percent of peak against .* GB\/s.*source: calibrated/);
    expect(r.kernels[0].bandwidthPct).toBeCloseTo((100 * r.kernels[0].gbps!) / r.peaks!.bandwidthGBs, 9);
  });

  it('toTrace() gives valid trace-event JSON: kernels on the GPU track, submits, a memory counter', async () => {
    await workload();
    const r = await lb.profile(workload);
    const trace = r.toTrace();
    validateTrace(trace);
    const x = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'kernel');
    expect(x.map((e) => e.name)).toEqual(names(r));
    expect(new Set(x.map((e) => e.tid)).size).toBe(1);
    expect(x[0].args).toMatchObject({ file: 'elementwise', bytes: 12000 });
    const mem = trace.traceEvents.filter((e) => e.ph === 'C');
    expect(mem.length).toBe(r.submits.length);
    for (const m of mem) expect(m.args).toHaveProperty('liveBytes');
    expect(mem.some((m) => (m.args!.liveBytes as number) > 0)).toBe(true);
    expect(trace.traceEvents.filter((e) => e.cat === 'submit').length).toBe(r.submits.length);
  });

  it('profiles nested and twice; profiler.start()/stop() works and stop() without start() throws', async () => {
    await workload();
    let inner: ProfileReport | null = null;
    const outer = await lb.profile(async () => {
      await workload();
      inner = await lb.profile(workload);
      expect(lb.profiler.active).toBe(true);
    });
    expect(lb.profiler.active).toBe(false);
    expect(outer.kernels.length).toBe(2 * inner!.kernels.length);
    expect(names(outer)).toEqual([...names(inner!), ...names(inner!)]);
    validateTrace(outer.toTrace());
    validateTrace(inner!.toTrace());

    lb.profiler.start();
    await workload();
    const again = await lb.profiler.stop();
    expect(names(again)).toEqual(names(inner!));
    expect(again.totalGpuMs).toBeGreaterThan(0);
    await expect(lb.profiler.stop()).rejects.toThrow(/no profile is running/);
  });

  it('a throwing fn rejects the profile and leaves profiling off', async () => {
    await expect(lb.profile(async () => { await workload(); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(lb.profiler.active).toBe(false);
  });

  it('profiling off writes no queries, creates no query sets, runs no calibration and touches no query API', async () => {
    await workload();
    const before = { ...profilerCounters };
    const calibrations = calibrationCounters.runs;
    expect(lb.profiler.active).toBe(false);
    const dev = lb.device()!;
    expect(dev.stream.profiler).toBeNull();
    // Count every call into the query API while the work runs (encoders are made by the stream).
    const calls: string[] = [];
    const device = dev.device;
    const createQuerySet = device.createQuerySet.bind(device);
    const createCommandEncoder = device.createCommandEncoder.bind(device);
    device.createQuerySet = (d: GPUQuerySetDescriptor) => (calls.push('createQuerySet'), createQuerySet(d));
    device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
      const e = createCommandEncoder(d);
      const resolve = e.resolveQuerySet.bind(e);
      const pass = e.beginComputePass.bind(e);
      e.resolveQuerySet = (...a: Parameters<GPUCommandEncoder['resolveQuerySet']>) => (calls.push('resolveQuerySet'), resolve(...a));
      e.beginComputePass = (d?: GPUComputePassDescriptor) => {
        if (d?.timestampWrites) calls.push('timestampWrites');
        return pass(d);
      };
      return e;
    };
    try {
      await workload();
      await workload();
    } finally {
      delete (device as Partial<GPUDevice>).createQuerySet;
      delete (device as Partial<GPUDevice>).createCommandEncoder;
    }
    expect(device.createQuerySet).not.toBe(undefined);
    expect(calls).toEqual([]);
    expect(profilerCounters).toEqual(before);
    expect(calibrationCounters.runs).toBe(calibrations);
  });

  it('percent of peak per kernel against given peaks: f16 kernels against the f16 rate', async () => {
    const peaks: DevicePeaks = { bandwidthGBs: 10, f32Gflops: 100, f16Gflops: 400, source: 'table', detail: 'test peaks', device: 'test' };
    const a32 = lb.rand([24, 40], { seed: 1 });
    const b32 = lb.rand([40, 16], { seed: 2 });
    const a16 = a32.cast('f16');
    const b16 = b32.cast('f16');
    await lb.eval(a16, b16);
    const run = async () => {
      const outs = [lb.matmul(a32, b32), lb.matmul(a16, b16), a16.add(a16).realize()];
      await lb.eval(...outs);
      for (const t of outs) t.dispose();
    };
    await run();
    const r = await lb.profile(run, { peaks });
    expect(r.peaks).toBe(peaks);
    const mm = r.kernels.filter((k) => k.flops !== undefined);
    expect(mm.length).toBe(2);
    const [k32, k16] = mm;
    expect(k32.precision).toBe('f32');
    // Which kernels compute in f16 depends on the kernel (sources that enable f16); an f16-only
    // elementwise op does wherever the device has 'shader-f16'.
    expect(r.kernels.find((k) => k.name === 'add')!.precision).toBe(lb.device()!.features.f16 ? 'f16' : 'f32');
    expect(k32.flops).toBe(2 * 24 * 40 * 16);
    expect(k32.flopsPct).toBeCloseTo((100 * k32.gflops!) / 100, 9);
    expect(k16.flopsPct).toBeCloseTo((100 * k16.gflops!) / (k16.precision === 'f16' ? 400 : 100), 9);
    expect(k32.bandwidthPct).toBeCloseTo((100 * k32.gbps!) / 10, 9);
    const s = r.summary.find((e) => e.name === k32.name)!;
    expect(s.bandwidthPct).toBeCloseTo((100 * s.gbps!) / 10, 9);
    expect(r.notes.join(' ')).toContain('source: table, the GPU-family table; test peaks');
    const x = r.toTrace().traceEvents.find((e) => e.cat === 'kernel' && e.args?.flops !== undefined)!;
    expect(x.args).toHaveProperty('flopsPct');
    const off = await lb.profile(run, { peaks: false });
    expect(off.peaks).toBeNull();
    expect(off.kernels.every((k) => k.bandwidthPct === undefined && k.flopsPct === undefined)).toBe(true);
    expect(off.notes.join(' ')).toContain('Percent of peak: off');
    for (const t of [a32, b32, a16, b16]) t.dispose();
  });

  it('reuses one query set over many profiled submits, and over 2048 dispatches in one submit', async () => {
    for (let i = 0; i < 10; i++) await lb.profile(workload);
    const n = 2100; // more than one 4096-query chunk in a single submit
    const r = await lb.profile(async () => {
      let x = lb.zeros([16]).realize();
      for (let i = 0; i < n; i++) {
        const y = x.add(1).realize();
        x.dispose();
        x = y;
      }
      expect(Array.from(await x.data()).slice(0, 2)).toEqual([n, n]);
      x.dispose();
    });
    expect(r.kernels.filter((k) => k.name === 'add').length).toBe(n);
    expect(new Set(r.kernels.map((k) => k.submit)).size).toBe(1);
    for (const k of r.kernels) expect(k.gpuMs).toBeGreaterThanOrEqual(0);
    if (r.timing === 'gpu-timestamps') expect(r.kernels.slice(2048).some((k) => k.gpuMs > 0)).toBe(true);
    validateTrace(r.toTrace());
    expect(profilerCounters.querySetsCreated - profilerCounters.querySetsDestroyed).toBeLessThanOrEqual(1);
  });

  it("falls back to submit-to-done wall time when asked (as without 'timestamp-query') and says so", async () => {
    await workload();
    const writes = profilerCounters.timestampWrites;
    const r = await lb.profile(workload, { timing: 'wall-per-submit' });
    expect(profilerCounters.timestampWrites).toBe(writes);
    expect(r.timing).toBe('wall-per-submit');
    expect(r.notes.join(' ')).toMatch(/wall time/);
    expect(names(r).filter((n, i, all) => n !== all[i - 1])).toEqual(['add', 'exp', 'mul', 'sum', 'softmax']);
    expect(r.totalGpuMs).toBeGreaterThan(0);
    for (const k of r.kernels) expect(k.gpuMs).toBeGreaterThan(0);
    validateTrace(r.toTrace());
    expect(r.toTable()).toContain('wall-per-submit');
  });
});

describe('device peaks', () => {
  it('calibrates once per device, persists the result per adapter and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbrx-peaks-'));
    try {
      const dev = lb.device()!;
      forgetPeaks(dev);
      const known = tablePeaks(dev.fingerprint) !== null;
      let runs = calibrationCounters.runs;
      // 'auto' on a GPU the table knows takes the table without measuring; then calibrate on request.
      let first = (await devicePeaks(dev, { cacheDir: dir }))!;
      if (known) {
        expect(first.source).toBe('table');
        expect(calibrationCounters.runs).toBe(runs);
        runs = calibrationCounters.runs;
        first = (await devicePeaks(dev, { cacheDir: dir, source: 'calibrate' }))!;
      }
      expect(calibrationCounters.runs).toBe(runs + 1);
      expect(first.source).toBe('calibrated');
      for (const v of [first.bandwidthGBs, first.f32Gflops]) expect(Number.isFinite(v) && v > 0).toBe(true);
      if (dev.features.f16) expect(first.f16Gflops).toBeGreaterThan(0);
      expect(first.detail).toMatch(/copy kernel .* GB\/s; f32: FMA chains/);
      expect(first.device).toBe(dev.fingerprint.id);
      expect(readdirSync(dir)).toContain(peaksRecordKey(dev).replace(/[^A-Za-z0-9._-]/g, '_'));
      // Same process: the measurement is reused.
      expect(await devicePeaks(dev, { cacheDir: dir })).toBe(first);
      // A fresh process (memory forgotten) reads the record instead of measuring.
      forgetPeaks(dev);
      const again = (await devicePeaks(dev, { cacheDir: dir }))!;
      expect(again.source).toBe('cached');
      expect(again.bandwidthGBs).toBe(first.bandwidthGBs);
      expect(again.f32Gflops).toBe(first.f32Gflops);
      expect(calibrationCounters.runs).toBe(runs + 1);
      // A record that does not parse, or belongs to another adapter, is measured again.
      const file = join(dir, readdirSync(dir)[0]);
      const record = JSON.parse(readFileSync(file, 'utf8'));
      for (const bad of ['{not json', JSON.stringify({ ...record, device: 'nvidia:other' })]) {
        writeFileSync(file, bad);
        forgetPeaks(dev);
        // A known GPU falls back to the table; an unknown one is measured again.
        expect((await devicePeaks(dev, { cacheDir: dir }))!.source).toBe(known ? 'table' : 'calibrated');
      }
      expect(calibrationCounters.runs).toBe(runs + (known ? 1 : 3));
      // 'table' never measures: null for a GPU the table does not know; 'calibrate' always measures.
      const fromTable = await lb.peaks({ source: 'table' });
      if (known) expect(fromTable?.source).toBe('table');
      else expect(fromTable).toBeNull();
      expect((await lb.peaks({ source: 'calibrate', cacheDir: false }))!.source).toBe('calibrated');
      expect(calibrationCounters.runs).toBe(runs + (known ? 2 : 4));
      // The device is still usable and no error was left behind by the probes.
      const t = lb.tensor([1, 2, 3]).add(1);
      expect(Array.from(await t.data())).toEqual([2, 3, 4]);
      t.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the GPU-family table: H100 SXM and PCIe, Apple size classes, unknown GPUs', () => {
    const h100 = tablePeaks(lb.fingerprint({ vendor: 'nvidia', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA: 580.159.04' }))!;
    expect(h100).toMatchObject({ bandwidthGBs: 3350, f32Gflops: 66_900, f16Gflops: 989_400 });
    expect(h100.source).toMatch(/datasheet/);
    expect(tablePeaks(lb.fingerprint({ vendor: 'nvidia', device: 'nvidia-h100-pcie' }))!.bandwidthGBs).toBe(2000);
    const m1max = tablePeaks(lb.fingerprint({ vendor: 'apple', description: 'Apple M1 Max' }))!;
    expect(m1max).toMatchObject({ name: 'Apple M1 Max (32-core GPU)', bandwidthGBs: 400 });
    expect(m1max.f32Gflops).toBeGreaterThan(10_000);
    expect(m1max.f16Gflops).toBe(m1max.f32Gflops);
    const m1 = tablePeaks(lb.fingerprint({ vendor: 'apple', description: 'Apple M1' }))!;
    expect(m1.bandwidthGBs).toBeCloseTo(68.25);
    expect(tablePeaks(lb.fingerprint({ vendor: 'apple', description: 'Apple M4 Max' }))!.bandwidthGBs).toBe(546);
    expect(tablePeaks(lb.fingerprint({ vendor: 'apple', description: 'Apple M4 Ultra' }))).toBeNull();
    expect(tablePeaks(lb.fingerprint({ vendor: 'apple', architecture: 'metal-3' }))).toBeNull();
    expect(tablePeaks(lb.fingerprint({ description: 'NVIDIA GeForce RTX 4090' }))).toBeNull();
    expect(tablePeaks(lb.fingerprint({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBeNull();
  });
});
