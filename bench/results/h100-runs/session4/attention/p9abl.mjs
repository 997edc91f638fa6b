// Probe 9, ablations (H100): what each part of one subgroup-matrix attention step costs. The
// kernel source of a plan is built as lb.attention builds it (harness.mjs), then parts of the key
// loop are removed (results wrong; timing only) and every variant is timed on the same causal
// B=1 H=32 L=S=4096 D=128 f16 problem, interleaved, each after warmUntilSteady.
// Usage: node p9abl.mjs '<sgmat config JSON>' [fast]
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { attentionTuning, attentionPlan } from './dist/ops/attention.js';
import { source } from './harness.mjs';
import { warmUntilSteady } from './gpu-timing.mjs';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const fast = process.argv[3] === 'fast';
await lb.init({ cacheDir: false, fast });
const dev = requireDevice('probe');
const smoke = !!process.env.P9_SMOKE; // a syntax run on an adapter without subgroup matrices (emulated, small)
const H = smoke ? 2 : 32, L = smoke ? 64 : 4096, D = smoke ? 16 : 128;
if (smoke) { attentionTuning.emulateSgmat = true; attentionTuning.force = 'sgmat'; }
if (Object.keys(cfg).length) attentionTuning.sgmat = cfg;
const plan = attentionPlan(dev, { B: 1, Hq: H, Hkv: H, L, S: L, D }, ['f16', 'f16', 'f16']).cfg;
const loopStart = (src) => src.indexOf('for (var j0 = kbeg;');
// Parts of the key loop: removed by replacing their generated code (defines) with nothing.
const variants = [
  ['full kernel', {}],
  ['no softmax (scores not read, P not written)', { over: { SG_SCORE_ROW: '', SG_P_ROW: '' } }],
  ['no S = Q Kᵀ', { over: { SG_SCORES: '' } }],
  ['no O += P V', { over: { SG_PV: '' } }],
  ['no K / V tile loads and stores', { over: { SG_K_LOAD: '', SG_V_LOAD: '', SG_K_STORE: '', SG_V_STORE: '', SG_PF_LOAD: '', SG_STORE: '', SG_LOAD: '' } }],
  ['no barriers in the key loop (racy)', { loopPatch: (body) => body.replace(/workgroupBarrier\(\);/g, '').replace(/workgroupUniformLoad\(&(ss\[[^)]*\])\) == f32\(j0 \+ 1u\)/, 'false') }],
  ['only the MMAs and fragment loads (no softmax, no tiles, no barriers)', {
    over: { SG_SCORE_ROW: '', SG_P_ROW: '', SG_K_LOAD: '', SG_V_LOAD: '', SG_K_STORE: '', SG_V_STORE: '', SG_PF_LOAD: '', SG_STORE: '', SG_LOAD: '' },
    loopPatch: (body) => body.replace(/workgroupBarrier\(\);/g, '').replace(/workgroupUniformLoad\(&(ss\[[^)]*\])\) == f32\(j0 \+ 1u\)/, 'false'),
  }],
];
function build({ over = {}, loopPatch } = {}) {
  let src = source(plan, D, true, { over });
  if (loopPatch) {
    const at = loopStart(src);
    const end = src.indexOf('\n  for (var o = LPR / 2u; o > 0u; o = o >> 1u) { l = l + subgroupShuffleXor', at);
    const body = loopPatch(src.slice(at, end));
    if (body === src.slice(at, end)) throw new Error('loop patch not applied');
    src = src.slice(0, at) + body + src.slice(end);
  }
  return src;
}
// Buffers and bindings as lb.attention's dispatch (params words: wgsl/attention.wgsl's Params).
const device = dev.device;
const rblocks = Math.ceil(L / plan.bq);
const groups = H * rblocks;
const f32bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
const words = [0, 0, 0, 0, H * L * D, L * D, D, 1, H * L * D, L * D, D, 1, H * L * D, L * D, D, 1, 0, 0, 0, 0,
  H, L, L, 1, rblocks, groups, f32bits(Math.LOG2E / Math.sqrt(D)), groups, 1, L, L, 0];
const mk = (w, usage) => { const b = device.createBuffer({ size: Math.max(16, w.byteLength), usage: usage | 8 }); device.queue.writeBuffer(b, 0, w); return b; };
const rand = (n, seed) => { const w = new Uint32Array(n / 2); let s = seed; for (let i = 0; i < w.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; w[i] = (((s >>> 20) & 0x3ff) | 0x3800) | ((((s >>> 4) & 0x3ff) | 0xb800) << 16); } return w; };
const bufs = { 0: mk(new Uint32Array(words), 0x40), 1: mk(rand(H * L * D, 1), 0x80), 2: mk(rand(H * L * D, 2), 0x80), 3: mk(rand(H * L * D, 3), 0x80) };
bufs[4] = device.createBuffer({ size: H * L * D * 2, usage: 0x80 | 4 });
const pipes = [];
for (const [name, v] of variants) {
  try {
    const module = device.createShaderModule({ code: build(v) });
    const errs = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
    if (errs.length) throw new Error(errs.slice(0, 2).map((m) => `${m.lineNum}: ${m.message}`).join(' / '));
    const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    // 'auto' layouts drop bindings the variant no longer uses (k, v without the tile loads).
    const all = Object.entries(bufs).map(([b, buffer]) => ({ binding: Number(b), resource: { buffer } }));
    let bg = null;
    for (const drop of [[], [3], [2], [2, 3]]) {
      device.pushErrorScope('validation');
      const g = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: all.filter((e) => !drop.includes(e.binding)) });
      if (!(await device.popErrorScope())) { bg = g; break; }
    }
    if (!bg) throw new Error('no bind group fits the layout');
    pipes.push([name, pipe, bg]);
  } catch (e) {
    console.log(`A ${name}: ERROR ${String(e.message ?? e).slice(0, 300)}`);
  }
}
const submit = (pipe, bg, n) => {
  const enc = device.createCommandEncoder();
  for (let i = 0; i < n; i++) {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(groups);
    pass.end();
  }
  device.queue.submit([enc.finish()]);
  return device.queue.onSubmittedWorkDone();
};
const flops = (2 * 2 * H * L * L * D) / 2;
const res = new Map();
for (let round = 0; round < 2; round++) {
  for (const [name, pipe, bg] of pipes) {
    let per = [];
    await warmUntilSteady(async () => { const t = performance.now(); await submit(pipe, bg, 8); return performance.now() - t; }, smoke ? 0 : 1000);
    for (let r = 0; r < 5; r++) { const t = performance.now(); await submit(pipe, bg, 8); per.push((performance.now() - t) / 8); }
    per.sort((a, b) => a - b);
    const ms = per[2];
    res.set(name, [...(res.get(name) ?? []), ms]);
  }
}
const tag = `${plan.sgs}x${plan.tk} rf ${plan.rf} sr ${plan.sr} or ${plan.or}${['db', 'qs', 'pf', 'cl', 'ka', 'cf', 'rk'].filter((k) => plan[k]).map((k) => ` ${k}`).join('')}`;
const full = Math.min(...res.get('full kernel'));
for (const [name, ms] of res) {
  const m = Math.min(...ms);
  console.log(`A${fast ? ' fast' : ''} ${tag}: ${name}: ${ms.map((x) => x.toFixed(3)).join(' / ')} ms (${(flops / m / 1e9).toFixed(1)} TFLOP/s-equivalent; ${((1 - m / full) * 100).toFixed(0)}% of the full kernel's time saved)`);
}
process.exit(0);
