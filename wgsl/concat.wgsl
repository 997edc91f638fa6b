// Concat family: copies one input into its slice of the output; one dispatch per input.
// The input is read through value() (wgsl/_value.wgsl), row-major, as [outer, len] (len = its
// extent along the axis times the inner size); block q of it lands in out at element
// q * dst_stride + dst_off. Casts to the output dtype are fused into value() by the caller.
// Header words: n (threads), grid_x, rows = len, cols = dst_stride, chunk = dst_off,
// chunks = words per block (OUT_HALF).
// Bindings: params (uniform), leaf0.., out (OUT_BINDING). Dispatch: ceil(n / 256) workgroups
// folded into x/y. 32-bit output: one thread per input element. 16-bit output (OUT_HALF): one
// thread per output word the block touches; a word shared with a neighbouring slice keeps the
// other half (read-modify-write). Blocks of one dispatch never share a word: adjacent blocks
// (dst_stride = len) are merged into one by the caller, others are at least one element apart.
// COPY (the input a realized view of the output dtype whose blocks are contiguous, at offset
// params.offsets[0][0] with block stride params.strides[0][0]; every length, offset and stride a
// multiple of U = 2^LOG_U elements = one UNIT): raw bits, four UNITs per thread; n = blocks.
$ENABLE
#include "_half"
#include "_math"
#include "_value"

#if COPY
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$UNIT>;

// Blocks of `units` units, each cut into chunks of TPR * 4 units; the workgroup's threads take
// RPW (block, chunk) pairs, TPR threads each, four units per thread.
const TPR: u32 = $TPRu;
const RPW: u32 = 256u / TPR;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let units = params.rows >> $LOG_Uu;
  let chunks = (units + TPR * 4u - 1u) / (TPR * 4u);
  let rc = (wid.x + wid.y * params.grid_x) * RPW + lid / TPR;
  let q = rc / chunks;
  if (q >= params.n) { return; }
  let c0 = (rc % chunks) * TPR * 4u + lid % TPR;
  let src = (params.offsets[0][0] + q * params.strides[0][0]) >> $LOG_Uu;
  let dst = (q * params.cols + params.chunk) >> $LOG_Uu;
  for (var i = 0u; i < 4u; i = i + 1u) {
    let c = c0 + i * TPR;
    if (c < units) { out[dst + c] = leaf0[src + c]; }
  }
}
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
  if (t >= params.n) { return; }
#if OUT_HALF
  let q = t / params.chunks;
  let start = q * params.cols + params.chunk;
  let end = start + params.rows;
  let w = (start >> 1u) + t % params.chunks;
  let e = w * 2u;
  if (e >= end) { return; }
  let src = q * params.rows;
  var bits = 0u;
  var mask = 0u;
  if (e >= start) {
    let r = value(src + e - start);
    bits = $STORE;
    mask = 0xffffu;
  }
  if (e + 1u < end) {
    let r = value(src + e + 1u - start);
    bits = bits | ($STORE << 16u);
    mask = mask | 0xffff0000u;
  }
  if (mask != 0xffffffffu) {
    bits = bits | (out[w] & ~mask);
  }
  out[w] = bits;
#else
  let r = value(t);
  out[(t / params.rows) * params.cols + params.chunk + t % params.rows] = $STORE;
#endif
}
#endif
