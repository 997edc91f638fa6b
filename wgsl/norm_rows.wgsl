// Norm family, fast path (src/ops/norm.ts uses it for rows that fit in registers; wgsl/norm.wgsl
// does the rest): TPR threads per row (wgsl/_rows.wgsl), each holding ITEMS quads of its row in
// registers, so x is read once and y written once. Math as wgsl/norm.wgsl, in f32:
//   layer: mean = sum(x) / D, var = sum((x - mean)^2) / D (two folds), y = (x - mean) * rstd
//   RMS:   y = x * rstd, rstd = 1 / sqrt(sum(x^2) / D + eps)
// then y = y * w[k] + b[k]. Weight and bias: W_VEC/B_VEC: contiguous and 4-aligned, read a quad at
// a time (W_LOAD4/B_LOAD4 of index q4); else element k at offset + k * stride (W_LOAD/B_LOAD of wi/bi).
// PREFETCH: fewer workgroups, each looping over rows and loading its next row first.
// Header words: n = eps (f32 bits), grid_x, rows, cols = D, chunk/chunks = weight offset/stride,
// pad0/pad1 = bias offset/stride. Bindings: params, leaf0.. (x, see _rows), out (OUT_BINDING),
// weight (W_BINDING, HAS_W), bias (B_BINDING, HAS_B). Dispatch: ceil(rows / RPW) workgroups.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_rows"

#if HAS_W
@group(0) @binding($W_BINDING) var<storage, read> weight: array<$W_STORE>;
#endif
#if HAS_B
@group(0) @binding($B_BINDING) var<storage, read> bias: array<$B_STORE>;
#endif

fn sum4(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// y for columns 4q .. 4q + 3 (n of them valid) from the normalized values r.
fn affine(r: vec4<f32>, q: u32, n: u32) -> vec4<f32> {
  var y = r;
#if HAS_W
#if W_VEC
  {
    let q4 = (params.chunk >> 2u) + q;
    y = y * $W_LOAD4;
  }
#else
  var w = vec4<f32>(1.0);
  for (var c = 0u; c < n; c = c + 1u) {
    let wi = params.chunk + (q * 4u + c) * params.chunks;
    w[c] = $W_LOAD;
  }
  y = y * w;
#endif
#endif
#if HAS_B
#if B_VEC
  {
    let q4 = (params.pad0 >> 2u) + q;
    y = y + $B_LOAD4;
  }
#else
  var b = vec4<f32>(0.0);
  for (var c = 0u; c < n; c = c + 1u) {
    let bi = params.pad0 + (q * 4u + c) * params.pad1;
    b[c] = $B_LOAD;
  }
  y = y + b;
#endif
#endif
  return y;
}

// The row `row` held in x (entries past the row and rows past the end are 0, nothing stored).
fn norm_row(x: Row, row: u32, valid: bool, lane: u32, lid: u32) {
  let d = params.cols;
  let quads = d >> 2u;
  let rem = d & 3u;
  let eps = bitcast<f32>(params.n);
  let n = f32(d);
#if RMS
  var acc = x.t * x.t;
  for (var i = 0u; i < ITEMS; i = i + 1u) { acc = acc + x.q[i] * x.q[i]; }
  let mean = 0.0;
  let rstd = rsqrt_f32(row_sum(sum4(acc), lid) / n + eps);
#else
  var acc = x.t;
  for (var i = 0u; i < ITEMS; i = i + 1u) { acc = acc + x.q[i]; }
  let mean = row_sum(sum4(acc), lid) / n;
  // Deviations of the row's own entries only.
  let has_tail = valid && lane == 0u;
  let tm = vec4<bool>(has_tail && rem > 0u, has_tail && rem > 1u, has_tail && rem > 2u, false);
  let tc = select(vec4<f32>(0.0), x.t - mean, tm);
  var dev = tc * tc;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let c = select(vec4<f32>(0.0), x.q[i] - mean, lane + i * TPR < quads);
    dev = dev + c * c;
  }
  let rstd = rsqrt_f32(row_sum(sum4(dev), lid) / n + eps);
#endif
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let j = lane + i * TPR;
    if (valid && j < quads) {
      store4(row, j, affine((x.q[i] - mean) * rstd, j, 4u));
    }
  }
  if (valid && lane == 0u && rem > 0u) {
    store_tail(row, quads, affine((x.t - mean) * rstd, quads, rem), rem);
  }
}

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let slot = lid / TPR;
  let step = nwg.x * nwg.y * RPW;
  var base = (wid.x + wid.y * params.grid_x) * RPW;
  var next = load_row(base + slot, lane, 0.0);
  // Workgroups step over rows (PREFETCH: loading the next row while working on this one);
  // without PREFETCH there are enough workgroups for one row each.
  loop {
    if (base >= params.rows) { break; }
    let x = next;
    let row = base + slot;
    base = base + step;
#if PREFETCH
    next = load_row(base + slot, lane, 0.0);
#endif
    norm_row(x, row, row < params.rows, lane, lid);
  }
}
