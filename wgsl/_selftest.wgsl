// _selftest: test-only kernel for the preprocessor and pipeline cache tests.
// Computes y[i] = x[i] * params.scale + $BIAS (then doubled when DOUBLE is set), i < params.n.
// Bindings: 0 params (uniform {n: u32, scale: f32}), 1 x (read-only f32), 2 y (f32).
// Dispatch: ceil(n / WG) workgroups in x (spill into y past 65535); WG is an override constant.
#include "_common"

override WG: u32 = 64u;

struct Params {
  n: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg, WG);
  if (i >= params.n) {
    return;
  }
  var v = x[i] * params.scale + $BIAS;
#if DOUBLE
  v = v * 2.0;
#endif
  y[i] = v;
}

// Second entry point: fills y with params.scale; uses no x binding.
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg, WG);
  if (i < params.n) {
    y[i] = params.scale;
  }
}
