// Probe 4 (H100): speed of the subgroup-matrix attention kernel with K and V fragments loaded by
// subgroupMatrixLoad straight from storage (aliased f16 bindings 9, 10; no K/V tiles in workgroup
// memory, 2 barriers per step instead of 4) and optionally Q too (binding 8, no Q staging), vs the
// committed kernel; each variant checked against an f64 reference first (H=2, L=S=256, D=128).
import { init, problem, source, runKernel, compare, fmt, timeKernel } from './harness.mjs';
import { sgmatAttentionPlan } from './dist/ops/attention-sgmat.js';

const dev = await init();
const D = 128;
const P = { nc: problem(2, 256, 256, D, false), c: problem(2, 256, 256, D, true) };
const planOf = (sgs, tk) => ({ fs: 16, sg: 32, sgs, bq: sgs * 16, tk, kr: Math.max(tk, sgs * 16), emulate: false });

const bindingsKV = '@group(0) @binding(9) var<storage, read> kh: array<f16>;\n@group(0) @binding(10) var<storage, read> vh: array<f16>;\n@group(0) @binding(4)';
const directKV = {
  over: { SG_PUT: '', SG_FETCH: '', SG_PF_DECL: '' },
  patches: [
    ['@group(0) @binding(4)', bindingsKV],
    [/subgroupMatrixLoad<Right>\(&ks, (\d+)u \* KP \+ (\d+)u, true, KP\)/g, 'subgroupMatrixLoad<Right>(&kh, kbase + (j0 + $1u) * params.k_ss + $2u, true, params.k_ss)'],
    [/subgroupMatrixLoad<Right>\(&vs, (\d+)u \* KP \+ (\d+)u, false, KP\)/g, 'subgroupMatrixLoad<Right>(&vh, vbase + (j0 + $1u) * params.v_ss + $2u, false, params.v_ss)'],
    [/ {4}workgroupBarrier\(\);\n {4}\n {4}workgroupBarrier\(\);\n/, ''],
    ['var<workgroup> vs: array<f16, TK * KP>;', ''],
    [/fn put_vs\(p: u32, w: vec4<u32>\) \{[^}]*\}/, ''],
  ],
  bind: { 9: 2, 10: 3 },
  drop: [2, 3],
};
const directQ = {
  patches: [
    ['@group(0) @binding(4)', '@group(0) @binding(8) var<storage, read> qh: array<f16>;\n@group(0) @binding(4)'],
    ['  stage_q(b, hk, r0, r1, lid);\n', '  flag.x = 0u;\n'],
    [/subgroupMatrixLoad<Left>\(&ks, sg \* FS \* KP \+ (\d+)u, false, KP\)/g, 'subgroupMatrixLoad<Left>(&qh, q_row(b, hk, r0 + sg * FS) + $1u, false, params.q_sl)'],
    [/const KR: u32 = \d+u;/, 'const KR: u32 = 8u;'],
  ],
  bind: { 8: 1 },
  drop: [1],
};
const both = { over: directKV.over, patches: [...directKV.patches, ...directQ.patches], bind: { ...directKV.bind, ...directQ.bind }, drop: [...directKV.drop, ...directQ.drop] };

const VARIANTS = [
  ['committed', (sgs, tk) => sgmatAttentionPlan(dev, { sgs, tk }, D, ['f16', 'f16', 'f16']), {}, [[4, 32]]],
  ['direct K,V', planOf, directKV, [[4, 32], [4, 16]]],
  ['direct Q,K,V', planOf, both, [[4, 32], [8, 32], [4, 64], [8, 16], [2, 64], [4, 16]]],
];
const flops = (2 * 2 * 32 * 4096 * 4096 * 128) / 2;
for (const [name, mkPlan, v, cfgs] of VARIANTS) {
  for (const [sgs, tk] of cfgs) {
    const plan = mkPlan(sgs, tk);
    const label = `${name} ${plan.sgs}x${plan.tk}`;
    const opts = { over: v.over ?? {}, patches: v.patches ?? [] };
    const res = [];
    let ok = true;
    for (const [tag, p] of Object.entries(P)) {
      try {
        const r = await runKernel(dev, source(plan, D, p.causal, opts), plan, p, { bind: v.bind ?? {}, drop: v.drop ?? [] });
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
      const ms = await timeKernel(dev, source(plan, D, true, opts), plan, 32, 4096, 4096, D, { bind: v.bind ?? {}, drop: v.drop ?? [] });
      t = `${ms.toFixed(3)} ms, ${(flops / ms / 1e9).toFixed(1)} TFLOP/s`;
    } catch (x) {
      t = `time THROW ${x.message.slice(0, 160)}`;
    }
    console.log(`D ${label}: ${t}${ok ? '' : ' (WRONG)'} | ${res.join(' | ')}`);
  }
}
