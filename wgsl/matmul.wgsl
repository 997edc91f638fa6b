// Matmul family: out[z, m, n] = epilogue(sum_k A[z, m, k] * B[z, k, n]) with f32 accumulation.
// epilogue(v) = residual + act(alpha * v + bias); bias and residual are strided views read
// through their own strides (broadcast = stride 0). A and B are strided views too: each is read
// along its contiguous dimension (A_KCONT: A's k is contiguous, else its m; B_KCONT likewise).
// Operand bindings and loaders come from src/ops/matmul-wgsl.ts (OPERANDS): load_X(base, r, c,
// rn, cn) gives 4 elements (r, c..c+3) of X in its contiguous orientation, 0 outside [rn, cn);
// elem_X(i) one element. Variants (one at a time):
//   default     register-blocked tile kernel: BM x BN tile per workgroup, BK-deep workgroup tiles
//               (A stored k-major so each thread reads vec4 fragments), TM x TN per thread,
//               the next tiles prefetched into registers while the current ones are used;
//               CK: tiles indexed [buffer][k][m / 4] with the k steps unrolled (constant k);
//               AR: A read along k kept as [m][k] rows (no transposing stores); PL: DB unrolled by 2.
//               Dispatch: tiles (grouped for L2 reuse) in x/y, z = split * batch + batch index.
//   SPLIT       same, but writes raw f32 partial sums per K split (no epilogue) for REDUCE.
//   REDUCE      sums SPLITS partials per output element and applies the epilogue.
//   MATVEC      no entry point here: wgsl/matvec.wgsl (M = 1) includes the common parts.
//   SGMAT       subgroup-matrix tiles (chromium_experimental_subgroup_matrix), operands loaded
//               straight from storage; needs M % BM, N % BN, K % SK = 0 and aligned strides.
// Bindings: params (uniform), a 1, b 2, bias 3, residual 4, out 5 (REDUCE: part 1).
// Output: f32 (OUT_VEC4: as vec4, needs N % 4 = 0), or OUT_HALF (f16/bf16 pairs, needs N even).
$ENABLE
#include "_half"
#include "_math"

struct Params {
  m: u32, n: u32, k: u32, kchunk: u32,
  a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32,
  a_off: u32, b_off: u32, tiles_n: u32, grid_x: u32,
  e0_sm: u32, e0_sn: u32, e1_sm: u32, e1_sn: u32,
  e0_off: u32, e1_off: u32, batch: u32, z0: u32,
  alpha: f32, splits: u32, group: u32, count: u32,
  bshape: vec4<u32>,
  a_bs: vec4<u32>,
  b_bs: vec4<u32>,
  e0_bs: vec4<u32>,
  e1_bs: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
$OPERANDS
@group(0) @binding(5) var<storage, read_write> out: array<$OUT_TYPE>;

// Element offset of batch index z (row-major over bshape, padded with 1s in front) for strides s.
fn batch_offset(z: u32, s: vec4<u32>) -> u32 {
  var rem = z;
  var off = 0u;
  for (var d = 3; d >= 0; d = d - 1) {
    let size = params.bshape[d];
    off = off + (rem % size) * s[d];
    rem = rem / size;
  }
  return off;
}

// residual + act(alpha * acc + bias) for loaded bias / residual values (unused ones are 0).
fn epilogue_of(acc: f32, bias: f32, res: f32) -> f32 {
  var r = params.alpha * acc;
#if BIAS
  r = r + bias;
#endif
  r = $ACT;
#if RESIDUAL
  r = r + res;
#endif
  return r;
}

// e0 / e1: element indices of the bias / residual value for this output.
fn epilogue(acc: f32, e0: u32, e1: u32) -> f32 {
  var bias = 0.0;
  var res = 0.0;
#if BIAS
  bias = elem_e0(e0);
#endif
#if RESIDUAL
  res = elem_e1(e1);
#endif
  return epilogue_of(acc, bias, res);
}

fn epilogue4(v: vec4<f32>, m: u32, n: u32, e0_base: u32, e1_base: u32) -> vec4<f32> {
#if EPI_VEC4
  // Bias and residual rows contiguous and 4-aligned, N % 4 = 0: one 4-wide load each.
  if (n >= params.n) { return v; }
  var bias = vec4<f32>(0.0);
  var res = vec4<f32>(0.0);
#if BIAS
  bias = load4_e0(e0_base + m * params.e0_sm + n);
#endif
#if RESIDUAL
  res = load4_e1(e1_base + m * params.e1_sm + n);
#endif
  return vec4<f32>(epilogue_of(v.x, bias.x, res.x), epilogue_of(v.y, bias.y, res.y), epilogue_of(v.z, bias.z, res.z), epilogue_of(v.w, bias.w, res.w));
#else
  var r = v;
  for (var c = 0u; c < 4u; c = c + 1u) {
    if (n + c < params.n) {
      r[c] = epilogue(v[c], e0_base + m * params.e0_sm + (n + c) * params.e0_sn, e1_base + m * params.e1_sm + (n + c) * params.e1_sn);
    }
  }
  return r;
#endif
}

// Stores v = outputs (n..n+3) of one row at element index o (n % 4 = 0); columns >= N are dropped.
fn store4(o: u32, n: u32, v: vec4<f32>) {
#if OUT_VEC4
  if (n < params.n) { out[o >> 2u] = v; }
#elif OUT_HALF
  if (n < params.n) { out[o >> 1u] = $PACK(v.x) | ($PACK(v.y) << 16u); }
  if (n + 2u < params.n) { out[(o >> 1u) + 1u] = $PACK(v.z) | ($PACK(v.w) << 16u); }
#else
  for (var c = 0u; c < 4u; c = c + 1u) {
    if (n + c < params.n) { out[o + c] = v[c]; }
  }
#endif
}

// Tile (tm, tn) of workgroup w, in groups of params.group tile rows so neighbours share L2 lines.
fn tile_of(w: u32, tiles_m: u32) -> vec2<u32> {
  let per_group = params.group * params.tiles_n;
  let first = (w / per_group) * params.group;
  let rows = min(tiles_m - first, params.group);
  let r = w % per_group;
  return vec2<u32>(first + r % rows, r / rows);
}

#if REDUCE
@group(0) @binding(1) var<storage, read> part: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o = (gid.x + gid.y * params.grid_x * 256u) * 2u;
  if (o >= params.count) { return; }
  var v = vec2<f32>(0.0);
  for (var s = 0u; s < params.splits; s = s + 1u) {
    v.x = v.x + part[s * params.count + o];
    if (o + 1u < params.count) { v.y = v.y + part[s * params.count + o + 1u]; }
  }
  let mn = params.m * params.n;
  for (var c = 0u; c < 2u; c = c + 1u) {
    let oc = o + c;
    if (oc < params.count) {
      let zb = oc / mn;
      let m = (oc % mn) / params.n;
      let n = oc % params.n;
      let e0 = params.e0_off + batch_offset(zb, params.e0_bs) + m * params.e0_sm + n * params.e0_sn;
      let e1 = params.e1_off + batch_offset(zb, params.e1_bs) + m * params.e1_sm + n * params.e1_sn;
      v[c] = epilogue(v[c], e0, e1);
    }
  }
#if OUT_HALF
  out[o >> 1u] = $PACK(v.x) | ($PACK(v.y) << 16u);
#else
  out[o] = v.x;
  if (o + 1u < params.count) { out[o + 1u] = v.y; }
#endif
}

#elif MATVEC
// wgsl/matvec.wgsl includes this file for the common parts above and adds its own entry point.

#elif SGMAT
const SG: u32 = $SG_SIZE;
const SM: u32 = $SM;
const SN: u32 = $SN;
const SK: u32 = $SK;
const FM: u32 = $FM;
const FN: u32 = $FN;
const SGR: u32 = $SGR;
const SGC: u32 = $SGC;
const BM: u32 = SGR * FM * SM;
const BN: u32 = SGC * FN * SN;
const WG: u32 = SGR * SGC * SG;
alias Left = subgroup_matrix_left<$CT, $SK, $SM>;
alias Right = subgroup_matrix_right<$CT, $SN, $SK>;
alias Acc = subgroup_matrix_result<f32, $SN, $SM>;
// Each subgroup stages one result fragment at a time here for the epilogue.
var<workgroup> stage: array<f32, SGR * SGC * SM * SN>;
$SG_SHARED

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let tiles_m = params.m / BM;
  if (w >= tiles_m * params.tiles_n) { return; }
  let t = tile_of(w, tiles_m);
  let zb = wid.z + params.z0;
  let sg = lid / SG;
  let lane = lid % SG;
  let mb = t.x * BM + (sg / SGC) * FM * SM;
  let nb = t.y * BN + (sg % SGC) * FN * SN;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  // Named fragments and the k loop, generated per config and load mode (SG_DECL, SG_LOOP,
  // SG_EPI; src/ops/matmul-sgmat.ts): straight-line code. Modes: fragments loaded straight
  // from storage, the same with the next k step's fragments loaded ahead, or tiles staged
  // through workgroup memory with 16-byte loads.
  $SG_DECL
  $SG_LOOP
  let o_base = zb * params.m * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  let s0 = sg * SM * SN;
  $SG_EPI
}

// Epilogue of one result fragment staged at stage[s0..]: the subgroup's lanes take 4 values each.
fn store_fragment(s0: u32, lane: u32, m0: u32, n0: u32, o_base: u32, e0_base: u32, e1_base: u32) {
  for (var e = lane * 4u; e < SM * SN; e = e + SG * 4u) {
    let m = m0 + e / SN;
    let n = n0 + e % SN;
    let v = vec4<f32>(stage[s0 + e], stage[s0 + e + 1u], stage[s0 + e + 2u], stage[s0 + e + 3u]);
    store4(o_base + m * params.n + n, n, epilogue4(v, m, n, e0_base, e1_base));
  }
}

#else
const BM: u32 = $BM;
const BN: u32 = $BN;
const BK: u32 = $BK;
const TM: u32 = $TM;
const TN: u32 = $TN;
const TX: u32 = BN / TN;
const TY: u32 = BM / TM;
const WG: u32 = TX * TY;
const BM4: u32 = BM / 4u;
const BN4: u32 = BN / 4u;
const BK4: u32 = BK / 4u;
const TM4: u32 = TM / 4u;
const TN4: u32 = TN / 4u;
const NA: u32 = BM * BK4;
const NB: u32 = BN * BK4;

// Both tiles k-major: As[k * BM4 + m / 4][m % 4], Bs[k * BN4 + n / 4][n % 4]; DB: two of each,
// so the next tiles are stored while the current ones are read (one barrier per k step). CK:
// As[buffer][k][m / 4] (the buffer a 0 / 1 index, ASTEP the step between buffers either way).
const NBUF: u32 = $NBUF;
#if CK
var<workgroup> As: array<array<array<vec4<f32>, BM4>, BK>, NBUF>;
var<workgroup> Bs: array<array<array<vec4<f32>, BN4>, BK>, NBUF>;
const ASTEP: u32 = 1u;
const BSTEP: u32 = 1u;
#elif AR
// AR (A read along k only): A's tile kept as rows, As[m * PK + k / 4] = A[m][k..k+3], stored as
// loaded (no transposing stores); the vec4 of padding per row puts rows 4 apart in other banks.
const PK: u32 = BK4 + 1u;
var<workgroup> As: array<vec4<f32>, NBUF * BM * PK>;
var<workgroup> Bs: array<vec4<f32>, NBUF * BK * BN4>;
const ASTEP: u32 = BM * PK;
const BSTEP: u32 = BK * BN4;
#else
var<workgroup> As: array<vec4<f32>, NBUF * BK * BM4>;
var<workgroup> Bs: array<vec4<f32>, NBUF * BK * BN4>;
const ASTEP: u32 = BK * BM4;
const BSTEP: u32 = BK * BN4;
#endif

// Unit e of the A tile: 4 elements along A's contiguous dimension.
fn fetch_a(base: u32, m0: u32, k0: u32, kend: u32, e: u32) -> vec4<f32> {
#if A_KCONT
  return load_a(base, m0 + e / BK4, k0 + (e % BK4) * 4u, params.m, kend);
#else
  return load_a(base, k0 + e / BM4, m0 + (e % BM4) * 4u, kend, params.m);
#endif
}

fn put_a(o: u32, e: u32, v: vec4<f32>) {
#if A_KCONT
  let row = e / BK4;
#if CK
  let k = (e % BK4) * 4u;
  let i = row / 4u;
  let c = row % 4u;
  As[o][k][i][c] = v.x;
  As[o][k + 1u][i][c] = v.y;
  As[o][k + 2u][i][c] = v.z;
  As[o][k + 3u][i][c] = v.w;
#elif AR
  As[o + row * PK + e % BK4] = v;
#else
  let i = o + (e % BK4) * 4u * BM4 + row / 4u;
  let c = row % 4u;
  As[i][c] = v.x;
  As[i + BM4][c] = v.y;
  As[i + 2u * BM4][c] = v.z;
  As[i + 3u * BM4][c] = v.w;
#endif
#elif CK
  As[o][e / BM4][e % BM4] = v;
#else
  As[o + e] = v;
#endif
}

fn fetch_b(base: u32, n0: u32, k0: u32, kend: u32, e: u32) -> vec4<f32> {
#if B_KCONT
  return load_b(base, n0 + e / BK4, k0 + (e % BK4) * 4u, params.n, kend);
#else
  return load_b(base, k0 + e / BN4, n0 + (e % BN4) * 4u, kend, params.n);
#endif
}

fn put_b(o: u32, e: u32, v: vec4<f32>) {
#if B_KCONT
  let col = e / BK4;
#if CK
  let k = (e % BK4) * 4u;
  let i = col / 4u;
  let c = col % 4u;
  Bs[o][k][i][c] = v.x;
  Bs[o][k + 1u][i][c] = v.y;
  Bs[o][k + 2u][i][c] = v.z;
  Bs[o][k + 3u][i][c] = v.w;
#else
  let i = o + (e % BK4) * 4u * BN4 + col / 4u;
  let c = col % 4u;
  Bs[i][c] = v.x;
  Bs[i + BN4][c] = v.y;
  Bs[i + 2u * BN4][c] = v.z;
  Bs[i + 3u * BN4][c] = v.w;
#endif
#elif CK
  Bs[o][e / BN4][e % BN4] = v;
#else
  Bs[o + e] = v;
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let tiles_m = (params.m + BM - 1u) / BM;
  if (w >= tiles_m * params.tiles_n) { return; }
  let t = tile_of(w, tiles_m);
  let m0 = t.x * BM;
  let n0 = t.y * BN;
  let z = wid.z + params.z0;
  let zb = z % params.batch;
  let kbeg = (z / params.batch) * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  // tx / ty: the thread's place in the TY x TX grid (THREAD_XY: row-major, or lx-wide blocks of 32).
  $THREAD_XY

  // Accumulators, fragments and prefetch registers are named scalars generated per config
  // (ACC_DECL, MAC_LOOP, FETCH, PUT; src/ops/matmul-tile.ts): straight-line code whatever the
  // compiler unrolls; with `unroll` or CK the BK steps of MAC_LOOP are unrolled too.
  $ACC_DECL
  $PREFETCH_DECL
  // The k loop (K_LOOP, src/ops/matmul-tile.ts): one buffer, two barriers per k step; DB: two
  // buffers, one barrier; PL: DB with the loop unrolled by two so each buffer's offset is a constant.
  $K_LOOP
  // SPLIT: z = split * batch + zb, so partial sums land at [split][zb][m][n].
#if CK
  // Straight-line stores of the named accumulators (STORE_OUT), no accumulator array.
  let o_base = z * params.m * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  $STORE_OUT
}
#else
  var acc = array<vec4<f32>, TM * TN4>($ACC_LIST);
  let o_base = z * params.m * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  for (var i = 0u; i < TM; i = i + 1u) {
    let m = m0 + (i / 4u) * (TY * 4u) + ty * 4u + i % 4u;
    if (m < params.m) {
      for (var j = 0u; j < TN4; j = j + 1u) {
        let n = n0 + j * (TX * 4u) + tx * 4u;
#if SPLIT
        store4(o_base + m * params.n + n, n, acc[i * TN4 + j]);
#else
        store4(o_base + m * params.n + n, n, epilogue4(acc[i * TN4 + j], m, n, e0_base, e1_base));
#endif
      }
    }
  }
}
#endif

#if CK
// One 4-wide output block of the CK variant: raw partial sums (SPLIT) or the epilogue.
fn put_out(o_base: u32, m: u32, n: u32, v: vec4<f32>, e0_base: u32, e1_base: u32) {
#if SPLIT
  store4(o_base + m * params.n + n, n, v);
#else
  store4(o_base + m * params.n + n, n, epilogue4(v, m, n, e0_base, e1_base));
#endif
}
#endif
#endif
