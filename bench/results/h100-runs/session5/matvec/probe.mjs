// H100 probe (session 5, part 2, issue 4): M = 1 with B as [K, N] (axpy). The subgroup variant
// (matvec config `sg`: k lanes summed by shuffles, column subgroups side by side) in several
// shapes against the table default, timed interleaved (the table at the start, middle and end of
// every round), with the WGSL copy kernel (1 GiB) and the read-only kernel over the same bytes.
// Weights cycle through > 160 MB of copies; integer data (f32 sums exact): every candidate's whole
// output must equal the table default's, and 64 sampled columns the CPU sum. f16 1x4096x4096 over
// ROUNDS rounds, then one round each of f16 4096x11008 and f32 4096x4096 / 4096x11008.
// Env: ROUNDS (3), COPY (bytes, 2^30), CANDS (JSON [[name, matvec, splits?], ...]), OUT (directory for probe.txt), ONLY (comma list of shape keys, e.g. 'f16:4096x4096').
import { appendFileSync } from 'node:fs';
import * as lb from './dist/index.js';
import { lastPlan, withConfig } from './dist/ops/matmul-gpu.js';
import { deviceCopy, copyBandwidth, hotBatch, warmUntilSteady } from './gpu-timing.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const t0 = performance.now();
const log = (s) => {
  s = `[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`;
  console.log(s);
  if (process.env.OUT) appendFileSync(`${process.env.OUT}/probe.txt`, s + '\n');
};
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const F16 = [0xc000, 0xbc00, 0, 0x3c00, 0x4000]; // -2 .. 2
const val = (i, salt) => ((Math.imul(i + salt, 2654435761) >>> 0) % 5) - 2;
const m = (more) => ({ tpr: 64, ct: 16, cols: 8, fuse: true, ...more });

// [name, matvec config, splits?]; on the H100 subgroups are 32 lanes: sg = column lanes per row of a subgroup.
const CANDS = [
  ['sg4 ct16', m({ sg: 4 })], // the table's geometry (128 columns, 16 splits), shuffles instead of 4 barriers
  ['sg8 ct16', m({ sg: 8 })],
  ['sg16 ct16', m({ sg: 16 })],
  ['sg4 ct32', m({ ct: 32, sg: 4 })], // 256 columns per workgroup, 32 splits
  ['sg8 ct32', m({ ct: 32, sg: 8 })],
  ['sg8 ct64', m({ ct: 64, sg: 8 })], // 1 KB of each row per workgroup, 64 splits
  ['sg1 ct8', m({ ct: 8, sg: 1 })], // each lane on its own k rows
  ['sg4 ct16 u8', m({ sg: 4, unroll: 8 })],
  ['sg8 ct32 wg512', m({ ct: 32, sg: 8, wg: 512 })],
  ['sg4 ct16 s8', m({ sg: 4 }), 8],
  ['sg8 ct32 s16', m({ ct: 32, sg: 8 }), 16],
  ['sg4 ct32 u8', m({ ct: 32, sg: 4, unroll: 8 })],
  ['sg8 ct128 wg512', m({ ct: 128, sg: 8, wg: 512 })], // 2 KB of each row per workgroup, 64 splits
  ['plain ct32', m({ ct: 32 })], // the plain kernel, its fused sum now 4 splits per step
];
if (process.env.CANDS) CANDS.splice(0, CANDS.length, ...JSON.parse(process.env.CANDS));

await lb.init({ cacheDir: false }); // no tuned configs: the table's
const COPY = Number(process.env.COPY ?? 2 ** 30);
const copy = await deviceCopy(lb.device(), COPY, 10, 1000);
log(`COPY ${COPY / 2 ** 20} MiB: ${copy.gbs.toFixed(0)} GB/s (${copy.name})`);
const res = new Map();
const put = (key, us) => { if (!res.has(key)) res.set(key, []); res.get(key).push(us); };
const SHAPES = [['f16', 4096, 4096, ROUNDS], ['f16', 4096, 11008, 1], ['f32', 4096, 4096, 1], ['f32', 4096, 11008, 1]]
  .filter(([d, k, n]) => !process.env.ONLY || process.env.ONLY.split(',').includes(`${d}:${k}x${n}`));

for (const [dt, Kd, Nd, rounds] of SHAPES) {
  const el = dt === 'f16' ? 2 : 4;
  const bytes = (Kd * Nd + Kd + Nd) * el;
  const shape = `${dt} ${Kd}x${Nd}`;
  const pct = (us) => ((100 * bytes) / (us * 1e-6) / 1e9 / copy.gbs).toFixed(0);
  const copies = Math.ceil(160e6 / (Kd * Nd * el));
  const wr = dt === 'f16' ? Uint16Array.from({ length: Kd * Nd }, (_, i) => F16[val(i, 1) + 2]) : Float32Array.from({ length: Kd * Nd }, (_, i) => val(i, 1));
  const xv = Array.from({ length: Kd }, (_, i) => val(i, 7));
  const x = dt === 'f16' ? lb.tensor(Uint16Array.from(xv, (v) => F16[v + 2]), [1, Kd], { dtype: 'f16' }) : lb.tensor(Float32Array.from(xv), [1, Kd]);
  const ws = Array.from({ length: copies }, () => lb.tensor(wr, [Kd, Nd], { dtype: dt }));
  const cols = Array.from({ length: 64 }, (_, i) => (i * 2654435761 + 13) % Nd);
  const want = cols.map((n) => { let s = 0; for (let k = 0; k < Kd; k++) s += xv[k] * val(k * Nd + n, 1); return s; });
  const call = (force) => {
    let turn = 0;
    const one = () => lb.matmul(x, ws[turn++ % copies]);
    return force ? () => withConfig(force, one) : one;
  };
  const table = ['table', call(null)];
  const cands = CANDS.map(([n, mv, splits]) => [n, call({ kind: 'axpy', matvec: mv, ...(splits ? { splits } : {}) })]);
  let ref = null;
  const ok = [];
  for (const [n, fn] of [table, ...cands]) {
    try {
      const out = fn();
      const v = await out.data();
      const plan = lastPlan();
      out.dispose();
      let bad = 0;
      cols.forEach((c, i) => { if (v[c] !== want[i]) bad++; });
      let diff = 0;
      if (!ref) ref = v;
      else for (let i = 0; i < Nd; i++) if (v[i] !== ref[i] && !(Number.isNaN(v[i]) && Number.isNaN(ref[i]))) diff++;
      log(`CHECK ${shape} ${n}: ${bad} of 64 differ from the CPU sum, ${diff} of ${Nd} from the table's output; ${plan.kind} ${JSON.stringify(plan.config.matvec)}`);
      if (bad === 0 && diff === 0) ok.push([n, fn]);
    } catch (e) {
      log(`CHECK ${shape} ${n}: FAILED ${String(e.message).slice(0, 400)}`);
    }
  }
  const time = async (n, fn, warm) => {
    const recordAll = () => Array.from({ length: 100 }, () => fn());
    await warmUntilSteady(async () => (await hotBatch(lb, recordAll)).ms, warm, 300);
    const per = [];
    for (let i = 0; i < 3; i++) per.push((await hotBatch(lb, recordAll)).ms / 100);
    const us = med(per) * 1e3;
    put(`${shape} ${n}`, us);
    return us;
  };
  const readOnly = async (r) => {
    const ro = await copyBandwidth(lb.device(), Kd * Nd * el, 5, 'read', 300);
    put(`${shape} read-only kernel`, ro.ms * 1e3);
    log(`T r${r} ${shape} read-only kernel: ${(ro.ms * 1e3).toFixed(1)} us = ${pct(ro.ms * 1e3)}% of copy`);
  };
  const [tn, tfn] = ok[0][0] === 'table' ? ok[0] : table;
  const rest = ok.filter(([n]) => n !== 'table');
  const half = Math.ceil(rest.length / 2);
  for (let r = 1; r <= rounds; r++) {
    await readOnly(r);
    // A B A B: the table first (long warm-up), then the candidates with the table in the middle and at the end.
    const order = [[tn, tfn], ...rest.slice(0, half), [tn, tfn], ...rest.slice(half), [tn, tfn]];
    for (const [i, [n, fn]] of order.entries()) {
      const us = await time(n, fn, i === 0 ? 1500 : 300);
      log(`T r${r} ${shape} ${n}: ${us.toFixed(1)} us = ${pct(us)}% of copy`);
    }
  }
  x.dispose();
  ws.forEach((w) => w.dispose());
}
log(`SUMMARY (median us; % of copy ${copy.gbs.toFixed(0)} GB/s)`);
for (const [k, us] of res) {
  const [dt, kn] = k.split(' ');
  const [Kd, Nd] = kn.split('x').map(Number);
  const bytes = (Kd * Nd + Kd + Nd) * (dt === 'f16' ? 2 : 4);
  log(`  ${k}: ${med(us).toFixed(1)} us, ${((100 * bytes) / (med(us) * 1e-6) / 1e9 / copy.gbs).toFixed(0)}% [${us.map((u) => u.toFixed(1)).join(', ')}]`);
}
log('done');
await lb.shutdown();
