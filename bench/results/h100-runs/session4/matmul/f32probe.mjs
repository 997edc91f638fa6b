// H100 probe (session 4): f32 tiled-matmul configs at N^3 against the table default in the same
// process and PyTorch cuBLAS f32 (TF32 off, cublas32.py, run between the rounds). Every config's
// output is compared exactly with the default's (integer-valued data: f32 sums are exact), and the
// default's with f64 dot products at 64 points. With ./old/dist (another build, its own device in
// the same process; OLD=1) that build's default is timed next to them (run 1: 4018d67's kernel).
// Layout (bash /work/notes/device-snap.sh plus the files): ./dist, gpu-timing.mjs, lib.mjs,
// cublas32.py. Env: N (4096), K (calls per batch, 10), ROUNDS (2), CONFIGS (JSON list of
// [name, tile] replacing the sweep), OUT (directory for probe.txt).
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
  ['CK 128x128x8/8x8 lx8', t(128, 128, 8, 8, 8, { lx: 8, ck: true })],
  ['CK 128x128x8/8x8', t(128, 128, 8, 8, 8, { ck: true })],
  ['CK 128x128x8/8x8 lx8 db', t(128, 128, 8, 8, 8, { lx: 8, ck: true, db: true })],
  ['CK 128x128x16/8x8 lx8', t(128, 128, 16, 8, 8, { lx: 8, ck: true })],
  ['CK 128x64x16/8x4', t(128, 64, 16, 8, 4, { ck: true })],
  ['CK 64x128x8/8x8 lx8 (128 thr)', t(64, 128, 8, 8, 8, { lx: 8, ck: true })],
  ['flat unroll 128x128x8/8x8 lx8', t(128, 128, 8, 8, 8, { lx: 8, unroll: true })],
  ['ar 128x64x16/8x4', t(128, 64, 16, 8, 4, { ar: true })],
  ['ar 128x64x16/8x4 db', t(128, 64, 16, 8, 4, { ar: true, db: true })],
  ['ar 128x64x16/8x4 unroll', t(128, 64, 16, 8, 4, { ar: true, unroll: true })],
  ['ar 128x128x8/8x8 unroll', t(128, 128, 8, 8, 8, { ar: true, unroll: true })],
];

const ints = (n, mul, add) => Float32Array.from({ length: n }, (_, i) => ((i * mul + add) % 5) - 2);
const cublas = (tag, shapes = '') => {
  try {
    log(execSync(`python3 cublas32.py ${tag} ${shapes}`, { encoding: 'utf8', timeout: 60000 }).trim());
  } catch (e) {
    log(`CUBLAS ${tag}: failed ${String(e.message).slice(0, 200)}`);
  }
};

// The table default is the reference; OLD=1 adds another build's default (./old/dist, own device).
await lb.init({ cacheDir: false });
const old = process.env.OLD === '1' ? await import('./old/dist/index.js') : null;
if (old) await old.init({ cacheDir: false });
const info = lb.device().adapter.info ?? {};
log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; N ${N}, K ${K}, rounds ${ROUNDS}`);

function operands(mod, m, k, n, transA = false, transB = false) {
  const a = mod.tensor(ints(m * k, 7919, 3), transA ? [k, m] : [m, k]);
  const b = mod.tensor(ints(k * n, 104729, 1), transB ? [n, k] : [k, n]);
  return { a, b, call: (opts = {}) => mod.matmul(a, b, { transA, transB, ...opts }) };
}
const forced = (ops, tile, opts) => (tile ? () => withConfig({ kind: 'tile', tile }, () => ops.call(opts)) : () => ops.call(opts));
const DEFAULT = 'table default';
const OLD = 'OLD build default';

// Phase 0: compile every config and check it exactly against the table default (and that against f64 at 64 points).
const L = operands(lb, N, N, N);
const O = old ? operands(old, N, N, N) : null;
const ref = await L.call().data();
log(`table default: ${JSON.stringify(lastPlan().config.tile)}`);
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
  log(`table default vs f64 dot products at 64 points: ${bad} differ`);
}
const ok = [];
for (const [name, tile] of [...(O ? [[OLD, null]] : []), ...SWEEP]) {
  try {
    const out = name === OLD ? O.call() : forced(L, tile)();
    const v = await out.data();
    const plan = name === OLD ? null : lastPlan();
    out.dispose();
    let diff = 0;
    for (let i = 0; i < v.length; i++) if (v[i] !== ref[i]) diff++;
    const same = !plan || JSON.stringify(plan.config.tile) === JSON.stringify(tile);
    log(`CHECK ${name}: ${diff} of ${v.length} outputs differ from the table default${same ? '' : ` (ran ${JSON.stringify(plan.config.tile)}!)`}`);
    if (diff === 0 && same && name !== OLD) ok.push([name, tile]);
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
const refs = async (tag, warmMs) => {
  await measure(tag, DEFAULT, lb, L.call, flops(N, N, N), warmMs);
  if (O) await measure(tag, OLD, old, O.call, flops(N, N, N), 300);
};

// Phase 1: rounds of [default, every config] (the default also in the middle and at the end), cuBLAS before, between and after.
cublas('c1');
for (let r = 1; r <= ROUNDS; r++) {
  await refs(`r${r}`, 1500);
  for (const [i, [name, tile]] of ok.entries()) {
    await measure(`r${r}`, name, lb, forced(L, tile), flops(N, N, N), 300);
    if (i === (ok.length >> 1)) await refs(`r${r}`, 300);
  }
  await refs(`r${r}`, 300);
  cublas(`c${r + 1}`);
}
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const ranked = [...results.entries()].map(([name, xs]) => ({ name, tf: med(xs), xs })).sort((x, y) => y.tf - x.tf);
log('SUMMARY (median TFLOP/s over rounds; all values):');
for (const r of ranked) log(`  ${r.tf.toFixed(1)}  ${r.name}  [${r.xs.map((x) => x.toFixed(1)).join(', ')}]`);
const best = ranked.filter((r) => r.name !== DEFAULT && r.name !== OLD).slice(0, 2).map((r) => ok.find(([n]) => n === r.name));

// Phase 2: the two best against the default on transposes, a fused epilogue and 512 x 4096 x 4096.
const cases = [
  ['transA', N, N, N, true, false, {}],
  ['transB', N, N, N, false, true, {}],
  ['bias+gelu+residual', N, N, N, false, false, { epi: true }],
  ['512x4096x4096', 512, 4096, 4096, false, false, {}],
];
for (const [label, m, k, n, ta, tb, o] of cases) {
  const Lc = operands(lb, m, k, n, ta, tb);
  const el = o.epi ? { bias: lb.tensor(ints(n, 3, 0), [n]), residual: lb.tensor(ints(m * n, 5, 1), [m, n]), activation: 'gelu' } : {};
  for (const [name, tile] of [[DEFAULT, null], ...best]) {
    await measure(label, `${name} ${label}`, lb, forced(Lc, tile, el), flops(m, k, n), name === DEFAULT ? 800 : 300);
  }
  for (const t of [Lc.a, Lc.b, ...Object.values(el).filter((x) => typeof x === 'object')]) t.dispose();
}
cublas('c-end', '4096x4096x4096 512x4096x4096');

// Phase 3: Dawn's fast mode (no robustness checks, no workgroup zero-init): the default and the best two.
await lb.shutdown();
await lb.init({ cacheDir: false, fast: true });
{
  const F = operands(lb, N, N, N);
  for (const [name, tile] of [[DEFAULT, null], ...best, [DEFAULT, null]]) {
    await measure('fast', `${name} FAST`, lb, forced(F, tile), flops(N, N, N), name === DEFAULT ? 1500 : 300);
  }
}
await lb.shutdown();
if (old) await old.shutdown();
