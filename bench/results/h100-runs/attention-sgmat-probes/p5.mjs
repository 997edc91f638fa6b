// Probe 5 (H100): cheap speed variants of the committed subgroup-matrix attention kernel, each
// checked against an f64 reference (H=2, L=S=256, D=128) and timed (causal B=1 H=32 L=S=4096):
//   ilv    S = Q Kᵀ with the TK/16 accumulators interleaved (independent MMA chains per D step)
//          instead of one chain of D/16 dependent MMAs per key fragment;
//   pv2    P V with the two halves of the key fragments in separate chains per output fragment;
//   nopf   no prefetch registers (this step's K/V loaded and stored at the loop top);
//   pad    other pitches of ss / ps.
import { init, problem, source, runKernel, compare, fmt, timeKernel } from './harness.mjs';
import { sgmatAttentionPlan } from './dist/ops/attention-sgmat.js';

const dev = await init();
const D = 128;
const P = { nc: problem(2, 256, 256, D, false), c: problem(2, 256, 256, D, true) };
const range = (n) => Array.from({ length: n }, (_, i) => i);
const planOf = (sgs, tk) => sgmatAttentionPlan(dev, { sgs, tk }, D, ['f16', 'f16', 'f16']);

const ilvScores = (plan) => {
  const nk = plan.tk / 16, nd = D / 16;
  return [
    '{',
    `  ${range(nk).map((kf) => `var s${kf} = Acc();`).join(' ')}`,
    ...range(nd).flatMap((f) => range(nk).flatMap((kf) => [
      `  let k${kf}_${f} = subgroupMatrixLoad<Right>(&ks, ${kf * 16}u * KP + ${f * 16}u, true, KP);`,
      `  s${kf} = subgroupMatrixMultiplyAccumulate(q${f}, k${kf}_${f}, s${kf});`,
    ])),
    ...range(nk).map((kf) => `  subgroupMatrixStore(&ss, sg * FS * SP + ${kf * 16}u, s${kf}, false, SP);`),
    '}',
  ].join('\n    ');
};
const pvOrder = (plan) => {
  const nk = plan.tk / 16, nd = D / 16;
  return [
    ...range(nk).map((kf) => `let p${kf} = subgroupMatrixLoad<Left>(&ps, sg * FS * PP + ${kf * 16}u, false, PP);`),
    // key fragment outer, output fragments inner: nd independent chains per step
    ...range(nk).flatMap((kf) => range(nd).map((f) => `{ let v = subgroupMatrixLoad<Right>(&vs, ${kf * 16}u * KP + ${f * 16}u, false, KP); o${f} = subgroupMatrixMultiplyAccumulate(p${kf}, v, o${f}); }`)),
  ].join('\n    ');
};
const V = {
  committed: () => ({}),
  ilv: (plan) => ({ over: { SG_SCORES: ilvScores(plan) } }),
  'ilv+pv2': (plan) => ({ over: { SG_SCORES: ilvScores(plan), SG_PV: pvOrder(plan) } }),
  'ilv+nopf': (plan) => ({ over: (c) => ({ SG_SCORES: ilvScores(plan), SG_FETCH: '', SG_PUT: `{ let jn = j0;\n${c.SG_FETCH}\n}\n${c.SG_PUT}` }) }),
  'ilv+pad': () => ({ over: {}, patches: [['const SP: u32 = TK + 4u;', 'const SP: u32 = TK + 8u;'], ['const PP: u32 = TK + 8u;', 'const PP: u32 = TK + 16u;']] }),
};
V['ilv+pad'] = (plan) => ({ over: { SG_SCORES: ilvScores(plan) }, patches: [['const SP: u32 = TK + 4u;', 'const SP: u32 = TK + 8u;'], ['const PP: u32 = TK + 8u;', 'const PP: u32 = TK + 16u;']] });

const RUNS = [
  ['committed', [4, 32]], ['ilv', [4, 32]], ['ilv', [2, 64]], ['ilv', [4, 16]], ['ilv', [2, 32]],
  ['ilv+pv2', [4, 32]], ['ilv+nopf', [4, 32]], ['ilv+pad', [4, 32]], ['committed', [2, 64]], ['committed', [4, 32]],
];
const flops = (2 * 2 * 32 * 4096 * 4096 * 128) / 2;
for (const [name, [sgs, tk]] of RUNS) {
  const plan = planOf(sgs, tk);
  const opts = V[name](plan);
  const res = [];
  let ok = true;
  for (const [tag, p] of Object.entries(P)) {
    try {
      const r = await runKernel(dev, source(plan, D, p.causal, opts), plan, p);
      const c = r.err ? { err: r.err } : compare(p, r.out);
      if (c.err || c.nbad) ok = false;
      res.push(`${tag}: ${fmt(c)}`);
    } catch (x) {
      ok = false;
      res.push(`${tag}: THROW ${x.message.slice(0, 200)}`);
    }
  }
  let t = '';
  try {
    const ms = await timeKernel(dev, source(plan, D, true, opts), plan, 32, 4096, 4096, D);
    t = `${ms.toFixed(3)} ms, ${(flops / ms / 1e9).toFixed(1)} TFLOP/s`;
  } catch (x) {
    t = `time THROW ${x.message.slice(0, 160)}`;
  }
  console.log(`E ${name} ${plan.sgs}x${plan.tk}: ${t}${ok ? '' : ' (WRONG)'} | ${res.join(' | ')}`);
}
