// Device loss, forced with destroy(): pending work rejects with DeviceLostError, tensors of the
// lost device say so when used, init() brings up a device with the kernels the lost one had
// compiled, { recover: true } does that by itself, and CPU tensors and user objects survive.
// Nothing crashes, hangs or leaves an unhandled rejection (counted here as well as by vitest).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { GpuDevice } from '../src/runtime/device.js';

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  await lb.shutdown();
  // Let late Dawn callbacks of the lost devices settle before counting.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Waits (without timers) until `cond` holds, for at most `spins` event-loop turns. */
async function until(cond: () => boolean, spins = 20000): Promise<void> {
  for (let i = 0; i < spins && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

/** A small transformer-ish forward pass; compiles several kernel families. */
function forward(x: lb.Tensor, w: lb.Tensor): lb.Tensor {
  return lb.tidy(() => {
    const h = lb.rmsNorm(x, lb.ones([x.shape[1]]));
    const y = h.matmul(w).silu();
    return lb.softmax(y.add(1), -1).sum(0);
  });
}

const X = new Float32Array(Array.from({ length: 6 * 8 }, (_, i) => Math.sin(i)));
const W = new Float32Array(Array.from({ length: 8 * 5 }, (_, i) => Math.cos(i * 0.7)));

describe('device loss', () => {
  it('pending data() and eval() reject; tensors of the lost device say what to do; CPU tensors live on', async () => {
    const dev = await lb.init({ cacheDir: false });
    const cpu = lb.tensor([1, 2, 3], [3], { device: 'cpu' });
    const a = lb.tensor(new Float32Array([1, 2, 3]));
    await a.data();
    const lazy = a.add(1);
    const realized = a.mul(3).realize();
    const pendingData = lazy.data(); // recorded, not yet submitted
    const pendingEval = lb.eval(realized);
    dev.destroy();
    expect(dev.lost).toBe(true); // at once, not at Dawn's event

    for (const p of [pendingData, pendingEval]) expect(await rejection(p)).toBeInstanceOf(lb.DeviceLostError);
    // Using a tensor of the lost device: a DeviceLostError that says the data is gone and what to do.
    const e = await rejection(a.data());
    expect(e).toBeInstanceOf(lb.DeviceLostError);
    expect((e as Error).message).toMatch(/lived on a GPU device that was lost/);
    expect((e as Error).message).toMatch(/Re-create or re-load the tensor/);
    expect((e as Error).message).toMatch(/lb\.init\(\)/);
    expect((e as lb.DeviceLostError).reason).toBe('destroyed');
    expect(await rejection(a.to('cpu'))).toBeInstanceOf(lb.DeviceLostError);
    expect(await rejection(lb.eval(realized))).toBeInstanceOf(lb.DeviceLostError);
    expect(thrown(() => a.add(1))).toBeInstanceOf(lb.DeviceLostError);
    expect(thrown(() => lb.matmul(a.reshape([1, 3]), a.reshape([3, 1])))).toBeInstanceOf(lb.DeviceLostError);
    expect(thrown(() => lb.zeros([4]))).toBeInstanceOf(lb.DeviceLostError);
    expect(await rejection(lb.eval())).toBeInstanceOf(lb.DeviceLostError);
    expect(() => lb.memory()).not.toThrow();
    // CPU tensors compute as before.
    expect(Array.from(await cpu.mul(2).add(1).data())).toEqual([3, 5, 7]);
    for (const t of [a, lazy, realized]) t.dispose(); // harmless
    expect(() => a.dispose()).not.toThrow();
  });

  it('init() after a loss: a new device with the lost one\'s options and its kernels compiled again', async () => {
    const dev = await lb.init({ cacheDir: false, memoryLimit: 64 << 20 });
    const x = lb.tensor(X, [6, 8]);
    const w = lb.tensor(W, [8, 5]);
    const before = await forward(x, w).data();
    const compiled = lb.pipelineStats().pipelines;
    expect(compiled).toBeGreaterThanOrEqual(4);

    dev.device.destroy(); // Dawn's own destroy: the loss arrives as Dawn's lost event
    await until(() => dev.lost);
    const dev2 = await lb.init(); // no options: reuses the lost device's
    expect(dev2).not.toBe(dev);
    expect(lb.device()).toBe(dev2);
    expect(dev2.options.memoryLimit).toBe(64 << 20);
    const stats = lb.pipelineStats();
    expect(stats.pipelines, 'every kernel the lost device had compiled is compiled again').toBe(compiled);
    expect(stats.inFlight).toBe(0);

    // The same work on the new device compiles nothing new and gives the same values.
    const x2 = lb.tensor(X, [6, 8]);
    const w2 = lb.tensor(W, [8, 5]);
    const missesBefore = lb.pipelineStats().misses;
    const out = forward(x2, w2);
    expect(Array.from(await out.data())).toEqual(Array.from(before));
    expect(lb.pipelineStats().misses, 'no kernel compiled twice').toBe(missesBefore);
    expect(lb.pipelineStats().pipelines).toBe(compiled);
    for (const t of [x, w, x2, w2, out]) t.dispose();
    expect(lb.memory().buffers).toBe(0);
  });

  it('a user model object keeping CPU copies moves back to the new device', async () => {
    await lb.init({ cacheDir: false });
    const gpuW = lb.tensor(W, [8, 5]);
    // The user's model: CPU copies of the weights, uploaded per device.
    const model = { cpu: { w: await gpuW.to('cpu') }, gpu: { w: gpuW } };
    const x = lb.tensor(X, [6, 8]);
    const ref = await forward(x, model.gpu.w).data();

    lb.device()!.destroy();
    expect(thrown(() => forward(x, model.gpu.w))).toBeInstanceOf(lb.DeviceLostError);
    await lb.init({ cacheDir: false });
    expect(model.cpu.w.device).toBe('cpu');
    expect(Array.from(await model.cpu.w.data())).toEqual(Array.from(W)); // survived the loss
    model.gpu.w = await model.cpu.w.to('gpu');
    expect(model.gpu.w.device).toBe('gpu');
    const x2 = lb.tensor(X, [6, 8]);
    const out = forward(x2, model.gpu.w);
    expect(Array.from(await out.data())).toEqual(Array.from(ref));
    for (const t of [x, x2, out, model.gpu.w, model.cpu.w, gpuW]) t.dispose();
    expect(lb.memory().buffers).toBe(0);
  });

  it('an op mixing a lost tensor with new ones fails clearly and leaves no buffer behind', async () => {
    await lb.init({ cacheDir: false });
    const old = lb.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    await old.data();
    lb.device()!.destroy();
    await lb.init({ cacheDir: false });
    const fresh = lb.tensor(new Float32Array([5, 6, 7, 8]), [2, 2]);
    await fresh.data();
    const live = lb.memory().buffers;

    // Eager ops allocate their output first: the orphan is released once the op has thrown.
    for (const op of [
      () => lb.matmul(fresh, old),
      () => lb.softmax(old, -1),
      () => lb.rmsNorm(fresh, old.reshape([4]).slice([0, 2])),
      () => lb.concat([fresh, old], 0),
      () => lb.attention(fresh.reshape([1, 1, 2, 2]), old.reshape([1, 1, 2, 2]), fresh.reshape([1, 1, 2, 2])),
    ]) {
      expect(thrown(op)).toBeInstanceOf(lb.DeviceLostError);
    }
    // A lazy op fails where it is computed.
    const mixed = fresh.add(old);
    expect(await rejection(mixed.data())).toBeInstanceOf(lb.DeviceLostError);
    mixed.dispose();
    await lb.eval();
    expect(lb.memory().buffers, 'no orphaned output').toBe(live);
    expect(Array.from(await fresh.data())).toEqual([5, 6, 7, 8]); // untouched
    fresh.dispose();
    old.dispose();
  });

  it('a loader running when the device is lost rejects with DeviceLostError and keeps nothing', async () => {
    await lb.init({ cacheDir: false });
    const src: Record<string, lb.Tensor> = {
      a: lb.tensor(new Float32Array(64).fill(1), [8, 8]),
      b: lb.tensor(new Float32Array(64).fill(2), [64]),
    };
    const bytes = await lb.saveSafetensors(src);
    for (const t of Object.values(src)) t.dispose();
    // A stream that stops after the header and the first tensor until the device is gone.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cut = bytes.byteLength - 64 * 4;
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(bytes.slice(0, cut));
        await gate;
        c.enqueue(bytes.slice(cut));
        c.close();
      },
    });
    const dev = lb.device()!;
    const loading = lb.loadSafetensors(new Response(body));
    await new Promise((r) => setTimeout(r, 20));
    dev.destroy();
    release();
    expect(await rejection(loading)).toBeInstanceOf(lb.DeviceLostError);
    await lb.init({ cacheDir: false });
    const r = await lb.loadSafetensors(bytes);
    expect(Array.from(await r.tensors.b.data()).slice(0, 3)).toEqual([2, 2, 2]);
    for (const t of Object.values(r.tensors)) t.dispose();
  });

  it('losing the device with large uploads and readbacks in flight: everything settles, nothing hangs', async () => {
    const dev = await lb.init({ cacheDir: false });
    const big = new Float32Array(300_000).fill(0.5); // over the staging threshold
    const ts = [lb.tensor(big), lb.tensor(big)];
    const sum = ts[0].add(ts[1]).sum();
    const reads = [sum.data(), ts[0].data(), lb.eval()];
    await new Promise((r) => setImmediate(r));
    dev.destroy();
    const results = await Promise.allSettled(reads);
    for (const r of results) {
      // Work that finished before the loss may resolve; nothing may reject with anything but a loss.
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(lb.DeviceLostError);
    }
    for (const t of [...ts, sum]) t.dispose();
    await lb.init({ cacheDir: false });
    const t = lb.tensor(big);
    expect((await t.sum().data())[0]).toBe(150_000);
    t.dispose();
  });
});

describe('init({ recover: true })', () => {
  it('brings up a new device by itself, with the kernels compiled again', async () => {
    const dev = await lb.init({ cacheDir: false, recover: true });
    const x = lb.tensor(X, [6, 8]);
    const w = lb.tensor(W, [8, 5]);
    const ref = await forward(x, w).data();
    const compiled = lb.pipelineStats().pipelines;
    const pending = forward(x, w).data();
    dev.destroy();
    expect(await rejection(pending)).toBeInstanceOf(lb.DeviceLostError);
    // init() waits for the recovery in progress; it does not make a second device.
    const dev2 = await lb.init();
    expect(dev2).not.toBe(dev);
    expect(dev2.lost).toBe(false);
    expect(dev2.options.recover).toBe(true);
    expect(lb.pipelineStats().pipelines).toBe(compiled);
    expect(thrown(() => forward(x, w))).toBeInstanceOf(lb.DeviceLostError); // old tensors stay lost
    const x2 = lb.tensor(X, [6, 8]);
    const w2 = lb.tensor(W, [8, 5]);
    const out = forward(x2, w2);
    expect(Array.from(await out.data())).toEqual(Array.from(ref));
    for (const t of [x, w, x2, w2, out]) t.dispose();
  });

  it('recovers from Dawn\'s lost event without any call, and ops just work again', async () => {
    const dev = await lb.init({ cacheDir: false, recover: true });
    dev.device.destroy();
    await until(() => lb.device() !== dev && lb.device()?.lost === false);
    const t = lb.tensor([1, 2, 3]);
    expect(Array.from(await t.mul(2).data())).toEqual([2, 4, 6]);
    t.dispose();
  });

  it('does not recover after shutdown() or when init() replaces the device', async () => {
    const dev = await lb.init({ cacheDir: false, recover: true });
    const dev2 = await lb.init({ cacheDir: false, recover: true, poolLimit: 1 << 20 });
    expect(dev.lost).toBe(true);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(lb.device()).toBe(dev2);
    await lb.shutdown();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(lb.device()).toBeNull();
  });

  it('stops recovering by itself when the device keeps getting lost; init() still works', async () => {
    let dev: GpuDevice = await lb.init({ cacheDir: false, recover: true });
    for (let i = 0; i < 3; i++) {
      dev.destroy();
      const next = await lb.init();
      expect(next).not.toBe(dev);
      dev = next;
    }
    dev.destroy();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(lb.device()).toBe(dev); // no fifth device
    const e = thrown(() => lb.zeros([2]));
    expect(e).toBeInstanceOf(lb.DeviceLostError);
    expect((e as Error).message).toMatch(/not recovering again/);
    const dev5 = await lb.init();
    expect(dev5.lost).toBe(false);
    const t = lb.full([3], 7);
    expect(Array.from(await t.data())).toEqual([7, 7, 7]);
    t.dispose();
  });
});
