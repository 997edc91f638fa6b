// Attention, subgroup-matrix variant (chromium_experimental_subgroup_matrix; f16 q, k, v): the
// common parts (params, bindings, generated loaders, row mapping, split partials) come from
// wgsl/attention.wgsl. A workgroup of NSG subgroups takes BQ = NSG * RS query rows of one
// (b, kv head), each subgroup RS = RF * FS of them: their Q fragments (RF x D / FS of FS x FS f16,
// loaded once from the block staged in ks) stay in registers, their output as RF x D / FS f32
// result fragments; each K or V fragment loaded from workgroup memory feeds RF multiplies.
// S and P go through workgroup memory, so the products may be split between subgroups otherwise
// than the softmax rows (SG_ROLES): a subgroup multiplies its share of S (rows sr0.., keys sk0..)
// and of O (rows or0.., columns oc0..); with more fragment rows per share each K / V fragment
// loaded feeds more multiplies (RF rows and all keys / columns by default).
// Per step of TK keys:
//   K and V tiles go through workgroup memory as f16 (16-byte global loads; K / V fragments loaded
//   straight from storage were about 2x slower on the H100). One buffer (NB = 1): the tile is
//   loaded and stored at the top of the step, 4 barriers per step; or (KA) K a tile ahead of V:
//   K(j + 1) and V(j) stored between this step's scores and softmax, 2 barriers per step. Two
//   (NB = 2): the next tile is loaded while this step's softmax runs and stored into the other
//   buffer, 2 barriers per step;
//   S = Q Kᵀ by fragments, stored to `ss` (f32); the subgroup's lanes (LPR per row) scale and mask
//   their row, reduce the row max by shuffles, and write P = 2^(s - m) as f16 to `ps`;
//   O += P V by fragments.
// The reference max m of a row only moves when the tile's max exceeds it by more than TAU (log2
// units), so P <= 2^TAU stays an f16 and O is rescaled (stored to ss, scaled per row, reloaded)
// only in steps where some row of the workgroup moved: rows stamp the step into ss (FLAG), read
// back by workgroupUniformLoad. The final output is O / l; l and m in log2 units as the other variants
// write them (SPLIT).
// NVIDIA (Vulkan cooperative matrices): every workgroup variable is a multiple of 16 bytes, so
// the arrays the matrix loads and stores use stay 16-byte aligned whatever order the driver lays
// them out in (a lone u32 `flag` made S = Q Kᵀ wrong on the H100; bench/results/attention-notes.md).
// The per-row values, the stamp and the valid key count live in the pad columns of ss (no small
// variables at all; it also lets two K / V buffers fit 48 KiB at TK = 32, D = 128).
// CF: the arrays are arrays of FS-row blocks, so each fragment access is &arr[block] plus a
// constant offset and Dawn's robustness pass leaves it unpredicated (same bytes, same order).
// The key loop's masking and max update are selects, not branches.
// The fragment code (SG_*) is generated straight-line (src/ops/attention-sgmat.ts); with
// emulation the fragment types are 4x4 matrices and the builtins plain functions (tests).
#include "attention"

const SG: u32 = $SG_SIZE;
const FS: u32 = $FS;
const NSG: u32 = $NSG;
const RS: u32 = $RSu; // softmax rows per subgroup (RF fragment rows, RF = 1, 2 or 1 / 2)
const BQ: u32 = NSG * RS;
const WG: u32 = NSG * SG;
const TK: u32 = $TKu;
const NB: u32 = $NBu; // K / V tile buffers
const KP: u32 = D + 8u; // K/V tile row pitch (halves): rows shift banks, pitch a multiple of 8
const KR: u32 = $KRu; // rows of ks: max(TK, BQ), or max(TK, RS) (the Q block staged there first)
const QP: u32 = $QPu; // Q rows staged per pass (BQ, or whole subgroups' rows that fit KR)
const QROW: u32 = $QROWu; // first ks row of the staged Q block (past the K tiles when it stays for the loop)
// CF: ss and vs in SCG / VCG column groups (one per share of S's keys / O's columns), each with its own pad.
const SCG: u32 = $SCGu;
const VCG: u32 = $VCGu;
const SW: u32 = TK / SCG; // keys per ss column group
const SP: u32 = SW + 4u; // ss row pitch (f32); columns SW.. (of group 0) hold per-row values
const RA: u32 = SW; // ss column: the row's rescale factor, then 1 / l (or l with SPLIT)
const RM: u32 = SW + 1u; // ss column: the row's max m
const FLAG: u32 = SW + 2u; // ss[FLAG]: j0 + 1 of the last step in which some row's max grew (f32, exact below 2^24)
const KVL: u32 = SW + 3u; // ss[KVL]: the batch's valid keys (KVLEN)
const VW: u32 = D / VCG; // columns per vs column group
const VP: u32 = VW + 8u; // vs row pitch (halves; KP with one group)
const PP: u32 = TK + 8u; // ps row pitch (f16)
const LPR: u32 = SG / RS; // softmax lanes per row
const KPL: u32 = TK / LPR; // keys per lane
const TAU: f32 = 8.0;

$SG_TYPES

// Every workgroup variable is a multiple of 16 bytes: a lone u32 stamp shifted the f16 arrays off
// 16-byte alignment on the H100, and its cooperative-matrix loads and stores then read and wrote
// wrong elements (lavapipe did not care).
#if CF
var<workgroup> ks: array<array<f16, FS * KP>, KR / FS>; // NB K tiles (and the Q block before the key loop)
var<workgroup> vs: array<array<f16, FS * VP>, (NB * TK / FS) * VCG>;
var<workgroup> ss: array<array<f32, FS * SP>, (BQ / FS) * SCG>;
var<workgroup> ps: array<array<f16, FS * PP>, BQ / FS>;

// Per-row value columns (RA, RM: group 0's pad) of row r.
fn ss_get(r: u32, c: u32) -> f32 { return ss[(r / FS) * SCG][(r % FS) * SP + c]; }
fn ss_set(r: u32, c: u32, x: f32) { ss[(r / FS) * SCG][(r % FS) * SP + c] = x; }
fn ks_set(r: u32, c: u32, x: f16) { ks[r / FS][(r % FS) * KP + c] = x; }
#else
var<workgroup> ks: array<f16, KR * KP>; // NB K tiles (and the Q block before the key loop)
var<workgroup> vs: array<f16, NB * TK * VP>;
var<workgroup> ss: array<f32, BQ * SP>;
var<workgroup> ps: array<f16, BQ * PP>;

fn ss_get(r: u32, c: u32) -> f32 { return ss[r * SP + c]; }
fn ss_set(r: u32, c: u32, x: f32) { ss[r * SP + c] = x; }
fn ks_set(r: u32, c: u32, x: f16) { ks[r * KP + c] = x; }
#endif

$SG_EMU

// The 8 halves of w into ks row r, columns c.. (the Q block).
fn put_ks(r: u32, c: u32, w: vec4<u32>) {
  for (var i = 0u; i < 4u; i = i + 1u) {
    let h = bitcast<vec2<f16>>(w[i]);
    ks_set(r, c + 2u * i, h.x);
    ks_set(r, c + 2u * i + 1u, h.y);
  }
}

// QP query rows from r0 into ks rows QROW..; zeros past r1. Also clears the rescale stamp.
fn stage_q(b: u32, hk: u32, r0: u32, r1: u32, lid: u32) {
  $SS_FLAG = 0.0; // every invocation writes the same value
  workgroupBarrier();
  for (var u = lid; u < QP * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    let x = q_raw(q_row(b, hk, min(r0 + rr, r1 - 1u)), c * 8u);
    put_ks(QROW + rr, c * 8u, select(vec4<u32>(), x, r0 + rr < r1));
  }
  workgroupBarrier();
}

// Valid keys of batch b (wgsl/attention.wgsl's seq_len, through a 16-byte variable).
fn keys_of(b: u32, lid: u32) -> u32 {
#if KVLEN
  if (lid == 0u) { $SS_KVL = f32(min(params.s, u32(max(kvlen[b], 0)))); }
  return u32(workgroupUniformLoad(&$SS_KVL));
#else
  return params.s;
#endif
}

// Score of key j0 + jj (raw product `raw`) for this lane's row in log2 units: scaled, masked,
// -Inf past the row's end.
fn score(raw: f32, jj: u32, j0: u32, full: bool, lim: u32, mrow: u32, kend: u32) -> f32 {
  let j = j0 + jj;
  var s = raw * params.scale;
#if HAS_MASK
  s = s + load_m(mrow + min(j, kend - 1u) * params.m_ss) * LOG2E;
#endif
  return select(s, inf_f32(true), !full && j >= lim);
}

// Multiplies the O fragment this subgroup stored at ss block `blk` (CF; flat: 0), offset `off`
// (pitch SP) by the factor (column RA) of each of its rows, block rows orow..
fn scale_frag(blk: u32, off: u32, orow: u32, lane: u32) {
  for (var e = lane; e < FS * FS; e = e + SG) {
    let i = off + (e / FS) * SP + e % FS;
#if CF
    ss[blk][i] = ss[blk][i] * ss_get(orow + e / FS, RA);
#else
    ss[i] = ss[i] * ss_get(orow + e / FS, RA);
#endif
  }
}

// Writes the O fragment this subgroup stored at ss block `blk`, offset `off`: block rows orow..,
// columns d0..; O / l, or the split partials (m, l, O).
fn write_frag(b: u32, hk: u32, r0: u32, r1: u32, sp: u32, blk: u32, off: u32, orow: u32, d0: u32, lane: u32) {
  for (var e = 2u * lane; e < FS * FS; e = e + 2u * SG) {
    let cc = e % FS;
    let lr = orow + e / FS;
    let row = r0 + lr;
    if (row >= r1) { continue; }
#if CF
    let o = vec2<f32>(ss[blk][off + (e / FS) * SP + cc], ss[blk][off + (e / FS) * SP + cc + 1u]);
#else
    let o = vec2<f32>(ss[off + (e / FS) * SP + cc], ss[off + (e / FS) * SP + cc + 1u]);
#endif
    let orw = out_row(b, hk, row);
#if SPLIT
    let pbase = (orw * params.splits + sp) * (D + 2u);
    part[pbase + 2u + d0 + cc] = o.x;
    part[pbase + 3u + d0 + cc] = o.y;
    if (d0 + cc == 0u) {
      part[pbase] = ss_get(lr, RM);
      part[pbase + 1u] = ss_get(lr, RA);
    }
#else
    put_pair(orw * D, d0 + cc, o * ss_get(lr, RA));
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
  $SG_ROLES
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
  let lrow = sg * RS + lane / LPR;
  let part_ = lane % LPR;
#if CF
  let lb = lrow / FS; // the row's block of ss and ps, and its offsets there
  let lso = (lrow % FS) * SP;
  let lpo = (lrow % FS) * PP;
#else
  let lso = lrow * SP;
  let lpo = lrow * PP;
#endif
  let row = r0 + lrow;
  let lim = select(0u, min(row_end(row, S), kend), row < r1);
  let mrow = mask_row(b, hk, min(row, r1 - 1u));
  var m = inf_f32(true);
  var l = 0.0;
  $SG_DECL

#if DB
  // kb: this step's buffer (first row of ks / vs). Barriers: the one after the scores also orders the
  // last step's reads of the other buffer before this step's stores into it; the stamp's
  // workgroupUniformLoad orders those stores before the next step's reads.
  var kb = 0u;
  workgroupBarrier(); // the Q fragments are loaded from ks
  {
    let jt = kbeg;
    let kt = 0u;
    $SG_LOAD
    $SG_STORE
  }
  workgroupBarrier();
#else
  let kb = 0u;
#endif
#if PF
  // The first tile's loads; each step stores the held tile and issues the next one's loads.
  $SG_PF_DECL
  {
    let jt = kbeg;
    $SG_PF_LOAD
  }
#endif
#if KA
  // K runs a tile ahead of V: K(kbeg) stored now (once every subgroup has its Q fragments from
  // ks), K(kbeg + TK) and V(kbeg) held in registers for the first step.
  $SG_PF_DECL
  workgroupBarrier();
  { let jk = kbeg; $SG_K_LOAD }
  { let kt = 0u; $SG_K_STORE }
  { let jk = kbeg + TK; $SG_K_LOAD }
  { let jv = kbeg; $SG_V_LOAD }
  workgroupBarrier();
#endif
  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
#if KA
    $SG_SCORES
    // Every subgroup is past its reads of K(j0) and of V(j0 - TK) (P V of the last step).
    workgroupBarrier();
    { let kt = 0u; $SG_K_STORE $SG_V_STORE }
    { let jk = j0 + 2u * TK; $SG_K_LOAD } // past kend: key kend - 1, zeroed, never read
    { let jv = j0 + TK; $SG_V_LOAD }
#elif DB
    $SG_SCORES
    workgroupBarrier();
    // The next tile (past kend: key kend - 1, zeroed, never read) into the other buffer.
    let jt = j0 + TK;
    $SG_LOAD
#else
    workgroupBarrier();
    {
      let kt = 0u;
#if PF
      $SG_STORE
      let jt = j0 + TK; // past kend: key kend - 1, zeroed, never read
      $SG_PF_LOAD
#else
      let jt = j0;
      $SG_LOAD
      $SG_STORE
#endif
    }
    workgroupBarrier();
    $SG_SCORES
    workgroupBarrier();
#endif

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
    if (subgroupAny(grow)) { $SS_FLAG = f32(j0 + 1u); }
    l = l * alpha;
    $SG_P_ROW
    ss_set(lrow, RA, alpha); // the LPR lanes of a row hold the same alpha
#if DB
    let kt = kb ^ TK;
    $SG_STORE
#endif
    let rescale = workgroupUniformLoad(&$SS_FLAG) == f32(j0 + 1u);
    $SG_RESCALE
    $SG_PV
#if DB
    kb = kb ^ TK;
#endif
  }

  for (var o = LPR / 2u; o > 0u; o = o >> 1u) { l = l + subgroupShuffleXor(l, o); }
  workgroupBarrier();
  // The LPR lanes of a row hold the same l and m.
#if SPLIT
  ss_set(lrow, RA, l);
#else
  ss_set(lrow, RA, select(1.0 / l, 0.0, l == 0.0));
#endif
  ss_set(lrow, RM, m);
  $SG_EPI
}
