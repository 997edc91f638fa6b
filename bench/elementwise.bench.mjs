// Elementwise family: fused elementwise chains against the device's own buffer-copy bandwidth
// (measured in the same run), single-kernel bandwidth of add/cast/sum, and GPU vs the CPU
// reference at a moderate size. Issue target: a fused chain over 2^26 f32 reaches >= 80% of copy.
import { copyBandwidth, timeBatches, WARM_MS } from './gpu-timing.mjs';
import { gbps, median, progress, row } from './lib.mjs';

export const title = 'Elementwise: fused chains vs device copy bandwidth; GPU vs CPU reference';
export const baselines =
  'Bandwidth rows: the device copy bandwidth for the same byte size measured in the same run (bytes read + written), ' +
  'the better of a raw `copyBufferToBuffer` and a hand-written WGSL vec4 copy kernel on the same WebGPU device; ' +
  'the ratio is the fraction of that copy bandwidth reached (1 = copy speed). ' +
  'Bytes of an op = every input read once + the output written once (intermediates of a fused chain cost nothing). ' +
  'GPU time = submit to done of K evaluations recorded into one batch, divided by K, after 1 s of the same work untimed (GPU clocks ramp up). ' +
  'GPU-vs-CPU rows: the lbrx CPU reference (`{ device: \'cpu\' }` tensors) on the same op; ratio = speedup. ' +
  'PyTorch: eager CUDA (one kernel per op, so its chains pay for intermediates), `y.copy_(x)` for the copy.';

const FAMILY = 'elementwise';
/** Bytes one timed batch may allocate for outputs (they stay live until the batch completes). */
const BATCH_BYTES = 2 * 1024 ** 3;
const TARGET = 0.8;

export async function run(ctx) {
  const { software } = ctx;
  const fast = process.env.LBRX_BENCH_FAST === '1';
  let log2 = Number(process.env.LBRX_BENCH_EW_LOG2 ?? (fast || software ? 22 : 26));
  if (!Number.isInteger(log2) || log2 < 10 || log2 > 28) throw new Error(`LBRX_BENCH_EW_LOG2=${log2}: want an integer in 10..28`);
  // One tensor must fit one storage binding (lavapipe allows 128 MiB): shrink to what the device takes.
  const maxBytes = Math.min(ctx.dev.limits.maxStorageBufferBindingSize, ctx.dev.limits.maxBufferSize);
  while (4 * 2 ** log2 > maxBytes) log2--;
  const n = 2 ** log2;
  // lavapipe has no clocks to ramp: one untimed batch is warm-up enough there.
  const opt = { rounds: software ? 3 : 8, software, warmMs: software ? 0 : WARM_MS };
  const rows = [];
  rows.push(...(await bandwidth(ctx, n, `2^${log2} f32`, opt)));
  rows.push(...(await versusCpu(ctx, [1024, 1024], opt)));
  return rows;
}

/** Ops whose helpers exist in this build (other ops land over time; a chain uses relu only if present). */
function hasRelu(x) {
  return typeof x.relu === 'function';
}

/** f32 reference of the chains, for spot checks. */
const f = Math.fround;
const relu = (v) => (v < 0 ? 0 : v);

async function bandwidth(ctx, n, size, opt) {
  const { lb, dev } = ctx;
  const out = [];
  const B = n * 4;

  // The device's copy bandwidth: the better of copyBufferToBuffer and a plain WGSL copy kernel
  // (on Dawn/Vulkan/NVIDIA the copy command reaches well under the memory's bandwidth).
  progress(`  ${size}: device copy (copyBufferToBuffer)`);
  const copy = await copyBandwidth(dev, B, opt.rounds, false, opt.warmMs);
  const copyCmdGBs = gbps(2 * B, copy.ms);
  out.push(row(FAMILY, {
    name: 'device copy: copyBufferToBuffer (read + write)', key: 'copy', size, metric: 'bandwidth',
    value: copyCmdGBs, unit: 'GB/s', stats: copy,
    note: `${copy.ms.toFixed(3)} ms per copy of ${(B / 1024 ** 2).toFixed(0)} MiB, ${copy.k} copies per submit`,
  }));
  progress(`  ${size}: device copy (WGSL kernel)`);
  const kcopy = await copyBandwidth(dev, B, opt.rounds, true, opt.warmMs);
  const copyKernelGBs = gbps(2 * B, kcopy.ms);
  out.push(row(FAMILY, {
    name: 'device copy: hand-written WGSL kernel, vec4 per thread (read + write)', key: 'copy-kernel', torchKey: 'copy', size,
    metric: 'bandwidth', value: copyKernelGBs, unit: 'GB/s', stats: kcopy,
    note: `${kcopy.ms.toFixed(3)} ms per copy, ${kcopy.k} dispatches per submit; raw WebGPU, not lbrx's kernels`,
  }));
  const copyGBs = Math.max(copyCmdGBs, copyKernelGBs);
  const baseline = {
    name: `device copy (${copyGBs === copyCmdGBs ? 'copyBufferToBuffer' : 'WGSL vec4 copy kernel'}), same size`, value: copyGBs, unit: 'GB/s',
  };

  // Outputs of a timed batch stay live until it completes: let the pool keep them between
  // batches, so rows time kernels rather than creating (and zero-filling) fresh buffers.
  const pool = dev.pool;
  const cacheLimit = pool.cacheLimit;
  if (typeof cacheLimit === 'number' && typeof pool.setLimits === 'function') {
    pool.setLimits({ cacheLimitBytes: Math.max(cacheLimit, BATCH_BYTES + 4 * B) });
  }

  progress(`  ${size}: inputs`);
  const xs = new Float32Array(n);
  const as = new Float32Array(n);
  const bs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = ((i * 7919) % 2048) / 1024 - 1; // [-1, 1)
    as[i] = ((i % 13) - 6) / 4;
    bs[i] = ((i % 7) - 3) / 8;
  }
  const x = lb.tensor(xs);
  const a = lb.tensor(as);
  const b = lb.tensor(bs);
  await lb.eval();
  const withRelu = hasRelu(x);
  const r = withRelu ? (t) => t.relu() : (t) => t;
  const rs = withRelu ? '.relu()' : '';
  const rk = withRelu ? '-relu' : '';
  const rref = withRelu ? relu : (v) => v;

  // Each case: how to record one evaluation (returns tensors to dispose), bytes it must move,
  // and an f32 reference for spot checks.
  const cases = [
    {
      name: 'x.add(1): one kernel', key: 'add-scalar', bytes: 2 * B, outBytes: B,
      record: () => [x.add(1).realize()],
      ref: (i) => f(xs[i] + 1),
    },
    {
      name: 'x.add(a): one kernel', key: 'add-tensor', bytes: 3 * B, outBytes: B,
      record: () => [x.add(a).realize()],
      ref: (i) => f(xs[i] + as[i]),
    },
    {
      name: `fused chain, scalars: x.mul(2).add(1).mul(x).add(-3)${rs}`, key: `chain1${rk}`, bytes: 2 * B, outBytes: B,
      record: () => [r(x.mul(2).add(1).mul(x).add(-3)).realize()],
      ref: (i) => rref(f(f(f(f(xs[i] * 2) + 1) * xs[i]) - 3)),
    },
    {
      name: `fused chain: x.mul(a).add(b).mul(x).add(1)${rs}`, key: `chain3${rk}`, bytes: 4 * B, outBytes: B, target: true,
      record: () => [r(x.mul(a).add(b).mul(x).add(1)).realize()],
      ref: (i) => rref(f(f(f(f(xs[i] * as[i]) + bs[i]) * xs[i]) + 1)),
    },
    {
      name: `unfused chain (realize() after each op): x.mul(a).add(b).mul(x).add(1)${rs}`, key: `chain3${rk}-unfused`,
      torchKey: `chain3${rk}`, bytes: 4 * B, outBytes: (withRelu ? 5 : 4) * B,
      record: () => {
        const t1 = x.mul(a).realize();
        const t2 = t1.add(b).realize();
        const t3 = t2.mul(x).realize();
        const t4 = t3.add(1).realize();
        const t5 = withRelu ? t4.relu().realize() : null;
        return [t1, t2, t3, t4, ...(t5 ? [t5] : [])];
      },
      ref: null,
    },
    {
      name: 'x.cast(\'f16\')', key: 'cast-f16', bytes: B + B / 2, outBytes: B / 2,
      record: () => [x.cast('f16').realize()],
      ref: null,
    },
    {
      name: 'x.reshape([n/1024, 1024]).sum(-1)', key: 'sum-last', bytes: B + B / 1024, outBytes: B / 1024,
      record: () => [x.reshape([n / 1024, 1024]).sum(-1).realize()],
      ref: null,
    },
  ];

  try {
    let targetRow = null;
    for (const c of cases) {
      progress(`  ${size}: ${c.name}`);
      if (c.ref) await spotCheck(c, n);
      const k = Math.max(2, Math.min(opt.software ? 4 : 16, Math.floor(BATCH_BYTES / c.outBytes)));
      const t = await timeBatches(lb, c.record, k, opt.rounds, opt.warmMs);
      const value = gbps(c.bytes, t.ms);
      out.push(row(FAMILY, {
        name: c.name, key: c.key, torchKey: c.torchKey, size, metric: 'bandwidth', value, unit: 'GB/s', baseline, stats: t,
        note: `${t.ms.toFixed(3)} ms per eval, ${t.dispatchesPerEval} dispatch(es) per eval, ${t.k} evals per submit, ` +
          `${t.created} buffers created per batch; ${(c.bytes / B).toFixed(c.bytes % B ? 3 : 0)}× ${size} bytes moved`,
        detail: { ms: t.ms, bytes: c.bytes, dispatchesPerEval: t.dispatchesPerEval, evalsPerSubmit: t.k, buffersCreated: t.created },
      }));
      if (c.target) targetRow = { value, c };
    }
    if (targetRow) {
      const pct = (targetRow.value / copyGBs) * 100;
      const pctCmd = (targetRow.value / copyCmdGBs) * 100;
      out.push(row(FAMILY, {
        name: `target: fused chain (${targetRow.c.key}) as % of device copy bandwidth`, key: 'target', size, metric: 'fraction',
        value: pct, unit: '%',
        note: `target ≥ ${TARGET * 100}% at 2^26 f32: ${pct >= TARGET * 100 ? 'met' : 'NOT met'}${n === 2 ** 26 ? '' : ' (measured at a smaller size)'}; ` +
          `against ${baseline.name}; ${pctCmd.toFixed(0)}% of copyBufferToBuffer alone`,
      }));
    }
  } finally {
    x.dispose();
    a.dispose();
    b.dispose();
    if (typeof cacheLimit === 'number') pool.setLimits({ cacheLimitBytes: cacheLimit });
  }
  return out;

  async function spotCheck(c, count) {
    const [y] = c.record();
    const picks = [0, 1, 2, 3, 1000 % count, count >> 1, count - 2, count - 1];
    try {
      const got = [];
      for (const [s, e] of [[0, 4], [1000 % count, 1000 % count + 1], [count >> 1, (count >> 1) + 1], [count - 2, count]]) {
        const v = y.slice([s, e]);
        got.push(...(await v.data()));
        v.dispose();
      }
      picks.forEach((i, j) => {
        const want = c.ref(i);
        if (!(Math.abs(got[j] - want) <= 1e-6 * Math.max(1, Math.abs(want)))) {
          throw new Error(`${c.name}: element ${i} is ${got[j]}, expected ${want}`);
        }
      });
    } finally {
      y.dispose();
    }
  }
}

/** One op on the GPU (K per batch, wall from recording to done) against the CPU reference. */
async function versusCpu(ctx, shape, opt) {
  const { lb } = ctx;
  const out = [];
  const n = shape[0] * shape[1];
  const size = `[${shape.join(', ')}] f32`;
  const B = n * 4;
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = ((i * 31) % 1000) / 500 - 1;
    ys[i] = ((i * 17) % 777) / 777;
  }
  const gx = lb.tensor(xs, shape);
  const gy = lb.tensor(ys, shape);
  const cx = lb.tensor(xs, shape, { device: 'cpu' });
  const cy = lb.tensor(ys, shape, { device: 'cpu' });
  const idList = Array.from({ length: 256 }, (_, i) => (i * 97) % shape[0]);
  const gids = lb.tensor(idList, [256], { dtype: 'i32' });
  const cids = lb.tensor(idList, [256], { dtype: 'i32', device: 'cpu' });
  await lb.eval();
  const ops = [
    { name: 'add x + y', key: 'vs-cpu-add', bytes: 3 * B, gpu: () => gx.add(gy), cpu: () => cx.add(cy) },
    { name: 'cast f32 → f16', key: 'vs-cpu-cast-f16', bytes: B + B / 2, gpu: () => gx.cast('f16'), cpu: () => cx.cast('f16') },
    { name: 'sum over the last axis', key: 'vs-cpu-sum-last', bytes: B + shape[0] * 4, gpu: () => gx.sum(-1), cpu: () => cx.sum(-1) },
    // One row per op family: transcendental, reduction, softmax, norms, gather, matmul.
    { name: 'exp', key: 'vs-cpu-exp', bytes: 2 * B, gpu: () => gx.exp(), cpu: () => cx.exp() },
    { name: 'max over the last axis', key: 'vs-cpu-max-last', bytes: B + shape[0] * 4, gpu: () => gx.max(-1), cpu: () => cx.max(-1) },
    { name: 'softmax over the last axis', key: 'vs-cpu-softmax', bytes: 2 * B, gpu: () => gx.softmax(-1), cpu: () => cx.softmax(-1) },
    { name: 'layerNorm (no affine)', key: 'vs-cpu-layernorm', bytes: 2 * B, gpu: () => lb.layerNorm(gx), cpu: () => lb.layerNorm(cx) },
    { name: 'rmsNorm (no weight)', key: 'vs-cpu-rmsnorm', bytes: 2 * B, gpu: () => lb.rmsNorm(gx), cpu: () => lb.rmsNorm(cx) },
    { name: 'gather 256 rows', key: 'vs-cpu-gather', bytes: 2 * 256 * shape[1] * 4, gpu: () => lb.gather(gx, gids), cpu: () => lb.gather(cx, cids) },
    { name: 'matmul [128, K] x [K, 128]', key: 'vs-cpu-matmul', bytes: (128 * shape[1] * 2 + 128 * 128) * 4, gpu: () => lb.matmul(gx.slice([0, 128]), gy.slice([0, 128]).transpose()), cpu: () => lb.matmul(cx.slice([0, 128]), cy.slice([0, 128]).transpose()) },
  ];
  const k = opt.software ? 8 : 32;
  try {
    for (const op of ops) {
      progress(`  ${size}: GPU vs CPU reference: ${op.name}`);
      // Same answer on both sides (a few elements).
      {
        const g = op.gpu();
        const c = op.cpu();
        const [gd, cd] = [await g.data(), await c.data()];
        g.dispose();
        c.dispose();
        for (const i of [0, 1, gd.length >> 1, gd.length - 1]) {
          if (!(Math.abs(gd[i] - cd[i]) <= 1e-3 * Math.max(1, Math.abs(cd[i])))) {
            throw new Error(`${op.name}: GPU ${gd[i]} vs CPU reference ${cd[i]} at ${i}`);
          }
        }
      }
      const cpuMs = [];
      for (let r = 0; r < (opt.software ? 3 : 4); r++) {
        const a = performance.now();
        op.cpu().dispose();
        cpuMs.push(performance.now() - a);
      }
      const cpu = median(cpuMs.slice(1));
      const gpuMs = [];
      const w0 = performance.now();
      for (let r = 0; r <= opt.rounds; r++) {
        const outs = [];
        const a = performance.now();
        for (let i = 0; i < k; i++) outs.push(op.gpu().realize());
        await lb.eval();
        const ms = performance.now() - a;
        for (const o of outs) o.dispose();
        if (r === 0 && performance.now() - w0 < opt.warmMs) r--; // warm-up, untimed (see WARM_MS)
        else if (r > 0) gpuMs.push(ms / k);
      }
      const gpu = median(gpuMs);
      out.push(row(FAMILY, {
        name: `GPU vs CPU reference: ${op.name}`, key: op.key, size, metric: 'time per op', value: gpu, unit: 'ms', better: 'lower',
        baseline: { name: 'lbrx CPU reference', value: cpu, unit: 'ms' },
        note: `GPU ${gbps(op.bytes, gpu).toFixed(1)} GB/s (${k} ops recorded, one eval, wall incl. recording); CPU reference ${cpu.toFixed(2)} ms`,
      }));
    }
  } finally {
    for (const t of [gx, gy, cx, cy, gids, cids]) t.dispose();
  }
  return out;
}
