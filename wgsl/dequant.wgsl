// Dequant family: ggml block-quantized weights to f32 (src/cpu/quant.ts is the bit-exact CPU twin).
// The block type is a variant define (see wgsl/_quant.wgsl, which decodes the blocks). Each thread
// writes VPT vec4s (4 consecutive elements each, inside one block since n % 32 = 0), 32 vec4s
// apart, so the 32 lanes of a run store 512 contiguous bytes per store (coalesced on any subgroup
// size), and its VPT decodes are independent loads in flight. Out-of-range threads decode the
// last vec4 again and store nothing (loads unconditional, so the compiler can issue them early).
// Bindings: params (uniform), blocks, out. Dispatch: ceil(vecs / (256 * VPT)) workgroups in x/y.
struct Params {
  vecs: u32,
  grid_x: u32,
}

const VPT: u32 = $VPT;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> blocks: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

#include "_quant"

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let base = w * (256u * VPT) + (lid / 32u) * (32u * VPT) + lid % 32u;
  for (var i = 0u; i < VPT; i = i + 1u) {
    let v = base + 32u * i;
    let e = min(v, params.vecs - 1u) * 4u;
    let x = q_deq4(e / QK, e % QK);
    if (v < params.vecs) { out[v] = x; }
  }
}
