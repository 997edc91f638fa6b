// Dequant family: ggml block-quantized weights to f32, with the exact block layouts of ggml
// (src/cpu/quant.ts is the bit-exact CPU twin). The raw blocks are the file's bytes packed
// little-endian into u32 words; blocks are not word-aligned (18, 22, 34 bytes), so bytes are
// picked out of words. One thread per output element.
// kind: 0 Q8_0 (f16 d, i8 qs[32]), 1 Q4_0 (f16 d, u8 qs[16]), 2 Q4_1 (f16 d, f16 m, u8 qs[16]),
// 3 Q5_0 (f16 d, u32 qh, u8 qs[16]), 4 Q5_1 (f16 d, f16 m, u32 qh, u8 qs[16]).
// Element j < 16 of a block takes the low nibble of qs[j], element j + 16 the high one; Q5's
// fifth bit of element j is bit j of qh. y = (q - zero) * d, or q * d + m (Q4_1, Q5_1).
// Bindings: params (uniform), blocks, out. Dispatch: ceil(n / 256) workgroups folded into x/y.
#include "_half"

struct Params {
  n: u32,
  grid_x: u32,
  kind: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> blocks: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn byte_at(i: u32) -> u32 {
  return (blocks[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

fn half_at_byte(i: u32) -> f32 {
  return f16_to_f32(byte_at(i) | (byte_at(i + 1u) << 8u));
}

fn nibble(qs: u32, j: u32) -> u32 {
  let b = byte_at(qs + (j & 15u));
  return select(b & 0xfu, b >> 4u, j >= 16u);
}

fn high_bit(qh: u32, j: u32) -> u32 {
  return ((byte_at(qh + (j >> 3u)) >> (j & 7u)) & 1u) << 4u;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * params.grid_x;
  if (e >= params.n) { return; }
  let b = e / 32u;
  let j = e % 32u;
  switch params.kind {
    case 0u: {
      let o = b * 34u;
      let q = bitcast<i32>(byte_at(o + 2u + j) << 24u) >> 24u;
      out[e] = f32(q) * half_at_byte(o);
    }
    case 1u: {
      let o = b * 18u;
      out[e] = f32(i32(nibble(o + 2u, j)) - 8) * half_at_byte(o);
    }
    case 2u: {
      let o = b * 20u;
      out[e] = f32(nibble(o + 4u, j)) * half_at_byte(o) + half_at_byte(o + 2u);
    }
    case 3u: {
      let o = b * 22u;
      let q = nibble(o + 6u, j) | high_bit(o + 2u, j);
      out[e] = f32(i32(q) - 16) * half_at_byte(o);
    }
    case 4u: {
      let o = b * 24u;
      let q = nibble(o + 8u, j) | high_bit(o + 4u, j);
      out[e] = f32(q) * half_at_byte(o) + half_at_byte(o + 2u);
    }
    default: {}
  }
}
