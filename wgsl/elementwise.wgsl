// Elementwise family: out[i] = EXPR(a[ia], b[ib]) over a row-major output of `n` elements.
// Inputs are read through strides (0 = broadcast), so views and broadcasting need no copy;
// copy/contiguous and cast are the unary case with EXPR = a.
// Bindings: params (uniform), a_buf, [b_buf], out. Dispatch: ceil(n / PER_THREAD / 256) workgroups,
// folded into x/y when over the per-dimension limit (grid_x = threads per y row).
// Defines: NDIM (1..8), BINARY, CT (compute type), A_STORE/B_STORE/OUT_STORE (array element
// type), LOAD_A/LOAD_B (expr of index i giving CT), EXPR (of a, b), OUT_HALF (16-bit output:
// each thread packs 2 elements into one word), STORE (expr of r: CT giving OUT_STORE, or the
// 16-bit bits for OUT_HALF), ENABLE (extra `enable` directives).
$ENABLE
#include "_half"

struct Params {
  n: u32,
  grid_x: u32,
  a_offset: u32,
  b_offset: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a_buf: array<$A_STORE>;
#if BINARY
@group(0) @binding(2) var<storage, read> b_buf: array<$B_STORE>;
#endif
@group(0) @binding(3) var<storage, read_write> out: array<$OUT_STORE>;

fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

fn compute(o: u32) -> $CT {
  var rem = o;
  var ia = params.a_offset;
  var ib = params.b_offset;
  for (var d = i32($NDIM) - 1; d >= 0; d = d - 1) {
    let size = dim(params.shape, u32(d));
    let c = rem % size;
    rem = rem / size;
    ia = ia + c * dim(params.a_strides, u32(d));
    ib = ib + c * dim(params.b_strides, u32(d));
  }
  var i = ia;
  let a = $LOAD_A;
#if BINARY
  i = ib;
  let b = $LOAD_B;
#endif
  return $EXPR;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
#if OUT_HALF
  let o = t * 2u;
  if (o >= params.n) { return; }
  var r = compute(o);
  let lo = $STORE;
  var hi = 0u;
  if (o + 1u < params.n) {
    r = compute(o + 1u);
    hi = $STORE;
  }
  out[t] = lo | (hi << 16u);
#else
  if (t >= params.n) { return; }
  let r = compute(t);
  out[t] = $STORE;
#endif
}
