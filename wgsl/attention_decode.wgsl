// Attention, decode variant (few query rows per kv head: L <= table.decode.maxL) and the split-K
// `combine` pass every variant's partials go through. The common parts (params, bindings,
// generated loaders, row mapping, output stores) come from wgsl/attention.wgsl.
// DECODE: a workgroup takes one (b, kv head hk), up to R of its G * L query rows (GQA heads share
//   each K/V read) and one key split. Its WG threads form KP = WG / DT key groups of DT lanes;
//   lane dl owns chunks c (elements (c * DT + dl) * 8 ..+8) of every row. Per step a group takes
//   KU keys (jb + u * KP); dots are reduced over its DT lanes by subgroup shuffles (SUBGROUPS) or
//   workgroup memory; each group keeps its own online softmax (m, l, unnormalized row) and the
//   groups merge through workgroup memory at the end. PREFETCH: the next step's K/V words are
//   loaded before the current step's math, so two steps of loads are in flight per lane (loads
//   past the split clamp to its last key, already in cache). The per-row, per-key code is
//   generated straight-line (src/ops/attention-decode.ts): named variables, no indexed arrays.
//   FUSED (one dispatch when splits are few): the partials go to a persistent buffer through
//   atomics, and the block's last workgroup to finish (counted in `ctr`) merges them. WGSL has no
//   device-scope fences, so nothing relies on ordering between locations: every partial word is
//   EMPTY until written (NaNs are stored canonical, so no value is EMPTY), the reader waits on each
//   word it finds EMPTY (its writer already counted itself done, so the store is in flight), and
//   it resets the words to EMPTY and the counter to 0 for the next dispatch.
// COMBINE: entry point `combine`, compiled alone; one workgroup per output row merges its SPLIT
//   partials (m, l, unnormalized row of D, f32, [rows, splits, D + 2]) by log-sum-exp.
// MERGES (COMBINE, or DECODE with FUSED): the merge both use, merge_splits.
#include "attention"

const REC: u32 = D + 2u; // partial record: m, l, row
const PAIRS: u32 = (D + 1u) / 2u; // output column pairs

#if DECODE
const WG: u32 = $WGu;
const DT: u32 = $DTu;
const KU: u32 = $KUu;
const R: u32 = $Ru;
const KP: u32 = WG / DT;
const STEP: u32 = KP * KU;

var<workgroup> mrg_acc: array<f32, KP * DP>;
var<workgroup> mrg_ml: array<vec2<f32>, KP>;
#if !SUBGROUPS
var<workgroup> red: array<f32, WG * R * KU>;
#endif
#if FUSED
@group(0) @binding(6) var<storage, read_write> part: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> ctr: array<atomic<u32>>;
const EMPTY: u32 = 0xffffffffu; // a NaN pattern no stored word has
const NT: u32 = WG; // threads of the merge (MERGES section)
var<workgroup> wg_last: u32;

fn put_part(i: u32, x: f32) {
  let u = bitcast<u32>(x);
  atomicStore(&part[i], select(u, 0x7fc00000u, (u & 0x7fffffffu) > 0x7f800000u));
}

// Word i given its first load w: loaded again while EMPTY (its writer's store is still on its way).
fn settle(w: u32, i: u32) -> f32 {
  var u = w;
  while (u == EMPTY) { u = atomicLoad(&part[i]); }
  return bitcast<f32>(u);
}

fn first_load(i: u32) -> u32 { return atomicLoad(&part[i]); }

// The last workgroup of a block merges output row `orow` over every split, then empties its words.
fn fused_row(orow: u32, lid: u32) {
  let base = orow * params.splits * REC;
  merge_splits(base, orow * D, lid);
  // Every thread is past its reads (merge_splits ends with a barrier): the words can be emptied.
  for (var i = lid; i < params.splits * REC; i = i + WG) { atomicStore(&part[base + i], EMPTY); }
}

// After the block's partials are stored: count this split done; the last one merges the rows.
fn fused_finish(b: u32, hk: u32, r0: u32, r1: u32, blk: u32, lid: u32) {
  storageBarrier();
  workgroupBarrier();
  if (lid == 0u) { wg_last = select(0u, 1u, atomicAdd(&ctr[blk], 1u) == params.splits - 1u); }
  if (workgroupUniformLoad(&wg_last) == 0u) { return; }
  for (var r = r0; r < r1; r = r + 1u) { fused_row(out_row(b, hk, r), lid); }
  if (lid == 0u) { atomicStore(&ctr[blk], 0u); }
}
#endif
#if SPLIT
fn put_part(i: u32, x: f32) { part[i] = x; }
#endif

// The mask of key j in log2 units (0 without a mask).
fn mask_at(mrow: u32, j: u32) -> f32 {
#if HAS_MASK
  return load_m(mrow + j * params.m_ss) * LOG2E;
#else
  return 0.0;
#endif
}

fn mrg_put(i: u32, a: vec4<f32>, b: vec4<f32>) {
  mrg_acc[i] = a.x; mrg_acc[i + 1u] = a.y; mrg_acc[i + 2u] = a.z; mrg_acc[i + 3u] = a.w;
  mrg_acc[i + 4u] = b.x; mrg_acc[i + 5u] = b.y; mrg_acc[i + 6u] = b.z; mrg_acc[i + 7u] = b.w;
}

// Merges the KP key groups' states of query row `row` (log-sum-exp) into out or the partials.
fn merge_row(b: u32, hk: u32, row: u32, sp: u32, lid: u32) {
  var mx = inf_f32(true);
  for (var g = 0u; g < KP; g = g + 1u) { mx = max(mx, mrg_ml[g].x); }
  var lt = 0.0;
  for (var g = 0u; g < KP; g = g + 1u) {
    let ml = mrg_ml[g];
    if (!is_neg_inf(ml.x)) { lt = lt + ml.y * exp2(ml.x - mx); }
  }
  let orow = out_row(b, hk, row);
#if PARTS
  let pbase = (orow * params.splits + sp) * REC;
  if (lid == 0u) {
    put_part(pbase, mx);
    put_part(pbase + 1u, lt);
  }
  for (var d = lid; d < D; d = d + WG) {
    var o = 0.0;
    for (var g = 0u; g < KP; g = g + 1u) {
      let ml = mrg_ml[g];
      if (!is_neg_inf(ml.x)) { o = o + mrg_acc[g * DP + d] * exp2(ml.x - mx); }
    }
    put_part(pbase + 2u + d, o);
  }
#else
  let inv = select(1.0 / lt, 0.0, lt == 0.0);
  for (var d = 2u * lid; d < D; d = d + 2u * WG) {
    var o = vec2<f32>(0.0);
    for (var g = 0u; g < KP; g = g + 1u) {
      let ml = mrg_ml[g];
      if (!is_neg_inf(ml.x)) { o = o + vec2<f32>(mrg_acc[g * DP + d], mrg_acc[g * DP + d + 1u]) * exp2(ml.x - mx); }
    }
    put_pair(orow * D, d, o * inv);
  }
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  // Every thread of a workgroup takes the same branch: the barriers below stay uniform.
  if (w >= params.pad) { return; }
  let wk = work_of(w);
  let b = wk.b;
  let hk = wk.hk;
  let S = seq_len(b, lid);
  let dl = lid % DT;
  let slot = lid / DT;
  let r0 = wk.rb * R;
  let r1 = min(r0 + R, params.rows);
  let kbase = params.k_off + b * params.k_sb + hk * params.k_sh;
  let vbase = params.v_off + b * params.v_sb + hk * params.v_sh;

  // Rows past the block repeat its last row (never written).
  $DEC_SETUP
  let kbeg = wk.sp * params.chunk;
  let kend = min(kend_rows, kbeg + params.chunk);
  var steps = 0u;
  if (kend > kbeg) { steps = (kend - kbeg + STEP - 1u) / STEP; }
  // Keys past the split load its last key instead (masked below); S >= 1 rows exist in memory.
  let klast = select(0u, kend - 1u, kend > 0u);
  $DEC_LOAD0
  for (var it = 0u; it < steps; it = it + 1u) {
    // Key u of this group's step: jb + u * KP.
    let jb = kbeg + it * STEP + slot;
    $DEC_STEP
  }
  $DEC_MERGE
#if FUSED
  fused_finish(b, hk, r0, r1, w / params.splits, lid);
#endif
}
#endif

#if COMBINE
const NT: u32 = 256u; // threads of the merge

fn first_load(i: u32) -> u32 { return bitcast<u32>(part[i]); }
fn settle(w: u32, i: u32) -> f32 { return bitcast<f32>(w); }

// One workgroup per output row w = (b * Hq + h) * L + i.
@compute @workgroup_size(NT)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  if (w >= params.pad) { return; }
  merge_splits(w * params.splits * REC, w * D, lid);
}
#endif

#if MERGES
// Merging the partials of one output row: o = sum_s 2^(m_s - M) acc_s / sum_s 2^(m_s - M) l_s with
// M = max_s m_s; splits that saw no key (m_s = -Inf, l_s = 0, acc_s = 0) drop out; none -> 0.
// Thread (group g, pair p) merges splits g, g + GROUPS, ... of columns 2p, 2p + 1 online, four
// per round with all their loads issued first (a chain of ns / (4 GROUPS) loads, not ns), then
// the groups merge through workgroup memory. first_load / settle read a word (plain, or atomic
// and waited on while EMPTY in the fused decode). (Quads and eight splits per round measured
// slower on the H100: more duplicate loads past the last split.)
const PB: u32 = min(PAIRS, NT); // pairs per pass
const GROUPS: u32 = NT / PB; // thread groups splitting the splits

var<workgroup> mml: array<vec2<f32>, NT>;
var<workgroup> macc: array<vec2<f32>, NT>;

struct Part { m: f32, l: f32, o: vec2<f32> }
struct Raw { i: u32, w: vec4<u32> }

// First loads of split s's m, l and columns d, d + 1 (past D: column D - 1, masked in part_of).
fn raw_at(base: u32, s: u32, ns: u32, d: u32) -> Raw {
  let r = base + min(s, ns - 1u) * REC;
  return Raw(r, vec4<u32>(first_load(r), first_load(r + 1u), first_load(r + 2u + d), first_load(r + 2u + min(d + 1u, D - 1u))));
}

// Split s from its first loads (m = -Inf past the last split: it drops out).
fn part_of(x: Raw, s: u32, ns: u32, d: u32) -> Part {
  let o = vec2<f32>(settle(x.w.z, x.i + 2u + d), select(0.0, settle(x.w.w, x.i + 2u + min(d + 1u, D - 1u)), d + 1u < D));
  return Part(select(inf_f32(true), settle(x.w.x, x.i), s < ns), settle(x.w.y, x.i + 1u), o);
}

// Factor of a split with max m against the merged max mx (0 for a split that saw no key).
fn fac(m: f32, mx: f32) -> f32 {
  return select(exp2(m - mx), 0.0, is_neg_inf(m));
}

// (m, l, o) merged with four more splits (log-sum-exp).
fn merge4(x: Part, a: Part, b: Part, c: Part, e: Part) -> Part {
  let mx = max(max(x.m, max(a.m, b.m)), max(c.m, e.m));
  if (is_neg_inf(mx)) { return x; }
  let fx = fac(x.m, mx);
  let fa = fac(a.m, mx);
  let fb = fac(b.m, mx);
  let fc = fac(c.m, mx);
  let fe = fac(e.m, mx);
  return Part(mx, x.l * fx + a.l * fa + b.l * fb + c.l * fc + e.l * fe, x.o * fx + a.o * fa + b.o * fb + c.o * fc + e.o * fe);
}

// Merges the params.splits records from `base` into the output row at `obase` (workgroup-uniform).
fn merge_splits(base: u32, obase: u32, lid: u32) {
  let ns = params.splits;
  let pair = lid % PB;
  let grp = lid / PB;
  for (var p0 = 0u; p0 < PAIRS; p0 = p0 + PB) {
    let p = p0 + pair;
    let d = 2u * min(p, PAIRS - 1u);
    var x = Part(inf_f32(true), 0.0, vec2<f32>(0.0));
    for (var s = grp; s < ns; s = s + 4u * GROUPS) {
      let r0 = raw_at(base, s, ns, d);
      let r1 = raw_at(base, s + GROUPS, ns, d);
      let r2 = raw_at(base, s + 2u * GROUPS, ns, d);
      let r3 = raw_at(base, s + 3u * GROUPS, ns, d);
      x = merge4(x, part_of(r0, s, ns, d), part_of(r1, s + GROUPS, ns, d), part_of(r2, s + 2u * GROUPS, ns, d), part_of(r3, s + 3u * GROUPS, ns, d));
    }
    mml[lid] = vec2<f32>(x.m, x.l);
    macc[lid] = x.o;
    workgroupBarrier();
    if (grp == 0u && p < PAIRS) {
      var mx = x.m;
      for (var g = 1u; g < GROUPS; g = g + 1u) { mx = max(mx, mml[g * PB + pair].x); }
      var lt = 0.0;
      var ot = vec2<f32>(0.0);
      for (var g = 0u; g < GROUPS; g = g + 1u) {
        let f = fac(mml[g * PB + pair].x, mx);
        lt = lt + mml[g * PB + pair].y * f;
        ot = ot + macc[g * PB + pair] * f;
      }
      put_pair(obase, d, ot * select(1.0 / lt, 0.0, lt == 0.0));
    }
    workgroupBarrier();
  }
}
#endif
