// Temporary device probe (not committed): subgroup-matrix primitives as the attention kernel uses them.
import * as lb from './dist/index.js';
import { requireDevice } from './dist/runtime/context.js';
await lb.init({ cacheDir: false });
const dev = requireDevice('probe');
const device = dev.device;
const N = 16;
// A[i][j] = (i * 3 + j) % 7 - 3, B[i][j] = (i + 2 * j) % 5 - 2 (small ints: exact in f16).
const A = (i, j) => ((i * 3 + j) % 7) - 3;
const Bm = (i, j) => ((i + 2 * j) % 5) - 2;
const prod = (i, j) => { let s = 0; for (let k = 0; k < N; k++) s += A(i, k) * Bm(k, j); return s; };
const variants = {
  // Left row-major from f16 scalars (pitch 24), Right col-major (B stored transposed: bt[n][k], pitch 24).
  leftRow_rightCol: { a: (i, j) => [i * 24 + j], b: (k, n) => [n * 24 + k], la: 'false', lb: 'true' },
  // Right row-major (B stored b[k][n], pitch 24).
  leftRow_rightRow: { a: (i, j) => [i * 24 + j], b: (k, n) => [k * 24 + n], la: 'false', lb: 'false' },
};
const code = (la, lb2, extra, ao = 0, bo = 0) => `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
var<workgroup> wa: array<f16, 32 * 24>;
var<workgroup> wb: array<f16, 32 * 24>;
var<workgroup> wc: array<f32, 16 * 20>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  for (var e = lid; e < 32u * 24u; e = e + 32u) { wa[e] = f16(src[e]); wb[e] = f16(src[768u + e]); }
  for (var e = lid; e < 16u * 20u; e = e + 32u) { wc[e] = 0.0; }
  workgroupBarrier();
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&wa, ${ao}u, ${la}, 24u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&wb, ${bo}u, ${lb2}, 24u);
  var c = subgroup_matrix_result<f32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(l, r, c);
  ${extra}
  subgroupMatrixStore(&wc, 0u, c, false, 20u);
  workgroupBarrier();
  for (var e = lid; e < 16u * 20u; e = e + 32u) { dst[e] = wc[e]; }
  dst[400u + lid] = f32(lane);
}`;
async function run(name, v, extra = '', post = (x) => x, ao = 0, bo = 0) {
  const srcData = new Float32Array(1536);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) { for (const p of v.a(i, j)) srcData[ao + p] = A(i, j); for (const p of v.b(i, j)) srcData[768 + bo + p] = Bm(i, j); }
  const src = device.createBuffer({ size: srcData.byteLength, usage: 0x80 | 0x08 });
  device.queue.writeBuffer(src, 0, srcData);
  const dst = device.createBuffer({ size: 432 * 4, usage: 0x80 | 0x04 });
  const rb = device.createBuffer({ size: 432 * 4, usage: 0x01 | 0x08 });
  try {
    const module = device.createShaderModule({ code: code(v.la, v.lb, extra, ao, bo) });
    const info = await module.getCompilationInfo();
    for (const m of info.messages) if (m.type === 'error') console.log('  compile:', m.message);
    const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(); pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); pass.end();
    enc.copyBufferToBuffer(dst, 0, rb, 0, 432 * 4);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(1);
    const out = new Float32Array(rb.getMappedRange().slice(0));
    rb.unmap();
    let bad = 0, tbad = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) { if (out[i * 20 + j] !== post(prod(i, j), i, j)) bad++; if (out[i * 20 + j] !== post(prod(j, i), j, i)) tbad++; }
    console.log(`mma ${name}: ${bad} of 256 wrong (as transpose: ${tbad}); row0 got ${Array.from(out.slice(0, 6)).join(',')} want ${Array.from({ length: 6 }, (_, j) => post(prod(0, j), 0, j)).join(',')}; lanes ${Array.from(out.slice(400, 408)).join(',')}`);
  } catch (e) { console.log(`mma ${name}: ERROR ${e.message.split('\n')[0]}`); }
}
await run('Left row, Right col (S = Q K^T path)', variants.leftRow_rightCol);
await run('Left row, Right row (P V path)', variants.leftRow_rightRow);
// Result round trip through workgroup memory (rescale path): store, scale by 2, load back.
await run('result store/scale/load', variants.leftRow_rightRow,
  'subgroupMatrixStore(&wc, 0u, c, false, 20u); workgroupBarrier(); for (var e = lid; e < 320u; e = e + 32u) { wc[e] = wc[e] * 2.0; } workgroupBarrier(); c = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>>(&wc, 0u, false, 20u); workgroupBarrier();',
  (x) => 2 * x);
// Offsets as the kernel uses them (fragment at row 16 of a taller array is not tested here); two MMAs accumulate.
await run('two MMAs accumulate', variants.leftRow_rightRow, 'c = subgroupMatrixMultiplyAccumulate(l, r, c);', (x) => 2 * x);
await run('offsets: A at row 16 + col 8, B at row 16', variants.leftRow_rightCol, '', (x) => x, 16 * 24 + 8, 16 * 24);
await run('offsets: B row-major at row 16 + col 8', variants.leftRow_rightRow, '', (x) => x, 0, 16 * 24 + 8);
