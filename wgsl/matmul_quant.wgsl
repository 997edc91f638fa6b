// Quantized matmul family: out[z, m, n] = epilogue(sum_k A[z, m, k] * W[n, k]) where W [N, K] is a
// ggml block-quantized weight (blocks along K, GGUF layout), decoded inside the kernel by
// wgsl/_quant.wgsl (block type = a define): the f32 weight is never materialized. Params, the A /
// bias / residual loaders (OPERANDS), epilogue and stores come from wgsl/matmul.wgsl (included with
// MATVEC, which leaves out its entry points); params.b_rs = blocks per row of W. Variants:
//   QMV      M = 1 (decode): GROUPS groups of TPR threads per workgroup, each group on ROWS weight
//            rows; a thread takes whole 32-element units (q_dot) of its rows in turn, so a group's
//            threads read consecutive blocks (coalesced), and loads a unit's x values once for the
//            ROWS rows. Partial sums: a tree in workgroup memory, or (SUBGROUP, GROUPS = 1)
//            subgroupAdd then one slot per subgroup. Dispatch: ceil(N / (GROUPS * ROWS)) in x/y,
//            z = batch.
//   else     tiled (M > 1): BM x 64 outputs per workgroup, 4 x 4 per thread; per 32-deep k step
//            the A tile and the dequantized (q_deq8) W tile go through workgroup memory.
//            Dispatch: tiles (grouped for L2 reuse) in x/y, z = batch.
// Bindings: params, a 1, blocks 2, bias 3, residual 4, out 5.
#include "matmul"
@group(0) @binding(2) var<storage, read> blocks: array<u32>;
#include "_quant"

const UPB: u32 = QK / 32u; // units per block

#if QMV
const TPR: u32 = $TPR;
const GROUPS: u32 = $GROUPS;
const ROWS: u32 = $ROWS;
const WG: u32 = TPR * GROUPS;
#if SUBGROUP
// One row group per workgroup (GROUPS = 1), so every subgroup lies inside it whatever the
// subgroup size and lane order: subgroupAdd, then one slot per subgroup (taken atomically).
var<workgroup> red: array<f32, WG * ROWS>;
var<workgroup> nsub: atomic<u32>;
#else
var<workgroup> red: array<f32, WG * ROWS>;
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32
#if SUBGROUP
  , @builtin(subgroup_invocation_id) sg_lane: u32
#endif
) {
  let w = wid.x + wid.y * params.grid_x;
  let zb = wid.z + params.z0;
  let lane = lid % TPR;
  let n0 = (w * GROUPS + lid / TPR) * ROWS;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let units = params.k / 32u;
#if SUBGROUP
  if (lid == 0u) { atomicStore(&nsub, 0u); }
#endif
  var acc: array<f32, ROWS>;
  for (var u = lane; u < units; u = u + TPR) {
    let kb = u / UPB;
    let ku = u % UPB;
    let r = q_runs(ku) + vec2<u32>(kb * QK);
    var x: array<vec4<f32>, 8>;
    for (var i = 0u; i < 4u; i = i + 1u) {
      x[i] = load_a(a_base, 0u, r.x + 4u * i, 1u, params.k);
      x[4u + i] = load_a(a_base, 0u, r.y + 4u * i, 1u, params.k);
    }
    for (var j = 0u; j < ROWS; j = j + 1u) {
      let n = n0 + j;
      if (n < params.n) { acc[j] = acc[j] + q_dot(n * params.b_rs + kb, ku, x); }
    }
  }
#if SUBGROUP
  var sums: array<f32, ROWS>;
  for (var j = 0u; j < ROWS; j = j + 1u) { sums[j] = subgroupAdd(acc[j]); }
  workgroupBarrier(); // nsub is zero
  if (sg_lane == 0u) {
    let slot = atomicAdd(&nsub, 1u);
    for (var j = 0u; j < ROWS; j = j + 1u) { red[j * WG + slot] = sums[j]; }
  }
  workgroupBarrier();
  if (lid != 0u) { return; }
  let count = atomicLoad(&nsub);
  for (var j = 0u; j < ROWS; j = j + 1u) {
    var v = 0.0;
    for (var i = 0u; i < count; i = i + 1u) { v = v + red[j * WG + i]; }
    red[j * WG] = v;
  }
#else
  for (var j = 0u; j < ROWS; j = j + 1u) { red[j * WG + lid] = acc[j]; }
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
    if (lane < s) {
      for (var j = 0u; j < ROWS; j = j + 1u) { red[j * WG + lid] = red[j * WG + lid] + red[j * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lane != 0u) { return; }
#endif
  let o = zb * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
#if OUT_HALF
  // ROWS is even and N is even here, so each pair of outputs shares one word.
  for (var j = 0u; j < ROWS; j = j + 2u) {
    let n = n0 + j;
    if (n < params.n) {
      let v0 = epilogue(red[j * WG + lid], e0_base + n * params.e0_sn, e1_base + n * params.e1_sn);
      let v1 = epilogue(red[(j + 1u) * WG + lid], e0_base + (n + 1u) * params.e0_sn, e1_base + (n + 1u) * params.e1_sn);
      out[(o + n) >> 1u] = $PACK(v0) | ($PACK(v1) << 16u);
    }
  }
#else
  for (var j = 0u; j < ROWS; j = j + 1u) {
    let n = n0 + j;
    if (n < params.n) { out[o + n] = epilogue(red[j * WG + lid], e0_base + n * params.e0_sn, e1_base + n * params.e1_sn); }
  }
#endif
}

#else
const BM: u32 = $BM;
const BN: u32 = 64u;
const BK: u32 = 32u;
const TX: u32 = BN / 4u;
const WG: u32 = TX * (BM / 4u);
const BM4: u32 = BM / 4u;
const BN4: u32 = BN / 4u;
// k-major tiles: As[k * BM4 + m / 4][m % 4], Bs[k * BN4 + n / 4][n % 4].
var<workgroup> As: array<vec4<f32>, BK * BM4>;
var<workgroup> Bs: array<vec4<f32>, BK * BN4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let tiles_m = (params.m + BM - 1u) / BM;
  if (w >= tiles_m * params.tiles_n) { return; }
  let t = tile_of(w, tiles_m);
  let m0 = t.x * BM;
  let n0 = t.y * BN;
  let zb = wid.z + params.z0;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let tx = lid % TX;
  let ty = lid / TX;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.k; k0 = k0 + BK) {
    for (var e = lid; e < BM * (BK / 4u); e = e + WG) {
      let row = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let v = load_a(a_base, m0 + row, k0 + kq, params.m, params.k);
      for (var c = 0u; c < 4u; c = c + 1u) { As[(kq + c) * BM4 + row / 4u][row % 4u] = v[c]; }
    }
    // W rows n0.. of this k step: 4 groups of 8 elements per row.
    for (var e = lid; e < BN * 4u; e = e + WG) {
      let nn = e / 4u;
      let j8 = (e % 4u) * 8u;
      var v = mat2x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n0 + nn < params.n) {
        let kk = k0 + j8;
        v = q_deq8((n0 + nn) * params.b_rs + kk / QK, kk % QK);
      }
      for (var c = 0u; c < 8u; c = c + 1u) { Bs[(j8 + c) * BN4 + nn / 4u][nn % 4u] = v[c / 4u][c % 4u]; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk = kk + 1u) {
      let a = As[kk * BM4 + ty];
      let b = Bs[kk * BN4 + tx];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }
  let o_base = zb * params.m * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  let n = n0 + tx * 4u;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + ty * 4u + i;
    if (m < params.m) { store4(o_base + m * params.n + n, n, epilogue4(acc[i], m, n, e0_base, e1_base)); }
  }
}
#endif
