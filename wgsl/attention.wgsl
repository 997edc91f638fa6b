// Attention family: out[b, h, i, :] = softmax_j(q[b, h, i, :] . k[b, h / G, j, :] * scale
// + mask[b, h, i, j]) v[b, h / G, j, :], fused (flash attention): the L x S scores are never
// stored. A workgroup takes BQ queries of one (b, h); keys and values stream through workgroup
// memory in tiles of TK rows (the same buffer holds a K tile, then the V tile); each query keeps
// a running max m and sum l in f32 and its output row in registers (TPQ threads per query, each
// owning DR pairs of columns 2 * (lane + TPQ * r) and +1), rescaled when m grows.
// Causal: key j is kept iff j <= i + S - L (aligned to the end, as in decode with a KV cache);
// keys past the last one any query of the block can see are not visited. Masked keys are -Inf;
// a query whose every key is masked writes zeros (l = 0), not NaN.
// q, k, v and mask are read through offsets and strides (element units; mask strides broadcast
// to [B, Hq, L, S]); out is contiguous [B, Hq, L, D] in q's dtype (OUT_HALF: packed 2 per word;
// ATOMIC for odd D, where neighbouring rows share a word).
// Bindings: params (uniform) 0, q 1, k 2, v 3, out 4, mask 5 (HAS_MASK), part 6 (SPLIT).
// Dispatch: B * Hq * ceil(L / BQ) workgroups folded into x/y.
// SPLIT (split-K, for decode / few query blocks over long S): main runs B * Hq * qblocks * splits
// workgroups, split sp taking keys [sp * chunk, (sp + 1) * chunk); it writes no output but, per
// query row and split, (m, l, unnormalized output row of D) in f32 to part
// [B * Hq * L, splits, D + 2]. Entry point `combine` (compiled alone with COMBINE, which drops
// main and the q/k/v/mask bindings; one workgroup per output row, params.pad = B * Hq * L) merges the splits by log-sum-exp rescaling and writes out; an all -Inf row -> 0.
#include "_half"
#include "_math"

struct Params {
  q_off: u32, k_off: u32, v_off: u32, m_off: u32,
  q_sb: u32, q_sh: u32, q_sl: u32, q_sd: u32,
  k_sb: u32, k_sh: u32, k_ss: u32, k_sd: u32,
  v_sb: u32, v_sh: u32, v_ss: u32, v_sd: u32,
  m_sb: u32, m_sh: u32, m_sl: u32, m_ss: u32,
  hq: u32, l: u32, s: u32, group: u32,
  qblocks: u32, grid_x: u32, scale: f32, pad: u32, // pad: workgroups of this dispatch
  splits: u32, chunk: u32, pad1: u32, pad2: u32, // SPLIT: splits and keys per split (else 1, S)
}

@group(0) @binding(0) var<uniform> params: Params;
#if !COMBINE
@group(0) @binding(1) var<storage, read> q: array<$Q_STORE>;
@group(0) @binding(2) var<storage, read> k: array<$K_STORE>;
@group(0) @binding(3) var<storage, read> v: array<$V_STORE>;
#if HAS_MASK
@group(0) @binding(5) var<storage, read> mask: array<$M_STORE>;
#endif
#endif
#if ATOMIC
@group(0) @binding(4) var<storage, read_write> out: array<atomic<u32>>;
#else
@group(0) @binding(4) var<storage, read_write> out: array<$OUT_STORE>;
#endif
#if SPLIT
@group(0) @binding(6) var<storage, read_write> part: array<f32>;
#endif

const D: u32 = $Du;
const BQ: u32 = $BQu;
const TK: u32 = $TKu;
const TPQ: u32 = $TPQu;
const WG: u32 = BQ * TPQ;
const DR: u32 = $DRu;

#if !COMBINE
var<workgroup> qs: array<f32, BQ * D>;
var<workgroup> kv: array<f32, TK * D>;
var<workgroup> sc: array<f32, BQ * TK>;

fn load_q(i: u32) -> f32 { return $Q_LOAD; }
fn load_k(i: u32) -> f32 { return $K_LOAD; }
fn load_v(i: u32) -> f32 { return $V_LOAD; }
#if HAS_MASK
fn load_m(i: u32) -> f32 { return $M_LOAD; }
#endif
#endif

fn stored(r: f32) -> $OUT_STORE {
  return $STORE;
}

fn is_neg_inf(x: f32) -> bool {
  return bitcast<u32>(x) == 0xff800000u;
}

fn put(o: u32, r: f32) {
#if ATOMIC
  let shift = (o & 1u) * 16u;
  atomicAnd(&out[o >> 1u], ~(0xffffu << shift));
  atomicOr(&out[o >> 1u], stored(r) << shift);
#elif HALF_WORDS
  // unused: even D writes whole words in main
#else
  out[o] = stored(r);
#endif
}

// Output elements d and d + 1 (d even) of the row at `obase`; the second only when d + 1 < D.
fn put_pair(obase: u32, d: u32, o: vec2<f32>) {
#if HALF_WORDS
  out[(obase + d) >> 1u] = stored(o.x) | (stored(o.y) << 16u);
#else
  put(obase + d, o.x);
  if (d + 1u < D) { put(obase + d + 1u, o.y); }
#endif
}

#if !COMBINE
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  // Every thread of a workgroup takes the same branch: the barriers below stay uniform.
  if (w >= params.pad) { return; }
#if SPLIT
  let sp = w % params.splits;
  let wq = w / params.splits;
#else
  let sp = 0u;
  let wq = w;
#endif
  let qb = wq % params.qblocks;
  let bh = wq / params.qblocks;
  let b = bh / params.hq;
  let h = bh % params.hq;
  let hk = h / params.group;
  let q0 = qb * BQ;
  let S = params.s;
  let L = params.l;
  let qi = lid / TPQ;
  let lane = lid % TPQ;
  let row = q0 + qi;
  let valid = row < L;

  let qbase = params.q_off + b * params.q_sb + h * params.q_sh;
  for (var e = lid; e < BQ * D; e = e + WG) {
    let r = q0 + e / D;
    var x = 0.0;
    if (r < L) { x = load_q(qbase + r * params.q_sl + (e % D) * params.q_sd) * params.scale; }
    qs[e] = x;
  }
  let kbase = params.k_off + b * params.k_sb + hk * params.k_sh;
  let vbase = params.v_off + b * params.v_sb + hk * params.v_sh;
#if HAS_MASK
  let mbase = params.m_off + b * params.m_sb + h * params.m_sh;
#endif

  // Keys [kbeg, kend): this split's chunk (all keys without SPLIT); causal blocks stop after the
  // last key their last query sees (a chunk wholly past it visits nothing: m = -Inf, l = 0).
  let kbeg = sp * params.chunk;
  var kend = min(S, kbeg + params.chunk);
#if CAUSAL
  let last = i32(min(q0 + BQ, L)) - 1 + i32(S) - i32(L);
  kend = min(kend, u32(clamp(last + 1, 0, i32(S))));
#endif

  var m = inf_f32(true);
  var lsum = 0.0;
  var acc: array<vec2<f32>, DR>;
  for (var r = 0u; r < DR; r = r + 1u) { acc[r] = vec2<f32>(0.0); }

  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
    let tn = min(TK, kend - j0);
    workgroupBarrier();
    for (var e = lid; e < TK * D; e = e + WG) {
      let j = e / D;
      var x = 0.0;
      if (j < tn) { x = load_k(kbase + (j0 + j) * params.k_ss + (e % D) * params.k_sd); }
      kv[e] = x;
    }
    workgroupBarrier();
    for (var e = lid; e < BQ * TK; e = e + WG) {
      let i = e / TK;
      let j = e % TK;
      let r = q0 + i;
      var x = inf_f32(true);
      var keep = j < tn && r < L;
#if CAUSAL
      keep = keep && i32(j0 + j) <= i32(r) + i32(S) - i32(L);
#endif
      if (keep) {
        var dot = 0.0;
        for (var d = 0u; d < D; d = d + 1u) { dot = dot + qs[i * D + d] * kv[j * D + d]; }
        x = dot;
#if HAS_MASK
        x = x + load_m(mbase + r * params.m_sl + (j0 + j) * params.m_ss);
#endif
      }
      sc[e] = x;
    }
    workgroupBarrier();
    for (var e = lid; e < TK * D; e = e + WG) {
      let j = e / D;
      var x = 0.0;
      if (j < tn) { x = load_v(vbase + (j0 + j) * params.v_ss + (e % D) * params.v_sd); }
      kv[e] = x;
    }
    workgroupBarrier();
    // Online softmax for query qi (its TPQ threads repeat the same scalar work).
    var tmax = inf_f32(true);
    for (var j = 0u; j < tn; j = j + 1u) { tmax = max(tmax, sc[qi * TK + j]); }
    if (!is_neg_inf(tmax)) {
      let mnew = max(m, tmax);
      let alpha = select(exp_f32(m - mnew), 0.0, is_neg_inf(m));
      lsum = lsum * alpha;
      for (var r = 0u; r < DR; r = r + 1u) { acc[r] = acc[r] * alpha; }
      for (var j = 0u; j < tn; j = j + 1u) {
        let sj = sc[qi * TK + j];
        if (is_neg_inf(sj)) { continue; }
        let p = exp_f32(sj - mnew);
        lsum = lsum + p;
        for (var r = 0u; r < DR; r = r + 1u) {
          let d = 2u * (lane + TPQ * r);
          if (d < D) {
            var vv = vec2<f32>(kv[j * D + d], 0.0);
            if (d + 1u < D) { vv.y = kv[j * D + d + 1u]; }
            acc[r] = acc[r] + p * vv;
          }
        }
      }
      m = mnew;
    }
  }

  if (!valid) { return; }
#if SPLIT
  let pbase = ((bh * L + row) * params.splits + sp) * (D + 2u);
  if (lane == 0u) {
    part[pbase] = m;
    part[pbase + 1u] = lsum;
  }
  for (var r = 0u; r < DR; r = r + 1u) {
    let d = 2u * (lane + TPQ * r);
    if (d < D) {
      part[pbase + 2u + d] = acc[r].x;
      if (d + 1u < D) { part[pbase + 3u + d] = acc[r].y; }
    }
  }
#else
  let inv = select(1.0 / lsum, 0.0, lsum == 0.0);
  let obase = (bh * L + row) * D;
  for (var r = 0u; r < DR; r = r + 1u) {
    let d = 2u * (lane + TPQ * r);
    if (d < D) {
      put_pair(obase, d, acc[r] * inv);
    }
  }
#endif
}
#endif

#if COMBINE
const CWG: u32 = 64u;

// One workgroup per output row w = (b * Hq + h) * L + i: o = sum_s e^(m_s - M) acc_s / sum_s
// e^(m_s - M) l_s with M = max_s m_s; splits that saw no key (m_s = -Inf) drop out; none -> 0.
@compute @workgroup_size(CWG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  if (w >= params.pad) { return; }
  let ns = params.splits;
  let base = w * ns * (D + 2u);
  var mx = inf_f32(true);
  for (var s = 0u; s < ns; s = s + 1u) { mx = max(mx, part[base + s * (D + 2u)]); }
  var lsum = 0.0;
  for (var s = 0u; s < ns; s = s + 1u) {
    let ms = part[base + s * (D + 2u)];
    if (!is_neg_inf(ms)) { lsum = lsum + part[base + s * (D + 2u) + 1u] * exp_f32(ms - mx); }
  }
  let inv = select(1.0 / lsum, 0.0, lsum == 0.0);
  let obase = w * D;
  for (var d = 2u * lid; d < D; d = d + 2u * CWG) {
    var o = vec2<f32>(0.0);
    for (var s = 0u; s < ns; s = s + 1u) {
      let pb = base + s * (D + 2u);
      let ms = part[pb];
      if (is_neg_inf(ms)) { continue; }
      let f = exp_f32(ms - mx);
      o.x = o.x + part[pb + 2u + d] * f;
      if (d + 1u < D) { o.y = o.y + part[pb + 3u + d] * f; }
    }
    put_pair(obase, d, o * inv);
  }
}
#endif
