import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
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
    expect(r.submits.length).toBeGreaterThanOrEqual(2);
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
    for (const n of ['add', 'exp', 'mul', 'sum', 'softmax', 'total ms', r.timing]) expect(table).toContain(n);
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

  it('profiling off writes no queries and creates no query sets', async () => {
    await workload();
    const before = { ...profilerCounters };
    expect(lb.profiler.active).toBe(false);
    expect(lb.device()!.stream.profiler).toBeNull();
    await workload();
    await workload();
    expect(profilerCounters).toEqual(before);
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
