// Quantized matmul family: out[z, m, n] = epilogue(sum_k A[z, m, k] * W[n, k]) where W [N, K] is a
// ggml block-quantized weight (blocks along K, GGUF layout), decoded inside the kernel by
// wgsl/_quant.wgsl (block type = a define): the f32 weight is never materialized. Params, the A /
// bias / residual loaders (OPERANDS), epilogue and stores come from wgsl/matmul.wgsl (included with
// MATVEC, which leaves out its entry points); params.b_rs = blocks per row of W. Variants:
//   QMV      M = 1 (decode; a few rows of a run it once per row, as batch entries): GROUPS groups
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
//   QMV8     M = 1 with `quantizeActivations`: x rounded to 8 bits per run of a unit (scale
//            max |x| / 127, llama.cpp's Q8_1 idea) and multiplied with the weight's integers by
//            dot4I8Packed (wgsl/_quant_idot.wgsl): a quarter of the decode work. Thread lid owns
//            units lid + i * WG of each pass over K (UPT per pass) and quantizes their x itself
//            (no workgroup memory, no barrier); the workgroup streams RW weight rows past them,
//            then subgroupAdd and one workgroup-memory pass per output. Needs subgroups.
//   else     tiled (M > 1): BM x 64 outputs per workgroup, 4 x 4 per thread; per 32-deep k step
//            the A tile and the dequantized (q_deq4) W tile go through workgroup memory. SPLIT:
//            z = split * batch + batch index covers K chunk `split` and writes raw f32 partial
//            sums, summed with the epilogue by wgsl/matmul.wgsl's REDUCE. Dispatch: tiles
//            (grouped for L2 reuse) in x/y, z = batch (x splits).
// Bindings: params, a 1, blocks 2 (Q4_K / Q5_K matvecs: blocks4 7), bias 3, residual 4, out 5; QMV8: xq 6.
#include "matmul"
@group(0) @binding(2) var<storage, read> blocks: array<u32>;
#if BLOCKS4
// The same weight buffer as 16-byte words (Q4_K / Q5_K matvecs: their blocks are 16-byte aligned).
@group(0) @binding(7) var<storage, read> blocks4: array<vec4<u32>>;
#endif
#include "_quant"

#if QMV_TAIL
// Row sums of this workgroup's RW outputs (partials in red) through the epilogue to out.
fn store_rows(w: u32, zb: u32, lid: u32) {
  let o = zb * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
#if OUT_HALF
  // RW is even and N is even here, so each pair of outputs shares one word.
  if (lid < RW / 2u) {
    let n = w * RW + 2u * lid;
    if (n < params.n) {
      let v0 = epilogue(row_sum(2u * lid), e0_base + n * params.e0_sn, e1_base + n * params.e1_sn);
      let v1 = epilogue(row_sum(2u * lid + 1u), e0_base + (n + 1u) * params.e0_sn, e1_base + (n + 1u) * params.e1_sn);
      out[(o + n) >> 1u] = $PACK(v0) | ($PACK(v1) << 16u);
    }
  }
#else
  if (lid < RW) {
    let n = w * RW + lid;
    if (n < params.n) { out[o + n] = epilogue(row_sum(lid), e0_base + n * params.e0_sn, e1_base + n * params.e1_sn); }
  }
#endif
}

// The TPR partial sums of output r of this workgroup.
fn row_sum(r: u32) -> f32 {
  var s = 0.0;
  for (var t = 0u; t < TPR; t = t + 1u) { s = s + red[r * RP + t]; }
  return s;
}
#endif

#if XREC
const XR: u32 = QU / 16u + 1u; // vec4s per unit record of xq: QU / 4 packed words, then (scales, sums)
// x quantized to 8 bits for one unit: words (run A, then run B) and (scales, integer sums).
struct XQ { q: array<u32, QU / 4u>, d: vec4<f32> }
#endif

#if Q8X
// The 8-bit activations pass of QMV8: thread g quantizes unit g % units of batch row g / units of
// a into its record of xq (once per call, not once per workgroup of the matvec).
@group(0) @binding(6) var<storage, read_write> xq: array<vec4<u32>>;
struct Run4 { w: vec4<u32>, d: f32, s: f32 }

fn nonfinite(v: vec4<f32>) -> bool {
  return any((bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u));
}

// 16 values quantized with scale `inv` (127 / max |x| of their run): packed i8 and their integer sum.
fn q8_16(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, inv: f32) -> Run4 {
  let a = round(v0 * inv);
  let b = round(v1 * inv);
  let c = round(v2 * inv);
  let e = round(v3 * inv);
  let w = vec4<u32>(pack4xI8(vec4<i32>(a)), pack4xI8(vec4<i32>(b)), pack4xI8(vec4<i32>(c)), pack4xI8(vec4<i32>(e)));
  return Run4(w, 0.0, dot(a + b + c + e, vec4<f32>(1.0)));
}

fn vmax4(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) -> vec4<f32> {
  return max(max(abs(v0), abs(v1)), max(abs(v2), abs(v3)));
}

// A run's scale from its largest magnitude m: m / 127, NaN where the run holds NaN or Inf.
fn run_scale(m: vec4<f32>, bad: bool) -> vec2<f32> {
  let mx = max(max(m.x, m.y), max(m.z, m.w));
  let d = select(mx / 127.0, nan_f32(), bad);
  return vec2<f32>(d, select(127.0 / mx, 0.0, mx == 0.0 || bad));
}

// x at element e (4 values) of a's row.
fn xv4(a_base: u32, e: u32) -> vec4<f32> {
  return load_a(a_base, 0u, e, 1u, params.k);
}

// The x values of unit uu of a row of a, quantized per run.
fn x_quant(a_base: u32, uu: u32) -> XQ {
  let bu = vec2<u32>((uu * QU) / QK, ((uu * QU) % QK) / QU);
  let r = q_runs(bu.y) + vec2<u32>(bu.x * QK);
#if K45
  let a0 = xv4(a_base, r.x); let a1 = xv4(a_base, r.x + 4u); let a2 = xv4(a_base, r.x + 8u); let a3 = xv4(a_base, r.x + 12u);
  let a4 = xv4(a_base, r.x + 16u); let a5 = xv4(a_base, r.x + 20u); let a6 = xv4(a_base, r.x + 24u); let a7 = xv4(a_base, r.x + 28u);
  let b0 = xv4(a_base, r.y); let b1 = xv4(a_base, r.y + 4u); let b2 = xv4(a_base, r.y + 8u); let b3 = xv4(a_base, r.y + 12u);
  let b4 = xv4(a_base, r.y + 16u); let b5 = xv4(a_base, r.y + 20u); let b6 = xv4(a_base, r.y + 24u); let b7 = xv4(a_base, r.y + 28u);
  let sa = run_scale(max(vmax4(a0, a1, a2, a3), vmax4(a4, a5, a6, a7)),
    nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3) || nonfinite(a4) || nonfinite(a5) || nonfinite(a6) || nonfinite(a7));
  let sb = run_scale(max(vmax4(b0, b1, b2, b3), vmax4(b4, b5, b6, b7)),
    nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3) || nonfinite(b4) || nonfinite(b5) || nonfinite(b6) || nonfinite(b7));
  let qa0 = q8_16(a0, a1, a2, a3, sa.y); let qa1 = q8_16(a4, a5, a6, a7, sa.y);
  let qb0 = q8_16(b0, b1, b2, b3, sb.y); let qb1 = q8_16(b4, b5, b6, b7, sb.y);
  return XQ(array<u32, 16>(qa0.w.x, qa0.w.y, qa0.w.z, qa0.w.w, qa1.w.x, qa1.w.y, qa1.w.z, qa1.w.w,
    qb0.w.x, qb0.w.y, qb0.w.z, qb0.w.w, qb1.w.x, qb1.w.y, qb1.w.z, qb1.w.w), vec4<f32>(sa.x, sb.x, qa0.s + qa1.s, qb0.s + qb1.s));
#else
  let a0 = xv4(a_base, r.x); let a1 = xv4(a_base, r.x + 4u); let a2 = xv4(a_base, r.x + 8u); let a3 = xv4(a_base, r.x + 12u);
  let b0 = xv4(a_base, r.y); let b1 = xv4(a_base, r.y + 4u); let b2 = xv4(a_base, r.y + 8u); let b3 = xv4(a_base, r.y + 12u);
  let sa = run_scale(vmax4(a0, a1, a2, a3), nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3));
  let sb = run_scale(vmax4(b0, b1, b2, b3), nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3));
  let qa = q8_16(a0, a1, a2, a3, sa.y);
  let qb = q8_16(b0, b1, b2, b3, sb.y);
  return XQ(array<u32, 8>(qa.w.x, qa.w.y, qa.w.z, qa.w.w, qb.w.x, qb.w.y, qb.w.z, qb.w.w), vec4<f32>(sa.x, sb.x, qa.s, qb.s));
#endif
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let units = params.k / QU;
  let g = gid.x + gid.y * params.grid_x * 64u;
  if (g >= params.batch * units) { return; }
  let zb = g / units;
  let x = x_quant(params.a_off + batch_offset(zb, params.a_bs), g % units);
  let o = g * XR;
#if K45
  xq[o] = vec4<u32>(x.q[0], x.q[1], x.q[2], x.q[3]);
  xq[o + 1u] = vec4<u32>(x.q[4], x.q[5], x.q[6], x.q[7]);
  xq[o + 2u] = vec4<u32>(x.q[8], x.q[9], x.q[10], x.q[11]);
  xq[o + 3u] = vec4<u32>(x.q[12], x.q[13], x.q[14], x.q[15]);
  xq[o + 4u] = bitcast<vec4<u32>>(x.d);
#else
  xq[o] = vec4<u32>(x.q[0], x.q[1], x.q[2], x.q[3]);
  xq[o + 1u] = vec4<u32>(x.q[4], x.q[5], x.q[6], x.q[7]);
  xq[o + 2u] = bitcast<vec4<u32>>(x.d);
#endif
}

#elif QMV8
#include "_quant_idot"
@group(0) @binding(6) var<storage, read> xq: array<vec4<u32>>;
const WG: u32 = $WG;
const UPT: u32 = $UPT; // units per thread per pass over K
const RW: u32 = $RW; // weight rows per workgroup
const TPR: u32 = WG / $SG_MIN; // the most subgroups of a workgroup: partial sums per output
const RP: u32 = TPR + 1u;
var<workgroup> red: array<f32, RW * RP>;

// The quantized x of unit uu of batch row zb (its record from the Q8X pass).
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
  store_rows(w, zb, lid);
}

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
  store_rows(w, zb, lid);
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
