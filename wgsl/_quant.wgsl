// ggml block decoding for one block type, chosen by a define (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K or Q6_K), shared by wgsl/dequant.wgsl and wgsl/matmul_quant.wgsl. The includer binds the raw
// blocks as `blocks: array<u32>` (the file's bytes little-endian, zero-padded to a word).
//   QK, QB          elements and bytes per block.
//   q_deq8(b, j)    elements j..j+7 (j % 8 = 0) of block b as f32, bit-exact with src/cpu/quant.ts
//                   (the same products in the same order; q * d is exact, so a fused add rounds alike).
//   q_runs(u)       unit u (0 .. QK/32 - 1) of a block: two runs of 16 elements starting at .x and .y
//                   that share their bytes (low and high nibbles of the same 16 qs bytes).
//   q_dot(b, u, x)  sum of value * x over unit u of block b, x[0..3] the first run, x[4..7] the
//                   second: integers times x, scaled once per run (not bit-exact; for matmul).
// Defines: the type's name, plus Q5 for Q5_0 / Q5_1 and K45 for Q4_K / Q5_K (their shared code).
// Quant integers become f32 without int-to-float instructions: 2^23 + q has q in its mantissa.
#include "_half"

fn q_byte(i: u32) -> u32 {
  return (blocks[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

// f16 at an even byte offset.
fn q_f16(i: u32) -> f32 {
  return f16_to_f32((blocks[i >> 2u] >> ((i & 2u) * 8u)) & 0xffffu);
}

// Funnel shift: the 4 bytes s / 8 bytes into the pair (lo, hi); s in {0, 8, 16, 24}. Branch-free:
// neighbouring blocks of 18, 22, 34 or 210 bytes alternate in alignment, and a branch would run
// both paths in every subgroup. (hi << 32 is hi << 0 in WGSL; the select drops it.)
fn q_funnel(lo: vec4<u32>, hi: vec4<u32>, s: u32) -> vec4<u32> {
  return select((lo >> vec4<u32>(s)) | (hi << vec4<u32>(32u - s)), lo, s == 0u);
}

// The word after word w, clamped to the last word: read only where it is discarded or in range.
fn q_next(w: u32) -> u32 {
  return blocks[min(w + 1u, arrayLength(&blocks) - 1u)];
}

// 4 bytes at any byte offset.
fn q_u32(i: u32) -> u32 {
  let w = i >> 2u;
  let s = (i & 3u) * 8u;
  return select((blocks[w] >> s) | (q_next(w) << (32u - s)), blocks[w], s == 0u);
}

// 16 bytes at any byte offset, as 4 words.
fn q_u32x4(i: u32) -> vec4<u32> {
  let w = i >> 2u;
  let a = vec4<u32>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u]);
  return q_funnel(a, vec4<u32>(a.yzw, q_next(w + 3u)), (i & 3u) * 8u);
}

// The 4 bytes of w as f32 integers minus `off` (exact).
fn q_bytes(w: u32, off: f32) -> vec4<f32> {
  let v = (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
  return bitcast<vec4<f32>>(v | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0 + off);
}

// Bits 0..3 of h, one to bit 0 of each byte (the shifted copies do not overlap, so no carries).
fn q_spread4(h: u32) -> u32 {
  return ((h & 0xfu) * 0x00204081u) & 0x01010101u;
}

const LO: u32 = 0x0f0f0f0fu;

fn q_sum4(x: vec4<f32>) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

#if Q8_0
const QK: u32 = 32u;
const QB: u32 = 34u;
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let d = q_f16(o);
  return mat2x4<f32>(q_bytes(q_u32(o + 2u + j) ^ 0x80808080u, 128.0) * d, q_bytes(q_u32(o + 6u + j) ^ 0x80808080u, 128.0) * d);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let w0 = q_u32x4(o + 2u) ^ vec4<u32>(0x80808080u);
  let w1 = q_u32x4(o + 18u) ^ vec4<u32>(0x80808080u);
  var s = 0.0;
  for (var k = 0u; k < 4u; k = k + 1u) {
    s = s + dot(q_bytes(w0[k], 128.0), x[k]) + dot(q_bytes(w1[k], 128.0), x[4u + k]);
  }
  return q_f16(o) * s;
}

#elif Q4_0
const QK: u32 = 32u;
const QB: u32 = 18u;
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let d = q_f16(o);
  let sh = (j >> 4u) * 4u;
  let q = o + 2u + (j & 15u);
  return mat2x4<f32>(q_bytes((q_u32(q) >> sh) & LO, 8.0) * d, q_bytes((q_u32(q + 4u) >> sh) & LO, 8.0) * d);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let w = q_u32x4(o + 2u);
  var s = 0.0;
  for (var k = 0u; k < 4u; k = k + 1u) {
    s = s + dot(q_bytes(w[k] & LO, 8.0), x[k]) + dot(q_bytes((w[k] >> 4u) & LO, 8.0), x[4u + k]);
  }
  return q_f16(o) * s;
}

#elif Q4_1
const QK: u32 = 32u;
const QB: u32 = 20u;
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let d = q_f16(o);
  let m = q_f16(o + 2u);
  let sh = (j >> 4u) * 4u;
  let q = (o + 4u + (j & 15u)) >> 2u;
  return mat2x4<f32>(q_bytes((blocks[q] >> sh) & LO, 0.0) * d + m, q_bytes((blocks[q + 1u] >> sh) & LO, 0.0) * d + m);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let w = q_u32x4(o + 4u);
  var s = 0.0;
  var sx = 0.0;
  for (var k = 0u; k < 4u; k = k + 1u) {
    s = s + dot(q_bytes(w[k] & LO, 0.0), x[k]) + dot(q_bytes((w[k] >> 4u) & LO, 0.0), x[4u + k]);
    sx = sx + q_sum4(x[k]) + q_sum4(x[4u + k]);
  }
  return q_f16(o) * s + q_f16(o + 2u) * sx;
}

#elif Q5_0
const QK: u32 = 32u;
const QB: u32 = 22u;
const QH: u32 = 2u; // byte offset of qh; qs follows it
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let d = q_f16(o);
  let q = q5_ints8(o, j);
  return mat2x4<f32>(q_bytes(q.x, 16.0) * d, q_bytes(q.y, 16.0) * d);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let qh = q_u32(o + QH);
  let w = q_u32x4(o + QH + 4u);
  var s = 0.0;
  for (var k = 0u; k < 4u; k = k + 1u) {
    let lo = (w[k] & LO) | (q_spread4(qh >> (4u * k)) << 4u);
    let hi = ((w[k] >> 4u) & LO) | (q_spread4(qh >> (16u + 4u * k)) << 4u);
    s = s + dot(q_bytes(lo, 16.0), x[k]) + dot(q_bytes(hi, 16.0), x[4u + k]);
  }
  return q_f16(o) * s;
}

#elif Q5_1
const QK: u32 = 32u;
const QB: u32 = 24u;
const QH: u32 = 4u;
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let d = q_f16(o);
  let m = q_f16(o + 2u);
  let q = q5_ints8(o, j);
  return mat2x4<f32>(q_bytes(q.x, 0.0) * d + m, q_bytes(q.y, 0.0) * d + m);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let qh = blocks[(o >> 2u) + 1u];
  let w = q_u32x4(o + 8u);
  var s = 0.0;
  var sx = 0.0;
  for (var k = 0u; k < 4u; k = k + 1u) {
    let lo = (w[k] & LO) | (q_spread4(qh >> (4u * k)) << 4u);
    let hi = ((w[k] >> 4u) & LO) | (q_spread4(qh >> (16u + 4u * k)) << 4u);
    s = s + dot(q_bytes(lo, 0.0), x[k]) + dot(q_bytes(hi, 0.0), x[4u + k]);
    sx = sx + q_sum4(x[k]) + q_sum4(x[4u + k]);
  }
  return q_f16(o) * s + q_f16(o + 2u) * sx;
}

#elif K45
const QK: u32 = 256u;
#if Q5_K
const QB: u32 = 176u;
const QS: u32 = 48u; // byte offset of qs (qh: 32 bytes at 16)
#else
const QB: u32 = 144u;
const QS: u32 = 16u;
#endif
// Sub-block j (32 elements) has 6-bit scale sc and min m packed in 12 bytes at 4 (ggml's
// get_scale_min_k4); its values are d * sc * q - dmin * m. 32 qs bytes hold sub-blocks 2c (low
// nibbles) and 2c + 1 (high nibbles); Q5_K's fifth bit of element 32j + l is bit j of qh[l].
fn q_scale_min(o: u32, j: u32) -> vec2<f32> {
  let s = o + 4u;
  if (j < 4u) { return vec2<f32>(f32(q_byte(s + j) & 63u), f32(q_byte(s + j + 4u) & 63u)); }
  let b = q_byte(s + j + 4u);
  return vec2<f32>(f32((b & 15u) | ((q_byte(s + j - 4u) >> 6u) << 4u)), f32((b >> 4u) | ((q_byte(s + j) >> 6u) << 4u)));
}
fn q_runs(u: u32) -> vec2<u32> {
  let r = (u >> 1u) * 64u + (u & 1u) * 16u;
  return vec2<u32>(r, r + 32u);
}
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let sub = j >> 5u;
  let sm = q_scale_min(o, sub);
  let d1 = q_f16(o) * sm.x;
  let m1 = q_f16(o + 2u) * sm.y;
  let sh = (sub & 1u) * 4u;
  let q = (o + QS + (j >> 6u) * 32u + (j & 31u)) >> 2u;
  var q0 = (blocks[q] >> sh) & LO;
  var q1 = (blocks[q + 1u] >> sh) & LO;
#if Q5_K
  let h = (o + 16u + (j & 31u)) >> 2u;
  q0 = q0 | (((blocks[h] >> sub) & 0x01010101u) << 4u);
  q1 = q1 | (((blocks[h + 1u] >> sub) & 0x01010101u) << 4u);
#endif
  return mat2x4<f32>(q_bytes(q0, 0.0) * d1 - m1, q_bytes(q1, 0.0) * d1 - m1);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let c = u >> 1u;
  let w0 = (o + QS + c * 32u + (u & 1u) * 16u) >> 2u;
#if Q5_K
  let h0 = (o + 16u + (u & 1u) * 16u) >> 2u;
#endif
  var s = vec2<f32>(0.0);
  var sx = vec2<f32>(0.0);
  for (var k = 0u; k < 4u; k = k + 1u) {
    let w = blocks[w0 + k];
    var lo = w & LO;
    var hi = (w >> 4u) & LO;
#if Q5_K
    let h = blocks[h0 + k] >> (2u * c);
    lo = lo | ((h & 0x01010101u) << 4u);
    hi = hi | (((h >> 1u) & 0x01010101u) << 4u);
#endif
    s = s + vec2<f32>(dot(q_bytes(lo, 0.0), x[k]), dot(q_bytes(hi, 0.0), x[4u + k]));
    sx = sx + vec2<f32>(q_sum4(x[k]), q_sum4(x[4u + k]));
  }
  let sm0 = q_scale_min(o, 2u * c);
  let sm1 = q_scale_min(o, 2u * c + 1u);
  return q_f16(o) * (sm0.x * s.x + sm1.x * s.y) - q_f16(o + 2u) * (sm0.y * sx.x + sm1.y * sx.y);
}

#elif Q6_K
const QK: u32 = 256u;
const QB: u32 = 210u;
// ql[128] (low 4 bits), qh[64] (high 2 bits), i8 scales[16] at 192, f16 d at 208. Element
// 128h + 32k + l: nibble k >> 1 of ql[64h + 32(k & 1) + l], bits 2k of qh[32h + l], scale
// scales[8h + 2k + l / 16]; value d * scale * (q - 32).
fn q_scale6(o: u32, i: u32) -> f32 {
  return f32(bitcast<i32>(q_byte(o + 192u + i) << 24u) >> 24u);
}
fn q_runs(u: u32) -> vec2<u32> {
  let r = (u >> 2u) * 128u + (u & 3u) * 16u;
  return vec2<u32>(r, r + 64u);
}
fn q_deq8(b: u32, j: u32) -> mat2x4<f32> {
  let o = b * QB;
  let h = j >> 7u;
  let k = (j >> 5u) & 3u;
  let l = j & 31u;
  let ql = o + 64u * h + 32u * (k & 1u) + l;
  let qh = o + 128u + 32u * h + l;
  let sh = 4u * (k >> 1u);
  let q0 = ((q_u32(ql) >> sh) & LO) | (((q_u32(qh) >> (2u * k)) & 0x03030303u) << 4u);
  let q1 = ((q_u32(ql + 4u) >> sh) & LO) | (((q_u32(qh + 4u) >> (2u * k)) & 0x03030303u) << 4u);
  let sc = q_f16(o + 208u) * q_scale6(o, j >> 4u);
  return mat2x4<f32>(q_bytes(q0, 32.0) * sc, q_bytes(q1, 32.0) * sc);
}
fn q_dot(b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let o = b * QB;
  let h = u >> 2u;
  let g = u & 3u;
  // Bytes 16g.. of the half's ql: low nibbles are the first run, high nibbles the second.
  let ql = q_u32x4(o + 64u * h + 16u * g);
  let qh = q_u32x4(o + 128u + 32u * h + 16u * (g & 1u));
  let sh = 2u * (g >> 1u);
  var s = vec2<f32>(0.0);
  for (var k = 0u; k < 4u; k = k + 1u) {
    let lo = (ql[k] & LO) | (((qh[k] >> sh) & 0x03030303u) << 4u);
    let hi = ((ql[k] >> 4u) & LO) | (((qh[k] >> (sh + 4u)) & 0x03030303u) << 4u);
    s = s + vec2<f32>(dot(q_bytes(lo, 32.0), x[k]), dot(q_bytes(hi, 32.0), x[4u + k]));
  }
  return q_f16(o + 208u) * (q_scale6(o, 8u * h + g) * s.x + q_scale6(o, 8u * h + g + 4u) * s.y);
}
#endif

#if Q5
// Q5_0 / Q5_1: the 5-bit integers of elements j..j+7 (bytes of two words): nibble of qs[j % 16]
// (low for j < 16) and bit j of qh.
fn q5_ints8(o: u32, j: u32) -> vec2<u32> {
  let qh = q_u32(o + QH) >> j;
  let sh = (j >> 4u) * 4u;
  let q = o + QH + 4u + (j & 15u);
  return vec2<u32>(((q_u32(q) >> sh) & LO) | (q_spread4(qh) << 4u), ((q_u32(q + 4u) >> sh) & LO) | (q_spread4(qh >> 4u) << 4u));
}
#endif
