// Attention family: out[b, h, i, :] = softmax_j(q[b, h, i, :] . k[b, h / G, j, :] * scale
// + mask[b, h, i, j]) v[b, h / G, j, :], fused (flash attention): the L x S scores are never
// stored. Work is cut per (b, kv head hk): its G * L query rows r (head hk * G + r / L, query
// r % L, so GQA heads share each K/V read) in blocks, times key splits. Scores are kept in log2
// units (scale and mask times log2 e) so softmax uses exp2; every row keeps a running max m and
// sum l in f32 and its output in f32, rescaled when m grows.
// Causal: key j is kept iff j <= i + S - L (aligned to the end, as in decode with a KV cache);
// blocks stop after the last key their rows see, and tiles every row sees skip the mask tests.
// Masked keys are -Inf; a row whose every key is masked writes zeros (l = 0), not NaN.
// S is params.s, or per batch min(S, kvlen[b]) (KVLEN: valid prefix of a preallocated cache).
// q, k, v and mask are read through offsets and strides (element units; mask strides broadcast
// to [B, Hq, L, S]); loaders q_raw/k_raw/v_raw (8 elements of a row from d0, as packed halves or
// a V8) and q8/k8/v8 (as f32) are generated (src/ops/attention-kernels.ts): vec4 loads where the
// rows are contiguous and aligned, strided scalar loads otherwise. out is contiguous
// [B, Hq, L, D] in q's dtype (HALF_WORDS: packed pairs; ATOMIC for odd 16-bit D).
// Variants (one entry point each):
//   TILE    prefill: BQ rows x TK keys per step, (BQ / TQ) x NJ threads; Q, K, V tiles in
//           workgroup memory in their dtype (16-bit packed), scores register-blocked TQ x TK/NJ
//           per thread, row max reduced over the NJ threads of a row group, P through workgroup
//           memory, output TQ rows x CPT chunks of 8 per thread.
//   wgsl/attention_decode.wgsl (DECODE, few queries per kv head; and COMBINE, entry point
//   `combine`, which merges SPLIT partials) and wgsl/attention_sgmat.wgsl (SGMAT, subgroup-matrix
//   prefill) include this file for the common parts.
// Bindings: params 0, q 1, k 2, v 3, out 4, mask 5 (HAS_MASK), part 6 (SPLIT), kvlen 7 (KVLEN).
// Dispatch: B * Hkv * rblocks * splits workgroups folded into x/y (w = ((b * Hkv + hk) * rblocks
// + rb) * splits + sp). SPLIT: split sp takes keys [sp * chunk, (sp + 1) * chunk) and writes, per
// output row and split, (m, l, unnormalized row of D) in f32 to part [B * Hq * L, splits, D + 2];
// `combine` (one workgroup per output row, params.pad = rows) merges them by log-sum-exp
// rescaling; an all -Inf row gives 0.
$ENABLE
#include "_half"
#include "_math"

struct Params {
  q_off: u32, k_off: u32, v_off: u32, m_off: u32,
  q_sb: u32, q_sh: u32, q_sl: u32, q_sd: u32,
  k_sb: u32, k_sh: u32, k_ss: u32, k_sd: u32,
  v_sb: u32, v_sh: u32, v_ss: u32, v_sd: u32,
  m_sb: u32, m_sh: u32, m_sl: u32, m_ss: u32,
  hkv: u32, l: u32, s: u32, group: u32,
  rblocks: u32, grid_x: u32, scale: f32, pad: u32, // scale in log2 units; pad: workgroups
  splits: u32, chunk: u32, rows: u32, pad1: u32, // rows = G * L per kv head
}

const D: u32 = $Du;
const DP: u32 = ((D + 7u) / 8u) * 8u;
const NCH: u32 = DP / 8u;
const LOG2E: f32 = 1.4426950408889634;

struct V8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> params: Params;
#if !COMBINE
@group(0) @binding(1) var<storage, read> q: array<$Q_ARR>;
@group(0) @binding(2) var<storage, read> k: array<$K_ARR>;
@group(0) @binding(3) var<storage, read> v: array<$V_ARR>;
#if HAS_MASK
@group(0) @binding(5) var<storage, read> mask: array<$M_STORE>;
#endif
#if KVLEN
@group(0) @binding(7) var<storage, read> kvlen: array<i32>;
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

fn is_neg_inf(x: f32) -> bool {
  return bitcast<u32>(x) == 0xff800000u;
}

fn stored(r: f32) -> $OUT_STORE {
  return $STORE;
}

fn put(o: u32, r: f32) {
#if ATOMIC
  let shift = (o & 1u) * 16u;
  atomicAnd(&out[o >> 1u], ~(0xffffu << shift));
  atomicOr(&out[o >> 1u], stored(r) << shift);
#elif HALF_WORDS
  // unused: even D writes whole words
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
fn f16x4(w: vec2<u32>) -> vec4<f32> {
#if F16
  return vec4<f32>(bitcast<vec4<f16>>(w));
#else
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
#endif
}

fn bf16x4(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u));
}

// 8 halves (two per word, low half first) from consecutive elements i0, i0 + st, ... of `word(i)`.
fn pack8(h: array<u32, 8>) -> vec4<u32> {
  return vec4<u32>(h[0] | (h[1] << 16u), h[2] | (h[3] << 16u), h[4] | (h[5] << 16u), h[6] | (h[7] << 16u));
}

$LOADERS

#if HAS_MASK
fn load_m(i: u32) -> f32 { return $M_LOAD; }
#endif

// Element index of the first element of query row r (of kv head hk, batch b).
fn q_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return params.q_off + b * params.q_sb + h * params.q_sh + (r % params.l) * params.q_sl;
}

// Output row (b, h, i) of query row r.
fn out_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return (b * params.hkv * params.group + h) * params.l + r % params.l;
}

fn mask_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return params.m_off + b * params.m_sb + h * params.m_sh + (r % params.l) * params.m_sl;
}

// Keys [0, end) that query r % L sees among S: all, or causal i + S - L + 1 clamped to [0, S].
fn row_end(r: u32, s: u32) -> u32 {
#if CAUSAL
  return u32(clamp(i32(r % params.l) + i32(s) - i32(params.l) + 1, 0, i32(s)));
#else
  return s;
#endif
}

#if KVLEN
var<workgroup> wg_len: u32;
#endif

// Valid keys of batch b, the same for the whole workgroup (uniform: loop bounds depend on it).
fn seq_len(b: u32, lid: u32) -> u32 {
#if KVLEN
  if (lid == 0u) { wg_len = min(params.s, u32(max(kvlen[b], 0))); }
  return workgroupUniformLoad(&wg_len);
#else
  return params.s;
#endif
}

// Keys visible to the rows [r0, r1) (r1 > r0): the last one any of them sees (+1), and the
// first tile boundary below which every one of them sees every key.
fn block_ends(r0: u32, r1: u32, s: u32) -> vec2<u32> {
#if CAUSAL
  let one_head = r0 / params.l == (r1 - 1u) / params.l;
  let last = select(params.l - 1u, (r1 - 1u) % params.l, one_head);
  let first = select(0u, r0 % params.l, one_head);
  return vec2<u32>(row_end(last, s), row_end(first, s));
#else
  return vec2<u32>(s, s);
#endif
}

struct Work { sp: u32, rb: u32, b: u32, hk: u32 }

fn work_of(w: u32) -> Work {
  let rbk = w / params.splits;
  let bk = rbk / params.rblocks;
  var rb = rbk % params.rblocks;
#if CAUSAL
  rb = params.rblocks - 1u - rb; // causal: the blocks with the most keys start first (shorter tail)
#endif
  return Work(w % params.splits, rb, bk / params.hkv, bk % params.hkv);
}
#endif

#if TILE
const BQ: u32 = $BQu;
const TK: u32 = $TKu;
const TQ: u32 = $TQu;
const NJ: u32 = $NJu;
const CPT: u32 = $CPTu;
const WG: u32 = (BQ / TQ) * NJ;
const TKT: u32 = TK / NJ;
const RP: u32 = NCH + 1u; // tile row pitch in chunks: one chunk of padding against bank conflicts

var<workgroup> qs: array<$Q_RAW, BQ * RP>;
var<workgroup> ks: array<$K_RAW, TK * RP>;
var<workgroup> vs: array<$V_RAW, TK * RP>;
var<workgroup> ps: array<f32, BQ * TK>;
#if !SUBGROUPS
var<workgroup> red: array<f32, BQ * NJ>;
#endif

// Max (or sum) of x over the NJ threads of this row group, returned to all of them.
fn group_reduce(x: array<f32, TQ>, ty: u32, tx: u32, is_max: bool) -> array<f32, TQ> {
  var y = x;
#if SUBGROUPS
  for (var o = NJ / 2u; o > 0u; o = o >> 1u) {
    for (var r = 0u; r < TQ; r = r + 1u) {
      let t = subgroupShuffleXor(y[r], o);
      y[r] = select(y[r] + t, max(y[r], t), is_max);
    }
  }
#else
  workgroupBarrier();
  for (var r = 0u; r < TQ; r = r + 1u) { red[(ty * TQ + r) * NJ + tx] = y[r]; }
  workgroupBarrier();
  for (var r = 0u; r < TQ; r = r + 1u) {
    var t = red[(ty * TQ + r) * NJ];
    for (var x2 = 1u; x2 < NJ; x2 = x2 + 1u) {
      let z = red[(ty * TQ + r) * NJ + x2];
      t = select(t + z, max(t, z), is_max);
    }
    y[r] = t;
  }
#endif
  return y;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  if (w >= params.pad) { return; }
  let wk = work_of(w);
  let b = wk.b;
  let hk = wk.hk;
  let S = seq_len(b, lid);
  let ty = lid / NJ;
  let tx = lid % NJ;
  let r0 = wk.rb * BQ;
  let r1 = min(r0 + BQ, params.rows);

  for (var u = lid; u < BQ * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    var x = $Q_RAW();
    if (r0 + rr < r1) { x = q_raw(q_row(b, hk, r0 + rr), c * 8u); }
    qs[rr * RP + c] = x;
  }
  let ends = block_ends(r0, r1, S);
  let kbeg = wk.sp * params.chunk;
  let kend = min(ends.x, kbeg + params.chunk);
  let kfull = min(ends.y, kend);
  let kbase = params.k_off + b * params.k_sb + hk * params.k_sh;
  let vbase = params.v_off + b * params.v_sb + hk * params.v_sh;

  var m: array<f32, TQ>;
  var lsum: array<f32, TQ>;
  var acc: array<V8, TQ * CPT>;
  var lim: array<u32, TQ>;
  var mrow: array<u32, TQ>;
  for (var r = 0u; r < TQ; r = r + 1u) {
    let row = r0 + ty * TQ + r;
    m[r] = inf_f32(true);
    lim[r] = select(0u, min(row_end(row, S), kend), row < r1);
    mrow[r] = mask_row(b, hk, min(row, r1 - 1u));
  }

  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
    workgroupBarrier();
    for (var u = lid; u < TK * NCH; u = u + WG) {
      let jj = u / NCH;
      let c = u % NCH;
      let j = j0 + jj;
      var x = $K_RAW();
      var y = $V_RAW();
      if (j < kend) {
        x = k_raw(kbase + j * params.k_ss, c * 8u);
        y = v_raw(vbase + j * params.v_ss, c * 8u);
      }
      ks[jj * RP + c] = x;
      vs[jj * RP + c] = y;
    }
    workgroupBarrier();

    // Scores of rows ty * TQ + r and keys tx + NJ * t.
    var sc = array<f32, TQ * TKT>(); // explicit: see kc in DECODE
    for (var c = 0u; c < NCH; c = c + 1u) {
      var kk: array<V8, TKT>;
      for (var t = 0u; t < TKT; t = t + 1u) { kk[t] = k_unpack(ks[(tx + NJ * t) * RP + c]); }
      for (var r = 0u; r < TQ; r = r + 1u) {
        let qq = q_unpack(qs[(ty * TQ + r) * RP + c]);
        for (var t = 0u; t < TKT; t = t + 1u) {
          sc[r * TKT + t] = sc[r * TKT + t] + dot(qq.a, kk[t].a) + dot(qq.b, kk[t].b);
        }
      }
    }
    let full = j0 + TK <= kfull;
    var tmax: array<f32, TQ>;
    for (var r = 0u; r < TQ; r = r + 1u) {
      tmax[r] = inf_f32(true);
      for (var t = 0u; t < TKT; t = t + 1u) {
        let j = j0 + tx + NJ * t;
        var s = sc[r * TKT + t] * params.scale;
        if (!full && j >= lim[r]) {
          s = inf_f32(true);
        } else {
#if HAS_MASK
          s = s + load_m(mrow[r] + j * params.m_ss) * LOG2E;
#endif
        }
        sc[r * TKT + t] = s;
        tmax[r] = max(tmax[r], s);
      }
    }
    tmax = group_reduce(tmax, ty, tx, true);
    for (var r = 0u; r < TQ; r = r + 1u) {
      let mn = max(m[r], tmax[r]);
      // All keys so far masked: alpha and p are 0 and the row stays empty.
      let alpha = select(exp2(m[r] - mn), 0.0, is_neg_inf(m[r]));
      var l = lsum[r] * alpha;
      for (var cc = 0u; cc < CPT; cc = cc + 1u) {
        acc[r * CPT + cc] = V8(acc[r * CPT + cc].a * alpha, acc[r * CPT + cc].b * alpha);
      }
      for (var t = 0u; t < TKT; t = t + 1u) {
        let s = sc[r * TKT + t];
        let p = select(exp2(s - mn), 0.0, is_neg_inf(s));
        l = l + p;
        ps[(ty * TQ + r) * TK + tx + NJ * t] = p;
      }
      lsum[r] = l;
      m[r] = select(mn, m[r], is_neg_inf(mn));
    }
    workgroupBarrier();
    let tn = min(TK, kend - j0);
    for (var jj = 0u; jj < tn; jj = jj + 1u) {
      for (var cc = 0u; cc < CPT; cc = cc + 1u) {
        let c = tx + NJ * cc;
#if !CPT_EXACT
        if (c >= NCH) { continue; }
#endif
        let x = v_unpack(vs[jj * RP + c]);
        for (var r = 0u; r < TQ; r = r + 1u) {
          let p = ps[(ty * TQ + r) * TK + jj];
          acc[r * CPT + cc] = V8(acc[r * CPT + cc].a + p * x.a, acc[r * CPT + cc].b + p * x.b);
        }
      }
    }
  }

  lsum = group_reduce(lsum, ty, tx, false);
  for (var r = 0u; r < TQ; r = r + 1u) {
    let row = r0 + ty * TQ + r;
    if (row >= r1) { continue; }
    let orow = out_row(b, hk, row);
#if SPLIT
    let pbase = (orow * params.splits + wk.sp) * (D + 2u);
    if (tx == 0u) {
      part[pbase] = m[r];
      part[pbase + 1u] = lsum[r];
    }
    for (var cc = 0u; cc < CPT; cc = cc + 1u) {
      let d0 = (tx + NJ * cc) * 8u;
      let x = acc[r * CPT + cc];
      for (var e = 0u; e < 8u; e = e + 1u) {
        if (d0 + e < D) { part[pbase + 2u + d0 + e] = select(x.b[e - 4u], x.a[e], e < 4u); }
      }
    }
#else
    let inv = select(1.0 / lsum[r], 0.0, lsum[r] == 0.0);
    for (var cc = 0u; cc < CPT; cc = cc + 1u) {
      let d0 = (tx + NJ * cc) * 8u;
      let x = acc[r * CPT + cc];
      if (d0 < D) { put_pair(orow * D, d0, x.a.xy * inv); }
      if (d0 + 2u < D) { put_pair(orow * D, d0 + 2u, x.a.zw * inv); }
      if (d0 + 4u < D) { put_pair(orow * D, d0 + 4u, x.b.xy * inv); }
      if (d0 + 6u < D) { put_pair(orow * D, d0 + 6u, x.b.zw * inv); }
    }
#endif
  }
}
#endif

