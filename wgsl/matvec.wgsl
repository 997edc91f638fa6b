// Matrix-vector family (M = 1, decode): out[z, n] = epilogue(sum_k x[z, k] * B[z, k, n]). It reads
// B once; the params, loaders, epilogue and output helpers come from wgsl/matmul.wgsl (included
// with MATVEC set, which leaves out that file's entry points).
//   MATVEC_DOT  B k-contiguous (weights [N, K]): TPR threads per output row, 4 (or with V8, 8)
//               elements per load, four loads in flight per thread, then a workgroup reduction.
//               Dispatch: ceil(N / (256 / TPR)) workgroups in x/y, z = batch.
//   else (AXPY) B n-contiguous ([K, N]): CT threads x 4 columns, KL = 256 / CT k-lanes reduced in
//               workgroup memory; SPLIT: each z = split * batch + batch index writes f32 partials
//               for the REDUCE pass of wgsl/matmul.wgsl. Dispatch: ceil(N / (4 CT)) in x/y.
#include "matmul"

#if MATVEC_DOT
const WG: u32 = 256u;
const TPR: u32 = $TPR;
const ROWS: u32 = WG / TPR;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let zb = wid.z + params.z0;
  let lane = lid % TPR;
  let n = w * ROWS + lid / TPR;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  var acc = vec4<f32>(0.0);
  if (n < params.n) {
#if V8
    // 8 elements per load (two vec4 of f32, or one of packed 16-bit words); K % 8 = 0.
    let step = TPR * 8u;
    let row = b_base + n * params.b_rs;
    var k = lane * 8u;
    for (; k + 3u * step < params.k; k = k + 4u * step) {
      let b0 = load8_b(row + k);
      let b1 = load8_b(row + k + step);
      let b2 = load8_b(row + k + 2u * step);
      let b3 = load8_b(row + k + 3u * step);
      let x0 = load8_a(a_base + k);
      let x1 = load8_a(a_base + k + step);
      let x2 = load8_a(a_base + k + 2u * step);
      let x3 = load8_a(a_base + k + 3u * step);
      acc = acc + b0[0] * x0[0] + b0[1] * x0[1] + b1[0] * x1[0] + b1[1] * x1[1];
      acc = acc + b2[0] * x2[0] + b2[1] * x2[1] + b3[0] * x3[0] + b3[1] * x3[1];
    }
    for (; k < params.k; k = k + step) {
      let bb = load8_b(row + k);
      let xx = load8_a(a_base + k);
      acc = acc + bb[0] * xx[0] + bb[1] * xx[1];
    }
#else
    let step = TPR * 4u;
    var k = lane * 4u;
    // Four independent loads in flight per thread.
    for (; k + 3u * step < params.k; k = k + 4u * step) {
      let b0 = load_b(b_base, n, k, params.n, params.k);
      let b1 = load_b(b_base, n, k + step, params.n, params.k);
      let b2 = load_b(b_base, n, k + 2u * step, params.n, params.k);
      let b3 = load_b(b_base, n, k + 3u * step, params.n, params.k);
      acc = acc + b0 * load_a(a_base, 0u, k, 1u, params.k) + b1 * load_a(a_base, 0u, k + step, 1u, params.k);
      acc = acc + b2 * load_a(a_base, 0u, k + 2u * step, 1u, params.k) + b3 * load_a(a_base, 0u, k + 3u * step, 1u, params.k);
    }
    for (; k < params.k; k = k + step) {
      acc = acc + load_b(b_base, n, k, params.n, params.k) * load_a(a_base, 0u, k, 1u, params.k);
    }
#endif
  }
  red[lid] = (acc.x + acc.y) + (acc.z + acc.w);
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
    if (lane < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let o = zb * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
#if OUT_HALF
  if (lid < ROWS / 2u) {
    let n0 = w * ROWS + lid * 2u;
    if (n0 < params.n) {
      let v0 = epilogue(red[lid * 2u * TPR], e0_base + n0 * params.e0_sn, e1_base + n0 * params.e1_sn);
      var v1 = 0.0;
      if (n0 + 1u < params.n) {
        v1 = epilogue(red[(lid * 2u + 1u) * TPR], e0_base + (n0 + 1u) * params.e0_sn, e1_base + (n0 + 1u) * params.e1_sn);
      }
      out[(o + n0) >> 1u] = $PACK(v0) | ($PACK(v1) << 16u);
    }
  }
#else
  if (lid < ROWS) {
    let nn = w * ROWS + lid;
    if (nn < params.n) {
      out[o + nn] = epilogue(red[lid * TPR], e0_base + nn * params.e0_sn, e1_base + nn * params.e1_sn);
    }
  }
#endif
}

#else
const WG: u32 = 256u;
const CT: u32 = $CT;
const KL: u32 = WG / CT;
var<workgroup> red: array<vec4<f32>, WG>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let z = wid.z + params.z0;
  let zb = z % params.batch;
  let kbeg = (z / params.batch) * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
  let n = (w * CT + lid % CT) * 4u;
  let kl = lid / CT;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  var acc = vec4<f32>(0.0);
  if (n < params.n) {
    var k = kbeg + kl;
    for (; k + 3u * KL < kend; k = k + 4u * KL) {
      let b0 = load_b(b_base, k, n, kend, params.n);
      let b1 = load_b(b_base, k + KL, n, kend, params.n);
      let b2 = load_b(b_base, k + 2u * KL, n, kend, params.n);
      let b3 = load_b(b_base, k + 3u * KL, n, kend, params.n);
      acc = acc + b0 * elem_a(a_base + k * params.a_cs) + b1 * elem_a(a_base + (k + KL) * params.a_cs);
      acc = acc + b2 * elem_a(a_base + (k + 2u * KL) * params.a_cs) + b3 * elem_a(a_base + (k + 3u * KL) * params.a_cs);
    }
    for (; k < kend; k = k + KL) {
      acc = acc + load_b(b_base, k, n, kend, params.n) * elem_a(a_base + k * params.a_cs);
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = KL / 2u; s > 0u; s = s >> 1u) {
    if (kl < s) { red[lid] = red[lid] + red[lid + s * CT]; }
    workgroupBarrier();
  }
  if (kl == 0u && n < params.n) {
    var v = red[lid];
#if !SPLIT
    v = epilogue4(v, 0u, n, params.e0_off + batch_offset(zb, params.e0_bs), params.e1_off + batch_offset(zb, params.e1_bs));
#endif
    store4(z * params.n + n, n, v);
  }
}
#endif
