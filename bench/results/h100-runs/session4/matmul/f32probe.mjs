// H100 probe (session 4): f32 tiled-matmul configs at N^3 against the kernel as it was before this
// session's change (./old: dist of commit 4018d67, its own device in the same process) and
// PyTorch cuBLAS f32 (TF32 off, cublas32.py, run between the rounds). Every config's output is
// compared exactly with the old default's (integer-valued data: f32 sums are exact).
// Layout (built by bash /work/notes/device-snap.sh plus ./old/{package.json,dist}): ./dist, ./old,
// gpu-timing.mjs, lib.mjs, cublas32.py. Env: N (4096), K (calls per batch, 10), ROUNDS (2),
// CONFIGS (JSON list of [name, tile] replacing the sweep), OUT (directory for probe.txt).
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as lb from './dist/index.js';
import { lastPlan, withConfig } from './dist/ops/matmul-gpu.js';
import { timeBatches } from './gpu-timing.mjs';

const N = Number(process.env.N ?? 4096);
const K = Number(process.env.K ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const flops = (m, k, n) => 2 * m * k * n;
const log = (s) => {
  console.log(s);
  if (process.env.OUT) appendFileSync(`${process.env.OUT}/probe.txt`, s + '\n');
};
const t = (bm, bn, bk, tm, tn, more = {}) => ({ bm, bn, bk, tm, tn, ...more });
const SWEEP = process.env.CONFIGS ? JSON.parse(process.env.CONFIGS) : [
  ['new 128x64x16/8x4 (table default)', t(128, 64, 16, 8, 4)],
  ['128x64x16/8x4 lx8', t(128, 64, 16, 8, 4, { lx: 8 })],
  ['128x64x16/8x4 db', t(128, 64, 16, 8, 4, { db: true })],
  ['128x64x32/8x4', t(128, 64, 32, 8, 4)],
  ['128x128x8/8x8', t(128, 128, 8, 8, 8)],
  ['128x128x8/8x8 lx8', t(128, 128, 8, 8, 8, { lx: 8 })],
  ['128x128x8/8x8 lx4', t(128, 128, 8, 8, 8, { lx: 4 })],
  ['128x128x16/8x8 lx8', t(128, 128, 16, 8, 8, { lx: 8 })],
  ['128x128x8/8x8 lx8 db', t(128, 128, 8, 8, 8, { lx: 8, db: true })],
  ['128x128x16/8x8 lx8 db', t(128, 128, 16, 8, 8, { lx: 8, db: true })],
  ['128x128x8/8x8 lx4 db', t(128, 128, 8, 8, 8, { lx: 4, db: true })],
  ['128x128x8/8x8 lx8 unroll', t(128, 128, 8, 8, 8, { lx: 8, unroll: true })],
  ['64x128x8/8x8 lx8 (128 thr)', t(64, 128, 8, 8, 8, { lx: 8 })],
  ['64x128x16/8x8 lx8 (128 thr)', t(64, 128, 16, 8, 8, { lx: 8 })],
  ['64x128x8/8x8 lx8 db (128 thr)', t(64, 128, 8, 8, 8, { lx: 8, db: true })],
  ['128x64x8/8x8 lx8 (128 thr)', t(128, 64, 8, 8, 8, { lx: 8 })],
  ['128x64x16/8x8 lx8 db (128 thr)', t(128, 64, 16, 8, 8, { lx: 8, db: true })],
  ['64x64x16/8x8 lx8 (64 thr)', t(64, 64, 16, 8, 8, { lx: 8 })],
];

const ints = (n, mul, add) => Float32Array.from({ length: n }, (_, i) => ((i * mul + add) % 5) - 2);
const cublas = (tag, shapes = '') => {
  try {
    log(execSync(`python3 cublas32.py ${tag} ${shapes}`, { encoding: 'utf8', timeout: 60000 }).trim());
  } catch (e) {
    log(`CUBLAS ${tag}: failed ${String(e.message).slice(0, 200)}`);
  }
};

// Two lbrx modules, two devices: the new code (./dist) and the old one (./old/dist).
await lb.init({ cacheDir: false });
const old = await import('./old/dist/index.js');
await old.init({ cacheDir: false });
const info = lb.device().adapter.info ?? {};
log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; N ${N}, K ${K}, rounds ${ROUNDS}`);

function operands(mod, m, k, n, transA = false, transB = false) {
  const a = mod.tensor(ints(m * k, 7919, 3), transA ? [k, m] : [m, k]);
  const b = mod.tensor(ints(k * n, 104729, 1), transB ? [n, k] : [k, n]);
  return { a, b, call: (opts = {}) => mod.matmul(a, b, { transA, transB, ...opts }) };
}
const forced = (ops, tile, opts) => (tile ? () => withConfig({ kind: 'tile', tile }, () => ops.call(opts)) : () => ops.call(opts));

// Phase 0: compile every config and check it exactly against the old default (and that against f64 at 64 points).
const O = operands(old, N, N, N);
const L = operands(lb, N, N, N);
const ref = await O.call().data();
{
  const av = ints(N * N, 7919, 3);
  const bv = ints(N * N, 104729, 1);
  let bad = 0;
  for (let s = 0; s < 64; s++) {
    const i = (s * 2654435761) % N;
    const j = (s * 40503 + 17) % N;
    let want = 0;
    for (let k = 0; k < N; k++) want += av[i * N + k] * bv[k * N + j];
    if (ref[i * N + j] !== want) bad++;
  }
  log(`old default vs f64 dot products at 64 points: ${bad} differ`);
}
const ok = [];
for (const [name, tile] of SWEEP) {
  try {
    const out = forced(L, tile)();
    const v = await out.data();
    const plan = lastPlan();
    out.dispose();
    let diff = 0;
    for (let i = 0; i < v.length; i++) if (v[i] !== ref[i]) diff++;
    const same = JSON.stringify(plan.config.tile) === JSON.stringify(tile);
    log(`CHECK ${name}: ${diff} of ${v.length} outputs differ from the old default${same ? '' : ` (ran ${JSON.stringify(plan.config.tile)}!)`}`);
    if (diff === 0 && same) ok.push([name, tile]);
  } catch (e) {
    log(`CHECK ${name}: FAILED ${String(e.message).slice(0, 300)}`);
  }
}

const results = new Map();
async function measure(tag, name, mod, fn, f, warmMs) {
  const r = await timeBatches(mod, fn, K, 3, warmMs);
  const tf = f / r.ms / 1e9;
  if (!results.has(name)) results.set(name, []);
  results.get(name).push(tf);
  log(`T ${tag} ${name}: ${r.ms.toFixed(3)} ms = ${tf.toFixed(1)} TFLOP/s (rounds ${(f / r.max / 1e9).toFixed(1)}-${(f / r.min / 1e9).toFixed(1)})`);
}

// Phase 1: rounds of [old default, every config], cuBLAS before, between and after.
cublas('c1');
for (let r = 1; r <= ROUNDS; r++) {
  await measure(`r${r}`, 'OLD 128x64x16/8x4 (old code, table default)', old, O.call, flops(N, N, N), 1500);
  for (const [i, [name, tile]] of ok.entries()) {
    await measure(`r${r}`, name, lb, forced(L, tile), flops(N, N, N), 300);
    if (i === (ok.length >> 1)) await measure(`r${r}`, 'OLD 128x64x16/8x4 (old code, table default)', old, O.call, flops(N, N, N), 300);
  }
  await measure(`r${r}`, 'OLD 128x64x16/8x4 (old code, table default)', old, O.call, flops(N, N, N), 300);
  cublas(`c${r + 1}`);
}
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const ranked = [...results.entries()].map(([name, xs]) => ({ name, tf: med(xs), xs })).sort((x, y) => y.tf - x.tf);
log('SUMMARY (median TFLOP/s over rounds; all values):');
for (const r of ranked) log(`  ${r.tf.toFixed(1)}  ${r.name}  [${r.xs.map((x) => x.toFixed(1)).join(', ')}]`);
const best = ranked.filter((r) => !r.name.startsWith('OLD')).slice(0, 2).map((r) => ok.find(([n]) => n === r.name));

// Phase 2: the two best against the old default on transposes, a fused epilogue and 512 x 4096 x 4096.
const cases = [
  ['transA', N, N, N, true, false, {}],
  ['transB', N, N, N, false, true, {}],
  ['bias+gelu+residual', N, N, N, false, false, { epi: true }],
  ['512x4096x4096', 512, 4096, 4096, false, false, {}],
];
for (const [label, m, k, n, ta, tb, o] of cases) {
  const Oc = operands(old, m, k, n, ta, tb);
  const Lc = operands(lb, m, k, n, ta, tb);
  const epi = (mod) => (o.epi ? { bias: mod.tensor(ints(n, 3, 0), [n]), residual: mod.tensor(ints(m * n, 5, 1), [m, n]), activation: 'gelu' } : {});
  const eo = epi(old);
  const el = epi(lb);
  await measure(label, `OLD default ${label}`, old, () => Oc.call(eo), flops(m, k, n), 800);
  for (const [name, tile] of [['new table default', null], ...best]) {
    await measure(label, `${name} ${label}`, lb, forced(Lc, tile, el), flops(m, k, n), 300);
  }
}
cublas('c-end', '4096x4096x4096 512x4096x4096');

// Phase 3: Dawn's fast mode (no robustness checks, no workgroup zero-init) for the best config.
await lb.shutdown();
await lb.init({ cacheDir: false, fast: true });
{
  const F = operands(lb, N, N, N);
  await measure('fast', 'OLD default (robust)', old, O.call, flops(N, N, N), 1500);
  for (const [name, tile] of best) await measure('fast', `${name} FAST`, lb, forced(F, tile), flops(N, N, N), 300);
  await measure('fast', 'OLD default (robust)', old, O.call, flops(N, N, N), 300);
}
await lb.shutdown();
await old.shutdown();
