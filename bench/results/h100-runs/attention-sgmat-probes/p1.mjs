// Probe 1: the subgroup-matrix attention kernel on the H100. Variants of the generated code vs an
// f64 reference (H=2, L=S=256, D=128), dumps of ks / ss in the first key steps, the uniformity
// diagnostics Tint reports with the diagnostic left on, and GPU times of variants that pass.
import { init, problem, source, runKernel, compare, fmt, timeKernel, lb } from './harness.mjs';
import { attentionTuning } from './dist/ops/attention.js';

const dev = await init();
const info = dev.adapter.info ?? {};
console.log('adapter', info.description ?? info.device, 'sg', info.subgroupMinSize, info.subgroupMaxSize, 'wgmem', dev.limits.maxComputeWorkgroupStorageSize,
  'configs', JSON.stringify((info.subgroupMatrixConfigs ?? []).map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`)));
const D = 128;
const planOf = (sgs, tk, kr) => ({ fs: 16, sg: 32, sgs, bq: sgs * 16, tk, kr: kr ?? Math.max(tk, sgs * 16), emulate: false });
const P = { nc: problem(2, 256, 256, D, false), c: problem(2, 256, 256, D, true) };

// ---- variants (text patches of the generated code) ----
const range = (n) => Array.from({ length: n }, (_, i) => i);
const qsh = [
  ['var<workgroup> flag: u32;', 'var<workgroup> flag: u32;\nvar<workgroup> qsh: array<f16, BQ * KP>;\nfn put_qsh(p: u32, w: vec4<u32>) {\n  let a = bitcast<vec2<f16>>(w.x); let b = bitcast<vec2<f16>>(w.y); let c = bitcast<vec2<f16>>(w.z); let d = bitcast<vec2<f16>>(w.w);\n  qsh[p] = a.x; qsh[p + 1u] = a.y; qsh[p + 2u] = b.x; qsh[p + 3u] = b.y; qsh[p + 4u] = c.x; qsh[p + 5u] = c.y; qsh[p + 6u] = d.x; qsh[p + 7u] = d.y;\n}'],
  ['    put_ks(rr * KP + c * 8u, x);', '    put_qsh(rr * KP + c * 8u, x);'],
  ['subgroupMatrixLoad<Left>(&ks, sg * FS * KP', 'subgroupMatrixLoad<Left>(&qsh, sg * FS * KP'],
  [/const KR: u32 = \d+u;/, 'const KR: u32 = TK;'],
  ['const PP: u32 = TK + 8u;', 'const PP: u32 = TK;'],
];
const qreload = [
  ...qsh,
  [/let q(\d) = subgroupMatrixLoad<Left>\(&qsh/g, 'var q$1 = subgroupMatrixLoad<Left>(&qsh'],
  ['    {\n      var s = Acc();', `    ${range(8).map((f) => `q${f} = subgroupMatrixLoad<Left>(&qsh, sg * FS * KP + ${f * 16}u, false, KP);`).join(' ')}\n    {\n      var s = Acc();`],
];
const branchless = [
  ['    if (lid == 0u) { flag = 0u; }\n', ''],
  [/if \(!full && j >= lim\) \{\s*s = inf_f32\(true\);\s*\} else \{\s*\}/, 's = select(s, inf_f32(true), !full && j >= lim);'],
  [/if \(!is_neg_inf\(tmax\)\) \{\s*if \(is_neg_inf\(m\)\) \{[^}]*\} else if \(tmax > m \+ TAU\) \{[^}]*\}\s*\}/,
    'let live = !is_neg_inf(tmax); let first = live && is_neg_inf(m); let grow = live && !is_neg_inf(m) && tmax > m + TAU;\n    alpha = select(1.0, exp2(m - tmax), grow); m = select(m, tmax, first || grow);'],
  ['if (part_ == 0u) { rowa[lrow] = alpha; }', 'rowa[lrow] = alpha;'],
  ['if (workgroupUniformLoad(&flag) != 0u) {', 'workgroupBarrier(); {'],
];
const directQ = [
  ['@group(0) @binding(4)', '@group(0) @binding(8) var<storage, read> qh: array<f16>;\n@group(0) @binding(4)'],
  ['  stage_q_all(b, hk, r0, r1, lid);\n', ''],
  [/subgroupMatrixLoad<Left>\(&ks, sg \* FS \* KP \+ (\d+)u, false, KP\)/g, 'subgroupMatrixLoad<Left>(&qh, q_row(b, hk, r0 + sg * FS) + $1u, false, params.q_sl)'],
];
const noPrefetch = (c) => ({ SG_FETCH: '', SG_PUT: `{ let jn = j0;\n${c.SG_FETCH}\n}\n${c.SG_PUT}` });

const VARIANTS = [
  ['base 4x32', planOf(4, 32), {}],
  ['base 8x16', planOf(8, 16), {}],
  ['base 2x32', planOf(2, 32), {}],
  ['qsh 4x32', planOf(4, 32), { patches: qsh }],
  ['qsh+reload 4x32', planOf(4, 32), { patches: qreload }],
  ['noprefetch 4x32', planOf(4, 32), { over: noPrefetch }],
  ['branchless 4x32', planOf(4, 32), { patches: branchless }],
  ['directQ 4x32', planOf(4, 32), { patches: directQ }, true],
  ['directQ+branchless 4x32', planOf(4, 32), { patches: [...directQ, ...branchless] }, true],
  ['qsh+branchless 4x32', planOf(4, 32), { patches: [...qsh, ...branchless] }],
  ['directQ,KR=TK 4x32', planOf(4, 32), { patches: [...directQ, [/const KR: u32 = \d+u;/, 'const KR: u32 = TK;']] }, true],
  ['directQ,KR=TK 8x16', planOf(8, 16), { patches: [...directQ, [/const KR: u32 = \d+u;/, 'const KR: u32 = TK;']] }, true],
  ['directQ,KR=TK 8x32', planOf(8, 32), { patches: [...directQ, [/const KR: u32 = \d+u;/, 'const KR: u32 = TK;']] }, true],
  ['directQ,KR=TK 2x64', planOf(2, 64), { patches: [...directQ, [/const KR: u32 = \d+u;/, 'const KR: u32 = TK;']] }, true],
];
const passing = [];
for (const [name, plan, opts, extraQ] of VARIANTS) {
  const res = [];
  let ok = true;
  for (const [tag, p] of Object.entries(P)) {
    try {
      const r = await runKernel(dev, source(plan, D, p.causal, opts), plan, p, { extraQ });
      const c = r.err ? { err: r.err } : compare(p, r.out);
      if (c.err || c.nbad) ok = false;
      res.push(`${tag}: ${fmt(c)}`);
    } catch (e) {
      ok = false;
      res.push(`${tag}: THROW ${e.message.slice(0, 200)}`);
    }
  }
  console.log(`variant ${name}: ${res.join(' | ')}`);
  if (ok) passing.push([name, plan, opts, extraQ]);
}

// ---- dumps (non-causal, workgroup 0 = head 0 rows 0..BQ-1) ----
const p = P.nc;
const QK = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += p.q[i * D + d] * p.k[j * D + d]; return t; };
const KK = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += p.k[i * D + d] * p.k[j * D + d]; return t; };
const QQ = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += p.q[i * D + d] * p.q[j * D + d]; return t; };
async function dump(label, plan, opts, marker, body, step, extraQ) {
  const inj = `    if (w == 0u && j0 == kbeg + ${step}u * TK) { ${body} }\n    if (j0 == kbeg + ${step}u * TK) { return; }\n`;
  const o = { ...opts, patches: [...(opts.patches ?? []), [marker, inj + marker]] };
  const r = await runKernel(dev, source(plan, D, false, o), plan, p, { raw: true, extraQ });
  if (r.err) { console.log(`dump ${label}: ERROR ${r.err}`); return null; }
  return r.f;
}
const KP = D + 8;
const FLY = "    // The next tile's loads fly while this one computes.\n";
const FULL = '    let full = j0 + TK <= kfull;\n';
for (const [name, plan, opts, extraQ] of [VARIANTS[0], VARIANTS[3], VARIANTS[7]]) {
  const { tk, bq } = plan;
  const kr = (opts.patches ?? []).some(([f]) => String(f).includes('KR')) ? tk : plan.kr;
  const SP = tk + 4;
  for (const step of [0, 1]) {
    const ks = await dump(`${name} ks`, plan, opts, FLY, `for (var e = lid; e < KR * KP; e = e + WG) { out[e] = bitcast<u32>(f32(ks[e])); }`, step, extraQ);
    if (ks) {
      const parts = [];
      let badK = 0, badQ = 0, n = 0;
      for (let r = 0; r < kr; r++) for (let d = 0; d < D; d++) {
        const got = ks[r * KP + d];
        if (r < tk) { if (got !== p.k[(step * tk + r) * D + d]) badK++; }
        else if (step === 0 && r < bq) { n++; if (got !== p.q[r * D + d]) badQ++; }
      }
      parts.push(`K rows 0..${tk - 1}: ${badK} of ${tk * D} wrong`);
      if (n) parts.push(`Q rows ${tk}..${bq - 1} (still staged): ${badQ} of ${n} wrong`);
      console.log(`dump ${name} step ${step} ks after put: ${parts.join('; ')}; row0 ${Array.from(ks.slice(0, 4)).join(',')} want ${Array.from(p.k.slice(step * tk * D, step * tk * D + 4)).join(',')}`);
    }
    const ss = await dump(`${name} ss`, plan, opts, FULL, `for (var e = lid; e < BQ * SP; e = e + WG) { out[e] = bitcast<u32>(ss[e]); }`, step, extraQ);
    if (ss) {
      const groups = [];
      for (let g = 0; g < bq / 16; g++) {
        let bad = 0, asKK = 0, asQQ = 0, zero = 0;
        for (let r = g * 16; r < g * 16 + 16; r++) for (let j = 0; j < tk; j++) {
          const got = ss[r * SP + j];
          const jj = step * tk + j;
          if (Math.abs(got - QK(r, jj)) > 1e-2) bad++;
          if (Math.abs(got - KK(r, jj)) < 1e-2) asKK++;
          if (Math.abs(got - QQ(r, jj)) < 1e-2) asQQ++;
          if (got === 0) zero++;
        }
        groups.push(`sg${g}: ${bad} wrong (=KK ${asKK}, =QQ ${asQQ}, zero ${zero})`);
      }
      console.log(`dump ${name} step ${step} S: ${groups.join('; ')}; S[0][0..3] ${Array.from(ss.slice(0, 4)).map((x) => x.toFixed(3)).join(',')} want ${[0, 1, 2, 3].map((j) => QK(0, step * tk + j).toFixed(3)).join(',')}`);
    }
  }
}

// ---- the library path, forced to sgmat ----
for (const causal of [false, true]) {
  attentionTuning.force = 'sgmat';
  const q = lb.tensor(Float32Array.from(P.c.q), [1, 2, 256, D], { dtype: 'f16', device: 'gpu' });
  const k = lb.tensor(Float32Array.from(P.c.k), [1, 2, 256, D], { dtype: 'f16', device: 'gpu' });
  const v = lb.tensor(Float32Array.from(P.c.v), [1, 2, 256, D], { dtype: 'f16', device: 'gpu' });
  const o = await lb.attention(q, k, v, { causal }).data();
  const pp = causal ? P.c : P.nc;
  console.log(`lb.attention sgmat causal=${causal}: ${fmt(compare(pp, Float64Array.from(o)))}`);
  delete attentionTuning.force;
}

// ---- timings of the passing variants (causal B=1 H=32 L=S=4096 D=128) ----
const flops = 2 * 2 * 32 * 4096 * 4096 * 128 / 2;
for (const [name, plan, opts, extraQ] of [...passing.slice(0, 12), VARIANTS[0]]) {
  try {
    const ms = await timeKernel(dev, source(plan, D, true, opts), plan, 32, 4096, 4096, D, { extraQ });
    console.log(`time ${name}: ${ms.toFixed(3)} ms, ${(flops / ms / 1e9).toFixed(1)} TFLOP/s`);
  } catch (e) {
    console.log(`time ${name}: THROW ${e.message.slice(0, 200)}`);
  }
}

// ---- uniformity diagnostics with the diagnostic on ----
{
  const src = source(planOf(4, 32), D, true).replace('diagnostic(off, chromium.subgroup_matrix_uniformity);', '');
  dev.device.pushErrorScope('validation');
  const module = dev.device.createShaderModule({ code: src });
  const msgs = (await module.getCompilationInfo()).messages.filter((m) => m.type !== 'warning' || !m.message.includes('deprecated'));
  await dev.device.popErrorScope();
  console.log(`uniformity (diagnostic on): ${msgs.length} messages`);
  for (const m of msgs.slice(0, 8)) console.log(`  ${m.type} ${m.lineNum}: ${m.message.split('\n')[0]} [${src.split('\n')[m.lineNum - 1]?.trim().slice(0, 100)}]`);
}

