// Probe 9 (H100): subgroup-matrix attention plans in Dawn's default mode, in the default mode with
// Tint's integer range analysis in the robustness pass (toggle enable_integer_range_analysis_in_robustness:
// clamps it can prove unneeded are dropped; still robust), and in fast mode (robustness off).
// Each plan is checked against the composed lbrx ops (softmax(Q Kᵀ s + mask) V) on 1x2x256x128
// causal and not and on the timed case, then timed on B=1 H=32 L=S=4096 D=128 causal f16 with
// bench/gpu-timing.mjs (warmUntilSteady, 8 evaluations per batch, median of 5).
// Usage: node p9.mjs '<JSON: [[mode, [configs...]], ...]>' or a .json file holding it (mode:
// default | ira | fast; {} = the table's default; other entries are merged over it).
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { platform } from './dist/platform/node.js';
import { attentionTuning, attentionPlan } from './dist/ops/attention.js';
import { timeBatches } from './gpu-timing.mjs';

import { readFileSync } from 'node:fs';

const arg = process.argv[2];
const schedule = JSON.parse(arg.endsWith('.json') ? readFileSync(arg, 'utf8') : arg);
const getGpu = platform.getGpu.bind(platform);
let extraToggles = [];
platform.getGpu = (req) => getGpu({ ...req, enableToggles: [...req.enableToggles, ...extraToggles] });
const N = process.env.P9_SMOKE ? 128 : 4096; // P9_SMOKE: a syntax run on a slow adapter
const H = process.env.P9_SMOKE ? 2 : 32;

function causalMask(L, S) {
  const m = new Float32Array(L * S);
  for (let i = 0; i < L; i++) for (let j = i + S - L + 1; j < S; j++) m[i * S + j] = -Infinity;
  return lb.tensor(m, [L, S], { dtype: 'f16' });
}
function problem(H, L, D, seed) {
  const q = lb.randn([1, H, L, D], { dtype: 'f16', seed });
  const k = lb.randn([1, H, L, D], { dtype: 'f16', seed: seed + 1 });
  const v = lb.randn([1, H, L, D], { dtype: 'f16', seed: seed + 2 });
  return { H, L, D, q, k, v, scale: 1 / Math.sqrt(D), mask: causalMask(L, L) };
}
async function reference(p, causal) {
  const r = lb.tidy(() => {
    const s = lb.matmul(p.q, p.k, { transB: true, alpha: p.scale });
    return lb.matmul(lb.softmax(causal ? s.add(p.mask) : s, -1), p.v).realize();
  });
  const a = await r.data();
  r.dispose();
  return a;
}
const fusedOf = (p, causal) => () => lb.attention(p.q, p.k, p.v, { causal, scale: p.scale }).realize();
async function worst(fused, ref) {
  const o = fused();
  const a = await o.data();
  o.dispose();
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Number.isNaN(a[i]) ? Infinity : Math.abs(a[i] - ref[i]));
  return w;
}
const flops = (2 * 2 * H * N * N * 128) / 2;
const tf = (ms) => (flops / ms / 1e9).toFixed(1);
const tag = (c) => `${c.sgs}x${c.tk} rf ${c.rf} sr ${c.sr} or ${c.or}${['db', 'qs', 'pf', 'cl', 'ka', 'cf', 'rk'].filter((k) => c[k]).map((k) => ` ${k}`).join('')}`;

for (const [mode, configs] of schedule) {
  extraToggles = mode === 'ira' ? ['enable_integer_range_analysis_in_robustness'] : [];
  await lb.init({ cacheDir: false, fast: mode === 'fast' });
  const dev = requireDevice('probe');
  console.log(`== mode ${mode}: device toggles ${JSON.stringify(dev.toggles)}, added to the instance ${JSON.stringify(extraToggles)}`);
  const small = problem(2, 256, 128, 11);
  const smallRef = { c: await reference(small, true), nc: await reference(small, false) };
  const big = problem(H, N, 128, 1);
  const bigRef = await reference(big, true);
  for (const sgmat of configs) {
    if (Object.keys(sgmat).length) attentionTuning.sgmat = sgmat;
    try {
      const plan = attentionPlan(dev, { B: 1, Hq: H, Hkv: H, L: N, S: N, D: 128 }, ['f16', 'f16', 'f16']);
      const t0 = performance.now();
      const ec = await worst(fusedOf(small, true), smallRef.c);
      const compileMs = performance.now() - t0;
      const en = await worst(fusedOf(small, false), smallRef.nc);
      const eb = await worst(fusedOf(big, true), bigRef);
      const t = await timeBatches(lb, () => [fusedOf(big, true)()], 8, process.env.P9_SMOKE ? 1 : 5, process.env.P9_SMOKE ? 0 : 1000);
      console.log(`F ${mode} ${JSON.stringify(sgmat)} ${plan.variant} ${tag(plan.cfg)}: ${t.ms.toFixed(3)} ms (min ${t.min.toFixed(3)}, max ${t.max.toFixed(3)}) = ${tf(t.ms)} TFLOP/s; ` +
        `max |fused - composed| 2x256x128 causal ${ec.toExponential(2)}, non-causal ${en.toExponential(2)}, ${H}x${N}x128 causal ${eb.toExponential(2)}; first call ${compileMs.toFixed(0)} ms`);
    } catch (e) {
      console.log(`F ${mode} ${JSON.stringify(sgmat)}: ERROR ${String(e.message ?? e).slice(0, 400)}`);
    } finally {
      delete attentionTuning.sgmat;
    }
  }
  for (const t of [small.q, small.k, small.v, small.mask, big.q, big.k, big.v, big.mask]) t.dispose();
}
process.exit(0);
