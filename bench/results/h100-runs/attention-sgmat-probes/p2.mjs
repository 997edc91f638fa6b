// Probe 2 (H100): (A) which branch of the old kernel broke it: single fixes applied to the old
// generated code (old_4x32_c*.wgsl) vs an f64 reference; (B) the new kernel through lb.attention in
// both rescale forms and several configurations vs the reference; (C) GPU times of the new kernel's
// configurations, and lb.attention (table default) vs the composed lbrx attention in the same run.
import fs from 'node:fs';
import { init, problem, source, runKernel, compare, fmt, timeKernel, lb } from './harness.mjs';
import { attentionTuning, attentionPlan } from './dist/ops/attention.js';
import { timeBatches } from './gpu-timing.mjs';

const dev = await init();
const D = 128;
const P = { nc: problem(2, 256, 256, D, false), c: problem(2, 256, 256, D, true) };
const old = { nc: fs.readFileSync('old_4x32_c0.wgsl', 'utf8'), c: fs.readFileSync('old_4x32_c1.wgsl', 'utf8') };
const oldPlan = { fs: 16, sg: 32, sgs: 4, bq: 64, tk: 32, kr: 64, emulate: false };

// ---- A: bisection on the old code ----
const a = [['    if (lid == 0u) { flag = 0u; }\n', '    flag = 0u;\n']];
const e = [['if (workgroupUniformLoad(&flag) != 0u) {', 'workgroupBarrier(); {']];
const mask = [[/if \(!full && j >= lim\) \{\s*s = inf_f32\(true\);\s*\} else \{\s*\}/, 's = select(s, inf_f32(true), !full && j >= lim);']];
const maxUpd = [[/if \(!is_neg_inf\(tmax\)\) \{\s*if \(is_neg_inf\(m\)\) \{[^}]*\} else if \(tmax > m \+ TAU\) \{[^}]*\}\s*\}/,
  'let live = !is_neg_inf(tmax); let grow = live && !is_neg_inf(m) && tmax > m + TAU;\n    alpha = select(1.0, exp2(m - tmax), grow); m = select(m, tmax, grow || (live && is_neg_inf(m)));\n    if (grow) { flag = 1u; }']];
const maxUpdAny = [[maxUpd[0][0], maxUpd[0][1].replace('if (grow) { flag = 1u; }', 'if (subgroupAny(grow)) { flag = 1u; }')]];
const rowa = [['if (part_ == 0u) { rowa[lrow] = alpha; }', 'rowa[lrow] = alpha;']];
const apply = (src, patches) => {
  for (const [from, to] of patches) {
    const next = typeof from === 'string' ? src.split(from).join(to) : src.replace(from, to);
    if (next === src) throw new Error(`patch not applied: ${String(from).slice(0, 60)}`);
    src = next;
  }
  return src;
};
const BISECT = [
  ['old as is', []],
  ['old + (a) flag reset by all lanes', a],
  ['old + (e) rescale unbranched', e],
  ['old + (b) mask by select', mask],
  ['old + (c) max update by select, if (grow) flag', maxUpd],
  ['old + (c\') max update by select, if (subgroupAny(grow)) flag', maxUpdAny],
  ['old + (d) rowa by all lanes', rowa],
  ['old + b c d', [...mask, ...maxUpd, ...rowa]],
  ['old + a b c\' d (rescale still branched)', [...a, ...mask, ...maxUpdAny, ...rowa]],
  ['old + a e', [...a, ...e]],
];
for (const [name, patches] of BISECT) {
  const res = [];
  for (const [tag, p] of Object.entries(P)) {
    try {
      const r = await runKernel(dev, apply(old[tag], patches), oldPlan, p);
      res.push(`${tag}: ${fmt(r.err ? { err: r.err } : compare(p, r.out))}`);
    } catch (x) {
      res.push(`${tag}: THROW ${x.message.slice(0, 160)}`);
    }
  }
  console.log(`A ${name}: ${res.join(' | ')}`);
}

// ---- B: the new kernel through lb.attention ----
async function libCheck(p, over) {
  Object.assign(attentionTuning, { force: 'sgmat', ...over });
  try {
    const mk = (a, L) => lb.tensor(Float32Array.from(a), [1, p.H, L, D], { dtype: 'f16', device: 'gpu' });
    const o = await lb.attention(mk(p.q, p.L), mk(p.k, p.S), mk(p.v, p.S), { causal: p.causal }).data();
    return compare(p, Float64Array.from(o));
  } catch (x) {
    return { err: x.message.split('\n')[0].slice(0, 200) };
  } finally {
    delete attentionTuning.force;
    delete attentionTuning.sgmat;
  }
}
const CONFIGS = [[4, 32], [2, 64], [4, 16], [2, 32], [8, 16], [1, 16]];
const good = [];
for (const rescaleBranch of [true, false]) {
  for (const [sgs, tk] of CONFIGS) {
    const over = { sgmat: { sgs, tk, rescaleBranch } };
    const r = [await libCheck(P.nc, over), await libCheck(P.c, over)];
    console.log(`B new ${sgs}x${tk} rescaleBranch=${rescaleBranch}: nc ${fmt(r[0])} | c ${fmt(r[1])}`);
    if (r.every((x) => !x.err && !x.nbad)) good.push({ sgs, tk, rescaleBranch });
  }
}

// ---- C: timings (causal B=1 H=32 L=S=4096 D=128 f16) ----
const flops = (2 * 2 * 32 * 4096 * 4096 * 128) / 2;
const tf = (ms) => (flops / ms / 1e9).toFixed(1);
const { sgmatAttentionPlan } = await import('./dist/ops/attention-sgmat.js');
const seen = new Set();
for (const cfg of [...good, { sgs: 4, tk: 32, rescaleBranch: true }, { sgs: 4, tk: 32, rescaleBranch: false }]) {
  const plan = sgmatAttentionPlan(dev, cfg, D, ['f16', 'f16', 'f16']);
  const key = JSON.stringify(plan);
  if (!plan || seen.has(key)) continue;
  seen.add(key);
  try {
    const ms = await timeKernel(dev, source(plan, D, true), plan, 32, 4096, 4096, D);
    console.log(`C kernel ${plan.sgs}x${plan.tk} kr=${plan.kr} rescaleBranch=${plan.rescaleBranch}: ${ms.toFixed(3)} ms, ${tf(ms)} TFLOP/s${good.some((g) => g.sgs === cfg.sgs && g.tk === cfg.tk && g.rescaleBranch === cfg.rescaleBranch) ? '' : ' (WRONG results)'}`);
  } catch (x) {
    console.log(`C kernel ${JSON.stringify(cfg)}: THROW ${x.message.slice(0, 160)}`);
  }
}
// lb.attention with the table's choice vs the composed lbrx attention, same process.
{
  const [B, H, L] = [1, 32, 4096];
  const q = lb.randn([B, H, L, D], { dtype: 'f16', seed: 1 });
  const k = lb.randn([B, H, L, D], { dtype: 'f16', seed: 2 });
  const v = lb.randn([B, H, L, D], { dtype: 'f16', seed: 3 });
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -Infinity;
  const mask = lb.tensor(m, [L, L], { dtype: 'f16' });
  await lb.eval();
  const scale = 1 / Math.sqrt(D);
  const plan = attentionPlan(dev, { B, Hq: H, Hkv: H, L, S: L, D }, ['f16', 'f16', 'f16']);
  const fused = () => lb.attention(q, k, v, { causal: true, scale }).realize();
  const composed = () => lb.tidy(() => lb.matmul(lb.softmax(lb.matmul(q, k, { transB: true, alpha: scale }).add(mask), -1), v).realize());
  // fused vs composed on the same inputs
  const [fo, co] = [fused(), composed()];
  const [fa, ca] = await Promise.all([fo.data(), co.data()]);
  let worst = 0;
  for (let i = 0; i < fa.length; i += 7) worst = Math.max(worst, Math.abs(fa[i] - ca[i]));
  fo.dispose(); co.dispose();
  const t1 = await timeBatches(lb, () => [fused()], 8, 5);
  const t2 = await timeBatches(lb, () => [composed()], 2, 3);
  console.log(`C lb.attention (${plan.variant} ${JSON.stringify(plan.cfg)}): ${t1.ms.toFixed(3)} ms = ${tf(t1.ms)} TFLOP/s; composed ${t2.ms.toFixed(3)} ms = ${tf(t2.ms)} TFLOP/s; ratio ${(t2.ms / t1.ms).toFixed(1)}x; max |fused - composed| (every 7th) ${worst.toExponential(2)}`);
}
