// Quantized matmul family: out[z, m, n] = epilogue(sum_k A[z, m, k] * W[n, k]) where W [N, K] is a
// ggml block-quantized weight (blocks along K, GGUF layout), decoded inside the kernel by
// wgsl/_quant.wgsl (block type = a define): the f32 weight is never materialized. Params, the A /
// bias / residual loaders (OPERANDS), epilogue and stores come from wgsl/matmul.wgsl (included with
// MATVEC, which leaves out its entry points); params.b_rs = blocks per row of W. Variants:
//   QMV      M = 1 with f32 decoding (exact x; the default below the integer matvec's size
//            threshold or without subgroups; a few rows of a run it once per row, as batch
//            entries): GROUPS groups
//            of TPR threads per workgroup, each group on ROWS weight rows (RW = GROUPS * ROWS rows
//            per workgroup). x goes through workgroup memory XC elements at a time (coalesced
//            loads, all in flight), one pad vec4 per QU-element unit so that lanes reading
//            consecutive units hit different banks. A thread takes whole units of its rows in turn
//            (UNROLL at a time): it loads the words of those units of its ROWS rows first (q_load;
//            a chunk's first group before x is staged), then per unit the x values into registers
//            once and decodes each row's unit against them (q_dot), so a group's threads read
//            consecutive blocks (coalesced) with many loads in flight. The per-thread code is
//            straight-line over named variables, generated per (ROWS, UNROLL) in TypeScript. Rows past N read row N - 1 and
//            store nothing. Partial sums: one workgroup-memory pass (a padded row per output,
//            summed by one thread). Dispatch: ceil(N / RW) in x/y, z = batch.
//   QMV8     M = 1 through integer dot products (wgsl/_quant_idot.wgsl): a first pass
//            (wgsl/matmul_quant_x.wgsl) writes x as one record per unit, X24 (exact x for large weights: 23-bit integers per run as
//            three 8-bit digit planes, so exact up to x's rounding to 2^-22 of its run's max) or X8
//            (`quantizeActivations`: x rounded to 8 bits per run, scale max |x| / 127, llama.cpp's
//            Q8_1 idea); the matvec multiplies them with the weight's integers by dot4I8Packed.
//            Thread lid owns units lid + i * WG of each pass over K (UPT per pass) and reads their
//            records once; the workgroup streams RW weight rows past them, then subgroupAdd and one
//            workgroup-memory pass per output. X24 units holding NaN or Inf are summed again from
//            a with the dequantized weight (unit_ieee), so those rows get IEEE results. Needs
//            subgroups. PERSIST: fewer workgroups than row blocks (a few per SM), each keeping
//            its threads' records in registers over the blocks it loops over (one pass over K);
//            with FUSEX each thread computes its own units' records from a (wgsl/_quant_xrec.wgsl),
//            so there is no x pass: one dispatch.
//   else     tiled (M > 1): BM x 64 outputs per workgroup, 4 x 4 per thread; per 32-deep k step
//            the A tile and the dequantized (q_deq4) W tile go through workgroup memory. SPLIT:
//            z = split * batch + batch index covers K chunk `split` and writes raw f32 partial
//            sums, summed with the epilogue by wgsl/matmul.wgsl's REDUCE. Dispatch: tiles
//            (grouped for L2 reuse) in x/y, z = batch (x splits).
// Bindings: params, a 1, blocks 2 (Q4_K / Q5_K matvecs: blocks4 7), bias 3, residual 4, out 5; QMV8: xq 6 (not with FUSEX).
#include "matmul"
@group(0) @binding(2) var<storage, read> blocks: array<u32>;
#if BLOCKS4
// The same weight buffer as 16-byte words (Q4_K / Q5_K matvecs: their blocks are 16-byte aligned).
@group(0) @binding(7) var<storage, read> blocks4: array<vec4<u32>>;
#endif
#include "_quant"

#if QMV_TAIL
// Row sums of this workgroup's RW outputs (partials in red) through the epilogue to out.
// ro: the first partial of this block in red (the persistent matvec alternates two halves).
fn store_rows(w: u32, zb: u32, lid: u32, ro: u32) {
  let o = zb * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  // A loop: a workgroup may have fewer threads than rows (small configs, software rasterizers).
#if OUT_HALF
  // RW is even and N is even here, so each pair of outputs shares one word.
  for (var p = lid; p < RW / 2u; p = p + WG) {
    let n = w * RW + 2u * p;
    if (n < params.n) {
      let v0 = epilogue(row_sum(ro + 2u * p * RP), e0_base + n * params.e0_sn, e1_base + n * params.e1_sn);
      let v1 = epilogue(row_sum(ro + (2u * p + 1u) * RP), e0_base + (n + 1u) * params.e0_sn, e1_base + (n + 1u) * params.e1_sn);
      out[(o + n) >> 1u] = $PACK(v0) | ($PACK(v1) << 16u);
    }
  }
#else
  for (var r = lid; r < RW; r = r + WG) {
    let n = w * RW + r;
    if (n < params.n) { out[o + n] = epilogue(row_sum(ro + r * RP), e0_base + n * params.e0_sn, e1_base + n * params.e1_sn); }
  }
#endif
}

// The TPR partial sums of an output of this workgroup, from red[i].
fn row_sum(i: u32) -> f32 {
  var s = 0.0;
  for (var t = 0u; t < TPR; t = t + 1u) { s = s + red[i + t]; }
  return s;
}
#endif

#if QMV8
#include "_quant_idot"
#if FUSEX
#include "_quant_xrec"
#else
@group(0) @binding(6) var<storage, read> xq: array<vec4<u32>>;
#endif
const WG: u32 = $WG;
const UPT: u32 = $UPT; // units per thread per pass over K
const RW: u32 = $RW; // weight rows per workgroup
const TPR: u32 = WG / $SG_MIN; // the most subgroups of a workgroup: partial sums per output
const RP: u32 = TPR + 1u;
#if PERSIST
var<workgroup> red: array<f32, 2u * RW * RP>; // two halves: block i's partials in half i % 2
#else
var<workgroup> red: array<f32, RW * RP>;
#endif

#if !FUSEX
// The x record of unit uu of batch row zb (written by wgsl/matmul_quant_x.wgsl).
#if X24
fn x_load(zb: u32, uu: u32) -> XD {
  let o = (zb * (params.k / QU) + uu) * XR;
#if K45
  let a0 = xq[o]; let a1 = xq[o + 1u]; let a2 = xq[o + 2u]; let a3 = xq[o + 3u];
  let b0 = xq[o + 4u]; let b1 = xq[o + 5u]; let b2 = xq[o + 6u]; let b3 = xq[o + 7u];
  let c0 = xq[o + 8u]; let c1 = xq[o + 9u]; let c2 = xq[o + 10u]; let c3 = xq[o + 11u];
  let p0 = array<u32, 16>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w, a2.x, a2.y, a2.z, a2.w, a3.x, a3.y, a3.z, a3.w);
  let p1 = array<u32, 16>(b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w, b2.x, b2.y, b2.z, b2.w, b3.x, b3.y, b3.z, b3.w);
  let p2 = array<u32, 16>(c0.x, c0.y, c0.z, c0.w, c1.x, c1.y, c1.z, c1.w, c2.x, c2.y, c2.z, c2.w, c3.x, c3.y, c3.z, c3.w);
#else
  let a0 = xq[o]; let a1 = xq[o + 1u]; let b0 = xq[o + 2u]; let b1 = xq[o + 3u]; let c0 = xq[o + 4u]; let c1 = xq[o + 5u];
  let p0 = array<u32, 8>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
  let p1 = array<u32, 8>(b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w);
  let p2 = array<u32, 8>(c0.x, c0.y, c0.z, c0.w, c1.x, c1.y, c1.z, c1.w);
#endif
  let ma = xq[o + XR - 2u];
  let mb = xq[o + XR - 1u];
  let inv = vec2<f32>(bitcast<f32>(ma.x), bitcast<f32>(mb.x));
  let s0 = bitcast<vec2<i32>>(vec2<u32>(ma.y, mb.y));
  let s1 = bitcast<vec2<i32>>(vec2<u32>(ma.z, mb.z));
  let s2 = bitcast<vec2<i32>>(vec2<u32>(ma.w, mb.w));
  let sx = vec2<f32>(s2 * 65536 + s1 * 256 + s0) * inv;
  return XD(p0, p1, p2, inv, s0, s1, s2, sx, min(inv.x, inv.y) > 0.0);
}

#else
fn x_load(zb: u32, uu: u32) -> XQ {
  let o = (zb * (params.k / QU) + uu) * XR;
#if K45
  let a = xq[o]; let b = xq[o + 1u]; let c = xq[o + 2u]; let e = xq[o + 3u];
  return XQ(array<u32, 16>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w, e.x, e.y, e.z, e.w), bitcast<vec4<f32>>(xq[o + 4u]));
#else
  let a = xq[o]; let b = xq[o + 1u];
  return XQ(array<u32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w), bitcast<vec4<f32>>(xq[o + 2u]));
#endif
}
#endif
#endif

#if X24
// sum of w * x over unit u of block b (its first element e0 in the row) of batch row zb, element by
// element with the dequantized weight (q_deq4, bit-exact): for the units whose record marks NaN or
// Inf, so their rows get the reference's IEEE result (an Inf times a zero weight is NaN, etc.).
fn unit_ieee(zb: u32, b: u32, u: u32, e0: u32) -> f32 {
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let r = q_runs(u);
  var s = 0.0;
  for (var i = 0u; i < QU / 2u; i = i + 4u) {
    s = s + dot(q_deq4(b, r.x + i), load_a(a_base, 0u, e0 + r.x + i, 1u, params.k)) + dot(q_deq4(b, r.y + i), load_a(a_base, 0u, e0 + r.y + i, 1u, params.k));
  }
  return s;
}
#endif

#if PERSIST
// Persistent: fewer workgroups than row blocks; each keeps its threads' x records in registers
// (read from xq, or computed from a with FUSEX: no x pass) and loops over row blocks w, w + step,
// ... (pipelined, config pipe: the next block's weight loads go out before this block's dots). One barrier per
// block: red alternates halves, so the next block's partials never overwrite unread ones.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) sz: u32) {
  var w = wid.x + wid.y * params.grid_x;
  let step = nwg.x * nwg.y;
  let nblk = (params.n + RW - 1u) / RW;
  if (w >= nblk) { return; }
  let zb = wid.z + params.z0;
  let units = params.k / QU;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  // Straight-line over named variables (src/ops/matmul-quant-i8.ts): this thread's units uuI with
  // their x records xI, rows rowJ of block w, sums accJ, weight words gJ_I. Pipelined, the first
  // block's weight loads go out before x is read.
  $P_UNITS
  $P_FIRST
  $P_X
  var ro = 0u;
  loop {
    $P_BODY
    workgroupBarrier();
    store_rows(w, zb, lid, ro);
    w = w + step;
    if (w >= nblk) { break; }
    ro = RW * RP - ro;
  }
}
#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) sz: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let zb = wid.z + params.z0;
  let units = params.k / QU;
  // Straight-line over named variables (src/ops/matmul-quant-i8.ts): rows rowJ, sums accJ, this
  // thread's units uuI (lid + I * WG of the pass) with their quantized x xI and weight words gJ_I.
  $Q8_DECL
  for (var c0 = 0u; c0 < units; c0 = c0 + WG * UPT) {
    $Q8_PASS
  }
  $Q8_RED
  workgroupBarrier();
  store_rows(w, zb, lid, 0u);
}
#endif

#elif QMV
const TPR: u32 = $TPR;
const GROUPS: u32 = $GROUPS;
const ROWS: u32 = $ROWS;
const UNROLL: u32 = $UNROLL;
const XC: u32 = $XC; // x elements per staged chunk: a multiple of QK
const WG: u32 = TPR * GROUPS;
const RW: u32 = GROUPS * ROWS;
const XI: u32 = (XC + 4u * WG - 1u) / (4u * WG); // x loads per thread per chunk
const RP: u32 = TPR + 1u; // padded partial-sum row: lane t of output r at r * RP + t, no bank conflicts
var<workgroup> xs: array<vec4<f32>, XC / 4u + XC / QU>;
var<workgroup> red: array<f32, RW * RP>;

// x[c0 + e .. c0 + e + 3] of the staged chunk (e % 4 = 0).
fn xv(e: u32) -> vec4<f32> {
  return xs[(e >> 2u) + e / QU];
}

// Unit uu of a chunk whose first block is kb0: (block along the row, unit in the block, the
// block's first element in the chunk).
fn unit_at(uu: u32, kb0: u32) -> vec3<u32> {
  let ku = ((uu * QU) % QK) / QU;
  return vec3<u32>(kb0 + (uu * QU) / QK, ku, uu * QU - ku * QU);
}

// The staged x values of a unit's two runs (starting at chunk elements r.x and r.y).
fn x_unit(r: vec2<u32>) -> array<vec4<f32>, QU / 4u> {
#if K45
  return array<vec4<f32>, QU / 4u>(xv(r.x), xv(r.x + 4u), xv(r.x + 8u), xv(r.x + 12u), xv(r.x + 16u), xv(r.x + 20u), xv(r.x + 24u), xv(r.x + 28u),
    xv(r.y), xv(r.y + 4u), xv(r.y + 8u), xv(r.y + 12u), xv(r.y + 16u), xv(r.y + 20u), xv(r.y + 24u), xv(r.y + 28u));
#else
  return array<vec4<f32>, QU / 4u>(xv(r.x), xv(r.x + 4u), xv(r.x + 8u), xv(r.x + 12u), xv(r.y), xv(r.y + 4u), xv(r.y + 8u), xv(r.y + 12u));
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let zb = wid.z + params.z0;
  let lane = lid % TPR;
  let g = lid / TPR;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  // Straight-line over named variables (src/ops/matmul-quant.ts qmvCode): rows rowJ, sums accJ,
  // units tI of the group starting at u0, their words gI_J (arrays only ever indexed by literals:
  // arrays indexed in loops behaved like local memory on the H100).
  $QMV_DECL
  for (var c0 = 0u; c0 < params.k; c0 = c0 + XC) {
    let kc = min(XC, params.k - c0);
    let units = kc / QU;
    let kb0 = c0 / QK;
    workgroupBarrier(); // the previous chunk is consumed
    // The first group's weight loads go out before x is staged: neither waits for the other.
    var u0 = lane;
    $QMV_LOAD
    for (var i = 0u; i < XI; i = i + 1u) {
      let e = (lid + i * WG) * 4u;
      if (e < kc) { xs[(e >> 2u) + e / QU] = load_a(a_base, 0u, c0 + e, 1u, params.k); }
    }
    workgroupBarrier();
    $QMV_USE
    for (u0 = lane + TPR * UNROLL; u0 < units; u0 = u0 + TPR * UNROLL) {
      $QMV_LOAD
      $QMV_USE
    }
  }
  $QMV_RED
  workgroupBarrier();
  store_rows(w, zb, lid, 0u);
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
  let z = wid.z + params.z0;
#if SPLIT
  let zb = z % params.batch;
  let kbeg = (z / params.batch) * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
#else
  let zb = z;
  let kbeg = 0u;
  let kend = params.k;
#endif
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let tx = lid % TX;
  let ty = lid / TX;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = kbeg; k0 < kend; k0 = k0 + BK) {
    for (var e = lid; e < BM * (BK / 4u); e = e + WG) {
      let row = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let v = load_a(a_base, m0 + row, k0 + kq, params.m, kend);
      for (var c = 0u; c < 4u; c = c + 1u) { As[(kq + c) * BM4 + row / 4u][row % 4u] = v[c]; }
    }
    // W rows n0.. of this k step: 8 groups of 4 elements per row.
    for (var e = lid; e < BN * 8u; e = e + WG) {
      let nn = e / 8u;
      let j4 = (e % 8u) * 4u;
      var v = vec4<f32>(0.0);
      if (n0 + nn < params.n) {
        let kk = k0 + j4;
        v = q_deq4((n0 + nn) * params.b_rs + kk / QK, kk % QK);
      }
      for (var c = 0u; c < 4u; c = c + 1u) { Bs[(j4 + c) * BN4 + nn / 4u][nn % 4u] = v[c]; }
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
  let n = n0 + tx * 4u;
#if SPLIT
  let o_base = z * params.m * params.n;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + ty * 4u + i;
    if (m < params.m) { store4(o_base + m * params.n + n, n, acc[i]); }
  }
#else
  let o_base = zb * params.m * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  for (var i = 0u; i < 4u; i = i + 1u) {
    let m = m0 + ty * 4u + i;
    if (m < params.m) { store4(o_base + m * params.n + n, n, epilogue4(acc[i], m, n, e0_base, e1_base)); }
  }
#endif
}
#endif
