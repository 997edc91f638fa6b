// The device layer: init (features, limits, fingerprint), GPU family fingerprints, out-of-memory
// errors (maxBufferSize, memoryLimit) that leave other tensors intact, and device loss + re-init.
import { afterAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { fmtBytes } from '../src/errors.js';
import type { Tensor } from '../src/index.js';

afterAll(async () => {
  await lb.shutdown();
});

/** Waits (without timers) until `cond` holds, for at most `spins` event-loop turns. */
async function until(cond: () => boolean, spins = 10000): Promise<void> {
  for (let i = 0; i < spins && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('init', () => {
  it('returns a device with fingerprint, features and the adapter limits requested', async () => {
    const dev = await lb.init({ cacheDir: false });
    expect(lb.device()).toBe(dev);
    expect(await lb.init()).toBe(dev); // no options: the current device
    expect(dev.lost).toBe(false);

    // Limits: everything kernels care about is the adapter's, not the WebGPU default.
    const A = dev.adapter.limits;
    expect(dev.limits.maxStorageBufferBindingSize).toBe(A.maxStorageBufferBindingSize);
    expect(dev.device.limits.maxStorageBufferBindingSize).toBe(A.maxStorageBufferBindingSize);
    for (const k of [
      'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension',
      'maxStorageBuffersPerShaderStage',
    ] as const) {
      expect(dev.limits[k], k).toBe(A[k]);
    }

    // Features: every optional feature the adapter has is requested, and reported.
    const has = (f: string) => dev.device.features.has(f);
    expect(dev.features).toEqual({
      f16: has('shader-f16'),
      subgroups: has('subgroups'),
      timestamps: has('timestamp-query'),
      subgroupMatrix: has('chromium-experimental-subgroup-matrix'),
    });
    for (const f of ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix']) {
      expect(has(f), f).toBe(dev.adapter.features.has(f));
    }

    // Fingerprint: derived from the adapter info; this machine's adapter is a CPU driver.
    const info = dev.adapter.info;
    expect(dev.fingerprint).toEqual(
      lb.fingerprint({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }),
    );
    expect(dev.fingerprint.id).toMatch(/^[a-z0-9-]+:\S+$/);
    if (/llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`)) {
      expect(dev.fingerprint.family).toBe('software');
    }
    expect(dev.toggles).toContain('vulkan_enable_f16_on_nvidia');
    expect(dev.toggles).not.toContain('skip_validation');
  });
});

describe('fingerprint', () => {
  const CASES: [string, Parameters<typeof lb.fingerprint>[0], string, string | undefined, string][] = [
    ['Apple M1', { vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M1' }, 'apple-m1', 'base', 'apple-m1:base'],
    ['Apple M2 Pro', { vendor: 'apple', architecture: 'metal-3', description: 'Apple M2 Pro' }, 'apple-m2', 'pro', 'apple-m2:pro'],
    ['Apple M3 Max', { vendor: 'apple', architecture: 'metal-3', description: 'Apple M3 Max' }, 'apple-m3', 'max', 'apple-m3:max'],
    ['Apple M4 Ultra', { vendor: 'apple', architecture: 'metal-3', description: 'Apple M4 Ultra' }, 'apple-m4', 'ultra', 'apple-m4:ultra'],
    ['Apple M1 Max in device', { vendor: 'apple', device: 'Apple M1 Max' }, 'apple-m1', 'max', 'apple-m1:max'],
    ['Chrome on a Mac (no chip name)', { vendor: 'apple', architecture: 'metal-3' }, 'apple', undefined, 'apple:metal-3'],
    ['Safari (vendor only)', { vendor: 'apple' }, 'apple', undefined, 'apple:unknown'],
    ['Apple common-3 architecture', { vendor: '', architecture: 'common-3' }, 'apple', undefined, 'apple:common-3'],
    ['NVIDIA H100', { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA H100 80GB HBM3' }, 'nvidia', undefined, 'nvidia:nvidia-h100-80gb-hbm3'],
    ['NVIDIA by description only', { description: 'NVIDIA GeForce RTX 4090' }, 'nvidia', undefined, 'nvidia:unknown'],
    ['AMD Radeon', { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX' }, 'amd', undefined, 'amd:rdna-3'],
    ['Radeon by description only', { vendor: '', description: 'AMD Radeon Pro 5500M' }, 'amd', undefined, 'amd:unknown'],
    ['ATI vendor', { vendor: 'ati' }, 'amd', undefined, 'amd:unknown'],
    ['AMD long vendor name', { vendor: 'Advanced Micro Devices, Inc.', architecture: 'gcn-5' }, 'amd', undefined, 'amd:gcn-5'],
    ['NVIDIA Corporation (long vendor name)', { vendor: 'NVIDIA Corporation', architecture: 'ampere' }, 'nvidia', undefined, 'nvidia:ampere'],
    ['Intel', { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) Iris(R) Xe Graphics' }, 'intel', undefined, 'intel:gen-12lp'],
    ['Intel Corporation (long vendor name)', { vendor: 'Intel Corporation', architecture: 'xe-lpg' }, 'intel', undefined, 'intel:xe-lpg'],
    ['Qualcomm Adreno', { vendor: 'qualcomm', description: 'Adreno (TM) 740' }, 'qualcomm', undefined, 'qualcomm:unknown'],
    ['ARM Mali', { vendor: 'arm', architecture: 'valhall', description: 'Mali-G710' }, 'arm', undefined, 'arm:valhall'],
    ['llvmpipe', { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'llvmpipe: Mesa 25.0.7' }, 'software', undefined, 'software:llvmpipe-(llvm-15.0.6,-256-bits)'],
    ['lavapipe', { vendor: 'mesa', architecture: 'software', device: '', description: 'lavapipe' }, 'software', undefined, 'software:software'],
    ['SwiftShader', { vendor: 'google', architecture: 'swiftshader', device: 'subzero', description: 'SwiftShader Device (Subzero)' }, 'software', undefined, 'software:subzero'],
    ['Microsoft Basic Render Driver', { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }, 'software', undefined, 'software:unknown'],
    ['nothing known', {}, 'generic', undefined, 'generic:unknown'],
  ];
  it.each(CASES)('%s', (_, info, family, sizeClass, id) => {
    const fp = lb.fingerprint(info);
    expect(fp.family).toBe(family);
    expect(fp.sizeClass).toBe(sizeClass);
    expect(fp.id).toBe(id);
    expect(fp.id).not.toMatch(/\s/);
    expect(fp.vendor).toBe((info.vendor ?? '').toLowerCase());
    expect(fp.description).toBe(info.description ?? '');
  });
});

describe('out of memory', () => {
  it('a buffer over maxBufferSize throws GpuOutOfMemoryError at the call; other tensors stay intact', async () => {
    const dev = await lb.init({ cacheDir: false });
    const keep = lb.tensor([1.5, 2.5, 3.5]);
    const spare = lb.ones([1000]);
    await spare.data();
    spare.dispose();
    await lb.eval();
    const before = lb.memory();
    expect(before.pooledBytes).toBeGreaterThan(0);

    const max = dev.limits.maxBufferSize;
    const n = Math.floor(max / 4) + 1; // one u32 over the limit
    let err: unknown;
    try {
      lb.zeros([n], { dtype: 'u32' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(lb.GpuOutOfMemoryError);
    const oom = err as InstanceType<typeof lb.GpuOutOfMemoryError>;
    expect(oom.requestedBytes).toBe(n * 4);
    expect(oom.message).toMatch(/out of GPU memory: asked for/);
    expect(oom.message).toContain('maxBufferSize');
    expect(oom.message).toContain(String(max));
    // The message names the bytes asked for (not the pool's size class), in human units.
    expect(oom.message).toContain(`asked for ${fmtBytes(n * 4)}`);

    // Ops whose output would be too big fail the same way, at the call, and leak nothing.
    const one = lb.tensor(new Uint32Array([7]));
    const wide = one.expand([n]);
    expect(() => wide.contiguous()).toThrow(lb.GpuOutOfMemoryError);
    expect(() => wide.add(1)).toThrow(lb.GpuOutOfMemoryError);
    const col = lb.zeros([65536, 1]);
    const row = lb.zeros([1, Math.ceil(n / 65536)]);
    expect(() => col.add(row)).toThrow(lb.GpuOutOfMemoryError);

    // Nothing else changed: live buffers, the pool, the data; the device still works.
    const after = lb.memory();
    expect(after.buffers).toBe(before.buffers + 3); // one (and its view wide), col, row
    expect(after.destroyed, 'the pool was not emptied').toBe(before.destroyed);
    // (It may have gained the 0-d tensor made for `wide.add(1)`.)
    expect(after.pooledBytes + after.pendingBytes).toBeGreaterThanOrEqual(before.pooledBytes + before.pendingBytes);
    expect(Array.from(await keep.data())).toEqual([1.5, 2.5, 3.5]);
    const y = keep.mul(2);
    expect(Array.from(await y.data())).toEqual([3, 5, 7]);
    await expect(lb.eval()).resolves.toBeUndefined();
    for (const t of [keep, one, wide, col, row, y]) t.dispose();
    expect(lb.memory().buffers).toBe(0);
  });

  it('init({ memoryLimit }) is honoured, and freed memory becomes usable again', async () => {
    const old = lb.tensor([1, 2, 3]);
    const limit = 2 << 20;
    const dev = await lb.init({ cacheDir: false, memoryLimit: limit });
    expect(lb.device()).toBe(dev);
    // The old device was shut down: its tensors fail clearly.
    await expect(old.data()).rejects.toThrow(lb.DeviceLostError);
    old.dispose();

    let err: unknown;
    try {
      lb.zeros([600_000]); // 2.4 MB > 2 MiB
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(lb.GpuOutOfMemoryError);
    expect((err as InstanceType<typeof lb.GpuOutOfMemoryError>).requestedBytes).toBe(2_400_000);
    expect((err as Error).message).toContain(`memory limit of ${limit} bytes`);

    const a = lb.full([200_000], 3); // 800 KB
    expect(Array.from(await a.data()).slice(0, 2)).toEqual([3, 3]); // the readback staging fits too
    expect(() => lb.zeros([400_000])).toThrow(lb.GpuOutOfMemoryError); // 800 KB + 1.6 MB > 2 MiB
    const av = a.slice([199_998]);
    expect(Array.from(await av.data())).toEqual([3, 3]); // a is intact
    a.dispose();
    av.dispose();
    await lb.eval(); // a's buffer leaves pending and enters the pool
    // 1 MB + 800 KB: fits only once the pool gives back what it holds.
    const b = lb.full([250_000], 4);
    const c = lb.full([200_000], 5);
    const s = lb.memory();
    expect(s.liveBytes + s.pendingBytes + s.pooledBytes).toBeLessThanOrEqual(limit);
    // Small reads (small staging buffers) of both ends.
    const bv = b.slice([249_998]);
    expect(Array.from(await bv.data())).toEqual([4, 4]);
    const cv = c.slice([0, 2]);
    expect(Array.from(await cv.data())).toEqual([5, 5]);
    for (const t of [b, c, bv, cv]) t.dispose();
  });
});

describe('device loss', () => {
  it('pending data() rejects with DeviceLostError, new ops throw it, and init() gives a working device', async () => {
    const dev = await lb.init({ cacheDir: false });
    const a = lb.tensor(new Float32Array([1, 2, 3]));
    const b = a.add(1);
    const pending = b.data(); // recorded, not yet submitted
    dev.device.destroy();
    await expect(pending).rejects.toThrow(lb.DeviceLostError);
    expect(dev.lost).toBe(true);
    expect(lb.device()).toBe(dev);

    expect(() => a.add(1)).toThrow(lb.DeviceLostError);
    expect(() => a.sum()).toThrow(lb.DeviceLostError);
    expect(() => lb.tensor([1, 2])).toThrow(lb.DeviceLostError);
    expect(() => lb.zeros([2])).toThrow(lb.DeviceLostError);
    await expect(a.data()).rejects.toThrow(lb.DeviceLostError);
    await expect(lb.eval()).rejects.toThrow(lb.DeviceLostError);
    await expect(a.data()).rejects.toThrow(/lb\.init\(\)/);
    // Disposing tensors of a lost device is harmless.
    a.dispose();
    b.dispose();

    const dev2 = await lb.init({ cacheDir: false });
    expect(dev2).not.toBe(dev);
    expect(dev2.lost).toBe(false);
    expect(lb.device()).toBe(dev2);
    const x = lb.tensor([[1, 2], [3, 4]], undefined, { dtype: 'f16' });
    const y = x.transpose().add(x).sum(1);
    expect(Array.from(await y.data())).toEqual([7, 13]);
    x.dispose();
    y.dispose();
  });

  it('a readback whose map is already in flight rejects with DeviceLostError (not a bare AbortError)', async () => {
    const dev = await lb.init({ cacheDir: false });
    const a = lb.ones([1 << 16]);
    const warm = a.add(1);
    await warm.data(); // compile first, so the next data() goes straight to submit + mapAsync
    let b: Tensor = warm;
    const made: Tensor[] = [a, warm];
    for (let i = 0; i < 8; i++) made.push((b = b.add(1)));
    const submits = lb.streamStats().submits;
    const pending = b.data();
    await until(() => lb.streamStats().submits > submits);
    dev.device.destroy();
    const err = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(lb.DeviceLostError);
    expect((err as Error).message).toMatch(/device was destroyed|lost/);
    for (const t of made) t.dispose();

    await lb.init({ cacheDir: false });
    const c = lb.full([5], 2, { dtype: 'bf16' }).mul(3);
    expect(Array.from(await c.data())).toEqual([6, 6, 6, 6, 6]);
  });

  it('a device lost while a new pipeline compiles fails that batch with DeviceLostError', async () => {
    const dev = await lb.init({ cacheDir: false });
    const x = lb.ones([8], { dtype: 'bf16' });
    const y = x.cast('u32').add(3).cast('f16');
    const pending = y.data();
    await until(() => lb.pipelineStats().inFlight > 0 || lb.streamStats().submits > 0);
    dev.device.destroy();
    await expect(pending).rejects.toThrow(lb.DeviceLostError);
    x.dispose();
    y.dispose();
    await lb.init({ cacheDir: false });
    const z = lb.ones([8], { dtype: 'bf16' });
    const w = z.cast('u32').add(3).cast('f16');
    expect(Array.from(await w.data())).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    z.dispose();
    w.dispose();
  });

  it('shutdown: tensors of the old device fail clearly; shutdown twice is harmless', async () => {
    await lb.init({ cacheDir: false });
    const t = lb.tensor([1, 2]);
    await lb.shutdown();
    await lb.shutdown();
    expect(lb.device()).toBeNull();
    await expect(t.data()).rejects.toThrow(lb.DeviceLostError);
    expect(() => t.add(1)).toThrow(lb.LbrxError);
    t.dispose();
    // Without a device, creation on the GPU says what to do; CPU tensors still work.
    expect(() => lb.tensor([1], [1], { device: 'gpu' })).toThrow(lb.GpuValidationError);
    expect(() => lb.zeros([1], { device: 'gpu' })).toThrow(/lb\.init\(\)/);
    const c = lb.tensor([1, 2]);
    expect(c.device).toBe('cpu');
    expect(Array.from(await c.add(1).data())).toEqual([2, 3]);
    expect(lb.memory().liveBytes).toBe(0);
    expect(lb.streamStats()).toEqual({ dispatches: 0, copies: 0, submits: 0 });
    await lb.init({ cacheDir: false });
    expect(lb.device()!.lost).toBe(false);
  });
});
