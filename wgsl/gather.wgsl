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
// = one UNIT): rows are copied as raw bits a UNIT per thread, thread t = output row t / units,
// unit t % units (units = inner / U); n = threads.
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
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
  if (t >= params.n) { return; }
  let units = params.cols >> $LOG_Uu;
  let r = t / units;
  let c = t % units;
  let k = r % params.rows;
  let q = r / params.rows;
  let id = ids[params.chunks + k * params.pad0];
#if IDS_I32
  let ok = id >= 0 && u32(id) < params.chunk;
#else
  let ok = id < params.chunk;
#endif
  var v = $UNIT();
  if (ok) {
    let e = params.offsets[0][0] + (q * params.chunk + u32(id)) * params.strides[0][0];
    v = leaf0[(e >> $LOG_Uu) + c];
  }
  out[t] = v;
}
#endif
