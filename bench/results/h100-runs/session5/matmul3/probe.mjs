// H100 probe (session 5 part 3, issue 4): f32 tiled matmul with B transposed ([N, K] weights) and
// with a fused bias + gelu + residual epilogue. Cases (env CASES, comma list): tb (4096^3 B
// transposed), pl (4096^3 plain), ep (4096^3 bias + gelu + residual), en (bias + residual), eg
// (gelu alone), w4 (512x4096x4096 B transposed), w11 (512x11008x4096 B transposed). SET=1: run 1's lists
// (its sw / eb parameters were removed after the run). Per case: the table default's output is the
// reference; every candidate (a tile config, split-K count, or the epilogue's scalar loads) is
// checked against it (integer data: exact; the epilogue within 1e-5 relative), then all are timed
// in ROUNDS interleaved rounds (timeBatches: heater, warm until steady), the table default first,
// in the middle and last of each round. cuBLAS f32 (TF32 off, cublas32.py) in the same process.
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import * as lb from './dist/index.js';
import { lastPlan, withConfig } from './dist/ops/matmul-gpu.js';
import { timeBatches } from './gpu-timing.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const S = Number(process.env.SCALE ?? 1); // < 1: a smoke test on a CPU adapter
const CASES = (process.env.CASES ?? (process.env.SET === '1' ? 'tb,w4,w11,ep,pl' : 'tb,w4,w11,ep,en,eg')).split(',');
const t0 = performance.now();
const log = (s) => {
  s = `[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`;
  console.log(s);
  if (process.env.OUT) appendFileSync(`${process.env.OUT}/probe.txt`, s + '\n');
};
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const t = (bm, bn, bk, tm, tn, more = {}) => ({ bm, bn, bk, tm, tn, ...more });
const CK16 = (more = {}) => t(128, 128, 16, 8, 8, { lx: 8, ck: true, ...more });
const FLAT64 = t(64, 128, 8, 8, 8, { lx: 8, unroll: true, pl: true });
const CK64 = (more = {}) => t(64, 128, 8, 8, 8, { lx: 8, ck: true, pl: true, ...more });
// [name, forced config] (run 1: SET=1; run 2, the default: after the bT default became FLAT64).
const AR64 = { ...FLAT64, ar: true };
const CANDS = process.env.SET === '1' ? {
  tb: [
    ['128x128x16 ck', { tile: CK16() }], ['128x128x16 ck sw', { tile: CK16({ sw: true }) }],
    ['128x128x16 ck pl sw', { tile: CK16({ pl: true, sw: true }) }], ['64x128x8 flat unroll pl', { tile: FLAT64 }],
    ['64x128x8 ck pl sw', { tile: CK64({ sw: true }) }],
  ],
  pl: [['128x128x16 ck sw', { tile: CK16({ sw: true }) }]],
  ep: [
    ['scalar epilogue (before)', { scalarEpilogue: true }], ['eb', { tile: CK16({ eb: true }) }],
    ['eb scalar', { tile: CK16({ eb: true }), scalarEpilogue: true }], ['no epilogue', { plain: true }],
  ],
  w4: [
    ['ck pl s1', { tile: CK16({ pl: true }), splits: 1 }], ['ck pl s2', { tile: CK16({ pl: true }), splits: 2 }],
    ['ck sw s2', { tile: CK16({ sw: true }), splits: 2 }], ['ck pl sw s2', { tile: CK16({ pl: true, sw: true }), splits: 2 }],
    ['64 flat pl (auto s3)', { tile: FLAT64 }], ['64 flat pl s2', { tile: FLAT64, splits: 2 }],
    ['64 ck pl sw (auto)', { tile: CK64({ sw: true }) }],
  ],
  w11: [
    ['ck pl s2', { tile: CK16({ pl: true }), splits: 2 }], ['ck sw', { tile: CK16({ sw: true }) }], ['ck pl sw', { tile: CK16({ pl: true, sw: true }) }],
    ['64 flat pl', { tile: FLAT64 }], ['64 ck pl sw', { tile: CK64({ sw: true }) }],
  ],
} : {
  tb: [
    ['old table 128x128x16 ck pl', { tile: CK16({ pl: true }) }], ['128x128x16 ck', { tile: CK16() }], ['64 flat pl ar', { tile: AR64 }],
    ['128x128x8 flat unroll pl', { tile: t(128, 128, 8, 8, 8, { lx: 8, unroll: true, pl: true }) }],
    ['64x128x8 flat unroll pl lx16', { tile: t(64, 128, 8, 8, 8, { unroll: true, pl: true }) }],
  ],
  w4: [
    ['old table ck pl (auto s5)', { tile: CK16({ pl: true }) }], ['ck pl s1', { tile: CK16({ pl: true }), splits: 1 }],
    ['64 flat pl s1', { tile: FLAT64, splits: 1 }], ['64 flat pl s4', { tile: FLAT64, splits: 4 }], ['64 flat pl ar', { tile: AR64 }],
  ],
  w11: [['old table ck pl', { tile: CK16({ pl: true }) }], ['64 flat pl ar', { tile: AR64 }]],
  ep: [
    ['ea', { tile: CK16({ ea: true }) }], ['ck pl', { tile: CK16({ pl: true }) }], ['scalar epilogue (before)', { scalarEpilogue: true }],
    ['no epilogue', { plain: true }], ['flat 128x128x16 unroll pl', { tile: t(128, 128, 16, 8, 8, { lx: 8, unroll: true, pl: true }) }],
  ],
  en: [['ea', { tile: CK16({ ea: true }) }], ['no epilogue', { plain: true }]],
  eg: [['ea', { tile: CK16({ ea: true }) }], ['no epilogue', { plain: true }]],
};
const SHAPES = {
  tb: [4096, 4096, 4096, 'T'], pl: [4096, 4096, 4096, ''], ep: [4096, 4096, 4096, 'E'], w4: [512, 4096, 4096, 'T'], w11: [512, 4096, 11008, 'T'],
  en: [4096, 4096, 4096, 'N'], eg: [4096, 4096, 4096, 'G'],
};

const cublas = (tag, shapes) => {
  try {
    log(execSync(`python3 cublas32.py ${tag} ${shapes}`, { encoding: 'utf8', timeout: 90000 }).trim());
  } catch (e) {
    log(`CUBLAS ${tag}: failed ${String(e.message).slice(0, 200)}`);
  }
};

await lb.init({ cacheDir: false });
const info = lb.device().adapter.info ?? {};
log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; rounds ${ROUNDS}, cases ${CASES}`);
if (S === 1 && !process.env.NOCUBLAS) cublas('c1', '4096x4096x4096 4096x4096x4096T 512x4096x4096T 512x4096x11008T');
const ints = (n, mul, add) => Float32Array.from({ length: n }, (_, i) => ((i * mul + add) % 5) - 2);
const summary = [];

for (const cs of CASES) {
  const [m0, k0, n0, kind] = SHAPES[cs];
  const [m, k, n] = [m0, k0, n0].map((d) => Math.max(64, Math.round(d * S)));
  const a = lb.tensor(ints(m * k, 7919, 3), [m, k]);
  const b = lb.tensor(ints(k * n, 104729, 1), kind === 'T' ? [n, k] : [k, n]);
  // E: bias + gelu + residual; N: bias + residual; G: gelu alone.
  const loads = () => ({ bias: lb.tensor(ints(n, 3, 0), [n]), residual: lb.tensor(ints(m * n, 5, 1), [m, n]) });
  const el = kind === 'E' ? { ...loads(), activation: 'gelu' } : kind === 'N' ? loads() : kind === 'G' ? { activation: 'gelu' } : {};
  const call = () => lb.matmul(a, b, { transB: kind === 'T', ...el });
  const plainCall = () => lb.matmul(a, b);
  const ref = await call().data();
  const tableCfg = JSON.stringify(lastPlan().config.tile);
  log(`CASE ${cs} ${m}x${k}x${n}: table ${tableCfg}`);
  const ok = [['table', call]];
  for (const [name, f] of CANDS[cs]) {
    const fn = f.plain ? plainCall : () => withConfig({ kind: 'tile', ...f }, call);
    try {
      const c0 = performance.now();
      const v = await fn().data();
      let diff = 0;
      if (!f.plain) for (let i = 0; i < v.length; i++) if ('EGN'.includes(kind) ? Math.abs(v[i] - ref[i]) > 1e-5 * Math.abs(ref[i]) + 1e-5 : v[i] !== ref[i]) diff++;
      const ran = JSON.stringify(lastPlan().config.tile);
      const same = !f.tile || ran === JSON.stringify(f.tile);
      log(`CHECK ${cs} ${name}: ${diff} differ${same ? '' : ` (other config ran: ${ran})`} (${((performance.now() - c0) / 1000).toFixed(1)} s incl. compile)`);
      if (diff === 0 && same) ok.push([name, fn]);
    } catch (e) {
      log(`CHECK ${cs} ${name}: FAILED ${String(e.message).slice(0, 300)}`);
    }
  }
  const flops = 2 * m * n * k;
  const res = new Map();
  const measure = async (r, name, fn, warm) => {
    const x = await timeBatches(lb, fn, m < 1024 ? 40 : 10, 3, warm);
    const tf = flops / x.ms / 1e9;
    if (!res.has(name)) res.set(name, []);
    res.get(name).push(tf);
    log(`T ${cs} r${r} ${name}: ${x.ms.toFixed(3)} ms = ${tf.toFixed(1)} TFLOP/s (${(flops / x.max / 1e9).toFixed(1)}-${(flops / x.min / 1e9).toFixed(1)}; ${x.dispatchesPerEval} dispatches)`);
  };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [i, [name, fn]] of ok.entries()) {
      await measure(r, name, fn, i === 0 ? 1200 : 300);
      if (i === ok.length >> 1 && i > 0) await measure(r, 'table', call, 300);
    }
    await measure(r, 'table', call, 300);
  }
  const ranked = [...res.entries()].map(([name, xs]) => ({ name, tf: med(xs), xs })).sort((x, y) => y.tf - x.tf);
  summary.push(`SUMMARY ${cs} ${m}x${k}x${n} (median TFLOP/s):`);
  for (const q of ranked) summary.push(`  ${q.tf.toFixed(1)}  ${q.name}  [${q.xs.map((x) => x.toFixed(1)).join(', ')}]`);
  for (const x of [a, b, ...Object.values(el).filter((v) => typeof v === 'object')]) x.dispose();
}
for (const s of summary) log(s);
log('done');
await lb.shutdown();
