// Softmax family, fast path (src/ops/softmax.ts uses it for rows along the last axis that fit
// in registers; wgsl/softmax.wgsl does the rest): TPR threads per row (wgsl/_rows.wgsl), each
// holding ITEMS quads of its row in registers, so x is read once and the output written once:
//   m = max(row) (a NaN counts as +Inf), s = sum exp(x - m), then
//   softmax: exp(x - m) * (1 / s)        logSoftmax: (x - m) - log(s)
// A row whose max is not finite (a NaN, a +Inf, or every entry -Inf) is NaN throughout, as in
// PyTorch and wgsl/softmax.wgsl. Lane 0 also holds the row's last cols % 4 entries.
// PREFETCH: fewer workgroups, each looping over rows and loading its next row before working on
// the current one, so loads stay in flight through the folds.
// Header words: n (unused), grid_x, rows, cols. Bindings: params (uniform), leaf0.. (the input,
// see _rows), out (OUT_BINDING). Dispatch: ceil(rows / RPW) workgroups folded into x/y.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_rows"

// exp(x) for x <= 0 or -Inf (not NaN): exp_f32's reduction and polynomial (wgsl/_math.wgsl),
// four at a time, scaled by adding k to the exponent field; results below 2^-125 are 0 (NVIDIA
// flushes subnormals anyway; next to a row maximum's exp(0) = 1 they are far below an ulp).
fn exp_neg4(x: vec4<f32>) -> vec4<f32> {
  let c = max(x, vec4<f32>(-88.0));
  let k = floor(c * 1.4426950408889634 + 0.5);
  let r = (c - k * 0.693145751953125) - k * 1.428606765330187e-6;
  let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334 + r * (0.0013888889 +
    r * (1.984127e-4 + r * 2.4801587e-5)))))));
  let scaled = bitcast<vec4<f32>>(bitcast<vec4<i32>>(p) + (vec4<i32>(k) << vec4<u32>(23u)));
  return select(scaled, vec4<f32>(0.0), k < vec4<f32>(-125.0));
}

// NaN entries as +Inf: the max then flags the row.
fn nan_high4(v: vec4<f32>) -> vec4<f32> {
  let nan = (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
  return select(v, vec4<f32>(inf_f32(false)), nan);
}

fn max4(v: vec4<f32>) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
}

// The row `row` held in x (rows past the end: -Inf everywhere, nothing stored).
fn softmax_row(x_in: Row, row: u32, valid: bool, lane: u32, lid: u32) {
  var x = x_in;
  let quads = params.cols >> 2u;
  let rem = params.cols & 3u;
  var m4 = nan_high4(x.t);
  for (var i = 0u; i < ITEMS; i = i + 1u) { m4 = max(m4, nan_high4(x.q[i])); }
  let m = row_max(max4(m4), lid);
  let bad = inf_in(m);
  // Entries past the row are -Inf: exp gives 0. In bad rows m is not finite; their sums are unused.
  let mb = select(m, 0.0, bad);
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let e = exp_neg4(x.q[i] - mb);
    s4 = s4 + e;
#if !LOG
    x.q[i] = e;
#endif
  }
  let te = exp_neg4(x.t - mb);
  s4 = s4 + te;
  let s = row_sum(s4.x + s4.y + s4.z + s4.w, lid);
#if LOG
  let ls = log_f32(s);
#else
  let inv = 1.0 / s;
#endif
  let nan4 = vec4<f32>(nan_f32());
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let j = lane + i * TPR;
    if (valid && j < quads) {
#if LOG
      // -Inf entries stay -Inf.
      let r = (x.q[i] - m) - ls;
#else
      let r = x.q[i] * inv;
#endif
      store4(row, j, select(r, nan4, bad));
    }
  }
  if (valid && lane == 0u && rem > 0u) {
#if LOG
    let r = (x.t - m) - ls;
#else
    let r = te * inv;
#endif
    store_tail(row, quads, select(r, nan4, bad), rem);
  }
}

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let slot = lid / TPR;
  let step = nwg.x * nwg.y * RPW;
  var base = (wid.x + wid.y * params.grid_x) * RPW;
  var next = load_row(base + slot, lane, inf_f32(true));
  // Workgroups step over rows (PREFETCH: loading the next row while working on this one);
  // without PREFETCH there are enough workgroups for one row each.
  loop {
    if (base >= params.rows) { break; }
    let x = next;
    let row = base + slot;
    base = base + step;
#if PREFETCH
    next = load_row(base + slot, lane, inf_f32(true));
#endif
    softmax_row(x, row, row < params.rows, lane, lid);
  }
}
