// PipelineCache on a real WebGPU device: content keys, stats, compile errors, bind group
// checks, a real dispatch, and warmup from a recorded variant list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, globals } from 'webgpu';
import { PipelineCache, type VariantStore } from '../src/kernels/cache.js';
import { WGSL_SOURCES } from '../src/kernels/wgsl.gen.js';
import { parseRecord } from '../src/kernels/variants.js';
import { hashString } from '../src/kernels/hash.js';
import { buildKernel } from '../src/kernels/registry.js';
import { GpuValidationError, ShaderCompileError } from '../src/errors.js';

Object.assign(globalThis, globals);
// Module-level on purpose: if `gpu` is garbage-collected while the device lives, Dawn crashes.
const gpu = create([]);
let device: GPUDevice;
const uncaptured: string[] = [];

beforeAll(async () => {
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  device = await adapter.requestDevice();
  device.addEventListener('uncapturederror', (e) => uncaptured.push((e as GPUUncapturedErrorEvent).error.message));
});

afterAll(async () => {
  await device.queue.onSubmittedWorkDone(); // let any uncaptured error events arrive
  device.destroy();
  expect(uncaptured).toEqual([]); // every error went through an error scope or a typed error
});

class MemStore implements VariantStore {
  saves = 0;
  constructor(public text: string | null = null) {}
  load = async (): Promise<string | null> => this.text;
  save = async (text: string): Promise<void> => void ((this.text = text), this.saves++);
}

const BROKEN = [
  '#include "_common"',
  '@group(0) @binding(0) var<storage, read_write> y: array<f32>;',
  '',
  '@compute @workgroup_size(1)',
  'fn main() {',
  '  y[0] = not_declared + 1.0;',
  '}',
].join('\n');
const sources = { ...WGSL_SOURCES, broken: BROKEN };
const spec = { file: '_selftest', defines: { BIAS: '0.5' } };

const buf = (size: number, usage: number): GPUBuffer => device.createBuffer({ size, usage });

describe('PipelineCache', () => {
  it('counts hits and misses and returns the same kernel for the same content', async () => {
    const cache = new PipelineCache(device);
    expect(cache.peek(spec)).toBeUndefined();
    const a = await cache.get(spec);
    const b = await cache.get({ ...spec, label: 'other label' });
    expect(b).toBe(a);
    expect(cache.peek(spec)).toBe(a);
    const s = cache.stats();
    expect(s).toMatchObject({ hits: 2, misses: 1, pipelines: 1, inFlight: 0 });
    expect(s.compileMs).toBeGreaterThan(0);
    expect(a.name).toBe('_selftest');
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.key).toContain('x[i] * params.scale + 0.5');
    expect(a.workgroupSize).toEqual([64, 1, 1]);
    expect(a.bindings.map((x) => [x.name, x.kind])).toEqual([
      ['params', 'uniform'],
      ['x', 'read-only-storage'],
      ['y', 'storage'],
    ]);
  });

  it('remembers a spec object (no id rebuilt on repeat lookups: the decode path reuses its specs)', async () => {
    const cache = new PipelineCache(device);
    const kept = { file: '_selftest', defines: { BIAS: '0.25' } as Record<string, string> };
    const a = await cache.get(kept);
    expect(cache.peek(kept)).toBe(a);
    expect(cache.peek({ ...kept, defines: { ...kept.defines } })).toBe(a); // same content, new object
    // The memo is by object, so a spec must not be changed after use: this one now answers from it.
    kept.defines.BIAS = '0.75';
    expect(cache.peek(kept)).toBe(a);
    expect(cache.peek({ ...kept, defines: { ...kept.defines } })).toBeUndefined();
  });

  it('compiles concurrent requests for one key once', async () => {
    const cache = new PipelineCache(device);
    const jobs = [cache.get(spec), cache.get(spec), cache.get({ ...spec, defines: { BIAS: '0.5' } })];
    expect(cache.stats().inFlight).toBe(1);
    const [a, b, c] = await Promise.all(jobs);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, pipelines: 1, inFlight: 0 });
  });

  it('gives different constants, defines and entry points different pipelines', async () => {
    const cache = new PipelineCache(device);
    const wg64 = await cache.get(spec);
    const wg32 = await cache.get({ ...spec, constants: { WG: 32 } });
    const doubled = await cache.get({ ...spec, defines: { BIAS: '0.5', DOUBLE: true } });
    const fill = await cache.get({ ...spec, entryPoint: 'fill' });
    expect(new Set([wg64, wg32, doubled, fill].map((k) => k.pipeline)).size).toBe(4);
    expect(new Set([wg64, wg32, doubled, fill].map((k) => k.key)).size).toBe(4);
    expect(wg32.workgroupSize).toEqual([32, 1, 1]);
    expect(fill.bindings.map((x) => x.name)).toEqual(['params', 'y']);
    expect(cache.stats()).toMatchObject({ misses: 4, pipelines: 4 });
  });

  it('turns a WGSL error into ShaderCompileError with the kernel name and a numbered excerpt', async () => {
    const cache = new PipelineCache(device, { sources });
    const err = await cache.get({ file: 'broken', label: 'my-broken-kernel' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    const e = err as ShaderCompileError;
    expect(e.kernel).toBe('my-broken-kernel');
    expect(e.message).toMatch(/kernel 'my-broken-kernel' failed to compile: broken:6:\d+: .*not_declared/);
    expect(e.excerpt).toContain('> broken:6 |   y[0] = not_declared + 1.0;');
    expect(e.excerpt).toMatch(/\|\s+\^+/);
    // A failed compile is not cached: the next request compiles again.
    await expect(cache.get({ file: 'broken' })).rejects.toThrow(/kernel 'broken' failed to compile/);
    expect(cache.stats()).toMatchObject({ misses: 2, pipelines: 0, inFlight: 0 });
  });

  it('reports preprocessor, entry point and constant mistakes as ShaderCompileError', async () => {
    const cache = new PipelineCache(device);
    await expect(cache.get({ file: '_selftest' })).rejects.toThrow(/kernel '_selftest' failed to compile: _selftest:\d+: undefined \$BIAS/);
    await expect(cache.get({ ...spec, entryPoint: 'nope' })).rejects.toThrow(/entry point 'nope'.*main, fill/);
    await expect(cache.get({ ...spec, constants: { NOT_AN_OVERRIDE: 1 } })).rejects.toThrow(/kernel '_selftest' failed to compile: pipeline creation failed/);
    await expect(cache.get({ file: 'nope' })).rejects.toThrow(/unknown WGSL kernel 'nope'/);
    expect(cache.stats().pipelines).toBe(0);
  });

  it('checks buffers given to bindGroup', async () => {
    const k = await new PipelineCache(device).get(spec);
    const params = buf(8, GPUBufferUsage.UNIFORM);
    const x = buf(64, GPUBufferUsage.STORAGE);
    const y = buf(64, GPUBufferUsage.STORAGE);
    expect(k.bindGroup(device, { params, x, y })).toBeTruthy();
    expect(k.bindGroup(device, { params, x: { buffer: x, offset: 0, size: 16 }, y })).toBeTruthy();
    const bad = (buffers: Record<string, GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number }>): unknown => {
      try {
        k.bindGroup(device, buffers);
      } catch (e) {
        expect(e).toBeInstanceOf(GpuValidationError);
        return (e as Error).message;
      }
      throw new Error('bindGroup accepted bad buffers');
    };
    expect(bad({ params, x })).toMatch(/kernel '_selftest': missing buffer for binding 'y' \(@group\(0\) @binding\(2\), storage\)/);
    expect(bad({ params, x, y, z: y })).toMatch(/kernel '_selftest': no binding named 'z'; its bindings are 'params', 'x', 'y'/);
    expect(bad({ params: buf(4, GPUBufferUsage.UNIFORM), x, y })).toMatch(/binding 'params' .* needs at least 8 bytes, got 4/);
    expect(bad({ params, x: { buffer: x, offset: 0, size: 0 }, y })).toMatch(/binding 'x' .* needs at least 4 bytes, got 0/);
    expect(bad({ params: buf(16, GPUBufferUsage.STORAGE), x, y })).toMatch(/binding 'params' .* needs a buffer created with GPUBufferUsage.UNIFORM/);
    expect(bad({ params, x: buf(64, GPUBufferUsage.UNIFORM), y })).toMatch(/binding 'x' .* needs a buffer created with GPUBufferUsage.STORAGE/);
    expect(bad({ params, x: { buffer: x, offset: 32, size: 64 }, y })).toMatch(/outside its buffer of 64 bytes/);
    expect(bad({ params, x: { buffer: x, offset: 4 }, y })).toMatch(/offset 4 is not a multiple of/);
  });

  it('runs a dispatch through a compiled kernel', async () => {
    const cache = new PipelineCache(device);
    const n = 1000;
    const k = await cache.get({ ...spec, defines: { BIAS: '0.5', DOUBLE: true }, constants: { WG: 32 } });
    const params = buf(8, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const p = new DataView(new ArrayBuffer(8));
    p.setUint32(0, n, true);
    p.setFloat32(4, 3, true);
    device.queue.writeBuffer(params, 0, p.buffer);
    const xs = Float32Array.from({ length: n }, (_, i) => i - 500);
    const x = buf(n * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(x, 0, xs);
    const size = (n + 8) * 4; // a few spare elements: they must stay untouched
    const y = buf(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const read = buf(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, k.bindGroup(device, { params, x, y }), [0]); // params takes a dynamic offset
    pass.dispatchWorkgroups(Math.ceil(n / k.workgroupSize![0]));
    pass.end();
    enc.copyBufferToBuffer(y, 0, read, 0, size);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    for (const b of [params, x, y, read]) b.destroy();
    const want = Float32Array.from({ length: n + 8 }, (_, i) => (i < n ? (xs[i] * 3 + 0.5) * 2 : 0));
    expect(got).toEqual(want);
  });
});

describe('PipelineCache variant record', () => {
  const version = 'test-1';
  const variants = [spec, { ...spec, constants: { WG: 32 } }, { ...spec, entryPoint: 'fill' }];

  async function recorded(): Promise<MemStore> {
    const store = new MemStore();
    const cache = new PipelineCache(device, { store, version, warn: (m) => expect.fail(m) });
    for (const v of variants) await cache.get(v);
    await cache.flushRecord();
    return store;
  }

  it('records used variants and warms a second cache from them', async () => {
    const store = await recorded();
    const parsed = parseRecord(store.text!, version);
    expect(parsed.ok && parsed.record.variants.map((v) => [v.entryPoint, v.constants])).toEqual([
      ['main', {}],
      ['main', { WG: 32 }],
      ['fill', {}],
    ]);
    const warnings: string[] = [];
    const cache = new PipelineCache(device, { store, version, warn: (m) => warnings.push(m) });
    expect(await cache.warmup()).toEqual({ compiled: 3, skipped: 0 });
    expect(cache.stats()).toMatchObject({ misses: 3, hits: 0, pipelines: 3, inFlight: 0 });
    await cache.get({ ...spec, constants: { WG: 32 } });
    expect(cache.peek({ ...spec, entryPoint: 'fill' })).toBeDefined();
    expect(cache.stats()).toMatchObject({ misses: 3, hits: 2 });
    expect(await cache.warmup()).toEqual({ compiled: 0, skipped: 3 }); // already compiled
    expect(warnings).toEqual([]);
  });

  it('saves by itself, debounced, after new compiles', async () => {
    const store = new MemStore();
    const cache = new PipelineCache(device, { store, version });
    await cache.get(spec);
    await cache.get({ ...spec, entryPoint: 'fill' });
    expect(store.saves).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(store.saves).toBe(1);
    const parsed = parseRecord(store.text!, version);
    expect(parsed.ok && parsed.record.variants.length).toBe(2);
  });

  it('merges with what earlier runs recorded instead of replacing it', async () => {
    const store = await recorded();
    const cache = new PipelineCache(device, { store, version });
    await cache.get({ ...spec, defines: { BIAS: '1.0' } });
    await cache.flushRecord();
    const parsed = parseRecord(store.text!, version);
    expect(parsed.ok && parsed.record.variants.length).toBe(4);
    expect(parsed.ok && parsed.record.variants[3].defines).toEqual({ BIAS: '1.0' });
  });

  it.each([
    ['{ not json', /not valid JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ format: 2, version, variants: [] }), /format 2, expected 1/],
    [JSON.stringify({ format: 1, version: 'old', variants: [] }), /written by version "old", this is test-1/],
    [JSON.stringify({ format: 1, version, variants: {} }), /'variants' is not an array/],
    [JSON.stringify({ format: 1, version, variants: [{ file: 1 }] }), /variant 0 is malformed/],
  ])('ignores a bad record %j with one warning', async (text, why) => {
    const warnings: string[] = [];
    const cache = new PipelineCache(device, { store: new MemStore(text), version, warn: (m) => warnings.push(m) });
    expect(await cache.warmup()).toEqual({ compiled: 0, skipped: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^lbrx: ignoring pipeline variant record: /);
    expect(warnings[0]).toMatch(why);
    expect(cache.stats().misses).toBe(0);
  });

  it('skips variants whose WGSL changed since they were recorded', async () => {
    const store = await recorded();
    const record = JSON.parse(store.text!);
    record.variants[0].hash = '0123456789abcdef';
    record.variants[1].file = 'deleted_kernel';
    store.text = JSON.stringify(record);
    const warnings: string[] = [];
    const cache = new PipelineCache(device, { store, version, warn: (m) => warnings.push(m) });
    expect(await cache.warmup()).toEqual({ compiled: 1, skipped: 2 });
    expect(warnings).toEqual(['lbrx: skipped 2 stale pipeline variant(s) from an earlier run (their WGSL changed)']);
    // The next save drops the stale entries.
    await cache.flushRecord();
    const parsed = parseRecord(store.text!, version);
    expect(parsed.ok && parsed.record.variants.map((v) => v.entryPoint)).toEqual(['fill']);
  });

  it('never throws from warmup or saving when the store fails', async () => {
    const warnings: string[] = [];
    const store: VariantStore = {
      load: () => Promise.reject(new Error('disk on fire')),
      save: () => Promise.reject(new Error('read-only')),
    };
    const cache = new PipelineCache(device, { store, version, warn: (m) => warnings.push(m) });
    expect(await cache.warmup()).toEqual({ compiled: 0, skipped: 0 });
    await cache.get(spec);
    await cache.flushRecord();
    expect(warnings).toEqual([
      'lbrx: ignoring pipeline variant record: could not load it (disk on fire)',
      'lbrx: could not save pipeline variant record: disk on fire',
    ]);
  });

  it('keeps compiling after a recorded variant fails, and reports it', async () => {
    // A recorded variant that no longer compiles but whose hash is current (the hash mirrors
    // the cache key: final source, entry point, sorted constants).
    const brokenHash = hashString(JSON.stringify([buildKernel('broken', {}, sources), 'main', []]));
    const good = await recorded();
    const record = JSON.parse(good.text!);
    record.variants.unshift({ file: 'broken', defines: {}, entryPoint: 'main', constants: {}, hash: brokenHash });
    const store = new MemStore(JSON.stringify(record));
    const warnings: string[] = [];
    const cache = new PipelineCache(device, { store, version, sources, warn: (m) => warnings.push(m) });
    expect(await cache.warmup()).toEqual({ compiled: 3, skipped: 1 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^lbrx: 1 recorded pipeline variant\(s\) failed to compile; first: kernel 'broken' failed/);
    expect(cache.stats()).toMatchObject({ misses: 4, pipelines: 3 });
  });
});
