// H100 probe for the matmul kernels (issue 4): ceilings of the WGSL path (raw subgroup-matrix
// MMA rate from registers, f32 FMA rate, MMA fed from workgroup memory with and without the staging
// stores) and lbrx's subgroup-matrix / tiled kernels in candidate configs, one process.
// Usage (device): node mprobe.mjs [ceil|lb|all]. Raw kernels are timed submit-to-done over batches
// of dispatches after a 1 s warm-up; lbrx ops like bench/matmul (GPU time of a batch / its size).
import * as lb from './dist/index.js';
import { withConfig, lastPlan } from './dist/ops/matmul-gpu.js';

const what = process.argv[2] ?? 'all';
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
let dev = await lb.init({ cacheDir: false });
let device = dev.device;
const info = dev.adapter.info ?? {};
console.log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}; subgroups ${info.subgroupMinSize}-${info.subgroupMaxSize}`);
console.log(`subgroupMatrixConfigs: ${JSON.stringify((info.subgroupMatrixConfigs ?? []).map((c) => ({ c: c.componentType, r: c.resultComponentType, M: c.M, N: c.N, K: c.K })))}`);
console.log(`maxComputeWorkgroupStorageSize ${device.limits.maxComputeWorkgroupStorageSize}, invocations ${device.limits.maxComputeInvocationsPerWorkgroup}`);
const ST = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function pipelineOf(code, label) {
  const module = device.createShaderModule({ code, label });
  const ci = await module.getCompilationInfo();
  for (const m of ci.messages) if (m.type === 'error') throw new Error(`${label}: ${m.message}`);
  device.pushErrorScope('validation');
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
  const err = await device.popErrorScope();
  if (err) throw new Error(`${label}: ${err.message}`);
  return pipeline;
}

/** Raw kernel with a uniform loop count: sized to ~targetMs per dispatch, best and median of rounds. */
async function timeLoop(code, label, groups, outBytes, flopsPerIterPerGroup, targetMs = 3) {
  const pipeline = await pipelineOf(code, label);
  const uni = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const out = device.createBuffer({ size: outBytes, usage: ST });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uni } }, { binding: 1, resource: { buffer: out } }] });
  const round = async (k) => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < k; i++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(groups); pass.end();
    }
    const cb = enc.finish();
    const t0 = performance.now();
    device.queue.submit([cb]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / k;
  };
  let iters = 32;
  device.queue.writeBuffer(uni, 0, new Uint32Array([iters, 0, 0, 0]));
  let one = await round(4);
  for (let i = 0; i < 6 && one < targetMs / 2; i++) {
    iters = Math.max(1, Math.round((iters * targetMs) / Math.max(one, 0.05)));
    device.queue.writeBuffer(uni, 0, new Uint32Array([iters, 0, 0, 0]));
    one = await round(4);
  }
  const per = [];
  for (let r = 0; r < 7; r++) per.push(await round(8));
  uni.destroy(); out.destroy();
  const tf = (ms) => (groups * iters * flopsPerIterPerGroup) / (ms * 1e9);
  return { best: tf(Math.min(...per)), median: tf(med(per)), iters, ms: med(per) };
}

const SGMAT_HEAD = 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n';
const range = (n) => Array.from({ length: n }, (_, i) => i);

// (a) Register-resident fragments: FM distinct left, FN distinct right, FM x FN accumulators per subgroup.
function mmaCode(fm, fn, sgs, rt) {
  const accs = range(fm * fn);
  return `${SGMAT_HEAD}
struct P { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<${rt}>;
alias L = subgroup_matrix_left<f16, 16, 16>;
alias R = subgroup_matrix_right<f16, 16, 16>;
alias A = subgroup_matrix_result<${rt}, 16, 16>;
var<workgroup> tile: array<f16, 4096>;
@compute @workgroup_size(${sgs * 32})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var e = lid; e < 4096u; e = e + ${sgs * 32}u) { tile[e] = f16(e % 7u) * 0.001h; }
  workgroupBarrier();
  ${range(fm).map((i) => `let l${i} = subgroupMatrixLoad<L>(&tile, ${i * 256}u, false, 16u);`).join(' ')}
  ${range(fn).map((j) => `let r${j} = subgroupMatrixLoad<R>(&tile, ${(8 + j) * 256}u, false, 16u);`).join(' ')}
  ${accs.map((f) => `var c${f} = A();`).join(' ')}
  for (var i = 0u; i < p.iters; i = i + 1u) {
    ${accs.map((f) => `c${f} = subgroupMatrixMultiplyAccumulate(l${Math.floor(f / fn)}, r${f % fn}, c${f});`).join('\n    ')}
  }
  let w = (wid.x * ${sgs}u + lid / 32u) * ${fm * fn * 256}u;
  ${accs.map((f) => `subgroupMatrixStore(&out, w + ${f * 256}u, c${f}, false, 16u);`).join('\n  ')}
}`;
}

// (b) f32 FMA: `chains` independent chains of vec4 (or scalars) per thread.
function fmaCode(chains, vec) {
  const t = vec ? 'vec4<f32>' : 'f32';
  const step = range(chains).map((i) => `x${i} = fma(x${i}, a, b);`).join(' ');
  return `struct P { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let a = ${t}(0.999); let b = ${t}(0.001);
  let s = f32(g.x & 255u) * 0.001;
  ${range(chains).map((c) => `var x${c} = ${t}(s + ${c}.0);`).join(' ')}
  for (var n = 0u; n < p.iters; n = n + 1u) { ${step} ${step} ${step} ${step} }
  out[g.x] = ${range(chains).map((c) => `x${c}`).join(' + ')};
}`;
}

// (c, d) The staged kernel's inner loop (4x2 subgroups of 4x4 fragments, A 256 x 32 k-contiguous
// pitch 40, B 32 x 128 n-contiguous pitch 136) without global memory: fragments from workgroup
// memory each iteration (16 k). stores: none | f16 (the kernel's 8 two-byte stores per unit, two
// barriers per 32 k) | u32 (same bytes as 4-byte stores into a u32 array) | vec4 (16-byte stores).
function smemCode(stores) {
  const A = 256 * 40, B = 32 * 136;
  const fragLoads = [
    ...range(4).map((i) => `let l${i} = subgroupMatrixLoad<L>(&sa, ((sg / 2u) * 64u + ${i * 16}u) * 40u + s * 16u, false, 40u);`),
    ...range(4).map((j) => `let r${j} = subgroupMatrixLoad<R>(&sb, s * 16u * 136u + (sg % 2u) * 64u + ${j * 16}u, false, 136u);`),
  ];
  const mma = range(16).map((f) => `c${f} = subgroupMatrixMultiplyAccumulate(l${f >> 2}, r${f & 3}, c${f});`);
  // A: 1024 units of 8 halves (4 per thread), B: 512 (2 per thread).
  // u32 / vec4: the same count of units into a separate 16 KiB array (indices wrapped; the
  // fragments keep reading sa / sb): what wider stores would cost. coop: each subgroup stores 4 + 2
  // fragments (subgroupMatrixStore) where the kernel's coop mode puts them.
  const unitStore = (pp) => stores === 'f16' || stores === 'f16nb' ? '' : stores === 'u32' ? range(4).map((h) => `su[((${pp} >> 1u) + ${h}u) & 4095u] = w;`).join(' ') : `sv[(${pp} >> 3u) & 1023u] = vec4<u32>(w);`;
  const f16 = stores === 'f16' || stores === 'f16nb';
  const unitA = (q) => `{ let u = lid + ${q * 256}u; let pp = (u / 4u) * 40u + (u % 4u) * 8u; ${f16 ? range(8).map((h) => `sa[pp + ${h}u] = hv.${'xy'[h & 1]};`).join(' ') : unitStore('pp')} }`;
  const unitB = (q) => `{ let u = lid + ${q * 256}u; let pp = (u / 16u) * 136u + (u % 16u) * 8u; ${f16 ? range(8).map((h) => `sb[pp + ${h}u] = hv.${'xy'[h & 1]};`).join(' ') : unitStore(`(${A}u + pp)`)} }`;
  const coopStores = [
    ...range(4).map((i) => `subgroupMatrixStore(&sa, ((sg + ${i * 8}u) / 2u) * 640u + ((sg + ${i * 8}u) % 2u) * 16u, g${i}, false, 40u);`),
    ...range(2).map((j) => `subgroupMatrixStore(&sb, ((sg + ${j * 8}u) % 2u) * 2176u + ((sg + ${j * 8}u) / 2u) * 16u, h${j}, false, 136u);`),
  ];
  // bar: the two barriers alone; f16nb: the two-byte stores without barriers (racy, timing only).
  const bar = stores === 'f16nb' ? '' : 'workgroupBarrier();';
  const body = stores === 'bar' ? [] : stores === 'coop' ? coopStores : [...range(4).map(unitA), ...range(2).map(unitB)];
  const stage = stores === 'none' ? '' : `if (s == 0u) {
      ${bar}
      let w = i * 0x00010001u + lid; let hv = bitcast<vec2<f16>>(w & 0x3bff3bffu);
      ${body.join('\n      ')}
      ${bar}
    }`;
  return `${SGMAT_HEAD}
struct P { iters: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
alias L = subgroup_matrix_left<f16, 16, 16>;
alias R = subgroup_matrix_right<f16, 16, 16>;
alias Acc = subgroup_matrix_result<f32, 16, 16>;
var<workgroup> sa: array<f16, ${A}>;
var<workgroup> sb: array<f16, ${B}>;
${stores === 'u32' ? 'var<workgroup> su: array<u32, 4096>;' : stores === 'vec4' ? 'var<workgroup> sv: array<vec4<u32>, 1024>;' : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var e = lid; e < ${A}u; e = e + 256u) { sa[e] = f16(e % 7u) * 0.001h; }
  for (var e = lid; e < ${B}u; e = e + 256u) { sb[e] = f16(e % 5u) * 0.001h; }
  workgroupBarrier();
  let sg = lid / 32u;
  ${range(16).map((f) => `var c${f} = Acc();`).join(' ')}
  ${stores === 'coop' ? [...range(4).map((i) => `let g${i} = subgroupMatrixLoad<L>(&sa, ${i * 640}u, false, 40u);`), ...range(2).map((j) => `let h${j} = subgroupMatrixLoad<R>(&sb, ${j * 16}u, false, 136u);`)].join(' ') : ''}
  for (var i = 0u; i < p.iters; i = i + 1u) {
    let s = i & 1u;
    ${stage}
    ${[...fragLoads, ...mma].join('\n    ')}
  }
  let w0 = (wid.x * 8u + sg) * ${16 * 256}u;
  ${range(16).map((f) => `subgroupMatrixStore(&out, w0 + ${f * 256}u, c${f}, false, 16u);`).join('\n  ')}
}`;
}

let MMA_SHAPES = [[4, 4, 8, 1], [4, 4, 4, 2], [2, 4, 8, 2], [2, 2, 8, 2], [2, 2, 4, 4], [1, 4, 4, 4], [1, 2, 8, 4]];
let FMA_SHAPES = [[8, true], [4, true], [16, false], [32, false]];
let SMEM_STORES = ['none', 'f16', 'u32', 'vec4', 'coop'];
async function ceilings() {
  // Warm the clocks (an idle H100 needs ~1 s of work).
  const warm = await pipelineOf(fmaCode(8, true), 'warm');
  const wout = device.createBuffer({ size: 1 << 24, usage: ST });
  const wuni = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(wuni, 0, new Uint32Array([200, 0, 0, 0]));
  const wbg = device.createBindGroup({ layout: warm.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: wuni } }, { binding: 1, resource: { buffer: wout } }] });
  const w0 = performance.now();
  while (performance.now() - w0 < 1200) {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < 8; i++) { const p = enc.beginComputePass(); p.setPipeline(warm); p.setBindGroup(0, wbg); p.dispatchWorkgroups(4096); p.end(); }
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  }
  const line = (name, r) => console.log(`CEIL ${name}: ${r.median.toFixed(1)} TFLOP/s median, ${r.best.toFixed(1)} best (${r.iters} iters, ${r.ms.toFixed(3)} ms)`);
  const tryRun = async (name, fn) => { try { line(name, await fn()); } catch (e) { console.log(`CEIL ${name}: FAILED ${String(e.message).slice(0, 300)}`); } };
  // (b) f32 FMA
  for (const [chains, vec] of FMA_SHAPES) {
    const groups = 4096;
    await tryRun(`f32 FMA ${chains} ${vec ? 'vec4' : 'scalar'} chains, ${groups} x 256 threads`, () =>
      timeLoop(fmaCode(chains, vec), 'fma', groups, groups * 256 * 16, 256 * chains * 4 * (vec ? 4 : 1) * 2));
  }
  // (a) subgroup-matrix MMA from registers
  const cfgs = info.subgroupMatrixConfigs ?? [];
  const results = [...new Set(cfgs.filter((c) => c.componentType === 'f16' && c.M === 16 && c.N === 16 && c.K === 16).map((c) => c.resultComponentType))];
  for (const rt of results.length ? results : ['f32']) {
    for (const [fm, fn, sgs, wgPerSm] of MMA_SHAPES) {
      const groups = 132 * wgPerSm * 4;
      await tryRun(`MMA f16->${rt} regs ${fm}x${fn} frags/subgroup, ${sgs} subgroups/wg, ${groups} wgs`, () =>
        timeLoop(mmaCode(fm, fn, sgs, rt), 'mma', groups, groups * sgs * fm * fn * 256 * 4, sgs * fm * fn * 8192));
    }
  }
  // (c, d) MMA fed from workgroup memory
  for (const stores of SMEM_STORES) {
    const groups = 132 * 4;
    await tryRun(`MMA from workgroup memory (4x2 sg of 4x4, pitch 40/136), staging stores: ${stores}`, () =>
      timeLoop(smemCode(stores), `smem-${stores}`, groups, groups * 8 * 16 * 256 * 4, 8 * 16 * 8192));
  }
  wout.destroy(); wuni.destroy();
}

function rnd(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 32 - 0.5) * 2; }
  return out;
}

/** GPU ms per call (batch submit to done / reps), as bench/matmul's timeOp; 1 s warm-up. */
async function timeOp(fn, reps = 20) {
  const d = lb.device();
  const w0 = performance.now();
  while (performance.now() - w0 < 1000) { for (let i = 0; i < reps; i++) fn().dispose(); await lb.eval(); }
  const per = [];
  for (let r = 0; r < 7; r++) {
    for (let i = 0; i < reps; i++) fn().dispose();
    await d.stream.submit();
    const t0 = performance.now();
    await d.device.queue.onSubmittedWorkDone();
    per.push((performance.now() - t0) / reps);
    await d.checkErrors();
  }
  return { ms: med(per), min: Math.min(...per) };
}

// Run 1 (stage modes, db = double buffers) is in mprobe-run1.txt; run 2 compares the fragment-staged mode.
const SG_CANDIDATES = process.env.RUN === '1' ? [
  null, // the table's default
  { sgr: 4, sgc: 2, fm: 4, fn: 4, load: 'stage', bk: 16, db: true },
  { sgr: 2, sgc: 4, fm: 4, fn: 4, load: 'stage', bk: 16, db: true },
  { sgr: 2, sgc: 2, fm: 4, fn: 4, load: 'stage', bk: 32, db: true },
  { sgr: 4, sgc: 2, fm: 2, fn: 4, load: 'stage', bk: 32, db: true },
  { sgr: 2, sgc: 4, fm: 4, fn: 2, load: 'stage', bk: 32, db: true },
  { sgr: 4, sgc: 2, fm: 4, fn: 4, load: 'stage', bk: 16 },
] : [
  null,
  { sgr: 4, sgc: 2, fm: 4, fn: 4, load: 'coop' },
  { sgr: 2, sgc: 4, fm: 4, fn: 4, load: 'coop' },
  { sgr: 4, sgc: 2, fm: 4, fn: 4, load: 'coop', bk: 16, db: true },
  { sgr: 2, sgc: 4, fm: 4, fn: 4, load: 'coop', bk: 16, db: true },
  { sgr: 2, sgc: 2, fm: 4, fn: 4, load: 'coop', bk: 32, db: true },
  { sgr: 2, sgc: 2, fm: 4, fn: 4, load: 'coop', bk: 64 },
  { sgr: 4, sgc: 2, fm: 2, fn: 4, load: 'coop', bk: 32, db: true },
  { sgr: 4, sgc: 2, fm: 4, fn: 4, load: 'coop', bk: 16 },
];

async function lbRuns(tag, cands, withF32) {
  const N = 4096, flops = 2 * N ** 3;
  const a = lb.tensor(rnd(N * N, 1), [N, N], { dtype: 'f16' });
  const b = lb.tensor(rnd(N * N, 2), [N, N], { dtype: 'f16' });
  let ref = null;
  for (const c of cands) {
    const force = c ? { kind: 'sgmat', sgmat: c } : null;
    const call = () => (force ? withConfig(force, () => lb.matmul(a, b)) : lb.matmul(a, b));
    try {
      const o = call();
      const plan = lastPlan();
      const v = await o.data();
      o.dispose();
      let err = 0;
      if (!ref) ref = v; else for (let i = 0; i < v.length; i += 97) err = Math.max(err, Math.abs(v[i] - ref[i]));
      const t = await timeOp(call);
      console.log(`LB ${tag} f16 4096^3 ${plan.kind} ${JSON.stringify(plan.config.sgmat ?? plan.config.tile)}: ${t.ms.toFixed(3)} ms = ${(flops / t.ms / 1e9).toFixed(1)} TFLOP/s (min ${(flops / t.min / 1e9).toFixed(1)}); max |diff vs default| (every 97th) ${err.toExponential(2)}`);
    } catch (e) {
      console.log(`LB ${tag} ${JSON.stringify(c)}: FAILED ${String(e.message).slice(0, 300)}`);
      if (lb.device()?.lost) return;
    }
  }
  a.dispose(); b.dispose();
  if (withF32) {
    const a32 = lb.tensor(rnd(N * N, 1), [N, N]);
    const b32 = lb.tensor(rnd(N * N, 2), [N, N]);
    const t = await timeOp(() => lb.matmul(a32, b32), 6);
    console.log(`LB ${tag} f32 4096^3 ${JSON.stringify(lastPlan().config.tile)}: ${t.ms.toFixed(3)} ms = ${(flops / t.ms / 1e9).toFixed(1)} TFLOP/s (min ${(flops / t.min / 1e9).toFixed(1)})`);
    a32.dispose(); b32.dispose();
  }
}

if (process.env.RUN !== '1') { MMA_SHAPES = [[4, 4, 8, 1]]; FMA_SHAPES = [[8, true]]; }
// Run 3: where the staged loop's time goes (barriers alone, stores without barriers).
if (process.env.RUN === '3') { MMA_SHAPES = []; SMEM_STORES = ['none', 'bar', 'f16nb', 'f16', 'vec4']; }
if (what === 'ceil' || what === 'all') await ceilings();
async function lbT() {
  const N = 4096, flops = 2 * N ** 3;
  const a = lb.tensor(rnd(N * N, 1), [N, N], { dtype: 'f16' });
  const b = lb.tensor(rnd(N * N, 2), [N, N], { dtype: 'f16' });
  for (const [ta, tb] of [[true, false], [false, true]]) {
    for (const c of [null, SG_CANDIDATES[1]]) {
      const call = () => (c ? withConfig({ kind: 'sgmat', sgmat: c }, () => lb.matmul(a, b, { transA: ta, transB: tb })) : lb.matmul(a, b, { transA: ta, transB: tb }));
      try {
        const t = await timeOp(call);
        console.log(`LB T transA ${ta} transB ${tb} ${JSON.stringify(lastPlan().config.sgmat)}: ${t.ms.toFixed(3)} ms = ${(flops / t.ms / 1e9).toFixed(1)} TFLOP/s`);
      } catch (e) { console.log(`LB T ${ta} ${tb} ${JSON.stringify(c)}: FAILED ${String(e.message).slice(0, 200)}`); }
    }
  }
  a.dispose(); b.dispose();
}
if (what === 'lb' || what === 'all') {
  await lbRuns('robust', SG_CANDIDATES, true);
  // transposed operands, default vs the first candidate
  await lbT();
  await lb.shutdown();
  dev = await lb.init({ cacheDir: false, fast: true });
  device = dev.device;
  await lbRuns('fast', [null, SG_CANDIDATES[1], SG_CANDIDATES[3]], false);
}
await lb.shutdown();
