// Reduce family: each row of the input viewed as [rows, cols] (reduced axes last) folds into one
// State with COMBINE. First pass: value() is a fused expression (wgsl/_value.wgsl) read through
// strides, so an elementwise prologue costs no extra pass. Later passes (FROM_PARTIALS) fold the
// partial States of the previous pass, read as [rows, cols] from `pin`.
// State: scalar { v } (sum/mean/max/min), ARG { v, i } (argmax/argmin: NaN first, then the
// extreme, then the lower index; floats compare as ford() orderings of the bits, exact where
// subnormals flush, with -0 == +0), MOMENTS { n, mean, m2 } (var). Moments of the input (TWO_PASS)
// are of x - x[row, 0] (every chunk of a row shifts by the same value, so means stay small and
// their differences precise), per chunk: its mean first, then the squared deviations from it (a
// second read); chunks' moments then merge with Chan's formula.
// Workgroup mode: workgroup w = (row = w / chunks, chunk = w % chunks), WG threads fold the chunk.
// COLUMN mode: thread t = (row = t % rows, chunk = t / rows) folds its chunk alone: adjacent
// threads read adjacent rows (reductions over leading axes, or short rows); WG = 256.
// FINAL: out[row] = FINALIZE(s) as OUT; else pout[row * chunks + chunk] = s.
// Header words: n, grid_x (workgroups per y row), rows, cols, chunk, chunks, pad0 (mean: count),
// pad1 (var: correction, f32 bits). Bindings: params, leaf0.. or pin, then out/pout (last).
$ENABLE
#include "_half"
#include "_math"

#if ARG
struct State { v: $ACC, i: u32 }
#elif MOMENTS
struct State { n: u32, mean: f32, m2: f32 }
#else
struct State { v: $ACC }
#endif

#if FROM_PARTIALS
struct Params { n: u32, grid_x: u32, rows: u32, cols: u32, chunk: u32, chunks: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pin: array<State>;
#else
#include "_value"
#endif

#if FINAL
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT>;
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> pout: array<State>;
#endif

const WG: u32 = $WGu;
// An ARG state that has seen nothing.
const NO_INDEX: u32 = 0xffffffffu;

fn identity() -> State {
#if ARG
  return State($IDENTITY, NO_INDEX);
#elif MOMENTS
  return State(0u, 0.0, 0.0);
#else
  return State($IDENTITY);
#endif
}

fn combine(a: State, b: State) -> State {
#if ARG
  if (a.i == NO_INDEX) { return b; }
  if (b.i == NO_INDEX) { return a; }
#if FLOAT
  let na = nan_in(f32(a.v));
  let nb = nan_in(f32(b.v));
  if (na || nb) {
    if (na && (!nb || a.i < b.i)) { return a; }
    return b;
  }
#endif
  if ($BETTER || ($EQUAL && b.i < a.i)) { return b; }
  return a;
#elif MOMENTS
  if (a.n == 0u) { return b; }
  if (b.n == 0u) { return a; }
  let n = a.n + b.n;
  let fb = f32(b.n) / f32(n);
  let d = b.mean - a.mean;
  return State(n, a.mean + d * fb, a.m2 + b.m2 + d * d * f32(a.n) * fb);
#else
  return State($COMBINE);
#endif
}

#if !FROM_PARTIALS
fn value_at(base: u32, k: u32) -> $ACC {
  return $LOAD;
}
#endif

fn load(base: u32, k: u32) -> State {
#if FROM_PARTIALS
  return pin[base + k];
#else
  let v = value_at(base, k);
#if ARG
  return State(v, k);
#elif MOMENTS
  return State(1u, v, 0.0);
#else
  return State(v);
#endif
#endif
}

#if TWO_PASS
// Moments of n values from their sum around mu = sum / n, then c = sum(x - mu) and
// q = sum((x - mu)^2): mean = mu + c / n, m2 = q - c^2 / n (the corrected two-pass algorithm).
fn moments(n: u32, mu: f32, c: f32, q: f32) -> State {
  if (n == 0u) { return identity(); }
  let fn_ = f32(n);
  return State(n, mu + c / fn_, max(q - c * c / fn_, 0.0));
}
#endif

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Population variance with `correction` subtracted from the count (PyTorch's meaning); any
// ±Inf or NaN in the row gives NaN, a count <= correction gives m2 / 0 (Inf, or NaN for m2 = 0).
fn variance(s: State) -> f32 {
#if MOMENTS
  if (!finite(s.mean)) { return nan_f32(); }
  let div = f32(s.n) - bitcast<f32>(params.pad1);
  if (div <= 0.0) { return select(inf_f32(false), nan_f32(), s.m2 == 0.0); }
  return s.m2 / div;
#else
  return 0.0;
#endif
}

fn store(w: u32, s: State) {
#if FINAL
  out[w] = $FINALIZE;
#else
  pout[w] = s;
#endif
}

#if COLUMN
@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * params.grid_x) * WG + lid;
  if (t >= params.rows * params.chunks) { return; }
  let row = t % params.rows;
  let chunk = t / params.rows;
  let start = chunk * params.chunk;
  let end = min(params.cols, start + params.chunk);
  let base = row * params.cols;
#if TWO_PASS
  let shift = value_at(base, 0u);
  var sum = 0.0;
  for (var k = start; k < end; k = k + 1u) {
    sum = sum + (value_at(base, k) - shift);
  }
  let mu = sum / f32(end - start);
  var c = 0.0;
  var q = 0.0;
  for (var k = start; k < end; k = k + 1u) {
    let d = (value_at(base, k) - shift) - mu;
    c = c + d;
    q = q + d * d;
  }
  let acc = moments(end - start, mu, c, q);
#else
  // Four independent folds: loads overlap instead of waiting on one chain.
  var a0 = identity();
  var a1 = identity();
  var a2 = identity();
  var a3 = identity();
  var k = start;
  for (; k + 3u < end; k = k + 4u) {
    a0 = combine(a0, load(base, k));
    a1 = combine(a1, load(base, k + 1u));
    a2 = combine(a2, load(base, k + 2u));
    a3 = combine(a3, load(base, k + 3u));
  }
  for (; k < end; k = k + 1u) {
    a0 = combine(a0, load(base, k));
  }
  let acc = combine(combine(a0, a1), combine(a2, a3));
#endif
  store(row * params.chunks + chunk, acc);
}
#else
var<workgroup> partial: array<State, WG>;

// The workgroup's states folded with combine(); every thread gets the result.
fn wg_combine(v: State, lid: u32) -> State {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

#if TWO_PASS
// The workgroup's states added field by field (sums of mean and m2 slots).
fn wg_add(v: State, lid: u32) -> State {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let a = partial[lid];
      let b = partial[lid + s];
      partial[lid] = State(a.n + b.n, a.mean + b.mean, a.m2 + b.m2);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}
#endif

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let row = w / params.chunks;
  let valid = row < params.rows;
  // Rows past the end (the grid is rounded up) fold nothing but still reach every barrier.
  let start = (w % params.chunks) * params.chunk;
  let end = select(start, min(params.cols, start + params.chunk), valid);
  let base = row * params.cols;
#if TWO_PASS
  var shift = 0.0;
  if (valid) { shift = value_at(base, 0u); }
  var sum = 0.0;
  for (var k = start + lid; k < end; k = k + WG) {
    sum = sum + (value_at(base, k) - shift);
  }
  let mu = wg_add(State(0u, sum, 0.0), lid).mean / f32(end - start);
  var c = 0.0;
  var q = 0.0;
  for (var k = start + lid; k < end; k = k + WG) {
    let d = (value_at(base, k) - shift) - mu;
    c = c + d;
    q = q + d * d;
  }
  let cq = wg_add(State(0u, c, q), lid);
  let acc = moments(end - start, mu, cq.mean, cq.m2);
#else
  // Four independent folds per thread: loads overlap instead of waiting on one chain.
  var a0 = identity();
  var a1 = identity();
  var a2 = identity();
  var a3 = identity();
  var k = start + lid;
  for (; k + 3u * WG < end; k = k + 4u * WG) {
    a0 = combine(a0, load(base, k));
    a1 = combine(a1, load(base, k + WG));
    a2 = combine(a2, load(base, k + 2u * WG));
    a3 = combine(a3, load(base, k + 3u * WG));
  }
  for (; k < end; k = k + WG) {
    a0 = combine(a0, load(base, k));
  }
  let acc = wg_combine(combine(combine(a0, a1), combine(a2, a3)), lid);
#endif
  if (lid == 0u && valid) {
    store(w, acc);
  }
}
#endif
