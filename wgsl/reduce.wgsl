// Reduce family: out[w] = COMBINE over value(row * cols + k) for k in this workgroup's chunk of
// the row, where value() is a fused expression (wgsl/_value.wgsl) read over the input viewed as
// [rows, cols] (reduced axes last), so an elementwise prologue costs no extra pass.
// Workgroup w handles (row = w / chunks, chunk = w % chunks); with chunks > 1 the caller runs a
// second pass over the partials. Accumulates in ACC (f32 for float inputs).
// Bindings: params (uniform), leaf0.., out: array<ACC> (last). Dispatch: rows * chunks
// workgroups folded into x/y (grid_x = workgroups per y row).
$ENABLE
#include "_half"
#include "_math"
#include "_value"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$ACC>;

const WG: u32 = 256u;
var<workgroup> partial: array<$ACC, WG>;

fn combine(acc: $ACC, v: $ACC) -> $ACC {
  return $COMBINE;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let row = w / params.chunks;
  let valid = row < params.rows;
  var acc: $ACC = $IDENTITY;
  if (valid) {
    let start = (w % params.chunks) * params.chunk;
    let end = min(params.cols, start + params.chunk);
    let base = row * params.cols;
    for (var k = start + lid; k < end; k = k + WG) {
      acc = combine(acc, $LOAD);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && valid) {
    out[w] = partial[0];
  }
}
