// Gather family: index selection along one axis. x is read through value() (wgsl/_value.wgsl)
// as [outer, A, inner] row-major; out (contiguous, x's dtype) is [outer, K, inner] with
//   out[(q * K + k) * inner + c] = x[(q * A + ids[k]) * inner + c],
// and a zero where ids[k] is out of range (negative i32, or >= A). Embedding lookup is
// outer = 1, A = V, inner = D.
// Header words: n, grid_x, rows = K, cols = inner, chunk = A, chunks = ids offset,
// pad0 = ids stride (elements).
// Bindings: params (uniform), leaf0.., out (OUT_BINDING), ids (IDS_BINDING, IDS_TYPE i32/u32).
// Dispatch: ceil(n / PER_THREAD / 256) workgroups folded into x/y; OUT_HALF: 16-bit output,
// thread t packs elements 2t and 2t + 1 into word t.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_store"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
@group(0) @binding($IDS_BINDING) var<storage, read> ids: array<$IDS_TYPE>;

fn gathered(o: u32) -> $VT {
  let c = o % params.cols;
  let q = o / params.cols;
  let k = q % params.rows;
  let id = ids[params.chunks + k * params.pad0];
#if IDS_I32
  if (id < 0 || u32(id) >= params.chunk) { return $VT(0); }
#else
  if (id >= params.chunk) { return $VT(0); }
#endif
  return value(((q / params.rows) * params.chunk + u32(id)) * params.cols + c);
}
