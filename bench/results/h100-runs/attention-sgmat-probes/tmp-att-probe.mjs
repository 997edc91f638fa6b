// Temporary device probe (not committed): sgmat variants vs the CPU reference on small cases.
import * as lb from './dist/index.js';
import { attentionTuning } from './dist/ops/attention.js';
await lb.init({ cacheDir: false });
function rnd(n, seed) { let s = seed; const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) % 2147483648; a[i] = (s / 2147483648) * 2 - 1; } return a; }
async function check(c) {
  const { B = 1, Hq = 2, Hkv = Hq, L, S, D, causal = false } = c;
  const qd = rnd(B * Hq * L * D, 1), kd = rnd(B * Hkv * S * D, 2), vd = rnd(B * Hkv * S * D, 3);
  const mk = (d, sh, dev) => lb.tensor(d, sh, { dtype: 'f16', device: dev });
  const g = lb.attention(mk(qd, [B, Hq, L, D], 'gpu'), mk(kd, [B, Hkv, S, D], 'gpu'), mk(vd, [B, Hkv, S, D], 'gpu'), { causal });
  const r = lb.attention(mk(qd, [B, Hq, L, D], 'cpu'), mk(kd, [B, Hkv, S, D], 'cpu'), mk(vd, [B, Hkv, S, D], 'cpu'), { causal });
  const [x, y] = await Promise.all([g.data(), r.data()]);
  let worst = 0; for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) || (Number.isNaN(x[i]) ? 99 : 0));
  if (c.dump && worst > 1e-2) for (const r of [0, 1, 5]) console.log(`  row ${r} got`, Array.from(x.slice(r * D, r * D + 6)).map((t) => t.toFixed(3)).join(' '), '| want', Array.from(y.slice(r * D, r * D + 6)).map((t) => t.toFixed(3)).join(' '));
  return worst.toExponential(1);
}
const cases = [{ Hq: 1, L: 16, S: 16, D: 16, dump: true }, { Hq: 4, Hkv: 2, L: 9, S: 23, D: 64, causal: true }, { L: 64, S: 64, D: 128 }, { L: 100, S: 300, D: 128, causal: true }];
for (const over of [{}, { sgmat: { qsplit: true } }, { sgmat: { sgs: 1, tk: 16 } }, { sgmat: { sgs: 2, tk: 32 } }, { sgmat: { sgs: 4, tk: 16 } }, { force: 'tile' }]) {
  Object.assign(attentionTuning, { force: 'sgmat', ...over });
  const out = [];
  for (const c of cases) out.push(await check(c).catch((e) => `ERR ${e.message.split('\n')[0].slice(0, 120)}`));
  console.log('probe', JSON.stringify(over), out.join(' | '));
  delete attentionTuning.sgmat; delete attentionTuning.force;
}
