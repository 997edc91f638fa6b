// Out of memory: lb.init({ memoryLimit }) is honoured by every path that allocates (creation,
// uploads and their staging, lazy realize, matmul, attention, loaders, dequantize, concat,
// readbacks); a refusal is a GpuOutOfMemoryError with requested, live and pooled bytes; other
// tensors keep their data; an op that fails half-way leaves no buffer behind; a driver refusal
// empties the pool and retries once. Sizes are a few MiB: lavapipe zero-fills new buffers.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { writeGguf } from '../src/formats/gguf-write.js';
import { dequantizeBlocks, quantizeQ8_0 } from '../src/cpu/quant.js';
import type { GpuDevice } from '../src/runtime/device.js';
import { attentionTuning } from '../src/ops/attention.js';

const MiB = 1 << 20;
const LIMIT = 8 * MiB;
const KEEP = new Float32Array(Array.from({ length: 1000 }, (_, i) => i * 0.25 - 7));
let dev: GpuDevice;
let keeper: lb.Tensor;
let live = 0;

beforeAll(async () => {
  dev = await lb.init({ cacheDir: false, memoryLimit: LIMIT });
  keeper = lb.tensor(KEEP);
});
afterAll(async () => {
  keeper.dispose();
  await lb.shutdown();
});
beforeEach(() => {
  live = lb.memory().buffers;
});
afterEach(async () => {
  await settle();
  expect(lb.memory().buffers, 'live buffers after the case').toBe(live);
  expect(used(), 'live + pending + pooled + staging within the limit').toBeLessThanOrEqual(LIMIT);
  expect(Array.from(await keeper.data()), 'a tensor made before stays intact').toEqual(Array.from(KEEP));
});

/** Runs what was recorded and lets an op's orphaned output be released. */
async function settle(): Promise<void> {
  await lb.eval();
  // The pool hears of finished batches through a callback that may trail eval().
  for (let i = 0; i < 1000 && (i === 0 || lb.memory().pendingBytes > 0); i++) await new Promise((r) => setImmediate(r));
}

function used(): number {
  const m = lb.memory();
  return m.liveBytes + m.pendingBytes + m.pooledBytes + m.stagingBytes;
}

type Oom = InstanceType<typeof lb.GpuOutOfMemoryError>;

function check(e: unknown, requested?: number): Oom {
  expect(e, String(e)).toBeInstanceOf(lb.GpuOutOfMemoryError);
  const oom = e as Oom;
  if (requested !== undefined) expect(oom.requestedBytes).toBe(requested);
  expect(oom.requestedBytes).toBeGreaterThan(0);
  expect(oom.liveBytes).toBeGreaterThanOrEqual(0);
  expect(oom.liveBytes).toBeLessThanOrEqual(LIMIT);
  expect(oom.pooledBytes).toBeGreaterThanOrEqual(0);
  expect(oom.message).toMatch(/out of GPU memory: asked for .* live and .* pooled/);
  return oom;
}

function oomAt(fn: () => unknown, requested?: number): Oom {
  try {
    fn();
  } catch (e) {
    return check(e, requested);
  }
  throw new Error('expected GpuOutOfMemoryError, nothing was thrown');
}

async function oomAsync(p: Promise<unknown>, requested?: number): Promise<Oom> {
  const e = await p.then(
    () => new Error('expected GpuOutOfMemoryError, the promise resolved'),
    (err: unknown) => err,
  );
  return check(e, requested);
}

/**
 * Runs `fn` with the budget filled by 256 KiB tensors (one pool size class each) until less than
 * `headroom` + 256 KiB is free, then frees them.
 */
async function withHeadroom(headroom: number, fn: () => void): Promise<void> {
  await settle();
  dev.pool.trim(0);
  const chunk = 256 * 1024;
  const fill: lb.Tensor[] = [];
  try {
    while (LIMIT - used() - chunk >= headroom) fill.push(lb.zeros([chunk / 4]));
    fn();
  } finally {
    for (const t of fill) t.dispose();
    await settle(); // their fill kernels run; the buffers return to the pool
  }
}

/** The first and last `k` values of a tensor, read without a full-size readback. */
async function ends(t: lb.Tensor, k = 3): Promise<number[]> {
  const flat = t.reshape([t.size]);
  const views = [flat.slice([0, k]), flat.slice([t.size - k, t.size])];
  try {
    return [...(await views[0].data()), ...(await views[1].data())];
  } finally {
    for (const v of [flat, ...views]) v.dispose();
  }
}

describe('lb.init({ memoryLimit })', () => {
  it('creation over the budget throws at the call, with the bytes asked for', () => {
    const n = 3_000_000; // 12 MB of f32
    const e = oomAt(() => lb.tensor(new Float32Array(n)), n * 4);
    expect(e.message).toContain(`memory limit of ${LIMIT} bytes`);
    oomAt(() => lb.zeros([n]), n * 4);
    oomAt(() => lb.full([n], 1.5), n * 4);
    oomAt(() => lb.randn([n]), n * 4);
    oomAt(() => lb.arange(n), n * 4);
    // In tidy: what the function made before the failure is disposed with it.
    oomAt(() => lb.tidy(() => lb.zeros([n / 2], { dtype: 'f16' }).add(lb.zeros([2, n / 2], { dtype: 'f16' })).realize()));
  });

  it('large uploads fall back to direct writes when their staging would not fit', async () => {
    const filler = lb.zeros([1_200_000]); // 4.8 MB
    const values = new Float32Array(700_000).map((_, i) => i % 1000); // 2.8 MB: staging would pass 8 MiB
    const t = lb.tensor(values);
    expect(used()).toBeLessThanOrEqual(LIMIT);
    expect(await ends(t)).toEqual([0, 1, 2, 997, 998, 999]);
    filler.dispose();
    t.dispose();
  });

  it('idle upload staging counts against the limit and is given back when a tensor needs the room', async () => {
    const big = lb.tensor(new Float32Array(600_000).fill(3)); // 2.4 MB through a staging buffer
    await settle();
    for (let i = 0; i < 1000 && dev.uploads.stats().readyBuffers === 0; i++) await new Promise((r) => setImmediate(r));
    const staging = lb.memory().stagingBytes;
    expect(staging).toBeGreaterThan(2_000_000);
    await withHeadroom(0, () => {
      // Only the staging memory is left: taking it back lets this tensor fit.
      const t = lb.zeros([(staging - 65536) / 4]);
      expect(lb.memory().stagingBytes).toBe(0);
      expect(used()).toBeLessThanOrEqual(LIMIT);
      t.dispose();
    });
    expect(await ends(big)).toEqual([3, 3, 3, 3, 3, 3]);
    big.dispose();
  });

  it('a lazy result that cannot be realized fails at the sync point and computes once memory is freed', async () => {
    const a = lb.full([900_000], 2); // 3.6 MB
    const filler = lb.zeros([400_000]); // 1.6 MB
    const b = a.mul(3);
    await oomAsync(b.data());
    await oomAsync(lb.eval(b));
    expect(await ends(a)).toEqual([2, 2, 2, 2, 2, 2]);
    filler.dispose();
    await settle();
    expect(await ends(b)).toEqual([6, 6, 6, 6, 6, 6]);
    a.dispose();
    b.dispose();
  });

  it('a readback whose staging buffer does not fit fails; the tensor stays readable in parts', async () => {
    const t = lb.full([1_300_000], 4); // 5.2 MB: a whole readback needs as much again
    await oomAsync(t.data());
    expect(await ends(t)).toEqual([4, 4, 4, 4, 4, 4]);
    t.dispose();
  });

  it('matmul, concat, attention and dequantize outputs over the budget throw at the call', async () => {
    const a = lb.ones([1024, 8]);
    const b = lb.ones([8, 1024]);
    await withHeadroom(MiB, () => oomAt(() => lb.matmul(a, b), 1024 * 1024 * 4));
    const c = lb.ones([200_000]);
    await withHeadroom(MiB, () => oomAt(() => lb.concat([c, c, c, c], 0), 800_000 * 4));
    const q = lb.ones([1, 4, 512, 128]);
    await withHeadroom(0, () => oomAt(() => lb.attention(q, q, q), 4 * 512 * 128 * 4));
    const x = new Float32Array(800_000).map((_, i) => Math.sin(i));
    const blocks = quantizeQ8_0(x);
    const r = await lb.loadGguf(writeGguf({ tensors: [{ name: 'q', type: 8, dims: [800_000], data: blocks }] }));
    const w = r.tensors.q as lb.QuantizedTensor;
    await withHeadroom(MiB, () => oomAt(() => w.dequantize(), 800_000 * 4));
    // The inputs are intact and, with room again, the ops run.
    expect(await ends(a)).toEqual([1, 1, 1, 1, 1, 1]);
    const d = w.dequantize();
    const ref = dequantizeBlocks('q8_0', blocks, 800_000);
    expect(await ends(d)).toEqual([...ref.slice(0, 3), ...ref.slice(-3)]);
    for (const t of [c, q, d, w]) t.dispose();
    await settle();
    const m = lb.matmul(a, b);
    expect(await ends(m)).toEqual([8, 8, 8, 8, 8, 8]);
    for (const t of [a, b, m]) t.dispose();
  });

  it('loaders: a file that does not fit fails with nothing of it left; a smaller one loads', async () => {
    const part = (v: number) => new Float32Array(500_000).fill(v); // 2 MB each
    const st = await lb.saveSafetensors({
      a: lb.tensor(part(1), [500_000], { device: 'cpu' }),
      b: lb.tensor(part(2), [500_000], { device: 'cpu' }),
      c: lb.tensor(part(3), [500_000], { device: 'cpu' }),
      d: lb.tensor(part(4), [500_000], { device: 'cpu' }),
    });
    await oomAsync(lb.loadSafetensors(st));
    await settle();
    expect(lb.memory().buffers).toBe(live);

    const bytes = (v: number) => new Uint8Array(part(v).buffer);
    const gguf = writeGguf({
      tensors: ['a', 'b', 'c', 'd'].map((name, i) => ({ name, type: 0, dims: [500_000], data: bytes(i + 1) })),
    });
    await oomAsync(lb.loadGguf(gguf));
    await settle();
    expect(lb.memory().buffers).toBe(live);

    const small = await lb.loadGguf(writeGguf({ tensors: [{ name: 'a', type: 0, dims: [500_000], data: bytes(5) }] }));
    expect(await ends(small.tensors.a as lb.Tensor)).toEqual([5, 5, 5, 5, 5, 5]);
    small.tensors.a.dispose();
  });

  it('the limit is a budget for live + pending + pooled + staging bytes, across many ops', async () => {
    // A decoder-ish step repeated under the budget: every intermediate goes through the pool.
    const x = lb.randn([64, 256], { seed: 3 });
    const w = lb.tidy(() => lb.randn([256, 256], { seed: 4 }).mul(1 / 16));
    for (let i = 0; i < 5; i++) {
      const y = lb.tidy(() => {
        const h = lb.rmsNorm(x, lb.ones([256])).matmul(w).silu();
        const q = h.reshape([1, 4, 64, 64]);
        return lb.concat([lb.attention(q, q, q, { causal: true }).reshape([64, 256]), h], 1).sum(1);
      });
      await y.data();
      expect(used()).toBeLessThanOrEqual(LIMIT);
      y.dispose();
    }
    x.dispose();
    w.dispose();
  });
});

describe('an op that fails half-way', () => {
  /** Runs `op` once to learn what it allocates, then sets a limit where its output fits and its scratch does not. */
  async function failOnScratch(op: () => lb.Tensor): Promise<void> {
    const base = lb.memory();
    const t = op();
    const after = lb.memory();
    const out = after.liveBytes - base.liveBytes;
    const scratch = after.pendingBytes - base.pendingBytes; // released as soon as recorded
    expect(scratch, 'the op uses scratch memory after its output').toBeGreaterThan(out / 8);
    t.dispose();
    await settle();
    dev.pool.trim(0);
    dev.uploads.reclaim(); // idle upload staging would be given back under pressure
    const m = lb.memory();
    const committed = m.liveBytes + m.pendingBytes + m.stagingBytes;
    dev.pool.setLimits({ memoryLimitBytes: committed + out + Math.floor(scratch / 2) });
    try {
      const before = lb.memory().buffers;
      oomAt(op);
      await settle();
      expect(lb.memory().buffers, 'the output allocated before the failure was released').toBe(before);
    } finally {
      dev.pool.setLimits({ memoryLimitBytes: LIMIT });
    }
  }

  it('split-K matmul: the partials do not fit', async () => {
    const a = lb.randn([8, 4096], { seed: 1 });
    const b = lb.randn([4096, 8], { seed: 2 });
    await failOnScratch(() => lb.matmul(a, b));
    const c = lb.matmul(a, b); // and with room again it works
    expect((await c.data()).length).toBe(64);
    for (const t of [a, b, c]) t.dispose();
  });

  it('split decode attention with a combine pass: the partials do not fit', async () => {
    const q = lb.randn([1, 4, 1, 64], { seed: 5 });
    const k = lb.randn([1, 4, 2048, 64], { seed: 6 });
    attentionTuning.decode = { fuse: 0 }; // per-call partials (the fused merge keeps one buffer per device)
    try {
      await failOnScratch(() => lb.attention(q, k, k));
    } finally {
      delete attentionTuning.decode;
      for (const t of [q, k]) t.dispose();
    }
  });
});

describe('driver refusals', () => {
  it('a refused buffer empties the pool and is retried once; a second refusal is GpuOutOfMemoryError', async () => {
    const spare = lb.zeros([50_000]);
    await spare.data();
    spare.dispose();
    await settle();
    expect(lb.memory().pooledBytes).toBeGreaterThan(0);
    const gpu = dev.device as GPUDevice & { createBuffer: GPUDevice['createBuffer'] };
    const real = gpu.createBuffer.bind(gpu);
    let refusals = 1;
    gpu.createBuffer = (desc: GPUBufferDescriptor) => {
      if (refusals > 0 && desc.size >= 64_000) {
        refusals--;
        throw new RangeError('injected: could not allocate');
      }
      return real(desc);
    };
    try {
      const destroyed = lb.memory().destroyed;
      const t = lb.full([70_000], 9); // refused once, then made after the pool was emptied
      expect(lb.memory().pooledBytes).toBe(0);
      expect(lb.memory().destroyed).toBeGreaterThan(destroyed);
      expect(await ends(t)).toEqual([9, 9, 9, 9, 9, 9]);
      t.dispose();
      await settle();
      dev.pool.trim(0);

      refusals = 2;
      const e = oomAt(() => lb.full([70_000], 9), 280_000);
      expect(e.pooledBytes, 'reported after the pool was trimmed').toBe(0);
      expect(e.message).toContain('injected: could not allocate');
      expect(e.cause).toBeInstanceOf(RangeError);
    } finally {
      gpu.createBuffer = real;
    }
  });

  it('a refusal reported later by the driver fails the sync point; that tensor says it has no memory; its buffer is never reused', async () => {
    const gpu = dev.device as GPUDevice & { popErrorScope: GPUDevice['popErrorScope'] };
    const real = gpu.popErrorScope.bind(gpu);
    const before = lb.memory();
    gpu.popErrorScope = () => {
      gpu.popErrorScope = real; // once
      return real().then(() => ({ message: 'injected: out of device memory' }) as GPUError);
    };
    const t = lb.full([5000], 1);
    const e = await oomAsync(t.data(), 20_000);
    expect(e.message).toContain('injected: out of device memory');
    expect(e.pooledBytes).toBe(0); // the pool was trimmed
    await oomAsync(t.data()); // the tensor itself: no memory behind it
    const destroyed = lb.memory().destroyed;
    const pooled = lb.memory().pooledBuffers;
    t.dispose();
    await settle();
    expect(lb.memory().destroyed, 'destroyed, not pooled').toBe(destroyed + 1);
    expect(lb.memory().pooledBuffers).toBe(pooled);
    expect(lb.memory().buffers).toBe(before.buffers);
    const u = lb.full([5000], 2);
    expect(await ends(u)).toEqual([2, 2, 2, 2, 2, 2]);
    u.dispose();
  });
});

describe('init options', () => {
  it('a bad memoryLimit is refused before any device is made', async () => {
    const current = lb.device();
    for (const bad of [-1, NaN, '8' as unknown as number]) {
      await expect(lb.init({ cacheDir: false, memoryLimit: bad })).rejects.toThrow(/memoryLimit must be a number of bytes/);
    }
    expect(lb.device()).toBe(current);
  });
});
