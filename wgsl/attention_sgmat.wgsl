// Attention, subgroup-matrix variant (chromium_experimental_subgroup_matrix; f16 q, k, v): the
// common parts (params, bindings, generated loaders, row mapping, split partials) come from
// wgsl/attention.wgsl. A workgroup of NSG subgroups takes BQ = NSG * FS query rows of one
// (b, kv head), each subgroup FS of them: their Q fragments (D / FS of FS x FS f16, loaded once
// from the block staged in ks) stay in registers, their output as D / FS f32 result fragments.
// Per step of TK keys:
//   K and V tiles go through workgroup memory as f16 (16-byte global loads stored at the top of
//   the step; on the H100 loading the next tile into registers while this one computed was 4%
//   slower, and K / V fragments loaded straight from storage about 2x slower);
//   S = Q Kᵀ by fragments, stored to `ss` (f32); the subgroup's lanes (LPR per row) scale and mask
//   their row, reduce the row max by shuffles, and write P = 2^(s - m) as f16 to `ps`;
//   O += P V by fragments.
// The reference max m of a row only moves when the tile's max exceeds it by more than TAU (log2
// units), so P <= 2^TAU stays an f16 and O is rescaled (stored to ss, scaled per row, reloaded)
// only in steps where some row of the workgroup moved: rows stamp `flag` with the step, read back
// by workgroupUniformLoad. The final output is O / l; l and m in log2 units as the other variants
// write them (SPLIT).
// NVIDIA (Vulkan cooperative matrices): every workgroup variable is a multiple of 16 bytes, so
// the arrays the matrix loads and stores use stay 16-byte aligned whatever order the driver lays
// them out in (a lone u32 `flag` made S = Q Kᵀ wrong on the H100; bench/results/attention-notes.md).
// The key loop's masking and max update are selects, not branches.
// The fragment code (SG_*) is generated straight-line (src/ops/attention-sgmat.ts); with
// emulation the fragment types are 4x4 matrices and the builtins plain functions (tests).
#include "attention"

const SG: u32 = $SG_SIZE;
const FS: u32 = $FS;
const NSG: u32 = $NSG;
const BQ: u32 = NSG * FS;
const WG: u32 = NSG * SG;
const TK: u32 = $TKu;
const KP: u32 = D + 8u; // K/V tile row pitch (halves): rows shift banks, pitch a multiple of 8
const KR: u32 = $KRu; // rows of ks: max(TK, BQ) (the Q block is staged there first)
const SP: u32 = TK + 4u; // ss row pitch (f32)
const PP: u32 = TK + 8u; // ps row pitch (f16)
const LPR: u32 = SG / FS; // softmax lanes per row
const KPL: u32 = TK / LPR; // keys per lane
const TAU: f32 = 8.0;

$SG_TYPES

var<workgroup> ks: array<f16, KR * KP>;
var<workgroup> vs: array<f16, TK * KP>;
var<workgroup> ss: array<f32, BQ * SP>;
var<workgroup> ps: array<f16, BQ * PP>;
var<workgroup> rowa: array<f32, BQ>; // per row: rescale factor, then 1 / l (or l with SPLIT)
var<workgroup> rowm: array<f32, BQ>;
// x: j0 + 1 of the last step in which some row's max grew. Every workgroup variable is a multiple
// of 16 bytes: a lone u32 here shifted the f16 arrays off 16-byte alignment on the H100, and its
// cooperative-matrix loads and stores then read and wrote wrong elements (lavapipe did not care).
var<workgroup> flag: vec4<u32>;
#if KVLEN
var<workgroup> kv_len: vec4<u32>; // x: the batch's valid keys (16 bytes, see flag)
#endif

$SG_EMU

fn put_ks(p: u32, w: vec4<u32>) {
  let a = bitcast<vec2<f16>>(w.x);
  let b = bitcast<vec2<f16>>(w.y);
  let c = bitcast<vec2<f16>>(w.z);
  let d = bitcast<vec2<f16>>(w.w);
  ks[p] = a.x; ks[p + 1u] = a.y; ks[p + 2u] = b.x; ks[p + 3u] = b.y;
  ks[p + 4u] = c.x; ks[p + 5u] = c.y; ks[p + 6u] = d.x; ks[p + 7u] = d.y;
}

fn put_vs(p: u32, w: vec4<u32>) {
  let a = bitcast<vec2<f16>>(w.x);
  let b = bitcast<vec2<f16>>(w.y);
  let c = bitcast<vec2<f16>>(w.z);
  let d = bitcast<vec2<f16>>(w.w);
  vs[p] = a.x; vs[p + 1u] = a.y; vs[p + 2u] = b.x; vs[p + 3u] = b.y;
  vs[p + 4u] = c.x; vs[p + 5u] = c.y; vs[p + 6u] = d.x; vs[p + 7u] = d.y;
}

// The block's BQ query rows into ks (KR >= BQ); zeros past r1. Also clears the rescale stamp.
fn stage_q(b: u32, hk: u32, r0: u32, r1: u32, lid: u32) {
  flag.x = 0u; // every invocation writes the same value
  workgroupBarrier();
  for (var u = lid; u < BQ * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    let x = q_raw(q_row(b, hk, min(r0 + rr, r1 - 1u)), c * 8u);
    put_ks(rr * KP + c * 8u, select(vec4<u32>(), x, r0 + rr < r1));
  }
  workgroupBarrier();
}

// Valid keys of batch b (wgsl/attention.wgsl's seq_len, through a 16-byte variable).
fn keys_of(b: u32, lid: u32) -> u32 {
#if KVLEN
  if (lid == 0u) { kv_len.x = min(params.s, u32(max(kvlen[b], 0))); }
  return workgroupUniformLoad(&kv_len).x;
#else
  return params.s;
#endif
}

// Score of key j0 + jj for this lane's row in log2 units: scaled, masked, -Inf past the row's end.
fn score(lrow: u32, jj: u32, j0: u32, full: bool, lim: u32, mrow: u32, kend: u32) -> f32 {
  let j = j0 + jj;
  var s = ss[lrow * SP + jj] * params.scale;
#if HAS_MASK
  s = s + load_m(mrow + min(j, kend - 1u) * params.m_ss) * LOG2E;
#endif
  return select(s, inf_f32(true), !full && j >= lim);
}

// Multiplies the n fragments this subgroup stored in its ss rows by each row's factor rowa.
fn scale_rows(sg: u32, lane: u32, n: u32) {
  for (var e = lane; e < n * FS * FS; e = e + SG) {
    let rr = (e % (FS * FS)) / FS;
    let i = (sg * FS + rr) * SP + (e / (FS * FS)) * FS + e % FS;
    ss[i] = ss[i] * rowa[sg * FS + rr];
  }
}

// Writes the n output fragments this subgroup stored in its ss rows (columns d0..): O / l, or the
// split partials (m, l, O).
fn write_rows(b: u32, hk: u32, r0: u32, r1: u32, sp: u32, sg: u32, lane: u32, n: u32, d0: u32) {
  for (var e = 2u * lane; e < n * FS * FS; e = e + 2u * SG) {
    let rr = (e % (FS * FS)) / FS;
    let cc = (e / (FS * FS)) * FS + e % FS;
    let lr = sg * FS + rr;
    let row = r0 + lr;
    if (row >= r1) { continue; }
    let o = vec2<f32>(ss[lr * SP + cc], ss[lr * SP + cc + 1u]);
    let orow = out_row(b, hk, row);
#if SPLIT
    let pbase = (orow * params.splits + sp) * (D + 2u);
    part[pbase + 2u + d0 + cc] = o.x;
    part[pbase + 3u + d0 + cc] = o.y;
    if (d0 + cc == 0u) {
      part[pbase] = rowm[lr];
      part[pbase + 1u] = rowa[lr];
    }
#else
    put_pair(orow * D, d0 + cc, o * rowa[lr]);
#endif
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let w = wid.x + wid.y * params.grid_x;
  if (w >= params.pad) { return; }
  let wk = work_of(w);
  let b = wk.b;
  let hk = wk.hk;
  let sp = wk.sp;
  let S = keys_of(b, lid);
  let sg = lid / SG;
  let r0 = wk.rb * BQ;
  let r1 = min(r0 + BQ, params.rows);
  let ends = block_ends(r0, r1, S);
  let kbeg = sp * params.chunk;
  let kend = min(ends.x, kbeg + params.chunk);
  let kfull = min(ends.y, kend);
  let kbase = params.k_off + b * params.k_sb + hk * params.k_sh;
  let vbase = params.v_off + b * params.v_sb + hk * params.v_sh;

  $SG_QLOAD

  // This lane's softmax row and its keys e * LPR + part of each tile.
  let lrow = sg * FS + lane / LPR;
  let part_ = lane % LPR;
  let row = r0 + lrow;
  let lim = select(0u, min(row_end(row, S), kend), row < r1);
  let mrow = mask_row(b, hk, min(row, r1 - 1u));
  var m = inf_f32(true);
  var l = 0.0;
  $SG_DECL

  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
    workgroupBarrier();
    $SG_PUT
    workgroupBarrier();
    $SG_SCORES
    workgroupBarrier();

    // The lane's KPL keys of the row (straight-line, named values), their max over the LPR lanes.
    let full = j0 + TK <= kfull;
    var tmax = inf_f32(true);
    $SG_SCORE_ROW
    for (var o = LPR / 2u; o > 0u; o = o >> 1u) { tmax = max(tmax, subgroupShuffleXor(tmax, o)); }
    // m moves only when the tile's max exceeds it by more than TAU (or on the row's first keys).
    let live = !is_neg_inf(tmax);
    let grow = live && !is_neg_inf(m) && tmax > m + TAU;
    let alpha = select(1.0, exp2(m - tmax), grow);
    m = select(m, tmax, grow || (live && is_neg_inf(m)));
    // Any row of the workgroup that grew stamps this step (j0 + 1): no reset, same value from every writer.
    if (subgroupAny(grow)) { flag.x = j0 + 1u; }
    l = l * alpha;
    $SG_P_ROW
    rowa[lrow] = alpha; // the LPR lanes of a row hold the same alpha
    let rescale = workgroupUniformLoad(&flag).x == j0 + 1u;
    $SG_RESCALE
    $SG_PV
  }

  for (var o = LPR / 2u; o > 0u; o = o >> 1u) { l = l + subgroupShuffleXor(l, o); }
  workgroupBarrier();
  // The LPR lanes of a row hold the same l and m.
#if SPLIT
  rowa[lrow] = l;
#else
  rowa[lrow] = select(1.0 / l, 0.0, l == 0.0);
#endif
  rowm[lrow] = m;
  $SG_EPI
}
