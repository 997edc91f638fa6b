// H100 probe (session 4, issue 4's M = 1 target): matvec configs at 1x4096x4096 and 1x4096x11008,
// f32 and f16, weights [N, K] (x @ w^T: the dot kernel) and [K, N] (x @ w: axpy), against the
// kernel before this change (./old: dist of the parent commit, its own device in this process),
// the device copy bandwidth (deviceCopy, 1 GiB) and a read-only kernel over the same bytes (the
// ceiling of one dispatch at that size), PyTorch alongside (torch_mv.py). Weights cycle through
// > 160 MB of copies (L2 is 50 MB), integer data (-2..2) so every config's outputs are checked
// exactly (f16 outputs within one f16 ulp) at 64 sampled columns before timing. Timing: K calls
// per batch recorded under the heater (hotBatch), warmUntilSteady, 3 batches, median; ROUNDS
// rounds, configs interleaved, OLD measured first and again at the end of each case's round.
// Round 1 also takes per-dispatch GPU times from timestamp queries (lb.profile).
// Layout (bash /work/notes/device-snap.sh mv probe.mjs torch_mv.py ../../../../gpu-timing.mjs
// ../../../../lib.mjs, plus ./old/{package.json,dist}). Env: ROUNDS (2), K (calls per batch,
// 100), OUT (directory for probe.txt), ONLY (substring of case names to run), SHAPES ('KxN,...'),
// COPY (bytes of the copy baseline), TORCH (0: skip PyTorch), COPIES (weight copies).
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as lb from './dist/index.js';
import { lastPlan, withConfig } from './dist/ops/matmul-gpu.js';
import { copyBandwidth, deviceCopy, hotBatch, warmUntilSteady } from './gpu-timing.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const KCALLS = Number(process.env.K ?? 100);
const log = (s) => {
  console.log(s);
  if (process.env.OUT) appendFileSync(`${process.env.OUT}/probe.txt`, s + '\n');
};
const t0 = performance.now();
const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(0)} s]`;

const SHAPES = (process.env.SHAPES ?? '4096x4096,4096x11008').split(',').map((s) => s.split('x').map(Number));
if (process.env.TORCH !== '0') {
  try {
    log(execSync('python3 torch_mv.py t1', { encoding: 'utf8', timeout: 90000 }).trim());
  } catch (e) {
    log(`TORCH failed: ${String(e.message).slice(0, 300)}`);
  }
}

await lb.init({ cacheDir: false });
const old = await import('./old/dist/index.js');
const oldMM = await import('./old/dist/ops/matmul-gpu.js');
await old.init({ cacheDir: false });
const info = lb.device().adapter.info ?? {};
log(`${stamp()} adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; rounds ${ROUNDS}, ${KCALLS} calls per batch`);

const copyBytes = Number(process.env.COPY ?? 2 ** 30);
const copy = await deviceCopy(lb.device(), copyBytes, 10, 1000);
log(`${stamp()} COPY ${copyBytes / 2 ** 20} MiB: ${copy.gbs.toFixed(0)} GB/s (${copy.name}); ${Object.entries(copy.all).map(([n, s]) => `${n} ${((2 * copyBytes) / s.ms / 1e6).toFixed(0)}`).join(', ')}`);

const DOT = [
  ['tpr32 (new code, old config)', { tpr: 32 }],
  ['tpr32 r2 u2', { tpr: 32, rows: 2, unroll: 2 }],
  ['tpr32 r2 u4', { tpr: 32, rows: 2, unroll: 4 }],
  ['tpr32 r4 u2', { tpr: 32, rows: 4, unroll: 2 }],
  ['tpr16 r2 u4', { tpr: 16, rows: 2, unroll: 4 }],
  ['tpr64 u4', { tpr: 64 }],
  ['tpr64 r2 u2', { tpr: 64, rows: 2, unroll: 2 }],
  ['tpr32 u8', { tpr: 32, unroll: 8 }],
  ['tpr16 r4 u2 wg128', { tpr: 16, rows: 4, unroll: 2, wg: 128 }],
  ['tpr8 r4 u2', { tpr: 8, rows: 4, unroll: 2 }],
  ['tpr32 r8 u1', { tpr: 32, rows: 8, unroll: 1 }],
].map(([n, c]) => [n, { kind: 'dot', matvec: { ct: 32, ...c } }]);
const AXPY = [
  ['ct32 (new code, old config)', { ct: 32 }],
  ['ct32 c8', { ct: 32, cols: 8 }],
  ['ct32 c8 fuse', { ct: 32, cols: 8, fuse: true }],
  ['ct16 c8 fuse', { ct: 16, cols: 8, fuse: true }],
  ['ct32 c4 fuse', { ct: 32, fuse: true }],
  ['ct64 c8 fuse', { ct: 64, cols: 8, fuse: true }],
  ['ct32 c8 u8 fuse', { ct: 32, cols: 8, unroll: 8, fuse: true }],
  ['ct32 c8 fuse s8', { ct: 32, cols: 8, fuse: true }, 8],
  ['ct8 c8 fuse', { ct: 8, cols: 8, fuse: true }],
  ['ct32 c8 fuse s4', { ct: 32, cols: 8, fuse: true }, 4],
].map(([n, c, splits]) => [n, { kind: 'axpy', matvec: { tpr: 32, ...c }, ...(splits ? { splits } : {}) }]);

const F16 = [0xc000, 0xbc00, 0, 0x3c00, 0x4000]; // -2 .. 2
const val = (i, salt) => ((Math.imul(i + salt, 2654435761) >>> 0) % 5) - 2;
function raw(n, dtype, salt) {
  if (dtype === 'f32') return Float32Array.from({ length: n }, (_, i) => val(i, salt));
  return Uint16Array.from({ length: n }, (_, i) => F16[val(i, salt) + 2]);
}
const f16round = (v) => {
  const a = Math.abs(v);
  if (a < 2048) return v;
  const ulp = 2 ** (Math.floor(Math.log2(a)) - 10);
  return Math.round(v / ulp) * ulp;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const summary = new Map(); // case -> name -> [us]

async function measure(mod, fn) {
  const recordAll = () => Array.from({ length: KCALLS }, () => fn());
  await warmUntilSteady(async () => (await hotBatch(mod, recordAll)).ms, 150, 100);
  const per = [];
  for (let r = 0; r < 3; r++) per.push((await hotBatch(mod, recordAll)).ms / KCALLS);
  return median(per);
}

async function profileUs(mod, fn) {
  const rep = await mod.profile(async () => {
    const outs = Array.from({ length: 20 }, () => fn());
    await mod.eval();
    outs.forEach((o) => o.dispose());
  }, { peaks: false });
  if (rep.timing !== 'gpu-timestamps') return '';
  const by = new Map();
  for (const k of rep.kernels) by.set(k.name, (by.get(k.name) ?? 0) + k.gpuMs / 20);
  return [...by].map(([n, ms]) => `${n} ${(ms * 1e3).toFixed(1)}`).join(' + ');
}

for (const [K, N] of SHAPES) {
  for (const dtype of ['f32', 'f16']) {
    const el = dtype === 'f32' ? 4 : 2;
    const bytes = (K * N + K + N) * el;
    const copies = Number(process.env.COPIES ?? Math.max(1, Math.ceil(160e6 / (K * N * el))));
    const wr = raw(N * K, dtype, 1);
    const xr = raw(K, dtype, 7);
    const xv = Array.from({ length: K }, (_, i) => val(i, 7));
    const cols = Array.from({ length: 64 }, (_, i) => (i * 2654435761 + 13) % N);
    const want = { nk: [], kn: [] };
    for (const n of cols) {
      let a = 0;
      let b = 0;
      for (let k = 0; k < K; k++) {
        a += xv[k] * val(n * K + k, 1);
        b += xv[k] * val(k * N + n, 1);
      }
      want.nk.push(a);
      want.kn.push(b);
    }
    const ro = await copyBandwidth(lb.device(), K * N * el, 5, 'read', 200);
    log(`${stamp()} READ-ONLY kernel over ${(K * N * el / 2 ** 20).toFixed(0)} MiB (${Math.ceil(160e6 / (Math.ceil(K * N * el / 256) * 256))} copies): ${(ro.ms * 1e3).toFixed(1)} us = ${(K * N * el / ro.ms / 1e6).toFixed(0)} GB/s`);
    const made = [];
    const setup = (mod) => {
      const ws = Array.from({ length: copies }, () => mod.tensor(wr, [N * K], { dtype }));
      const x = mod.tensor(xr, [1, K], { dtype });
      made.push(...ws, x);
      return { x, nk: ws.map((w) => w.reshape([N, K])), kn: ws.map((w) => w.reshape([K, N])) };
    };
    const T = { new: setup(lb), old: setup(old) };
    for (const layout of ['nk', 'kn']) {
      const name = `${dtype} ${layout === 'nk' ? '[N,K]' : '[K,N]'} 1x${K}x${N}`;
      if (process.env.ONLY && !name.includes(process.env.ONLY)) continue;
      const call = (mod, mm, t, force, nCopies = copies) => {
        let turn = 0;
        const one = () => mod.matmul(t.x, t[layout][turn++ % nCopies], { transB: layout === 'nk' });
        return force ? () => mm.withConfig(force, one) : one;
      };
      const cands = [['OLD (table default)', call(old, oldMM, T.old, null)]];
      if (layout === 'nk' && dtype === 'f16' && N === SHAPES[0][1]) cands.push(['OLD, 1 weight copy (L2-resident)', call(old, oldMM, T.old, null, 1)]);
      cands.push(['new table default', call(lb, { withConfig }, T.new, null)]);
      for (const [n, force] of layout === 'nk' ? DOT : AXPY) cands.push([n, call(lb, { withConfig }, T.new, force)]);
      // Check every config at the sampled columns (integer data: exact sums).
      const ok = [];
      for (const [n, fn] of cands) {
        try {
          const out = fn();
          const v = await out.data();
          const plan = (n.startsWith('OLD') ? oldMM : { lastPlan }).lastPlan();
          out.dispose();
          let bad = 0;
          cols.forEach((c, i) => {
            const w = dtype === 'f16' ? f16round(want[layout][i]) : want[layout][i];
            if (Math.abs(v[c] - w) > (dtype === 'f16' ? Math.abs(w) / 1024 : 0)) bad++;
          });
          log(`CHECK ${name} ${n}: ${bad} of 64 sampled outputs differ; plan ${plan?.kind} ${JSON.stringify(plan?.config?.matvec)}`);
          if (bad === 0) ok.push([n, fn]);
        } catch (e) {
          log(`CHECK ${name} ${n}: FAILED ${String(e.message).slice(0, 300)}`);
        }
      }
      if (!summary.has(name)) summary.set(name, new Map());
      const S = summary.get(name);
      for (let r = 1; r <= ROUNDS; r++) {
        const order = [...ok, ok[0]];
        for (const [n, fn] of order) {
          const mod = n.startsWith('OLD') ? old : lb;
          const ms = await measure(mod, fn);
          const gbs = bytes / ms / 1e6;
          if (!S.has(n)) S.set(n, []);
          S.get(n).push(ms * 1e3);
          const prof = r === 1 && !(n === ok[0][0] && S.get(n).length > 1) ? await profileUs(mod, fn) : '';
          log(`${stamp()} T r${r} ${name} ${n}: ${(ms * 1e3).toFixed(1)} us = ${gbs.toFixed(0)} GB/s (${((100 * gbs) / copy.gbs).toFixed(0)}% of copy)${prof ? `; timestamps: ${prof} us` : ''}`);
        }
      }
    }
    made.forEach((t) => t.dispose());
  }
}

log(`\nSUMMARY (median us over rounds; GB/s; % of copy ${copy.gbs.toFixed(0)} GB/s)`);
for (const [name, S] of summary) {
  const [K, N] = name.split(' ').pop().split('x').slice(1).map(Number);
  const el = name.startsWith('f32') ? 4 : 2;
  const bytes = (K * N + K + N) * el;
  for (const [n, us] of S) {
    const m = median(us);
    log(`${name} | ${n} | ${m.toFixed(1)} us | ${(bytes / m / 1e3).toFixed(0)} GB/s | ${((100 * bytes) / m / 1e3 / copy.gbs).toFixed(0)}% | rounds ${us.map((u) => u.toFixed(1)).join(' ')}`);
  }
}
log(`${stamp()} done`);
await old.shutdown();
await lb.shutdown();
