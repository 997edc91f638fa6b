// ggml block decoding for one block type, chosen by a define (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K or Q6_K), shared by wgsl/dequant.wgsl and wgsl/matmul_quant.wgsl. The includer binds the raw
// blocks as `blocks: array<u32>` (the file's bytes little-endian, zero-padded to a word).
//   QK, QB          elements and bytes per block.
//   q_deq4(b, j)    elements j..j+3 (j % 4 = 0) of block b as f32, bit-exact with src/cpu/quant.ts
//                   (the same products in the same order; q * d is exact, so a fused add rounds alike).
//   QMV only (the matrix-vector kernel):
//   QU, QW          elements per unit (32, or 64 for Q4_K / Q5_K: a 64-element chunk shares its
//                   scales) and the words a unit's decode reads.
//   q_load(b, u)    those words of unit u of block b (loads only, so a caller can issue the loads
//                   of several units and rows before decoding any).
//   q_runs(u)       the two runs of QU / 2 elements of unit u (offsets in the block).
//   q_dot(r, b, u, x)  sum of value * x over unit u of block b from its words r, x[0 .. QU / 8)
//                   the first run's values and x[QU / 8 ..) the second's (loaded once by the caller
//                   for all its rows): integers times x, scaled once per run (not bit-exact).
//                   Blocks at an even, non-word-aligned byte offset are funnel-shifted in registers.
// Defines: the type's name, plus Q5 for Q5_0 / Q5_1 and K45 for Q4_K / Q5_K (their shared code).
// The K-quants' functions are in wgsl/_quant_k.wgsl, included below for them.
// Quant integers become f32 without int-to-float instructions: 2^23 + q has q in its mantissa.
#include "_half"

fn q_byte(i: u32) -> u32 {
  return (blocks[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

// f16 at an even byte offset, decoded on the bits (exact for every value, so dequantization is
// bit-exact on every GPU); branch-free because lanes of a subgroup read different blocks.
fn q_f16(i: u32) -> f32 {
  let h = (blocks[i >> 2u] >> ((i & 2u) * 8u)) & 0xffffu;
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  let sub = bitcast<u32>(f32(m) * 5.9604644775390625e-8);
  let big = select((e + 112u) << 23u, 0x7f800000u, e == 31u) | (m << 13u);
  return bitcast<f32>(sign | select(big, sub, e == 0u));
}

// The word after word w, clamped to the last word: read only where it is discarded or in range.
fn q_next(w: u32) -> u32 {
  return blocks[min(w + 1u, arrayLength(&blocks) - 1u)];
}

// 4 bytes at any byte offset. Branch-free: neighbouring blocks of 18, 22, 34 or 210 bytes
// alternate in alignment, and a branch would run both paths in every subgroup.
fn q_u32(i: u32) -> u32 {
  let w = i >> 2u;
  let s = (i & 3u) * 8u;
  return select((blocks[w] >> s) | (q_next(w) << (32u - s)), blocks[w], s == 0u);
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

#if QMV
// Matvec helpers: the f16 scales through the hardware conversion (one instruction; the sums are
// not bit-exact anyway), and a block's words read once.
fn q_half(w: u32, hi: bool) -> f32 {
  return unpack2x16float(select(w, w >> 16u, hi)).x;
}

// Word k of the bytes that start 2 bytes into word k (s = 0: the block starts word-aligned, so its
// payload after a 2-byte scale is the words' high and next low halves) or at word k + 1 (s != 0).
fn q_at2(lo: u32, hi: u32, s: u32) -> u32 {
  return select(hi, (lo >> 16u) | (hi << 16u), s == 0u);
}

// Word k of bytes that start at word k (s = 0) or 2 bytes into it (s != 0).
fn q_odd(lo: u32, hi: u32, s: u32) -> u32 {
  return select(lo, (lo >> 16u) | (hi << 16u), s != 0u);
}

// dot of 4 integer bytes (minus off) with x.
fn q_dot4(w: u32, off: f32, x: vec4<f32>) -> f32 {
  return dot(q_bytes(w, off), x);
}

// dot of the 4 nibbles at bit sh of w's bytes (minus off) with x: shift, mask and exponent in one
// step per element.
fn q_nib4(w: u32, sh: u32, off: f32, x: vec4<f32>) -> f32 {
  let v = ((vec4<u32>(w) >> vec4<u32>(sh, sh + 8u, sh + 16u, sh + 24u)) & vec4<u32>(0xfu)) | vec4<u32>(0x4b000000u);
  return dot(bitcast<vec4<f32>>(v) - vec4<f32>(8388608.0 + off), x);
}
#endif

#if Q8_0
const QK: u32 = 32u;
const QB: u32 = 34u;
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  return q_bytes(q_u32(o + 2u + j) ^ 0x80808080u, 128.0) * q_f16(o);
}
#if QMV
const QU: u32 = 32u;
const QW: u32 = 9u; // 34 bytes from an even offset, the scale in the first word
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let w = (b * QB) >> 2u;
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u], blocks[w + 4u], blocks[w + 5u], blocks[w + 6u], blocks[w + 7u], blocks[w + 8u]);
}
fn q8_step(lo: u32, hi: u32, s: u32, x: vec4<f32>) -> f32 {
  return q_dot4(q_at2(lo, hi, s) ^ 0x80808080u, 128.0, x);
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let s = (b * QB) & 2u;
  let a = (q8_step(r[0], r[1], s, x[0]) + q8_step(r[1], r[2], s, x[1])) + (q8_step(r[2], r[3], s, x[2]) + q8_step(r[3], r[4], s, x[3]));
  let c = (q8_step(r[4], r[5], s, x[4]) + q8_step(r[5], r[6], s, x[5])) + (q8_step(r[6], r[7], s, x[6]) + q8_step(r[7], r[8], s, x[7]));
  return q_half(r[0], s != 0u) * (a + c);
}
#endif

#elif Q4_0
const QK: u32 = 32u;
const QB: u32 = 18u;
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  let sh = (j >> 4u) * 4u;
  return q_bytes((q_u32(o + 2u + (j & 15u)) >> sh) & LO, 8.0) * q_f16(o);
}
#if QMV
const QU: u32 = 32u;
const QW: u32 = 5u; // 18 bytes from an even offset
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let w = (b * QB) >> 2u;
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u], blocks[w + 4u]);
}
// qs word k: low nibbles are elements 4k.., high nibbles 16 + 4k..
fn q4_step(lo: u32, hi: u32, s: u32, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
  let q = q_at2(lo, hi, s);
  return q_nib4(q, 0u, 8.0, x0) + q_nib4(q, 4u, 8.0, x1);
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let s = (b * QB) & 2u;
  let acc = (q4_step(r[0], r[1], s, x[0], x[4]) + q4_step(r[1], r[2], s, x[1], x[5])) + (q4_step(r[2], r[3], s, x[2], x[6]) + q4_step(r[3], r[4], s, x[3], x[7]));
  return q_half(r[0], s != 0u) * acc;
}
#endif

#elif Q4_1
const QK: u32 = 32u;
const QB: u32 = 20u;
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  let sh = (j >> 4u) * 4u;
  return q_bytes((blocks[(o + 4u + (j & 15u)) >> 2u] >> sh) & LO, 0.0) * q_f16(o) + q_f16(o + 2u);
}
#if QMV
const QU: u32 = 32u;
const QW: u32 = 5u; // word-aligned: d and m, then 4 words of nibbles
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let w = b * (QB / 4u);
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u], blocks[w + 4u]);
}
fn q_xsum(x: array<vec4<f32>, 8>) -> f32 {
  return ((q_sum4(x[0]) + q_sum4(x[1])) + (q_sum4(x[2]) + q_sum4(x[3]))) + ((q_sum4(x[4]) + q_sum4(x[5])) + (q_sum4(x[6]) + q_sum4(x[7])));
}
fn q41_step(q: u32, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
  return q_nib4(q, 0u, 0.0, x0) + q_nib4(q, 4u, 0.0, x1);
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let dm = unpack2x16float(r[0]);
  let acc = (q41_step(r[1], x[0], x[4]) + q41_step(r[2], x[1], x[5])) + (q41_step(r[3], x[2], x[6]) + q41_step(r[4], x[3], x[7]));
  return dm.x * acc + dm.y * q_xsum(x);
}
#endif

#elif Q5_0
const QK: u32 = 32u;
const QB: u32 = 22u;
const QH: u32 = 2u; // byte offset of qh; qs follows it
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  return q_bytes(q5_ints4(o, j), 16.0) * q_f16(o);
}
#if QMV
const QU: u32 = 32u;
const QW: u32 = 6u; // 22 bytes from an even offset: d, qh 2 bytes in, qs 6 bytes in
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let w = (b * QB) >> 2u;
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u], blocks[w + 4u], blocks[w + 5u]);
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let s = (b * QB) & 2u;
  let qh = q_at2(r[0], r[1], s);
  let acc = (q5_step(q_at2(r[1], r[2], s), qh, 0u, x[0], x[4], 16.0) + q5_step(q_at2(r[2], r[3], s), qh, 1u, x[1], x[5], 16.0)) +
    (q5_step(q_at2(r[3], r[4], s), qh, 2u, x[2], x[6], 16.0) + q5_step(q_at2(r[4], r[5], s), qh, 3u, x[3], x[7], 16.0));
  return q_half(r[0], s != 0u) * acc;
}
#endif

#elif Q5_1
const QK: u32 = 32u;
const QB: u32 = 24u;
const QH: u32 = 4u;
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  return q_bytes(q5_ints4(o, j), 0.0) * q_f16(o) + q_f16(o + 2u);
}
#if QMV
const QU: u32 = 32u;
const QW: u32 = 6u; // word-aligned: d and m, qh, 4 words of nibbles
fn q_runs(u: u32) -> vec2<u32> { return vec2<u32>(0u, 16u); }
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let w = b * (QB / 4u);
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u], blocks[w + 4u], blocks[w + 5u]);
}
fn q_xsum(x: array<vec4<f32>, 8>) -> f32 {
  return ((q_sum4(x[0]) + q_sum4(x[1])) + (q_sum4(x[2]) + q_sum4(x[3]))) + ((q_sum4(x[4]) + q_sum4(x[5])) + (q_sum4(x[6]) + q_sum4(x[7])));
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  let dm = unpack2x16float(r[0]);
  let qh = r[1];
  let acc = (q5_step(r[2], qh, 0u, x[0], x[4], 0.0) + q5_step(r[3], qh, 1u, x[1], x[5], 0.0)) +
    (q5_step(r[4], qh, 2u, x[2], x[6], 0.0) + q5_step(r[5], qh, 3u, x[3], x[7], 0.0));
  return dm.x * acc + dm.y * q_xsum(x);
}
#endif

#else
#include "_quant_k"
#endif

#if Q5
#if QMV
// qs word q (low nibbles: elements 4k.., high: 16 + 4k..) with their fifth bits from qh, dot x.
fn q5_step(q: u32, qh: u32, k: u32, x0: vec4<f32>, x1: vec4<f32>, off: f32) -> f32 {
  let lo = (q & LO) | (q_spread4(qh >> (4u * k)) << 4u);
  let hi = ((q >> 4u) & LO) | (q_spread4(qh >> (16u + 4u * k)) << 4u);
  return q_dot4(lo, off, x0) + q_dot4(hi, off, x1);
}
#endif
// Q5_0 / Q5_1: the 5-bit integers of elements j..j+3: nibble of qs[j % 16] (low for j < 16) and
// bit j of qh.
fn q5_ints4(o: u32, j: u32) -> u32 {
  let qh = q_u32(o + QH) >> j;
  let sh = (j >> 4u) * 4u;
  return ((q_u32(o + QH + 4u + (j & 15u)) >> sh) & LO) | (q_spread4(qh) << 4u);
}
#endif
