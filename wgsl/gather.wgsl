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
// COPY (x a realized view whose [outer * A] rows of `inner` elements are contiguous, at offset
// params.offsets[0][0] with row stride params.strides[0][0], all multiples of U = 2^LOG_U elements
// = one UNIT): rows are copied as raw bits, four UNITs per thread (see main); n = output rows
// (outer * K), OUTER1: outer = 1.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#if COPY
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$UNIT>;
#else
#include "_store"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
#endif
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

#if COPY
// Output rows of `units` units, each cut into chunks of CH = TPR * 4 units; the workgroup's
// threads take RPW (row, chunk) pairs, TPR threads each, four units per thread.
const TPR: u32 = $TPRu;
const RPW: u32 = 256u / TPR;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let units = params.cols >> $LOG_Uu;
  let chunks = (units + TPR * 4u - 1u) / (TPR * 4u);
  let rc = (wid.x + wid.y * params.grid_x) * RPW + lid / TPR;
  let r = rc / chunks;
  if (r >= params.n) { return; }
  let c0 = (rc % chunks) * TPR * 4u + lid % TPR;
#if OUTER1
  let k = r;
  let q = 0u;
#else
  let k = r % params.rows;
  let q = r / params.rows;
#endif
  let id = ids[params.chunks + k * params.pad0];
#if IDS_I32
  let ok = id >= 0 && u32(id) < params.chunk;
#else
  let ok = id < params.chunk;
#endif
  let src = (params.offsets[0][0] + (q * params.chunk + u32(select(0u, u32(id), ok))) * params.strides[0][0]) >> $LOG_Uu;
  let dst = r * units;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let c = c0 + i * TPR;
    if (c < units) {
      var v = $UNIT();
      if (ok) { v = leaf0[src + c]; }
      out[dst + c] = v;
    }
  }
}
#endif
