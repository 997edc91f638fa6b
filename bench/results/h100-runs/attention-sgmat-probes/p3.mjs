// Probe 3 (H100): (A) the root cause on the old generated code (old_4x32_c*.wgsl): its 4-byte
// workgroup `flag`; (B) the new kernel through lb.attention in several configurations vs the reference; (C) GPU times of the new kernel's
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

// ---- A: the root cause on the old code: its lone `var<workgroup> flag: u32` ----
const apply = (src, patches) => {
  for (const [from, to] of patches) {
    const next = typeof from === 'string' ? src.split(from).join(to) : src.replace(from, to);
    if (next === src) throw new Error(`patch not applied: ${String(from).slice(0, 60)}`);
    src = next;
  }
  return src;
};
const flagVec = [['var<workgroup> flag: u32;', 'var<workgroup> flag: vec4<u32>;'], [/flag = (\d)u;/g, 'flag.x = $1u;'], ['workgroupUniformLoad(&flag)', 'workgroupUniformLoad(&flag).x']];
const flagPad = [['var<workgroup> flag: u32;', 'var<workgroup> flag: u32;\nvar<workgroup> flag_pad: array<u32, 3>;'], ['if (lid == 0u) { flag = 0u; }', 'if (lid == 0u) { flag = 0u; flag_pad[lid % 3u] = 0u; }']];
const newFlagU32 = [['var<workgroup> flag: vec4<u32>;', 'var<workgroup> flag: u32;'], [/flag\.x = /g, 'flag = '], ['workgroupUniformLoad(&flag).x', 'workgroupUniformLoad(&flag)']];
const A_VARIANTS = [
  ['old as is', old, []],
  ['old, flag as vec4<u32>', old, flagVec],
  ['old, flag u32 + live array<u32, 3> after it', old, flagPad],
];
for (const [name, srcs, patches] of A_VARIANTS) {
  const res = [];
  for (const [tag, p] of Object.entries(P)) {
    try {
      const r = await runKernel(dev, apply(srcs[tag], patches), oldPlan, p);
      res.push(`${tag}: ${fmt(r.err ? { err: r.err } : compare(p, r.out))}`);
    } catch (x) {
      res.push(`${tag}: THROW ${x.message.slice(0, 160)}`);
    }
  }
  console.log(`A ${name}: ${res.join(' | ')}`);
}
{
  const { sgmatAttentionPlan } = await import('./dist/ops/attention-sgmat.js');
  const plan = sgmatAttentionPlan(dev, { sgs: 4, tk: 32 }, D, ['f16', 'f16', 'f16']);
  const res = [];
  for (const [tag, p] of Object.entries(P)) {
    const r = await runKernel(dev, apply(source(plan, D, p.causal), newFlagU32), plan, p);
    res.push(`${tag}: ${fmt(r.err ? { err: r.err } : compare(p, r.out))}`);
  }
  console.log(`A new kernel with flag back to u32: ${res.join(' | ')}`);
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
for (const [sgs, tk] of CONFIGS) {
  const over = { sgmat: { sgs, tk } };
  const r = [await libCheck(P.nc, over), await libCheck(P.c, over)];
  console.log(`B new ${sgs}x${tk}: nc ${fmt(r[0])} | c ${fmt(r[1])}`);
  if (r.every((x) => !x.err && !x.nbad)) good.push({ sgs, tk });
}

// ---- C: timings (causal B=1 H=32 L=S=4096 D=128 f16) ----
const flops = (2 * 2 * 32 * 4096 * 4096 * 128) / 2;
const tf = (ms) => (flops / ms / 1e9).toFixed(1);
const { sgmatAttentionPlan } = await import('./dist/ops/attention-sgmat.js');
const seen = new Set();
// the old kernel (its loop-indexed softmax arrays and branches) with only the flag fixed, as a same-run baseline
try {
  const ms = await timeKernel(dev, apply(old.c, flagVec), oldPlan, 32, 4096, 4096, D);
  console.log(`C old kernel 4x32, flag fixed: ${ms.toFixed(3)} ms, ${tf(ms)} TFLOP/s`);
} catch (x) {
  console.log(`C old kernel: THROW ${x.message.slice(0, 160)}`);
}
for (const cfg of [...good, { sgs: 4, tk: 32 }]) {
  const plan = sgmatAttentionPlan(dev, cfg, D, ['f16', 'f16', 'f16']);
  const key = JSON.stringify(plan);
  if (!plan || seen.has(key)) continue;
  seen.add(key);
  try {
    const ms = await timeKernel(dev, source(plan, D, true), plan, 32, 4096, 4096, D);
    console.log(`C kernel ${plan.sgs}x${plan.tk} kr=${plan.kr}: ${ms.toFixed(3)} ms, ${tf(ms)} TFLOP/s${good.some((g) => g.sgs === cfg.sgs && g.tk === cfg.tk) ? '' : ' (WRONG results)'}`);
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
