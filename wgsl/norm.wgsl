// Norm family: layerNorm / rmsNorm over the last axis of x, seen as [rows, D] and read through
// value() (wgsl/_value.wgsl), so x may be a fused elementwise expression or any strided view.
//   layer: y = (x - mean) * rstd [* w[k]] [+ b[k]], rstd = 1 / sqrt(var + eps), var biased (/ D)
//   RMS:   y =  x         * rstd [* w[k]],        rstd = 1 / sqrt(mean(x^2) + eps)
// All math in f32: two passes over the row (mean, then squared deviations), then the write.
// One workgroup per row (WG threads); partial sums are strided by thread, then a tree.
// Header words: n = eps (f32 bits), grid_x, rows, cols = D, chunk/chunks = weight offset/stride,
// pad0/pad1 = bias offset/stride (elements).
// Bindings: params (uniform), leaf0.., out (OUT_BINDING), weight (W_BINDING, HAS_W),
// bias (B_BINDING, HAS_B). Dispatch: rows workgroups folded into x/y.
// 16-bit output (OUT_HALF) is packed two per word: with D even each row owns whole words; with D
// odd (ATOMIC) neighbouring rows share a word, and each thread writes only its own half of it
// with atomicAnd/atomicOr, so any interleaving leaves both halves right.
$ENABLE
#include "_half"
#include "_math"
#include "_value"

#if ATOMIC
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<atomic<u32>>;
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
#endif
#if HAS_W
@group(0) @binding($W_BINDING) var<storage, read> weight: array<$W_STORE>;
#endif
#if HAS_B
@group(0) @binding($B_BINDING) var<storage, read> bias: array<$B_STORE>;
#endif

const WG: u32 = $WGu;
var<workgroup> red: array<f32, WG>;

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn load(i: u32) -> f32 {
  return $LOAD;
}

// The normalized value of column k of the row that starts at element `base`.
fn y(base: u32, k: u32, mean: f32, rstd: f32) -> f32 {
  var r = (load(base + k) - mean) * rstd;
#if HAS_W
  let wi = params.chunk + k * params.chunks;
  r = r * $W_LOAD;
#endif
#if HAS_B
  let bi = params.pad0 + k * params.pad1;
  r = r + $B_LOAD;
#endif
  return r;
}

fn stored(r: f32) -> $OUT_STORE {
  return $STORE;
}

@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * params.grid_x;
  if (row >= params.rows) { return; }
  let d = params.cols;
  let base = row * d;
  let eps = bitcast<f32>(params.n);
#if RMS
  let mean = 0.0;
  var q = 0.0;
  for (var k = lid; k < d; k = k + WG) {
    let v = load(base + k);
    q = q + v * v;
  }
#else
  var s = 0.0;
  for (var k = lid; k < d; k = k + WG) {
    s = s + load(base + k);
  }
  let mean = wg_sum(s, lid) / f32(d);
  var q = 0.0;
  for (var k = lid; k < d; k = k + WG) {
    let v = load(base + k) - mean;
    q = q + v * v;
  }
#endif
  let rstd = rsqrt_f32(wg_sum(q, lid) / f32(d) + eps);
#if ATOMIC
  let end = base + d;
  for (var w = (base >> 1u) + lid; w <= ((end - 1u) >> 1u); w = w + WG) {
    let e = w * 2u;
    var bits = 0u;
    var mask = 0u;
    if (e >= base) {
      bits = stored(y(base, e - base, mean, rstd));
      mask = 0xffffu;
    }
    if (e + 1u < end) {
      bits = bits | (stored(y(base, e + 1u - base, mean, rstd)) << 16u);
      mask = mask | 0xffff0000u;
    }
    if (mask == 0xffffffffu) {
      atomicStore(&out[w], bits);
    } else {
      atomicAnd(&out[w], ~mask);
      atomicOr(&out[w], bits);
    }
  }
#elif OUT_HALF
  let first = base >> 1u;
  for (var j = lid; j < d / 2u; j = j + WG) {
    let k = j * 2u;
    out[first + j] = stored(y(base, k, mean, rstd)) | (stored(y(base, k + 1u, mean, rstd)) << 16u);
  }
#else
  for (var k = lid; k < d; k = k + WG) {
    out[base + k] = stored(y(base, k, mean, rstd));
  }
#endif
}
