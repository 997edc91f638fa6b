// Temporary device probe (not committed): the generated sgmat kernel with intermediate dumps.
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
import { buildKernel } from './dist/kernels/registry.js';
import { sgmatAttentionCode } from './dist/ops/attention-sgmat.js';
import { operandCode, enables } from './dist/ops/attention-kernels.js';
import { storeValue } from './dist/ops/wgsl-types.js';
await lb.init({ cacheDir: false });
const dev = requireDevice('probe');
const device = dev.device;
const emulate = !dev.features.subgroupMatrix;
const D = 16, L = 16, S = 16;
const plan = emulate ? { fs: 4, sg: 8, sgs: 4, bq: 16, tk: 16, kr: 16, emulate: true } : { fs: 16, sg: 32, sgs: 1, bq: 16, tk: 16, kr: 16, emulate: false };
const ops = ['q', 'k', 'v'].map((name) => operandCode({ name, dtype: 'f16', vec: true }));
const defines = {
  D, Q_ARR: ops[0].arr, K_ARR: ops[1].arr, V_ARR: ops[2].arr, Q_RAW: ops[0].raw, K_RAW: ops[1].raw, V_RAW: ops[2].raw,
  LOADERS: ops.map((o) => o.code).join('\n\n'), M_STORE: 'f32', M_LOAD: '0.0', HAS_MASK: false, KVLEN: false, CAUSAL: false,
  HALF_WORDS: true, ATOMIC: false, OUT_STORE: 'u32', STORE: storeValue('f16', 'f32'), SPLIT: false, COMBINE: false, F16: true,
  ENABLE: enables(true, true, !emulate), DECODE: false, TILE: false, SGMAT: true, SUBGROUPS: true, ...sgmatAttentionCode(plan, D),
};
const base = buildKernel('attention_sgmat', defines);
const rnd = (n, seed) => { let s = seed; return Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2147483648; return Math.round(((s / 2147483648) * 2 - 1) * 8) / 8; }); };
const q = rnd(L * D, 1), k = rnd(S * D, 2), v = rnd(S * D, 3);
const f16bits = (x) => { const f = new Float32Array([x]); const u = new Uint32Array(f.buffer)[0]; const s = (u >>> 16) & 0x8000; const e = ((u >>> 23) & 0xff) - 112; if (x === 0) return s; return s | (e << 10) | ((u >>> 13) & 0x3ff); };
const pack = (a) => { const w = new Uint32Array(Math.ceil(a.length / 2)); for (let i = 0; i < a.length; i++) w[i >> 1] |= f16bits(a[i]) << (16 * (i & 1)); return w; };
const scale = 1 / Math.sqrt(D);
const params = new Uint32Array(32);
params.set([0, 0, 0, 0, L * D, L * D, D, 1, S * D, S * D, D, 1, S * D, S * D, D, 1, 0, 0, 0, 0, 1, L, S, 1, 1, 1, 0, 1, 1, S, L, 0]);
new Float32Array(params.buffer)[26] = scale * Math.LOG2E;
// Expected intermediates.
const Sx = Array.from({ length: L }, (_, i) => Array.from({ length: S }, (_, j) => { let t = 0; for (let d = 0; d < D; d++) t += q[i * D + d] * k[j * D + d]; return t; }));
async function dump(name, marker, inject, read) { return dumpCode(name, base, marker, inject, read); }
async function dumpCode(name, src, marker, inject, read) {
  const code = src.replace(marker, marker + '\n' + inject);
  if (code === src) { console.log(`dump ${name}: marker not found`); return; }
  const mk = (data, usage) => { const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | 0x08 }); device.queue.writeBuffer(b, 0, data); return b; };
  const bufs = [mk(params, 0x40), mk(pack(q), 0x80), mk(pack(k), 0x80), mk(pack(v), 0x80)];
  const out = device.createBuffer({ size: 4096 * 4, usage: 0x80 | 0x04 | 0x08 });
  const rb = device.createBuffer({ size: 4096 * 4, usage: 0x01 | 0x08 });
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const entries = [0, 1, 2, 3].map((i) => ({ binding: i, resource: { buffer: bufs[i] } })).concat([{ binding: 4, resource: { buffer: out } }]);
  const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(); pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); pass.end();
  enc.copyBufferToBuffer(out, 0, rb, 0, 4096 * 4);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) { console.log(`dump ${name}: ${err.message.split('\n').slice(0, 3).join(' / ')}`); return; }
  await rb.mapAsync(1);
  const u = new Uint32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  read(new Float32Array(u.buffer), u);
}
const show = (a) => a.map((x) => (typeof x === 'number' ? x.toFixed(3) : x)).join(' ');
const SP = plan.tk + 4, KP = D + 8;
const dumpS = `workgroupBarrier(); if (lid == 0u) { for (var e = 0u; e < 16u * SP; e = e + 1u) { out[e] = bitcast<u32>(ss[e]); } } return;`;
const showS = (label, f2) => (f) => { for (const r of [0, 1]) console.log(`${label} row${r}`, show(Array.from(f.slice(r * SP, r * SP + 5))), '| want', show(Array.from({ length: 5 }, (_, j) => f2(r, j)))); };
const QK = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += q[i * D + d] * k[j * D + d]; return t; };
const QQ = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += q[i * D + d] * q[j * D + d]; return t; };
const KK = (i, j) => { let t = 0; for (let d = 0; d < D; d++) t += k[i * D + d] * k[j * D + d]; return t; };
const Kx = (j, d) => k[j * D + d];
// (a) ks right after the in-loop put: is the K tile there?
await dump('ks after put', "// The next tile's loads fly while this one computes.", `if (lid == 0u) { for (var e = 0u; e < 16u * KP; e = e + 1u) { out[e] = bitcast<u32>(f32(ks[e])); } } return;`,
  (f) => { for (const r of [0, 1, 5]) console.log(`ksput row${r}`, show(Array.from(f.slice(r * KP, r * KP + 6))), '| want', show(Array.from({ length: 6 }, (_, d) => Kx(r, d)))); });
// (b) Q staged in its own array (ks never matrix-loaded before the loop): S right?
{
  let code = base.replace('var<workgroup> flag: u32;', 'var<workgroup> flag: u32;\nvar<workgroup> qsh: array<f16, 16 * KP>;\nfn put_qsh(p: u32, w: vec4<u32>) { let a = bitcast<vec2<f16>>(w.x); let b = bitcast<vec2<f16>>(w.y); let c = bitcast<vec2<f16>>(w.z); let d = bitcast<vec2<f16>>(w.w); qsh[p] = a.x; qsh[p + 1u] = a.y; qsh[p + 2u] = b.x; qsh[p + 3u] = b.y; qsh[p + 4u] = c.x; qsh[p + 5u] = c.y; qsh[p + 6u] = d.x; qsh[p + 7u] = d.y; }');
  code = code.replace('    put_ks(rr * KP + c * 8u, x);', '    put_qsh(rr * KP + c * 8u, x);');
  code = code.replace('let q0 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 0u, false, KP);', 'let q0 = subgroupMatrixLoad<Left>(&qsh, sg * FS * KP + 0u, false, KP);');
  if (!code.includes('put_qsh(rr') || !code.includes('(&qsh, sg')) console.log('qsh patch failed');
  await dumpCode('S with Q in qsh', code, 'let full = j0 + TK <= kfull;', `workgroupBarrier(); if (lid == 0u) { for (var e = 0u; e < 16u * SP; e = e + 1u) { out[e] = bitcast<u32>(ss[e]); } } return;`,
    (f) => { for (const r of [0, 1]) console.log(`Sqsh row${r}`, show(Array.from(f.slice(r * SP, r * SP + 5))), '| want', show(Sx[r].slice(0, 5))); });
  // (c) the same, whole kernel: final output row 0 vs the reference
  await dumpCode('out with Q in qsh', code, '  $NOPE', '', () => {});
}
