// _common: helpers shared by kernels through `#include "_common"` (included once per kernel).
// No bindings, no entry points.

// Flat invocation index for a dispatch spread over x and y, since one dimension
// holds at most 65535 workgroups: index = gid.x + gid.y * (num_workgroups.x * wg_x).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>, wg_x: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg_x;
}
