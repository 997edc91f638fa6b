// Fill family: every u32 word of out gets the same bit pattern (16-bit dtypes repeat their
// half in both halves), so one kernel fills every dtype.
// Bindings: params (uniform), out. Dispatch: ceil(words / 256) workgroups, folded into x/y.
struct Params {
  words: u32,
  grid_x: u32,
  pattern: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * params.grid_x;
  if (t < params.words) {
    out[t] = params.pattern;
  }
}
