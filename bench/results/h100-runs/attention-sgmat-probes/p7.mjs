// Probe 7 (H100): lb.attention prefill (B=1 H=32 L=S=4096 D=128 causal f16) forced to subgroup-
// matrix plans: one vs two row fragments per subgroup (rf), one vs two K/V buffers (db), against
// the table's default in the same process; each checked against the composed lbrx ops first.
// GPU time by bench/gpu-timing.mjs (1 s warm-up, K evaluations per batch, submit to done).
// PyTorch SDPA (torch_sdpa.py) runs after it in the same device call.
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { attentionTuning, attentionPlan } from './dist/ops/attention.js';
import { timeBatches } from './gpu-timing.mjs';

await lb.init({ cacheDir: false });
const dev = requireDevice('probe');
const [B, H, L, D] = [1, 32, 4096, 128];
const q = lb.randn([B, H, L, D], { dtype: 'f16', seed: 1 });
const k = lb.randn([B, H, L, D], { dtype: 'f16', seed: 2 });
const v = lb.randn([B, H, L, D], { dtype: 'f16', seed: 3 });
const m = new Float32Array(L * L);
for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -Infinity;
const mask = lb.tensor(m, [L, L], { dtype: 'f16' });
await lb.eval();
const scale = 1 / Math.sqrt(D);
const flops = (2 * 2 * B * H * L * L * D) / 2;
const tf = (ms) => (flops / ms / 1e9).toFixed(1);
const fused = () => lb.attention(q, k, v, { causal: true, scale }).realize();
const composed = () => lb.tidy(() => lb.matmul(lb.softmax(lb.matmul(q, k, { transB: true, alpha: scale }).add(mask), -1), v).realize());
const ref = composed();
const refData = await ref.data();
async function check() {
  const o = fused();
  const a = await o.data();
  o.dispose();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - refData[i]) || (Number.isNaN(a[i]) ? Infinity : 0));
  return worst;
}
// Run 1 (argument 'rf-db'): two row fragments, two buffers. Run 2 (default): more subgroups, Q reloaded from workgroup memory (qs).
const SETS = {
  'rf-db': [{}, { sgs: 4, tk: 32, rf: 2 }, { sgs: 2, tk: 32, rf: 2 }, { sgs: 4, tk: 16, rf: 2 }, { sgs: 4, tk: 32, db: true },
    { sgs: 2, tk: 32, rf: 2, db: true }, { sgs: 4, tk: 16, rf: 2, db: true }, { sgs: 4, tk: 16, db: true }, { sgs: 8, tk: 16, db: true },
    { sgs: 8, tk: 16 }, {}],
  qs: [{}, { sgs: 8, tk: 16 }, { sgs: 8, tk: 32 }, { sgs: 16, tk: 16 }, { sgs: 4, tk: 32, qs: true }, { sgs: 4, tk: 16, qs: true },
    { sgs: 4, tk: 16, qs: true, db: true }, { sgs: 2, tk: 32, rf: 2, qs: true }, { sgs: 2, tk: 16, rf: 2, qs: true }, { sgs: 2, tk: 16, rf: 2, qs: true, db: true },
    { sgs: 8, tk: 16 }, {}],
};
const arg = process.argv[2] ?? 'qs';
const configs = SETS[arg] ?? JSON.parse(arg);
for (const sgmat of configs) {
  if (Object.keys(sgmat).length) attentionTuning.sgmat = sgmat;
  try {
    const plan = attentionPlan(dev, { B, Hq: H, Hkv: H, L, S: L, D }, ['f16', 'f16', 'f16']);
    const err = await check();
    const t = await timeBatches(lb, () => [fused()], 8, 5);
    console.log(`F ${JSON.stringify(sgmat)} ${plan.variant} ${JSON.stringify(plan.cfg)}: ${t.ms.toFixed(3)} ms (min ${t.min.toFixed(3)}) = ${tf(t.ms)} TFLOP/s; max |fused - composed| ${err.toExponential(2)}`);
  } catch (e) {
    console.log(`F ${JSON.stringify(sgmat)}: ERROR ${String(e.message ?? e).slice(0, 300)}`);
  } finally {
    delete attentionTuning.sgmat;
  }
}
