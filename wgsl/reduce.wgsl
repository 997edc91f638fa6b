// Reduce family: out[w] = OP over x[row * cols + k] for k in this workgroup's chunk of the row.
// x starts at element `offset` (a view). Workgroup w handles (row = w / chunks, chunk = w % chunks); with chunks > 1 the caller runs
// a second pass over the partials. Accumulates in ACC (f32 for every float input).
// Bindings: params (uniform), x, out (array<ACC>). Dispatch: rows * chunks workgroups, folded
// into x/y (grid_x = workgroups per y row). Defines: X_STORE, LOAD_X (expr of i giving ACC),
// ACC, IDENTITY, COMBINE (expr of acc, v), ENABLE.
$ENABLE
#include "_half"

struct Params {
  rows: u32,
  cols: u32,
  chunk: u32,
  chunks: u32,
  grid_x: u32,
  offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<$X_STORE>;
@group(0) @binding(2) var<storage, read_write> out: array<$ACC>;

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
    let base = params.offset + row * params.cols;
    for (var k = start + lid; k < end; k = k + WG) {
      let i = base + k;
      acc = combine(acc, $LOAD_X);
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
