// Attention, subgroup-matrix variant (chromium_experimental_subgroup_matrix; f16 q, k, v): the
// common parts (params, bindings, generated loaders, row mapping, split partials) come from
// wgsl/attention.wgsl. A workgroup of NSG subgroups takes BQ = NSG * FS query rows of one
// (b, kv head), each subgroup FS of them: their Q fragments (D / FS of FS x FS f16) stay in
// registers, their output as D / FS f32 result fragments. Per step of TK keys:
//   K and V tiles go through workgroup memory as f16 (16-byte global loads one step ahead,
//   held in registers while the current step computes);
//   S = Q Kᵀ by fragments, stored to `ss` (f32); the subgroup's lanes (LPR per row) scale and mask
//   their row, reduce the row max by shuffles, and write P = 2^(s - m) as f16 to `ps`;
//   O += P V by fragments.
// The reference max m of a row only moves when the tile's max exceeds it by more than TAU (log2
// units), so P <= 2^TAU stays an f16 and O is rescaled (stored, scaled per row, reloaded) only
// then: a workgroup-uniform flag (workgroupUniformLoad) says whether any row needs it. The final
// output is O / l; l and m in log2 units as the other variants write them (SPLIT).
// The fragment code (SG_*) is generated straight-line (src/ops/attention-sgmat.ts); with
// emulation the fragment types are 4x4 matrices and the builtins plain functions (tests).
// Matrix operations never follow lane-divergent code without a barrier in between (loads past
// the tile end are clamped and masked away), and Q fragments load unconditionally from ks when
// it holds BQ rows (else the rows are staged in passes through ks and vs). The prefetch registers
// are named variables: through an array passed by pointer, the NVIDIA driver stored wrong K
// tiles (lavapipe computed them right).
#include "attention"

const SG: u32 = $SG_SIZE;
const FS: u32 = $FS;
const NSG: u32 = $NSG;
const BQ: u32 = NSG * FS;
const WG: u32 = NSG * SG;
const TK: u32 = $TKu;
const KP: u32 = D + 8u; // K/V tile row pitch (halves): rows shift banks, pitch a multiple of 8
const KR: u32 = $KRu; // rows of ks: TK, or BQ when Q is staged there whole
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
var<workgroup> flag: u32;

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

// The block's BQ query rows into ks (KR >= BQ); zeros past r1.
fn stage_q_all(b: u32, hk: u32, r0: u32, r1: u32, lid: u32) {
  workgroupBarrier();
  for (var u = lid; u < BQ * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    var x = vec4<u32>();
    if (r0 + rr < r1) { x = q_raw(q_row(b, hk, r0 + rr), (u % NCH) * 8u); }
    put_ks(rr * KP + c * 8u, x);
  }
  workgroupBarrier();
}

// QSPLIT: query rows [first, first + 2 TK) of the block into ks (first TK) and vs (next TK).
fn stage_q(b: u32, hk: u32, r0: u32, r1: u32, first: u32, lid: u32) {
  workgroupBarrier();
  for (var u = lid; u < 2u * TK * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    let r = r0 + first + rr;
    var x = vec4<u32>();
    if (first + rr < BQ && r < r1) { x = q_raw(q_row(b, hk, r), c * 8u); }
    let p = (rr % TK) * KP + c * 8u;
    if (rr < TK) { put_ks(p, x); } else { put_vs(p, x); }
  }
  workgroupBarrier();
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
  let S = seq_len(b, lid);
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

  // K and V units (8 halves) of the next tile, in named registers (pk0.., pv0..): keys past kend
  // load key kend - 1 and are masked to zero, branch-free.
  $SG_PF_DECL
  if (kbeg < kend) {
    let jn = kbeg;
    $SG_FETCH
  }
  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
    workgroupBarrier();
    if (lid == 0u) { flag = 0u; }
    $SG_PUT
    workgroupBarrier();
    // The next tile's loads fly while this one computes.
    if (j0 + TK < kend) {
      let jn = j0 + TK;
      $SG_FETCH
    }
    $SG_SCORES
    workgroupBarrier();

    let full = j0 + TK <= kfull;
    var sv: array<f32, KPL>;
    var tmax = inf_f32(true);
    for (var e = 0u; e < KPL; e = e + 1u) {
      let jj = e * LPR + part_;
      let j = j0 + jj;
      var s = ss[lrow * SP + jj] * params.scale;
      if (!full && j >= lim) {
        s = inf_f32(true);
      } else {
#if HAS_MASK
        s = s + load_m(mrow + j * params.m_ss) * LOG2E;
#endif
      }
      sv[e] = s;
      tmax = max(tmax, s);
    }
    for (var o = LPR / 2u; o > 0u; o = o >> 1u) { tmax = max(tmax, subgroupShuffleXor(tmax, o)); }
    var alpha = 1.0;
    if (!is_neg_inf(tmax)) {
      if (is_neg_inf(m)) {
        m = tmax; // nothing accumulated yet: nothing to rescale
      } else if (tmax > m + TAU) {
        alpha = exp2(m - tmax);
        m = tmax;
        flag = 1u;
      }
    }
    l = l * alpha;
    for (var e = 0u; e < KPL; e = e + 1u) {
      let p = select(exp2(sv[e] - m), 0.0, is_neg_inf(sv[e]));
      l = l + p;
      ps[lrow * PP + e * LPR + part_] = f16(p);
    }
    if (part_ == 0u) { rowa[lrow] = alpha; }
    if (workgroupUniformLoad(&flag) != 0u) {
      $SG_RESCALE
    }
    $SG_PV
  }

  for (var o = LPR / 2u; o > 0u; o = o >> 1u) { l = l + subgroupShuffleXor(l, o); }
  workgroupBarrier();
  if (part_ == 0u) {
#if SPLIT
    rowa[lrow] = l;
#else
    rowa[lrow] = select(1.0 / l, 0.0, l == 0.0);
#endif
    rowm[lrow] = m;
  }
  $SG_EPI
}
