// Dequant family: ggml block-quantized weights to f32 (src/cpu/quant.ts is the bit-exact CPU twin).
// The block type is a variant define (see wgsl/_quant.wgsl, which decodes the blocks). One thread
// per 8 consecutive elements (n is a multiple of 32, so every group lies inside one block).
// Bindings: params (uniform), blocks, out. Dispatch: ceil(n / 8 / 256) workgroups folded into x/y.
struct Params {
  groups: u32,
  grid_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> blocks: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

#include "_quant"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.grid_x;
  if (g >= params.groups) { return; }
  let e = g * 8u;
  let v = q_deq8(e / QK, e % QK);
  out[2u * g] = v[0];
  out[2u * g + 1u] = v[1];
}
