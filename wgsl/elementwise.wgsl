// Elementwise family: out[o] = value(o) for o < n, where value() is a fused expression over
// strided leaves (wgsl/_value.wgsl): every elementwise op, cast, copy/contiguous, broadcast.
// Bindings: params (uniform), leaf0.., out (last). Dispatch: ceil(n / PER_THREAD / 256)
// workgroups folded into x/y (grid_x = threads per y row). OUT_HALF: 16-bit output, each
// thread packs elements 2t and 2t+1 into word t. STORE: expr of r giving the stored word/value.
$ENABLE
#include "_half"
#include "_math"
#include "_value"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
#if OUT_HALF
  let o = t * 2u;
  if (o >= params.n) { return; }
  var r = value(o);
  let lo = $STORE;
  var hi = 0u;
  if (o + 1u < params.n) {
    r = value(o + 1u);
    hi = $STORE;
  }
  out[t] = lo | (hi << 16u);
#else
  if (t >= params.n) { return; }
  let r = value(t);
  out[t] = $STORE;
#endif
}
