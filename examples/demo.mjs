// lbrx demo: real GPU work, each result checked against the CPU reference, with timings,
// pipeline/dispatch counts and memory. Run with `npm run demo` (it builds dist/ first).
import * as lb from '../dist/index.js';

const now = () => performance.now();
const MiB = 1024 * 1024;
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const fmtBytes = (n) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

/** Deterministic values in [-1, 1) (an LCG), so every run checks the same numbers. */
function randomF32(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dev = await lb.init();
const fp = dev.fingerprint;
const f = dev.features;
console.log(`GPU    ${fp.description || fp.device} (family ${fp.family}, id ${fp.id})`);
console.log(
  `       shader-f16 ${f.f16 ? 'yes' : 'no (f16 stored packed, computed in f32)'}, subgroups ${f.subgroups ? 'yes' : 'no'}, ` +
    `timestamps ${f.timestamps ? 'yes' : 'no'}, subgroup matrix ${f.subgroupMatrix ? 'yes' : 'no'}`,
);
console.log(`CPU    lbrx's reference ops in JavaScript (Node ${process.version}), same inputs, same ops\n`);

// lb.init() compiles, in the background, the kernel variants earlier runs used (recorded in
// the cache dir). Let that finish so it does not compete with the timings below.
const tWarm = now();
await new Promise((r) => setTimeout(r, 50));
while (lb.pipelineStats().inFlight > 0) await new Promise((r) => setTimeout(r, 10));
const warmed = lb.pipelineStats().pipelines;
console.log(
  warmed
    ? `warmup ${warmed} pipelines recorded by earlier runs compiled at init (${fmtMs(now() - tWarm)} ms)\n`
    : 'warmup no pipelines recorded by earlier runs: first calls below include compiling\n',
);

const mem0 = lb.memory();
const pipes0 = lb.pipelineStats();
const WARM_RUNS = 5;

/**
 * One case: `build(inputs)` records ops on tensors of one device and returns the result tensor.
 * GPU: first call (compiles pipelines) and warm calls timed to completion with lb.eval(out);
 * CPU: the same build on { device: 'cpu' } tensors. Then results are compared.
 */
async function runCase({ name, shape, dtype, inputs, build, minBytes, tol }) {
  const gpuIn = inputs.map((d) => lb.tensor(d, shape, { device: 'gpu' }));
  const cpuIn = inputs.map((d) => lb.tensor(d, shape, { device: 'cpu' }));
  await lb.eval(); // uploads done before timing

  const p0 = lb.pipelineStats();
  let t = now();
  let out = build(gpuIn);
  await lb.eval(out); // ops are lazy: eval(out) computes out (one fused kernel per chain) and waits
  const firstMs = now() - t;
  const compiled = lb.pipelineStats().misses - p0.misses;
  out.dispose();

  const warm = [];
  let s0;
  let s1;
  for (let i = 0; i < WARM_RUNS; i++) {
    s0 = lb.streamStats();
    t = now();
    out = build(gpuIn);
    await lb.eval(out);
    warm.push(now() - t);
    s1 = lb.streamStats();
    if (i < WARM_RUNS - 1) out.dispose();
  }
  const warmMs = median(warm);
  const got = await out.data();
  out.dispose();

  t = now();
  const cpuOut = build(cpuIn);
  const want = await cpuOut.data();
  const cpuMs = now() - t;
  cpuOut.dispose();
  for (const x of [...gpuIn, ...cpuIn]) x.dispose();

  const err = maxAbsDiff(got, want);
  return {
    name, shape: `[${shape.join(', ')}]`, dtype, firstMs, warmMs, cpuMs,
    gbs: minBytes / (warmMs / 1000) / 1e9,
    compiled, dispatches: s1.dispatches - s0.dispatches, submits: s1.submits - s0.submits,
    err, ok: err <= tol, tol,
  };
}

const N = 1 << 22; // 4M f32 = 16 MiB per tensor
const [R, C] = [1024, 4096];
const cases = [
  {
    name: 'a*b + c',
    shape: [N], dtype: 'f32',
    inputs: [randomF32(N, 1), randomF32(N, 2), randomF32(N, 3)],
    build: ([a, b, c]) => lb.tidy(() => a.mul(b).add(c)),
    minBytes: 4 * 4 * N, // read a, b, c; write the result
    tol: 0,
  },
  {
    name: 'f32 -> f16 -> f32',
    shape: [N], dtype: 'f32/f16',
    inputs: [randomF32(N, 4)],
    build: ([a]) => lb.tidy(() => a.cast('f16').cast('f32')),
    minBytes: 2 * 4 * N,
    tol: 0,
  },
  {
    name: 'sum(axis 1)',
    shape: [R, C], dtype: 'f32',
    inputs: [randomF32(R * C, 5)],
    build: ([a]) => a.sum(1),
    minBytes: 4 * R * C,
    tol: 1e-3, // summation order differs from the CPU's
  },
  {
    name: 'sum(axis 0)',
    shape: [R, C], dtype: 'f32',
    inputs: [randomF32(R * C, 6)],
    build: ([a]) => a.sum(0),
    minBytes: 4 * R * C,
    tol: 1e-3,
  },
];

const rows = [];
for (const c of cases) rows.push(await runCase(c));
const memPeak = lb.memory();

const header = ['op', 'shape', 'dtype', 'first ms', 'warm ms', 'GB/s', 'CPU ms', 'pipelines', 'disp/submit', 'max |gpu-cpu|', 'check'];
const table = rows.map((r) => [
  r.name, r.shape, r.dtype, fmtMs(r.firstMs), fmtMs(r.warmMs), r.gbs.toFixed(2), fmtMs(r.cpuMs),
  String(r.compiled), `${r.dispatches}/${r.submits}`, r.err.toExponential(1), r.ok ? 'ok' : `FAIL (tol ${r.tol})`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));
console.log(
  `\nfirst ms: first call, including compiling the pipelines it needs (the 'pipelines' column); warm ms: median of ${WARM_RUNS}, record to GPU done (lb.eval(out)).` +
    `\nGB/s: minimum bytes the op must move (inputs read once, output written once) / warm time.`,
);

const pipes = lb.pipelineStats();
const streams = lb.streamStats();
const memEnd = lb.memory();
console.log(
  `\npipelines  ${pipes.pipelines} in the cache (${pipes.misses - pipes0.misses} compiled by the ops above, ${pipes.hits - pipes0.hits} cache hits, ` +
    `${fmtMs(pipes.compileMs)} ms compiling)`,
);
console.log(`stream     ${streams.dispatches} dispatches, ${streams.copies} copies, ${streams.submits} submits in total`);
console.log(
  `memory     live ${fmtBytes(mem0.liveBytes)} at start -> peak ${fmtBytes(memPeak.peakBytes)} -> live ${fmtBytes(memEnd.liveBytes)} after dispose ` +
    `(pooled for reuse ${fmtBytes(memEnd.pooledBytes)}, pending ${fmtBytes(memEnd.pendingBytes)}; ` +
    `pool hits ${memEnd.hits}, misses ${memEnd.misses}; GPUBuffers created ${memEnd.created})`,
);

const leaked = memEnd.liveBytes !== mem0.liveBytes;
if (leaked) console.log(`LEAK: liveBytes ${mem0.liveBytes} at start, ${memEnd.liveBytes} at the end`);
await lb.shutdown();

const failed = rows.filter((r) => !r.ok);
if (failed.length || leaked) {
  console.log(`\ndemo: FAILED (${failed.map((r) => r.name).join(', ')}${leaked ? ' memory' : ''})`);
  process.exit(1);
}
console.log('\ndemo: all results match the CPU reference; all GPU memory returned.');
