// Softmax family: softmax / logSoftmax of x along one axis. x is read through value()
// (wgsl/_value.wgsl) viewed as [rows, cols] with the axis last, so it may be a fused elementwise
// expression or any strided view; the output is x's shape, row-major.
// One workgroup per row, all math in f32: one read computes the row's max m and s = sum exp(x - m)
// online (per thread, then a tree that rescales the sums), a second read writes
//   softmax: exp(x - m) / s        logSoftmax: (x - m) - log(s)
// A row whose max is not finite (a NaN, a +Inf, or every entry -Inf) is NaN throughout, as in
// PyTorch. -Inf entries give 0 (softmax) and -Inf (logSoftmax).
// Output element of (row, k): (row / inner) * cols * inner + k * inner + row % inner; CONTIG means
// inner = 1. Many rows along a non-last axis use the TILED layout; few long rows are SPLIT over
// workgroups in two passes (see below).
// Header words: n (unused), grid_x, rows, cols, chunk (columns per workgroup), chunks (workgroups
// per row: 1 unless SPLIT), pad0 = inner. Bindings: params (uniform), leaf0.., out (OUT_BINDING),
// part (PART_BINDING, SPLIT). Dispatch: rows * chunks (TILED: rows / 32) workgroups in x/y.
// 16-bit output is packed two per word: with CONTIG and an even row length each row owns whole
// words; otherwise (ATOMIC) rows share words and each thread writes only its own halves with
// atomicAnd/atomicOr, so any interleaving leaves every half right.
$ENABLE
#include "_half"
#include "_math"
#include "_value"

#if SPLIT_STATS
#elif ATOMIC
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<atomic<u32>>;
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
#endif

const WG: u32 = $WGu;
var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

fn load(i: u32) -> f32 {
  return $LOAD;
}

fn is_neg_inf(x: f32) -> bool {
  return bitcast<u32>(x) == 0xff800000u;
}

// Adds x to a running (max, sum of exp(x - max)). NaN sticks in the max; -Inf adds nothing.
fn push(st: vec2<f32>, x: f32) -> vec2<f32> {
  if (nan_in(st.x)) { return st; }
  if (nan_in(x)) { return vec2<f32>(x, st.y); }
  if (is_neg_inf(x)) { return st; }
  if (x > st.x) { return vec2<f32>(x, st.y * exp_f32(st.x - x) + 1.0); }
  return vec2<f32>(st.x, st.y + exp_f32(x - st.x));
}

fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (nan_in(a.x)) { return a; }
  if (nan_in(b.x)) { return b; }
  if (is_neg_inf(a.x)) { return b; }
  if (is_neg_inf(b.x)) { return a; }
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp_f32(a.x - m) + b.y * exp_f32(b.x - m));
}

fn result(x: f32, m: f32, s: f32, log_s: f32, bad: bool) -> f32 {
  if (bad) { return nan_f32(); }
#if LOG
  return (x - m) - log_s;
#else
  return exp_f32(x - m) / s;
#endif
}

fn stored(r: f32) -> $OUT_STORE {
  return $STORE;
}

#if SPLIT
// Long rows, not enough of them to fill the GPU: each row is cut into `chunks` chunks, one
// workgroup each. Pass 1 (SPLIT_STATS) writes every chunk's (max, sum) to `part`; pass 2
// (SPLIT_WRITE) merges the row's chunks and writes its own chunk.
@group(0) @binding($PART_BINDING) var<storage, read_write> part: array<vec2<f32>>;
#endif

#if TILED
// TILED (rows along a non-last axis): a workgroup takes 32 consecutive rows, 8 threads per row
// (lane = row within the tile, slot = which of every 8 columns). At a fixed column the 32 lanes
// read neighbouring elements, so loads and stores coalesce where a thread per row could not.
// Workgroup w: tile w / chunks, columns [k0, k1) of chunk w % chunks.
const LANES: u32 = 32u;
const PARTS: u32 = WG / LANES;

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let slot = lid / LANES;
  let w = wid.x + wid.y * params.grid_x;
  let row = (w / params.chunks) * LANES + lane;
  let cols = params.cols;
  let valid = row < params.rows;
  // Rows past the end fold nothing but still reach every barrier.
  let k0 = (w % params.chunks) * params.chunk;
  let k1 = select(k0, min(cols, k0 + params.chunk), valid);
  let base = row * cols;
  var st = vec2<f32>(inf_f32(true), 0.0);
#if SPLIT_WRITE
  if (valid) {
    for (var j = slot; j < params.chunks; j = j + PARTS) {
      st = merge(st, part[row * params.chunks + j]);
    }
  }
#else
  for (var k = k0 + slot; k < k1; k = k + PARTS) {
    st = push(st, load(base + k));
  }
#endif
  red_m[lid] = st.x;
  red_s[lid] = st.y;
  workgroupBarrier();
  for (var h = PARTS / 2u; h > 0u; h = h >> 1u) {
    if (slot < h) {
      let r = merge(vec2<f32>(red_m[lid], red_s[lid]), vec2<f32>(red_m[lid + h * LANES], red_s[lid + h * LANES]));
      red_m[lid] = r.x;
      red_s[lid] = r.y;
    }
    workgroupBarrier();
  }
  let m = red_m[lane];
  let s = red_s[lane];
#if SPLIT_STATS
  if (slot == 0u && valid) { part[row * params.chunks + w % params.chunks] = vec2<f32>(m, s); }
#else
  let bad = (bitcast<u32>(m) & 0x7f800000u) == 0x7f800000u;
  let log_s = log_f32(s);
  let inner = params.pad0;
  let o0 = (row / inner) * cols * inner + row % inner;
  for (var k = k0 + slot; k < k1; k = k + PARTS) {
    let o = o0 + k * inner;
    let r = result(load(base + k), m, s, log_s, bad);
#if OUT_HALF
    let shift = (o & 1u) * 16u;
    atomicAnd(&out[o >> 1u], ~(0xffffu << shift));
    atomicOr(&out[o >> 1u], stored(r) << shift);
#else
    out[o] = stored(r);
#endif
  }
#endif
}
#else
// The running (max, sum) of every thread folded into one; every thread gets it.
fn wg_merge(st: vec2<f32>, lid: u32) -> vec2<f32> {
  red_m[lid] = st.x;
  red_s[lid] = st.y;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h >> 1u) {
    if (lid < h) {
      let r = merge(vec2<f32>(red_m[lid], red_s[lid]), vec2<f32>(red_m[lid + h], red_s[lid + h]));
      red_m[lid] = r.x;
      red_s[lid] = r.y;
    }
    workgroupBarrier();
  }
  return vec2<f32>(red_m[0], red_s[0]);
}

// Column k of the row starting at `base`, read again for the write pass: the GPU caches mostly
// still hold it (keeping rows in workgroup memory instead measured slower on an H100).
fn again(base: u32, k: u32) -> f32 {
  return load(base + k);
}

// Workgroup w: row w / chunks, columns [k0, k1) of chunk w % chunks (one chunk: the whole row).
@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let row = w / params.chunks;
  if (row >= params.rows) { return; }
  let cols = params.cols;
  let base = row * cols;
  let k0 = (w % params.chunks) * params.chunk;
  let k1 = min(cols, k0 + params.chunk);
  var st = vec2<f32>(inf_f32(true), 0.0);
#if SPLIT_WRITE
  for (var j = lid; j < params.chunks; j = j + WG) {
    st = merge(st, part[row * params.chunks + j]);
  }
#else
  for (var k = k0 + lid; k < k1; k = k + WG) {
    st = push(st, load(base + k));
  }
#endif
  st = wg_merge(st, lid);
#if SPLIT_STATS
  if (lid == 0u) { part[w] = st; }
#else
  let m = st.x;
  let s = st.y;
  // NaN, +Inf or an all -Inf row: no finite max to shift by.
  let bad = (bitcast<u32>(m) & 0x7f800000u) == 0x7f800000u;
  let log_s = log_f32(s);
#if CONTIG
  let o0 = base;
#else
  let inner = params.pad0;
  let o0 = (row / inner) * cols * inner + row % inner;
#endif
#if ATOMIC
#if CONTIG
  let first = base + k0;
  let end = base + k1;
  for (var w2 = (first >> 1u) + lid; w2 <= ((end - 1u) >> 1u); w2 = w2 + WG) {
    let e = w2 * 2u;
    var bits = 0u;
    var mask = 0u;
    if (e >= first) {
      bits = stored(result(again(base, e - base), m, s, log_s, bad));
      mask = 0xffffu;
    }
    if (e + 1u < end) {
      bits = bits | (stored(result(again(base, e + 1u - base), m, s, log_s, bad)) << 16u);
      mask = mask | 0xffff0000u;
    }
    if (mask == 0xffffffffu) {
      atomicStore(&out[w2], bits);
    } else {
      atomicAnd(&out[w2], ~mask);
      atomicOr(&out[w2], bits);
    }
  }
#else
  for (var k = k0 + lid; k < k1; k = k + WG) {
    let o = o0 + k * inner;
    let shift = (o & 1u) * 16u;
    atomicAnd(&out[o >> 1u], ~(0xffffu << shift));
    atomicOr(&out[o >> 1u], stored(result(again(base, k), m, s, log_s, bad)) << shift);
  }
#endif
#elif OUT_HALF
  // CONTIG with an even row length (and even chunks): word j holds columns 2j and 2j + 1.
  for (var k = k0 + lid * 2u; k < k1; k = k + WG * 2u) {
    out[(base + k) >> 1u] = stored(result(again(base, k), m, s, log_s, bad)) |
      (stored(result(again(base, k + 1u), m, s, log_s, bad)) << 16u);
  }
#else
  for (var k = k0 + lid; k < k1; k = k + WG) {
#if CONTIG
    out[o0 + k] = stored(result(again(base, k), m, s, log_s, bad));
#else
    out[o0 + k * inner] = stored(result(again(base, k), m, s, log_s, bad));
#endif
  }
#endif
#endif
}
#endif
