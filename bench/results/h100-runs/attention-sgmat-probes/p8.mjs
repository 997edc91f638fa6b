// Probe 8 (H100): subgroup-matrix attention plans with S and O split between subgroups in shares
// of sr / or fragment rows (each K / V fragment loaded from workgroup memory feeds sr / or
// multiplies), against the table's default in the same process. Each plan is first checked
// against the composed lbrx ops (softmax(Q Kᵀ s + mask) V) on 1x2x256x128 causal and not, then
// timed on B=1 H=32 L=S=4096 D=128 causal f16 (checked against the composed ops there too).
// GPU time by bench/gpu-timing.mjs (1 s warm-up, 8 evaluations per batch, median of 5).
// Usage: node p8.mjs '<JSON list of sgmat configs>' ({} = the table's default).
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { attentionTuning, attentionPlan } from './dist/ops/attention.js';
import { timeBatches } from './gpu-timing.mjs';

// P8_FAST=1: Dawn's fast mode (no robustness clamps, validation or workgroup zero-init), for comparison.
await lb.init({ cacheDir: false, fast: !!process.env.P8_FAST });
const dev = requireDevice('probe');
const info = dev.adapter.info ?? {};
console.log(`adapter ${info.vendor} ${info.description ?? ''} configs ${JSON.stringify((info.subgroupMatrixConfigs ?? []).map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`))}`);
const configs = JSON.parse(process.argv[2] ?? '[{}]');

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

const small = problem(2, 256, 128, 11);
const smallRef = { c: await reference(small, true), nc: await reference(small, false) };
const N = process.env.P8_SMOKE ? 128 : 4096; // P8_SMOKE: a syntax run on a slow adapter
const big = problem(process.env.P8_SMOKE ? 2 : 32, N, 128, 1);
const bigRef = await reference(big, true);
const flops = (2 * 2 * big.H * N * N * 128) / 2;
const tf = (ms) => (flops / ms / 1e9).toFixed(1);
for (const sgmat of configs) {
  if (Object.keys(sgmat).length) attentionTuning.sgmat = sgmat;
  try {
    const plan = attentionPlan(dev, { B: 1, Hq: big.H, Hkv: big.H, L: N, S: N, D: 128 }, ['f16', 'f16', 'f16']);
    const ec = await worst(fusedOf(small, true), smallRef.c);
    const en = await worst(fusedOf(small, false), smallRef.nc);
    const eb = await worst(fusedOf(big, true), bigRef);
    const t = await timeBatches(lb, () => [fusedOf(big, true)()], 8, process.env.P8_SMOKE ? 1 : 5, process.env.P8_SMOKE ? 0 : 1000);
    const c = plan.cfg;
    console.log(`F${process.env.P8_FAST ? ' fast' : ''} ${JSON.stringify(sgmat)} ${plan.variant} ${c.sgs}x${c.tk} rf ${c.rf} sr ${c.sr} or ${c.or}${c.db ? ' db' : ''}${c.qs ? ' qs' : ''}${c.pf ? ' pf' : ''}${c.cl ? ' cl' : ''} kr ${c.kr}: ${t.ms.toFixed(3)} ms (min ${t.min.toFixed(3)}) = ${tf(t.ms)} TFLOP/s; max |fused - composed| 2x256x128 causal ${ec.toExponential(2)}, non-causal ${en.toExponential(2)}, ${big.H}x${N}x128 causal ${eb.toExponential(2)}`);
  } catch (e) {
    console.log(`F ${JSON.stringify(sgmat)}: ERROR ${String(e.message ?? e).slice(0, 300)}`);
  } finally {
    delete attentionTuning.sgmat;
  }
}
