// Stress: the Dawn GC crash guard. Dawn's Node bindings crash the process if the object its
// create() returned is garbage-collected while a device made from it is in use; the device
// layer must own it. Here init() runs in a helper that drops every reference it gets, and a
// major GC runs between all steps: big buffers, many small ops, submits, readbacks, many
// pipelines, and a re-init. Every result is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { heldDeviceCount } from '../src/runtime/context.js';
import type { DType, Tensor } from '../src/index.js';
import { decodeRaw, encodeRaw, expectClose, flushSubnormals, gcFunction, gpuQuirks, randomData, rng } from './helpers.js';

let gc: () => void;

/** Makes a device and keeps nothing of it: only the library may hold on to it. */
async function initAndForget(options: Parameters<typeof lb.init>[0] = {}): Promise<void> {
  await lb.init({ cacheDir: false, ...options });
}

beforeAll(async () => {
  gc = await gcFunction();
});
afterAll(async () => {
  await lb.shutdown();
  gc();
});

/** The cast the CPU reference does, as the expected values of a GPU cast. */
async function expectCastMatches(src: Tensor, to: DType): Promise<void> {
  const got = src.cast(to);
  gc();
  const cpuSrc = await src.to('cpu');
  const want = cpuSrc.cast(to);
  expectClose(await got.data(), await want.data(), { dtype: to, exact: true, label: `${src.dtype}->${to}` });
  for (const t of [got, cpuSrc, want]) t.dispose();
}

describe('GC while the device works', () => {
  it('major GC between every step: big buffers, small ops, submits, readbacks, pipelines, re-init', async () => {
    await initAndForget();
    gc();
    const iterations = 10;
    for (let iter = 0; iter < iterations; iter++) {
      if (iter === iterations / 2) {
        // A new device mid-way (options force a fresh one); the old one is shut down and dropped.
        const stale = lb.tensor([1, 2, 3]);
        await initAndForget({ poolLimit: 64 << 20 });
        gc();
        await expect(stale.data()).rejects.toThrow(lb.DeviceLostError);
        stale.dispose();
      }
      gc();

      // 1. A large buffer (8-32 MiB): filled by a kernel, reduced, read back.
      const mib = 8 << iter % 3; // 8, 16, 32
      const n = (mib << 20) / 4;
      const big = lb.full([n], iter + 1, { dtype: 'u32' });
      gc();
      const total = big.sum();
      gc();
      expect(Array.from(await total.data())).toEqual([((iter + 1) * n) >>> 0]);
      gc();
      const bigData = (await big.data()) as Uint32Array;
      gc();
      expect(bigData.length).toBe(n);
      expect(bigData[0]).toBe(iter + 1);
      expect(bigData[n - 1]).toBe(iter + 1);
      for (let i = 0; i < n; i += 4099) if (bigData[i] !== iter + 1) expect.fail(`big[${i}] = ${bigData[i]}`);
      big.dispose();
      total.dispose();

      // An 8 MiB upload (fresh or pooled buffer) and its readback.
      const host = new Float32Array(2 << 20);
      for (let i = 0; i < host.length; i++) host[i] = (i % 1021) - 510 + iter;
      const up = lb.tensor(host);
      gc();
      const upBack = (await up.data()) as Float32Array;
      gc();
      for (let i = 0; i < host.length; i += 997) if (upBack[i] !== host[i]) expect.fail(`upload[${i}]`);
      expect(upBack[host.length - 1]).toBe(host[host.length - 1]);
      up.dispose();

      // 2. Many small ops recorded into one batch, then one readback.
      let x = lb.tensor(new Int32Array([1, 2, 3, 4, 5, 6, 7]));
      for (let k = 0; k < 40; k++) {
        const next = k % 2 ? x.add(k) : x.mul(3);
        x.dispose();
        x = next;
        if (k % 10 === 0) gc();
      }
      const expected = [1, 2, 3, 4, 5, 6, 7].map((v) => {
        let r = v;
        for (let k = 0; k < 40; k++) r = k % 2 ? (r + k) | 0 : Math.imul(r, 3);
        return r;
      });
      expect(Array.from(await x.data())).toEqual(expected);
      x.dispose();
      gc();

      // 3. Many submits and readbacks, a GC between each.
      for (let k = 0; k < 12; k++) {
        const a = lb.tensor(new Float32Array([k, k + 0.5, -k]));
        const b = a.mul(2).add(1);
        expect(Array.from(await b.data())).toEqual([2 * k + 1, 2 * k + 2, -2 * k + 1]);
        a.dispose();
        b.dispose();
        if (k % 3 === 0) gc();
      }

      // 4. Many distinct pipelines: casts between every dtype pair, elementwise at ranks 1..6.
      if (iter % 2 === 0) {
        const rand = rng(iter + 100);
        for (const from of lb.DTYPES) {
          const src = lb.tensor(randomData(rand, from, 37, { special: 0.3, scale: 1e5 }), [37], { dtype: from });
          for (const to of lb.DTYPES) await expectCastMatches(src, to);
          src.dispose();
          gc();
        }
      }
      for (let rank = 1; rank <= 6; rank++) {
        const shape = Array.from({ length: rank }, (_, i) => 2 + ((i + iter) % 3));
        const size = shape.reduce((p, q) => p * q, 1);
        const data = Float32Array.from({ length: size }, (_, i) => (i % 17) - 8);
        const g = lb.tensor(data, shape);
        const c = lb.tensor(data, shape, { device: 'cpu' });
        // A reversed permutation keeps the kernel from coalescing dimensions away.
        const perm = shape.map((_, i) => rank - 1 - i);
        const gy = lb.tidy(() => g.permute(perm).add(g.permute(perm).mul(0.5)).cast('f16'));
        const cy = lb.tidy(() => c.permute(perm).add(c.permute(perm).mul(0.5)).cast('f16'));
        gc();
        expectClose(await gy.data(), await cy.data(), { dtype: 'f16', exact: true, label: `rank ${rank}` });
        for (const t of [g, c, gy, cy]) t.dispose();
      }
      gc();
      await lb.eval();
    }
    // Counters restart with the new device: at least the second half's readbacks were submitted.
    expect(lb.streamStats().submits).toBeGreaterThan((iterations / 2) * 15);
    expect(lb.memory().buffers).toBe(0);
  });

  it('tensors that are never disposed are released by the GC backstop', async () => {
    await initAndForget();
    await lb.eval();
    const before = lb.memory().buffers;
    (() => {
      for (let i = 0; i < 16; i++) lb.full([1 << 18], i); // 1 MiB each, dropped at once
    })();
    expect(lb.memory().buffers).toBe(before + 16);
    for (let i = 0; i < 200 && lb.memory().buffers > before; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(lb.memory().buffers).toBe(before);
    // The released buffers are reusable, with correct contents.
    await lb.eval();
    const t = lb.full([1 << 18], 42);
    const d = await t.data();
    expect(d[0]).toBe(42);
    expect(d[(1 << 18) - 1]).toBe(42);
    t.dispose();
  });

  it('re-init repeatedly with GC in between, tensors of old devices dropped unreleased', async () => {
    for (let round = 0; round < 4; round++) {
      await initAndForget({ poolLimit: (round + 1) << 20 });
      gc();
      const data = randomData(rng(round), 'bf16', 1001, { special: 0.2 });
      const t = lb.tensor(data, [1001], { dtype: 'bf16' });
      const u = t.add(t);
      gc();
      // A GPU that flushes subnormals in arithmetic (NVIDIA) computes with them as ±0.
      const { ftz } = await gpuQuirks();
      const cpu = lb.tensor(ftz ? flushSubnormals(data, 'bf16') : data, [1001], { dtype: 'bf16', device: 'cpu' });
      const want = cpu.add(cpu);
      expectClose(await u.data(), await want.data(), { dtype: 'bf16', exact: true, flushed: ftz });
      expectClose(await t.data(), decodeRaw(data, 'bf16'), { dtype: 'bf16', exact: true });
      // t and u are left for the GC (and the device's shutdown) to clean up.
      cpu.dispose();
      want.dispose();
      gc();
    }
    await initAndForget({});
    gc();
    const z = lb.tensor(encodeRaw([1, 2, 3], 'f16'), [3], { dtype: 'f16' });
    const s = z.sum();
    expect(Array.from(await s.data())).toEqual([6]);
    z.dispose();
    s.dispose();
  });

  it('a lost device is let go once init() replaces it (no process-long leak), and nothing crashes', async () => {
    await initAndForget({});
    const t = lb.tensor(new Float32Array(1024).fill(1));
    lb.device()!.device.destroy();
    await expect(t.data()).rejects.toBeInstanceOf(lb.DeviceLostError);
    t.dispose();
    await initAndForget({});
    // The library drops the lost device once Dawn has settled its in-flight callbacks.
    for (let i = 0; i < 50 && heldDeviceCount() > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(heldDeviceCount()).toBe(1);
    gc();
    const y = lb.tensor([1, 2, 3]).add(1);
    expect(Array.from(await y.data())).toEqual([2, 3, 4]);
    y.dispose();
  });
});
