// Reduce family, fast path (src/ops/gpu-reduce.ts uses it for sum/mean/max/min of rows read along
// the last axis, one pass): TPR threads per row (wgsl/_rows.wgsl) fold its quads, four quads per
// loop trip so loads overlap, then fold across the row; lane 0 writes the row's result in the
// output dtype (16-bit results packed two rows to a word with atomicAnd/atomicOr, each row
// touching only its half). Values are loaded as LT and folded as RT keys:
//   SUM      RT = LT; a + b (f32, or wrapping i32/u32); MEAN then divides by cols
//   FKEY     float max/min: the bits as a monotone i32 (-0 below +0, as max_f32/min_f32), a NaN
//            as the largest key so it wins, and for MIN the complement (min = max of ~key)
//   neither  integer max/min: RT = LT, MIN folds the complement
// Header words: n, grid_x, rows, cols. Bindings: params, leaf0.. (see _rows), out (OUT_BINDING).
// Dispatch: ceil(rows / RPW) workgroups folded into x/y.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_rows"

#if OUT_HALF
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<atomic<u32>>;
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT>;
#endif

const I32_MAX: i32 = 2147483647;

fn identity() -> $RT {
#if SUM
  return $RT(0);
#elif FKEY
  return -I32_MAX - 1;
#else
  return $LOWEST;
#endif
}

fn key4(v: vec4<$LT>) -> vec4<$RT> {
#if SUM
  return v;
#elif FKEY
  let b = bitcast<vec4<u32>>(v);
  let nan = (b & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
  var k = bitcast<vec4<i32>>(b ^ ((b >> vec4<u32>(31u)) * 0x7fffffffu));
#if MIN
  k = ~k;
#endif
  return select(k, vec4<i32>(I32_MAX), nan);
#elif MIN
  return ~v;
#else
  return v;
#endif
}

fn unkey(k: $RT) -> $LT {
#if SUM
  return k;
#elif FKEY
  if (k == I32_MAX) { return nan_f32(); }
#if MIN
  let u = bitcast<u32>(~k);
#else
  let u = bitcast<u32>(k);
#endif
  return bitcast<f32>(u ^ ((u >> 31u) * 0x7fffffffu));
#elif MIN
  return ~k;
#else
  return k;
#endif
}

fn fold4(a: vec4<$RT>, b: vec4<$RT>) -> vec4<$RT> {
#if SUM
  return a + b;
#else
  return max(a, b);
#endif
}

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let row = (wid.x + wid.y * params.grid_x) * RPW + lid / TPR;
  let valid = row < params.rows;
  // Rows past the end fold nothing but still reach the row folds.
  let quads = select(0u, params.cols >> 2u, valid);
  let rem = params.cols & 3u;
  let id4 = vec4<$RT>(identity());
  var a0 = id4;
  var a1 = id4;
  var a2 = id4;
  var a3 = id4;
  var j = lane;
  for (; j + 3u * TPR < quads; j = j + 4u * TPR) {
    a0 = fold4(a0, key4(load4(row, j)));
    a1 = fold4(a1, key4(load4(row, j + TPR)));
    a2 = fold4(a2, key4(load4(row, j + 2u * TPR)));
    a3 = fold4(a3, key4(load4(row, j + 3u * TPR)));
  }
  for (; j < quads; j = j + TPR) {
    a0 = fold4(a0, key4(load4(row, j)));
  }
  if (valid && lane == 0u && rem > 0u) {
    var t = id4;
    for (var k = 0u; k < rem; k = k + 1u) { t[k] = key4(vec4<$LT>(load1(row, (params.cols & ~3u) + k))).x; }
    a1 = fold4(a1, t);
  }
  let a = fold4(fold4(a0, a1), fold4(a2, a3));
#if SUM
  let r = row_sum((a.x + a.y) + (a.z + a.w), lid);
#else
  let r = row_max(max(max(a.x, a.y), max(a.z, a.w)), lid);
#endif
  if (valid && lane == 0u) {
    let v = unkey(r);
#if MEAN
    let res = v / f32(params.cols);
#else
    let res = v;
#endif
#if OUT_HALF
    let shift = (row & 1u) * 16u;
    atomicAnd(&out[row >> 1u], ~(0xffffu << shift));
    atomicOr(&out[row >> 1u], $STORE << shift);
#else
    out[row] = res;
#endif
  }
}
