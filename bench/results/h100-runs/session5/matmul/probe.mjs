// H100 probe (session 5, issue 4): (A) f32 tiled configs at 4096^3 against the table default and
// the session-4 lb.tune() winner in the same process, PyTorch cuBLAS f32 (TF32 off, cublas32.py)
// before the rounds; the best on A transposed. Every config's output is compared exactly with the
// default's (integer data: f32 sums are exact). (B) f16 [K, N] M = 1 (axpy) configs at 1x4096x4096
// (one round at 11008) against the WGSL copy kernel and the dot kernel ([N, K]) over the same
// bytes; weights cycle through > 160 MB of copies, 64 sampled columns checked exactly.
// (C) other shapes, B transposed and a fused epilogue: the table default against the previous one;
// (F) Dawn's fast mode. Env: SET (2: run 2's lists), N (4096), K (calls per batch, 10), ROUNDS (2), PART ('AB'; also C, F), CONFIGS (JSON [name, tile]),
// AXPY (JSON [name, matvec, splits?]), MV (matvec shapes 'KxN,...'), OUT (directory for probe.txt).
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as lb from './dist/index.js';
import { lastPlan, withConfig } from './dist/ops/matmul-gpu.js';
import { deviceCopy, copyBandwidth, hotBatch, timeBatches, warmUntilSteady } from './gpu-timing.mjs';

const N = Number(process.env.N ?? 4096);
const K = Number(process.env.K ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const PART = process.env.PART ?? 'AB';
const t0 = performance.now();
const log = (s) => {
  s = `[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`;
  console.log(s);
  if (process.env.OUT) appendFileSync(`${process.env.OUT}/probe.txt`, s + '\n');
};
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const t = (bm, bn, bk, tm, tn, more = {}) => ({ bm, bn, bk, tm, tn, ...more });
const TUNE = t(64, 128, 8, 8, 8, { lx: 8, ck: true });
const SWEEP1 = [
  ['tune s4 64x128x8/8x8 lx8 ck', TUNE],
  ['64x128x8/8x8 lx8 ck pl', t(64, 128, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ['64x128x8/8x8 lx8 ck pl p2', t(64, 128, 8, 8, 8, { lx: 8, ck: true, pl: true, p2: true })],
  ['64x128x16/8x8 lx8 ck pl', t(64, 128, 16, 8, 8, { lx: 8, ck: true, pl: true })],
  ['64x128x16/8x8 lx8 ck pl p2', t(64, 128, 16, 8, 8, { lx: 8, ck: true, pl: true, p2: true })],
  ['64x128x8/8x8 ck pl (lx16)', t(64, 128, 8, 8, 8, { ck: true, pl: true })],
  ['128x128x8/8x8 lx8 ck', t(128, 128, 8, 8, 8, { lx: 8, ck: true })],
  ['128x128x8/8x8 lx8 ck pl', t(128, 128, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ['128x128x8/8x8 lx8 ck pl p2', t(128, 128, 8, 8, 8, { lx: 8, ck: true, pl: true, p2: true })],
  ['128x128x16/8x8 lx8 ck pl', t(128, 128, 16, 8, 8, { lx: 8, ck: true, pl: true })],
  ['128x64x16/8x4 pl', t(128, 64, 16, 8, 4, { pl: true })],
  ['128x64x16/8x4 ar', t(128, 64, 16, 8, 4, { ar: true })],
  ['128x64x16/8x4 ar pl', t(128, 64, 16, 8, 4, { ar: true, pl: true })],
  ['64x128x8/8x8 lx8 ar pl unroll', t(64, 128, 8, 8, 8, { lx: 8, ar: true, pl: true, unroll: true })],
];
const OLD = t(128, 64, 16, 8, 4); // the table default before session 5
// SET=2 (run 2): around run 1's best, 128x128x16 / 8x8 lx 8 ck pl (run 2's table default; its entry
// here was added after run 2, when the one-buffer ck tile became the plain layout's default).
const SWEEP2 = [
  ['OLD default 128x64x16/8x4', OLD],
  ['128x128x16/8x8 lx8 ck pl', t(128, 128, 16, 8, 8, { lx: 8, ck: true, pl: true })],
  ['128x128x16/8x8 lx4 ck pl', t(128, 128, 16, 8, 8, { lx: 4, ck: true, pl: true })],
  ['128x128x16/8x8 ck pl (lx16)', t(128, 128, 16, 8, 8, { ck: true, pl: true })],
  ['128x128x16/8x8 lx8 pl unroll', t(128, 128, 16, 8, 8, { lx: 8, pl: true, unroll: true })],
  ['128x128x16/8x8 lx8 ar pl unroll', t(128, 128, 16, 8, 8, { lx: 8, ar: true, pl: true, unroll: true })],
  ['128x128x16/8x8 lx8 ck db', t(128, 128, 16, 8, 8, { lx: 8, ck: true, db: true })],
  ['128x128x16/8x8 lx8 ck', t(128, 128, 16, 8, 8, { lx: 8, ck: true })],
  ['64x128x8/8x8 lx8 ck pl', t(64, 128, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ['64x128x8/8x8 lx8 ar pl unroll', t(64, 128, 8, 8, 8, { lx: 8, ar: true, pl: true, unroll: true })],
  ['64x128x8/8x8 lx8 pl unroll', t(64, 128, 8, 8, 8, { lx: 8, pl: true, unroll: true })],
  ['64x128x16/8x8 lx8 pl', t(64, 128, 16, 8, 8, { lx: 8, pl: true })],
  ['256x128x8/8x8 lx8 ck pl (512 thr)', t(256, 128, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ['128x256x8/8x8 lx8 ck pl (512 thr)', t(128, 256, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ['128x64x16/8x4 ck pl', t(128, 64, 16, 8, 4, { ck: true, pl: true })],
  ['128x64x32/8x4 pl', t(128, 64, 32, 8, 4, { pl: true })],
];
const SET2 = process.env.SET === '2';
const DEFAULT = 'table default';
const SWEEP = process.env.CONFIGS ? JSON.parse(process.env.CONFIGS) : SET2 ? SWEEP2 : SWEEP1;

const cublas = (tag, shapes = '') => {
  try {
    log(execSync(`python3 cublas32.py ${tag} ${shapes}`, { encoding: 'utf8', timeout: 60000 }).trim());
  } catch (e) {
    log(`CUBLAS ${tag}: failed ${String(e.message).slice(0, 200)}`);
  }
};

await lb.init({ cacheDir: false });
const info = lb.device().adapter.info ?? {};
log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; N ${N}, K ${K}, rounds ${ROUNDS}`);
const ints = (n, mul, add) => Float32Array.from({ length: n }, (_, i) => ((i * mul + add) % 5) - 2);

async function partA() {
  const av = ints(N * N, 7919, 3);
  const bv = ints(N * N, 104729, 1);
  const ops = (transA) => {
    const a = lb.tensor(av, [N, N]);
    const b = lb.tensor(bv, [N, N]);
    return { a, b, call: () => lb.matmul(a, b, { transA }) };
  };
  const L = ops(false);
  const forced = (O, tile) => (tile ? () => withConfig({ kind: 'tile', tile }, O.call) : O.call);
  const ref = await L.call().data();
  log(`table default: ${JSON.stringify(lastPlan().config.tile)}`);
  const ok = [];
  for (const [name, tile] of SWEEP) {
    try {
      const c0 = performance.now();
      const out = forced(L, tile)();
      const v = await out.data();
      const same = JSON.stringify(lastPlan().config.tile) === JSON.stringify(tile);
      out.dispose();
      let diff = 0;
      for (let i = 0; i < v.length; i++) if (v[i] !== ref[i]) diff++;
      log(`CHECK ${name}: ${diff} differ${same ? '' : ' (other config ran!)'} (${((performance.now() - c0) / 1000).toFixed(1)} s incl. compile)`);
      if (diff === 0 && same) ok.push([name, tile]);
    } catch (e) {
      log(`CHECK ${name}: FAILED ${String(e.message).slice(0, 300)}`);
    }
  }
  const res = new Map();
  const flops = 2 * N ** 3;
  const measure = async (tag, name, fn, warmMs = 300) => {
    const r = await timeBatches(lb, fn, K, 3, warmMs);
    const tf = flops / r.ms / 1e9;
    if (!res.has(name)) res.set(name, []);
    res.get(name).push(tf);
    log(`T ${tag} ${name}: ${r.ms.toFixed(3)} ms = ${tf.toFixed(1)} TFLOP/s (${(flops / r.max / 1e9).toFixed(1)}-${(flops / r.min / 1e9).toFixed(1)})`);
  };
  cublas('c1');
  for (let r = 1; r <= ROUNDS; r++) {
    await measure(`r${r}`, DEFAULT, L.call, 1500);
    for (const [i, [name, tile]] of ok.entries()) {
      await measure(`r${r}`, name, forced(L, tile));
      if (i === ok.length >> 1) await measure(`r${r}`, DEFAULT, L.call);
    }
    await measure(`r${r}`, DEFAULT, L.call);
  }
  const ranked = [...res.entries()].map(([name, xs]) => ({ name, tf: med(xs), xs })).sort((x, y) => y.tf - x.tf);
  log('SUMMARY A (median TFLOP/s; all values):');
  for (const r of ranked) log(`  ${r.tf.toFixed(1)}  ${r.name}  [${r.xs.map((x) => x.toFixed(1)).join(', ')}]`);
  // A transposed: default, the s4 tune winner and the best three.
  L.a.dispose();
  L.b.dispose();
  const T = ops(true);
  const best = ranked.filter((r) => r.name !== DEFAULT && r.name !== SWEEP[0][0]).slice(0, 3).map((r) => ok.find(([n]) => n === r.name));
  const flat = ['64x128x8/8x8 lx8 pl unroll', t(64, 128, 8, 8, 8, { lx: 8, pl: true, unroll: true })];
  for (const [name, tile] of [[DEFAULT, null], SWEEP[0], ...best, ...(SET2 && !best.some(([n]) => n === flat[0]) ? [flat] : []), [DEFAULT, null]]) await measure('transA', `${name} transA`, forced(T, tile), name === DEFAULT ? 800 : 300);
  T.a.dispose();
  T.b.dispose();
}

// Other shapes and layouts: the table default against the previous one (OLD) and two pl tiles.
async function partC() {
  const others = [
    ['OLD 128x64x16/8x4', OLD], ['128x128x16/8x8 lx8 ck pl', t(128, 128, 16, 8, 8, { lx: 8, ck: true, pl: true })],
    ['64x128x8/8x8 lx8 ck pl', t(64, 128, 8, 8, 8, { lx: 8, ck: true, pl: true })],
  ];
  const cases = [
    ['transB', 4096, 4096, 4096, { transB: true }], ['bias+gelu+residual', 4096, 4096, 4096, { epi: true }],
    ['512x4096x4096', 512, 4096, 4096, {}], ['1024^3', 1024, 1024, 1024, {}], ['2048^3', 2048, 2048, 2048, {}],
  ];
  // N < 4096 (a smoke test on a CPU adapter) scales every shape down.
  const sc = (d) => Math.max(64, Math.round((d * N) / 4096));
  for (const [label, m0, k0, n0, o] of cases) {
    const [m, k, n] = [sc(m0), sc(k0), sc(n0)];
    const a = lb.tensor(ints(m * k, 7919, 3), [m, k]);
    const b = lb.tensor(ints(k * n, 104729, 1), o.transB ? [n, k] : [k, n]);
    const el = o.epi ? { bias: lb.tensor(ints(n, 3, 0), [n]), residual: lb.tensor(ints(m * n, 5, 1), [m, n]), activation: 'gelu' } : {};
    const call = () => lb.matmul(a, b, { transB: !!o.transB, ...el });
    const ref = await call().data();
    const flops = 2 * m * k * n;
    for (const [name, tile] of [[DEFAULT, null], ...others, [DEFAULT, null]]) {
      const fn = tile ? () => withConfig({ kind: 'tile', tile }, call) : call;
      if (tile) {
        const v = await fn().data();
        let diff = 0;
        for (let i = 0; i < v.length; i++) if (Math.abs(v[i] - ref[i]) > 1e-3 * Math.abs(ref[i]) + 1e-3) diff++;
        if (diff) log(`CHECK C ${label} ${name}: ${diff} differ`);
      }
      const r = await timeBatches(lb, fn, o.k ?? 10, 3, name === DEFAULT ? 1000 : 300);
      log(`T C ${label} ${name}${tile ? '' : ` ${JSON.stringify(lastPlan().config.tile)}`}: ${r.ms.toFixed(3)} ms = ${(flops / r.ms / 1e9).toFixed(1)} TFLOP/s`);
    }
    for (const x of [a, b, ...Object.values(el).filter((v) => typeof v === 'object')]) x.dispose();
  }
  cublas('c-shapes', '512x4096x4096 1024x1024x1024 2048x2048x2048');
}

// Dawn's fast mode (no robustness checks, no workgroup zero-init): what robustness costs.
async function partF() {
  await lb.shutdown();
  await lb.init({ cacheDir: false, fast: true });
  const a = lb.tensor(ints(N * N, 7919, 3), [N, N]);
  const b = lb.tensor(ints(N * N, 104729, 1), [N, N]);
  const call = () => lb.matmul(a, b);
  for (const [name, tile] of [[DEFAULT, null], ['OLD 128x64x16/8x4', OLD], [DEFAULT, null]]) {
    const r = await timeBatches(lb, tile ? () => withConfig({ kind: 'tile', tile }, call) : call, K, 3, 1000);
    log(`T FAST ${name}: ${r.ms.toFixed(3)} ms = ${((2 * N ** 3) / r.ms / 1e9).toFixed(1)} TFLOP/s`);
  }
}

const F16 = [0xc000, 0xbc00, 0, 0x3c00, 0x4000]; // -2 .. 2
const val = (i, salt) => ((Math.imul(i + salt, 2654435761) >>> 0) % 5) - 2;
// SET=2: no split (ct 2 / 4: 16 / 32 columns per workgroup, enough workgroups without split-K),
// or fewer splits with more loads in flight.
const AXPY2 = [
  ['table', null],
  ['ct2 s1', { tpr: 64, ct: 2, cols: 8 }, 1],
  ['ct2 s1 u8', { tpr: 64, ct: 2, cols: 8, unroll: 8 }, 1],
  ['ct2 fuse (auto)', { tpr: 64, ct: 2, cols: 8, fuse: true }],
  ['ct4 s1 u8', { tpr: 64, ct: 4, cols: 8, unroll: 8 }, 1],
  ['ct4 wg512 s1', { tpr: 64, ct: 4, cols: 8, wg: 512 }, 1],
  ['ct2 wg512 s1 u8', { tpr: 64, ct: 2, cols: 8, wg: 512, unroll: 8 }, 1],
  ['ct8 s4 u8 fuse', { tpr: 64, ct: 8, cols: 8, unroll: 8, fuse: true }, 4],
  ['ct4 s2 fuse', { tpr: 64, ct: 4, cols: 8, fuse: true }, 2],
];
const AXPY = process.env.AXPY ? JSON.parse(process.env.AXPY) : SET2 ? AXPY2 : [
  ['table', null],
  ['u8', { tpr: 64, ct: 16, cols: 8, fuse: true, unroll: 8 }],
  ['s8', { tpr: 64, ct: 16, cols: 8, fuse: true }, 8],
  ['s8 u8', { tpr: 64, ct: 16, cols: 8, fuse: true, unroll: 8 }, 8],
  ['s32', { tpr: 64, ct: 16, cols: 8, fuse: true }, 32],
  ['ct8', { tpr: 64, ct: 8, cols: 8, fuse: true }],
  ['ct32 u8', { tpr: 64, ct: 32, cols: 8, fuse: true, unroll: 8 }],
  ['wg512 u8', { tpr: 64, ct: 16, cols: 8, fuse: true, wg: 512, unroll: 8 }],
];

async function partB() {
  const copy = await deviceCopy(lb.device(), Number(process.env.COPY ?? 2 ** 30), 10, 1000);
  log(`COPY ${Number(process.env.COPY ?? 2 ** 30) / 2 ** 20} MiB: ${copy.gbs.toFixed(0)} GB/s (${copy.name})`);
  const el = 2;
  const res = new Map();
  const SHAPES = (process.env.MV ?? '4096x4096,4096x11008').split(',').map((x) => x.split('x').map(Number));
  for (const [Kd, Nd] of SHAPES) {
    const bytes = (Kd * Nd + Kd + Nd) * el;
    const ro = await copyBandwidth(lb.device(), Kd * Nd * el, 5, 'read', 300);
    log(`READ-ONLY kernel ${Kd}x${Nd} f16: ${(ro.ms * 1e3).toFixed(1)} us = ${((100 * bytes) / ro.ms / 1e6 / copy.gbs).toFixed(0)}% of copy`);
    const copies = Math.ceil(160e6 / (Kd * Nd * el));
    const wr = Uint16Array.from({ length: Kd * Nd }, (_, i) => F16[val(i, 1) + 2]);
    const xv = Array.from({ length: Kd }, (_, i) => val(i, 7));
    const x = lb.tensor(Uint16Array.from(xv, (v) => F16[v + 2]), [1, Kd], { dtype: 'f16' });
    const ws = Array.from({ length: copies }, () => lb.tensor(wr, [Kd * Nd], { dtype: 'f16' }));
    const cols = Array.from({ length: 64 }, (_, i) => (i * 2654435761 + 13) % Nd);
    const want = cols.map((n) => { let s = 0; for (let k = 0; k < Kd; k++) s += xv[k] * val(k * Nd + n, 1); return s; });
    const call = (layout, force) => {
      let turn = 0;
      const one = () => lb.matmul(x, layout === 'kn' ? ws[turn++ % copies].reshape([Kd, Nd]) : ws[turn++ % copies].reshape([Nd, Kd]), { transB: layout === 'nk' });
      return force ? () => withConfig(force, one) : one;
    };
    const cands = [['dot [N,K] table', call('nk', null), false]];
    for (const [n, mv, splits] of AXPY) {
      cands.push([`[K,N] ${n}`, call('kn', mv ? { kind: 'axpy', matvec: mv, ...(splits ? { splits } : {}) } : null), true]);
    }
    const ok = [];
    for (const [n, fn, check] of cands) {
      try {
        const out = fn();
        const v = await out.data();
        const plan = lastPlan();
        out.dispose();
        let bad = 0;
        if (check) cols.forEach((c, i) => { const w = want[i]; if (Math.abs(v[c] - w) > Math.abs(w) / 1024) bad++; });
        log(`CHECK ${Nd} ${n}: ${bad} of 64 differ; ${plan.kind} ${JSON.stringify(plan.config.matvec)}`);
        if (bad === 0) ok.push([n, fn]);
      } catch (e) {
        log(`CHECK ${Nd} ${n}: FAILED ${String(e.message).slice(0, 300)}`);
      }
    }
    for (let r = 1; r <= (Nd === SHAPES[0][1] ? ROUNDS : 1); r++) {
      for (const [n, fn] of ok) {
        const recordAll = () => Array.from({ length: 100 }, () => fn());
        await warmUntilSteady(async () => (await hotBatch(lb, recordAll)).ms, n === ok[0][0] ? 1500 : 300, 300);
        const per = [];
        for (let i = 0; i < 3; i++) per.push((await hotBatch(lb, recordAll)).ms / 100);
        const us = med(per) * 1e3;
        const key = `${Kd}x${Nd} ${n}`;
        if (!res.has(key)) res.set(key, []);
        res.get(key).push(us);
        log(`T r${r} ${key}: ${us.toFixed(1)} us = ${((100 * bytes) / (us * 1e-6) / 1e9 / copy.gbs).toFixed(0)}% of copy`);
      }
    }
    x.dispose();
    ws.forEach((w) => w.dispose());
  }
  log(`SUMMARY B (median us; % of copy ${copy.gbs.toFixed(0)} GB/s)`);
  for (const [k, us] of res) {
    const [Kd, Nd] = k.split(' ')[0].split('x').map(Number);
    const bytes = (Kd * Nd + Kd + Nd) * el;
    log(`  ${k}: ${med(us).toFixed(1)} us, ${((100 * bytes) / (med(us) * 1e-6) / 1e9 / copy.gbs).toFixed(0)}% [${us.map((u) => u.toFixed(1)).join(', ')}]`);
  }
}

if (PART.includes('A')) await partA();
if (PART.includes('B')) await partB();
if (PART.includes('C')) await partC();
if (PART.includes('F')) await partF();
log('done');
await lb.shutdown();
