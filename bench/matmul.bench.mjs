// Matmul family: GFLOP/s per kernel variant over square sizes and LLM shapes (M x K x N), the
// M = 1 kernels as GB/s against the device-copy bandwidth, split-K, fused epilogue, transposes,
// Dawn's fast mode (no robustness checks), and lb.tune() against the family table.
import { progress, row } from './lib.mjs';
import { deviceCopy, hotBatch, WARM_MS, warmUntilSteady } from './gpu-timing.mjs';

export const title = 'Matmul: tiled f32/f16/bf16, subgroup-matrix f16, M = 1 (matvec), split-K, tuning';
export const baselines =
  'PyTorch cuBLAS in the same run (torch.mm, TF32 off for f32; LLM shapes as x @ w.t()): the PyTorch column, ' +
  'ratio = lbrx / cuBLAS. M = 1 rows: GB/s of weights + vectors read/written, baseline = device-copy bandwidth ' +
  'measured in the same run (the faster of copyBufferToBuffer and a WGSL vec4 copy kernel, 1 GiB, read + write; PyTorch dst.copy_(src) ' +
  'in its column), so the ratio is the fraction of copy bandwidth. Sizes are M x K x N. Timing: GPU time per op = time from ' +
  'queue.submit to completion of a batch of identical ops divided by their number (CPU encoding excluded, as CUDA-event timing ' +
  'excludes launches); notes also give the wall time per op including recording and encoding.';

const FAMILY = 'matmul';

let internals = null;
async function gpuInternals() {
  internals ??= await import(new URL('../dist/ops/matmul-gpu.js', import.meta.url).href);
  return internals;
}

function randomData(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2;
  }
  return out;
}

/**
 * Median GPU ms per call of fn (returns a tensor, disposed): `reps` calls recorded into one submit
 * (`hotBatch`: a heater keeps the GPU at its clocks while they are recorded), timed from
 * queue.submit to completion and divided by reps (CPU-side recording and encoding, ~60 us per
 * dispatch in Dawn, are excluded, as CUDA-event timing excludes launch cost). Also returns the
 * wall time per call including recording and encoding.
 */
async function timeOp(lb, fn, outBytes, targetMs = 150) {
  const hot = lb.device().fingerprint.family !== 'software';
  const round = (reps) => hotBatch(lb, () => Array.from({ length: reps }, fn), hot);
  await round(1); // compiles
  const one = (await round(1)).ms;
  // Outputs stay allocated until their batch completes: cap the bytes in flight.
  const reps = Math.max(2, Math.min(200, Math.ceil(targetMs / Math.max(one, 0.005)), Math.floor(4e9 / Math.max(outBytes, 1))));
  // A pipeline compile or the CPU making weights idles the GPU, whose clock comes back in steps.
  if (hot) await warmUntilSteady(async () => (await round(reps)).ms, WARM_MS);
  const gpu = [];
  const wall = [];
  for (let r = 0; r < 5; r++) {
    const x = await round(reps);
    gpu.push(x.ms / reps);
    wall.push((x.recordMs + x.encodeMs + x.ms) / reps);
  }
  gpu.sort((a, b) => a - b);
  wall.sort((a, b) => a - b);
  return { ms: gpu[2], wallMs: wall[2], reps };
}

function describePlan(p) {
  if (!p) return '';
  const c = p.config;
  if (c.tile) {
    const flags = ['db', 'unroll', 'ck', 'ar', 'pl', 'p2'].filter((f) => c.tile[f]).map((f) => ` ${f}`).join('');
    return `tile ${c.tile.bm}x${c.tile.bn}x${c.tile.bk}/${c.tile.tm}x${c.tile.tn}${c.tile.lx ? ` lx ${c.tile.lx}` : ''}${flags}`;
  }
  if (c.sgmat) return `sgmat ${c.sgmat.sgr}x${c.sgmat.sgc} subgroups of ${c.sgmat.fm}x${c.sgmat.fn} frags, ${c.sgmat.load ?? 'direct'}${c.sgmat.bk ? ` bk ${c.sgmat.bk}` : ''}`;
  if (c.matvec) return `${p.kind} tpr ${c.matvec.tpr} ct ${c.matvec.ct}`;
  return p.kind;
}

/** One measurement: a [m,k] x b [k,n] (b as [n,k] with transB). */
async function measureCase(ctx, c) {
  const { lb } = ctx;
  const { lastPlan, withConfig } = await gpuInternals();
  const { m, k, n, dtype = 'f32' } = c;
  const a = c.transA ? lb.tensor(randomData(m * k, 1), [k, m], { dtype }) : lb.tensor(randomData(m * k, 1), [m, k], { dtype });
  // M = 1 streams B once per call: cycle through enough copies (> 160 MB) that L2 (50 MB on an
  // H100) cannot hold them, so the rows measure HBM rather than cache bandwidth.
  const bBytes = k * n * (dtype === 'f32' ? 4 : 2);
  const copies = m === 1 && !ctx.software ? Math.max(1, Math.ceil(160e6 / bBytes)) : 1;
  const bs = Array.from({ length: copies }, (_, i) =>
    c.transB ? lb.tensor(randomData(k * n, 2 + i), [n, k], { dtype }) : lb.tensor(randomData(k * n, 2 + i), [k, n], { dtype }));
  const extra = [...bs.slice(1)];
  let turn = 0;
  const opts = { transA: c.transA, transB: c.transB };
  if (c.epilogue) {
    opts.bias = lb.tensor(randomData(n, 3), [n], { dtype });
    opts.residual = lb.tensor(randomData(m * n, 4), [m, n], { dtype });
    opts.activation = 'gelu';
    extra.push(opts.bias, opts.residual);
  }
  const b = bs[0];
  const call = () => lb.matmul(a, bs[turn++ % copies], opts);
  const fn = c.force ? () => withConfig(c.force, call) : call;
  const outBytes = m * n * (dtype === 'f32' ? 4 : 2);
  try {
    const t = await timeOp(lb, fn, outBytes);
    return { ms: t.ms, wallMs: t.wallMs, plan: describePlan(lastPlan()), kind: lastPlan()?.kind };
  } finally {
    for (const t of [a, b, ...extra]) t.dispose();
  }
}

async function caseRow(ctx, c, hbm) {
  const size = `${c.m}x${c.k}x${c.n}`;
  progress(`  ${size} ${c.dtype ?? 'f32'} ${c.label ?? ''}`);
  let r;
  try {
    r = await measureCase(ctx, c);
  } catch (e) {
    progress(`    failed: ${e.message}`);
    if (ctx.lb.device()?.lost) await ctx.lb.init({ cacheDir: false });
    return row(FAMILY, { name: `${c.label ?? c.dtype} FAILED`, size, metric: 'throughput', value: 0, unit: 'GFLOP/s', note: String(e.message).slice(0, 200) });
  }
  const note = `${r.plan}; GPU ${r.ms.toFixed(3)} ms/op, wall ${r.wallMs.toFixed(3)} ms/op${c.note ? `; ${c.note}` : ''}`;
  if (c.m === 1 && r.kind !== 'tile') {
    const el = (c.dtype ?? 'f32') === 'f32' ? 4 : 2;
    const gb = ((c.k * c.n + c.k + c.n) * el) / (r.ms * 1e-3) / 1e9;
    return row(FAMILY, {
      name: `M = 1 ${c.dtype ?? 'f32'} ${c.label ?? ''}`.trim(), key: c.key, torchKey: c.torchKey, size, metric: 'bandwidth', value: gb, unit: 'GB/s',
      baseline: hbm ? { name: 'device copy (PyTorch)', value: hbm, unit: 'GB/s' } : undefined, note,
    });
  }
  const gflops = (2 * c.m * c.n * c.k) / (r.ms * 1e-3) / 1e9;
  return row(FAMILY, { name: `${c.dtype ?? 'f32'} ${c.label ?? ''}`.trim(), key: c.key, torchKey: c.torchKey, size, metric: 'throughput', value: gflops, unit: 'GFLOP/s', note });
}

export async function run(ctx) {
  const { lb, software, large } = ctx;
  const rows = [];
  await warmUp(ctx);
  const copy = await deviceCopyRows(ctx);
  rows.push(...copy.rows);
  const hbm = copy.gbps;
  const add = async (c) => rows.push(await caseRow(ctx, c, hbm));
  const only = process.env.LBRX_BENCH_MATMUL; // 'quick': 4096 and LLM shapes only

  // Square sweep.
  const squares = software ? [64, 128, 256] : only === 'quick' ? [1024, 4096] : [256, 512, 1024, 2048, 4096, ...(large ? [8192] : [])];
  for (const s of squares) {
    for (const dtype of ['f32', 'f16']) await add({ m: s, k: s, n: s, dtype, key: `mm-${dtype}`, label: 'auto' });
    if (!software && s >= 1024) await add({ m: s, k: s, n: s, dtype: 'f16', key: 'mm-f16-tiled', torchKey: 'mm-f16', label: 'tiled (subgroup matrices off)', force: { kind: 'tile' } });
    if (s === 4096 || software) await add({ m: s, k: s, n: s, dtype: 'bf16', key: 'mm-bf16', label: 'auto' });
  }
  // Variants at one size: transposes read in place, the fused epilogue, split-K.
  const v = software ? 128 : 4096;
  await add({ m: v, k: v, n: v, transA: true, key: 'mm-f32-ta', torchKey: 'mm-f32', label: 'transA (in place)' });
  await add({ m: v, k: v, n: v, transB: true, key: 'mm-f32-tb', torchKey: 'mm-f32', label: 'transB (in place)' });
  await add({ m: v, k: v, n: v, epilogue: true, key: 'mm-f32-epi', torchKey: 'mm-f32', label: 'bias + gelu + residual fused' });
  await add({ m: v, k: v, n: v, dtype: 'f16', epilogue: true, key: 'mm-f16-epi', torchKey: 'mm-f16', label: 'bias + gelu + residual fused' });
  const sk = software ? { m: 16, k: 4096, n: 16 } : { m: 128, k: 32768, n: 128 };
  await add({ ...sk, key: 'mm-splitk', label: 'split-K (auto)' });
  await add({ ...sk, key: 'mm-splitk-off', label: 'split-K off', force: { splits: 1 } });

  // LLM shapes (M x K x N), weights as [N, K] like nn.Linear (transB), and as [K, N].
  const llm = software ? [[1, 256, 256], [32, 256, 256]] : [[1, 4096, 4096], [1, 4096, 11008], [512, 4096, 4096], [512, 11008, 4096]];
  for (const [m, k, n] of llm) {
    for (const dtype of ['f32', 'f16']) {
      const key = m === 1 ? `mv-${dtype}` : `mm-${dtype}-wt`;
      await add({ m, k, n, dtype, transB: true, key, label: 'weights [N, K]' });
      if (m === 1) await add({ m, k, n, dtype, key: `mv-${dtype}-kn`, torchKey: key, label: 'weights [K, N]' });
    }
  }

  if (!software) rows.push(...(await fastMode(ctx, hbm)));
  rows.push(...(await tuning(ctx, software)));
  return rows;
}

/** About a second of matmuls first, so the GPU has left its idle clocks before anything is timed. */
async function warmUp(ctx) {
  const { lb, software } = ctx;
  if (software) return;
  const a = lb.tensor(randomData(4096 * 4096, 9), [4096, 4096]);
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    for (let i = 0; i < 20; i++) lb.matmul(a, a).dispose();
    await lb.eval();
  }
  a.dispose();
}

/**
 * Device-copy bandwidth in this run (read + write), the M = 1 rows' baseline: the faster of
 * copyBufferToBuffer (on NVIDIA/Vulkan a copy engine, well under HBM speed) and a WGSL vec4 copy
 * kernel (gpu-timing.mjs), 1 GiB (64 MiB on software adapters).
 */
async function deviceCopyRows(ctx) {
  const { lb, software } = ctx;
  const bytes = software ? 64 * 2 ** 20 : 2 ** 30;
  const copy = await deviceCopy(lb.device(), bytes, software ? 3 : 10, software ? 0 : 1000);
  const size = software ? '64 MiB' : '1 GiB';
  const rows = Object.entries(copy.all).map(([name, t]) => row(FAMILY, {
    name: `device copy (${name}), read + write`, key: name === 'copyBufferToBuffer' ? 'hbm-copy-dma' : 'hbm-copy', torchKey: 'hbm-copy', size,
    metric: 'bandwidth', value: (2 * bytes) / (t.ms * 1e-3) / 1e9, unit: 'GB/s', note: 'M = 1 rows use the faster of the two as baseline',
  }));
  return { gbps: copy.gbs, rows };
}

/** The same kernels with Dawn's robustness checks, validation and zero-init off (lb.init({ fast: true })). */
async function fastMode(ctx, hbm) {
  const { lb } = ctx;
  const rows = [];
  if (process.env.LBRX_BENCH_FAST === '1') return rows;
  progress('  fast mode (re-init with fast: true)');
  await lb.init({ cacheDir: false, fast: true });
  internals = null;
  try {
    for (const dtype of ['f32', 'f16']) {
      rows.push(await caseRow(ctx, { m: 4096, k: 4096, n: 4096, dtype, key: `mm-${dtype}-fast`, torchKey: `mm-${dtype}`, label: 'fast mode (no robustness)' }, hbm));
      rows.push(await caseRow(ctx, { m: 1, k: 4096, n: 11008, dtype, transB: true, key: `mv-${dtype}-fast`, torchKey: `mv-${dtype}`, label: 'weights [N, K], fast mode' }, hbm));
    }
  } finally {
    await lb.init({ cacheDir: false });
  }
  return rows;
}

/** lb.tune() on a few shapes: the winner against the family table's config, and every candidate. */
async function tuning(ctx, software) {
  const { lb } = ctx;
  const shapes = software
    ? [{ m: 64, k: 64, n: 64 }, { m: 1, k: 256, n: 256, transB: true }]
    : [
        { m: 4096, k: 4096, n: 4096 },
        { m: 4096, k: 4096, n: 4096, dtype: 'f16' },
        { m: 512, k: 4096, n: 4096, transB: true },
        { m: 1, k: 4096, n: 11008, transB: true, dtype: 'f16' },
        { m: 1, k: 4096, n: 11008, transB: true },
        { m: 1, k: 4096, n: 4096 },
      ];
  progress('  lb.tune()');
  const t0 = performance.now();
  const result = await lb.tune({ shapes, cacheDir: false, force: true, warn: (m) => progress(`    ${m}`) });
  progress(`  lb.tune(): ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
  for (const e of result.entries) {
    progress(`  tune ${e.class}: winner ${JSON.stringify(e.config)} ${e.ms.toFixed(3)} ms, table ${e.tableMs.toFixed(3)} ms`);
    for (const t of e.timings) progress(`    ${t.ms.toFixed(3)} ms  ${JSON.stringify(t.config.tile ?? t.config.sgmat ?? t.config.matvec)}`);
  }
  return result.entries.map((e) => {
    const s = e.shape;
    const cfg = JSON.stringify(e.config);
    const all = e.timings.map((t) => `${JSON.stringify(t.config.tile ?? t.config.sgmat ?? t.config.matvec)}: ${t.ms.toFixed(3)}`).join('; ');
    return row(FAMILY, {
      name: `lb.tune() ${s.dtype ?? 'f32'}${s.transB ? ' transB' : ''}: tuned vs table config`, size: `${s.m}x${s.k}x${s.n}`, metric: 'time',
      value: e.ms, unit: 'ms', better: 'lower', baseline: { name: 'family table config', value: e.tableMs, unit: 'ms' },
      note: `${e.class} -> ${cfg}`, detail: { candidates: all },
    });
  });
}
