// Standalone H100 probe: quantized matvec designs vs lbrx's current kernel, same process.
import * as lb from './dist/index.js';
const MiB = 2 ** 20;
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
await lb.init({ cacheDir: false });
const dev = lb.device();
const device = dev.device;
const Q = { q4_0: { qb: 18, words: 5 }, q8_0: { qb: 34, words: 9 } };

function randomWords(type, n, k) {
  const qb = Q[type].qb, blocks = (n * k) / 32, bytes = new Uint8Array(Math.ceil((blocks * qb) / 4) * 4 + 64);
  let s = 12345;
  for (let i = 0; i < bytes.length; i++) { s = (s * 1103515245 + 12345) >>> 0; bytes[i] = s >>> 24; }
  const dv = new DataView(bytes.buffer);
  for (let b = 0; b < blocks; b++) dv.setUint16(b * qb, 0x2000 + ((b * 7) % 0x1000), true); // sane f16 scales
  return new Uint32Array(bytes.buffer);
}

function kernel(type, { n, k, wg, r, rg, noalu, pipe }) {
  const { qb, words } = Q[type];
  const bpr = k / 32, upt = Math.ceil(bpr / wg), nw = wg / 32;
  const U = [...Array(upt).keys()], R = [...Array(r).keys()];
  const lines = [];
  for (const u of U) {
    lines.push(`let b${u} = min(lid + ${u * wg}u, ${bpr - 1}u); let live${u} = lid + ${u * wg}u < ${bpr}u;`);
    for (let i = 0; i < 8; i++) lines.push(`let x${u}_${i} = select(vec4<f32>(0.0), xv[b${u} * 8u + ${i}u], live${u});`);
  }
  for (const j of R) lines.push(`var acc${j} = 0.0;`);
  const groups = [];
  for (let g0 = 0; g0 < r; g0 += rg) {
    const G = R.slice(g0, g0 + rg);
    const loads = [], math = [];
    groups.push({ loads, math });
    for (const j of G) for (const u of U) {
      loads.push(`let o${j}_${u} = (min(row0 + ${j}u, ${n - 1}u) * ${bpr}u + b${u}) * ${qb}u; let w${j}_${u} = o${j}_${u} >> 2u; let s${j}_${u} = o${j}_${u} & 2u;`);
      for (let i = 0; i < words; i++) loads.push(`let r${j}_${u}_${i} = blocks[w${j}_${u} + ${i}u];`);
    }
    for (const j of G) for (const u of U) {
      const rr = (i) => `r${j}_${u}_${i}`, s = `s${j}_${u}`, x = (i) => `x${u}_${i}`;
      if (noalu) {
        math.push(`acc${j} = acc${j} + bitcast<f32>((${[...Array(words).keys()].map(rr).join(' ^ ')}) & 0x3fffffffu) * ${x(0)}.x;`);
        continue;
      }
      const d = `unpack2x16float(select(${rr(0)}, ${rr(0)} >> 16u, ${s} != 0u)).x`;
      const terms = [];
      if (type === 'q4_0') {
        for (let q = 0; q < 4; q++) terms.push(`nib4(at2(${rr(q)}, ${rr(q + 1)}, ${s}), 0u, ${x(q)}) + nib4(at2(${rr(q)}, ${rr(q + 1)}, ${s}), 4u, ${x(q + 4)})`);
      } else {
        for (let q = 0; q < 8; q++) terms.push(`byt4(at2(${rr(q)}, ${rr(q + 1)}, ${s}) ^ 0x80808080u, ${x(q)})`);
      }
      math.push(`acc${j} = acc${j} + ${d} * ((${terms.slice(0, terms.length / 2).join(' + ')}) + (${terms.slice(terms.length / 2).join(' + ')}));`);
    }
  }
  // pipe: the next group's loads go out before this group's decode (software pipelining).
  if (pipe) {
    lines.push(...groups[0].loads);
    for (let g = 0; g < groups.length; g++) { if (g + 1 < groups.length) lines.push(...groups[g + 1].loads); lines.push(...groups[g].math); }
  } else for (const g of groups) lines.push(...g.loads, ...g.math);
  for (const j of R) lines.push(`let t${j} = subgroupAdd(acc${j}); if (sl == 0u) { red[${j}u * ${wg / 4}u + lid / sz] = t${j}; }`);
  return `enable subgroups;
@group(0) @binding(0) var<storage, read> blocks: array<u32>;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> red: array<f32, ${r * wg / 4}>;
fn at2(lo: u32, hi: u32, s: u32) -> u32 { return select(hi, (lo >> 16u) | (hi << 16u), s == 0u); }
fn nib4(w: u32, sh: u32, x: vec4<f32>) -> f32 {
  let v = ((vec4<u32>(w) >> vec4<u32>(sh, sh + 8u, sh + 16u, sh + 24u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u);
  return dot(bitcast<vec4<f32>>(v) - vec4<f32>(8388616.0), x);
}
fn byt4(w: u32, x: vec4<f32>) -> f32 {
  let v = ((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu)) | vec4<u32>(0x4b000000u);
  return dot(bitcast<vec4<f32>>(v) - vec4<f32>(8388736.0), x);
}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) sz: u32) {
  let row0 = wid.x * ${r}u;
  ${lines.join('\n  ')}
  workgroupBarrier();
  if (lid < ${r}u && row0 + lid < ${n}u) {
    var s = 0.0;
    for (var i = 0u; i < ${wg}u / sz; i = i + 1u) { s = s + red[lid * ${wg / 4}u + i]; }
    out[row0 + lid] = s;
  }
}`;
}

const readKernel = (vecs) => `@group(0) @binding(0) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * 1024u + lid;
  var a = vec4<u32>(0u);
  for (var i = 0u; i < 4u; i = i + 1u) { let e = base + i * 256u; if (e < ${vecs}u) { a = a ^ blocks[e]; } }
  if (all(a == vec4<u32>(0x12345678u))) { out[0] = xv[0].x; }
}`;

function buf(data, usage) {
  const b = device.createBuffer({ size: Math.ceil(data.byteLength / 4) * 4, usage, mappedAtCreation: true });
  new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  b.unmap();
  return b;
}
const ST = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function timeRaw(code, wbufs, xb, outs, groups, kPer = 128, rounds = 7) {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  for (const m of info.messages) if (m.type === 'error') throw new Error(m.message + '\n' + code.slice(0, 3000));
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bgs = wbufs.map((w, i) => device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: w } }, { binding: 1, resource: { buffer: xb } }, { binding: 2, resource: { buffer: outs[i] } }] }));
  const per = [];
  const t0 = performance.now();
  for (let r = 0; r <= rounds; r++) {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < kPer; i++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bgs[i % bgs.length]);
      pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535)); pass.end();
    }
    const cb = enc.finish();
    const a = performance.now();
    device.queue.submit([cb]);
    await device.queue.onSubmittedWorkDone();
    if (r === 0 && performance.now() - t0 < 600) r--; else if (r > 0) per.push((performance.now() - a) / kPer);
  }
  return med(per);
}

async function readOut(b, n) {
  const st = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(b, 0, st, 0, n * 4); device.queue.submit([enc.finish()]);
  await st.mapAsync(GPUMapMode.READ); const r = new Float32Array(st.getMappedRange().slice(0)); st.destroy(); return r;
}

const shapes = (process.env.SHAPES ?? '11008x4096,4096x11008,32000x4096').split(',').map((s) => s.split('x').map(Number));
for (const type of ['q4_0', 'q8_0']) for (const [n, k] of shapes) {
  const words = randomWords(type, n, k);
  const qBytes = (n * k / 32) * Q[type].qb;
  const copies = Math.min(32, Math.max(2, Math.ceil(200e6 / qBytes)));
  const moved = qBytes + 4 * k + 4 * n;
  const wbufs = Array.from({ length: copies }, () => buf(words, ST));
  const x = Float32Array.from({ length: k }, (_, i) => Math.sin(i) * 0.5);
  const xb = buf(x, ST);
  const outs = Array.from({ length: copies }, () => device.createBuffer({ size: n * 4, usage: ST }));
  // lbrx reference + timing
  const qt = Array.from({ length: Math.min(copies, 8) }, () => new lb.QuantizedTensor(type, [n, k], lb.tensor(words, [words.length], { dtype: 'u32' })));
  const xt = lb.tensor(x, [1, k]);
  const ref = await lb.matmul(xt, qt[0], { transB: true }).data();
  const res = [`${type} ${n}x${k} (${(qBytes / MiB).toFixed(1)} MiB, ${copies} copies)`];
  const vecs = Math.floor(qBytes / 16);
  const rms = await timeRaw(readKernel(vecs), wbufs, xb, outs, Math.ceil(vecs / 1024));
  res.push(`  read-only vec4 kernel ${(rms * 1000).toFixed(1)} us ${(qBytes / rms / 1e6).toFixed(0)} GB/s`);
  const variants = (process.env.VARIANTS ? JSON.parse(process.env.VARIANTS) : [
    { wg: 128, r: 8, rg: 4 }, { wg: 128, r: 8, rg: 2, pipe: true }, { wg: 128, r: 16, rg: 4, pipe: true }, { wg: 128, r: 16, rg: 2, pipe: true },
    { wg: 128, r: 32, rg: 4, pipe: true }, { wg: 64, r: 16, rg: 2, pipe: true }, { wg: 64, r: 32, rg: 4, pipe: true },
    { wg: 128, r: 16, rg: 4, noalu: true },
  ]);
  for (const v of variants) {
    try {
      const code = kernel(type, { n, k, ...v });
      const ms = await timeRaw(code, wbufs, xb, outs, Math.ceil(n / v.r));
      let err = '';
      if (!v.noalu) {
        const got = await readOut(outs[0], n);
        let worst = 0; for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (1 + Math.abs(ref[i])));
        err = ` maxrel ${worst.toExponential(1)}`;
      }
      res.push(`  xreg ${JSON.stringify(v)} ${(ms * 1000).toFixed(1)} us ${(moved / ms / 1e6).toFixed(0)} GB/s${err}`);
    } catch (e) { res.push(`  xreg ${JSON.stringify(v)} failed: ${e.message.slice(0, 300)}`); }
  }
  console.log(res.join('\n'));
  wbufs.forEach((b) => b.destroy()); outs.forEach((b) => b.destroy()); xb.destroy(); qt.forEach((t) => t.dispose()); xt.dispose();
}
// copy baseline 1 GiB
const { deviceCopy } = await import('./gpu-timing.mjs');
const c = await deviceCopy(dev, 1024 * MiB, 6);
console.log(`device copy ${c.name} ${c.gbs.toFixed(0)} GB/s`);
