// Probe 6 (H100): lb.attention prefill (B=1 H=32 L=S=4096 D=128 causal f16) with the table's
// kernel and other subgroup-matrix configurations, the register-tiled kernel, and the same
// attention composed of lbrx ops, one process; GPU time by bench/gpu-timing.mjs (1 s warm-up,
// K evaluations per batch submit to done). PyTorch SDPA runs after it in the same device call.
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
const tc = await timeBatches(lb, () => [composed()], 2, 3);
const rows = [];
for (const over of [{}, { sgmat: { sgs: 4, tk: 16 } }, { sgmat: { sgs: 2, tk: 64 } }, { sgmat: { sgs: 2, tk: 32 } }, { force: 'tile' }, {}]) {
  Object.assign(attentionTuning, over);
  try {
    const plan = attentionPlan(dev, { B, Hq: H, Hkv: H, L, S: L, D }, ['f16', 'f16', 'f16']);
    const err = await check();
    const t = await timeBatches(lb, () => [fused()], plan.variant === 'tile' ? 2 : 8, 5);
    rows.push(`F ${JSON.stringify(over)} ${plan.variant} ${JSON.stringify(plan.cfg)}: ${t.ms.toFixed(3)} ms = ${tf(t.ms)} TFLOP/s, ${(tc.ms / t.ms).toFixed(1)}x composed; max |fused - composed| ${err.toExponential(2)}`);
  } finally {
    delete attentionTuning.sgmat;
    delete attentionTuning.force;
  }
  console.log(rows[rows.length - 1]);
}
console.log(`F composed lbrx ops: ${tc.ms.toFixed(3)} ms = ${tf(tc.ms)} TFLOP/s`);
