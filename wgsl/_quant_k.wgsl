// ggml's K-quant block types (256-element super-blocks) for wgsl/_quant.wgsl, which includes this
// file for them: Q4_K and Q5_K (K45, their shared code) and Q6_K. Same functions as there.
#if K45
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
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  let sub = j >> 5u;
  let sm = q_scale_min(o, sub);
  let d1 = q_f16(o) * sm.x;
  let m1 = q_f16(o + 2u) * sm.y;
  let sh = (sub & 1u) * 4u;
  var q = (blocks[(o + QS + (j >> 6u) * 32u + (j & 31u)) >> 2u] >> sh) & LO;
#if Q5_K
  q = q | (((blocks[(o + 16u + (j & 31u)) >> 2u] >> sub) & 0x01010101u) << 4u);
#endif
  return q_bytes(q, 0.0) * d1 - m1;
}
#if QMV
const QU: u32 = 64u;
// Unit c = chunk c of 64 elements: sub-blocks 2c (low nibbles of 32 qs bytes) and 2c + 1 (high).
// Words: d and dmin, the 12 scale bytes, the chunk's 8 qs words (Q5_K: and the 8 qh words).
#if Q5_K
const QW: u32 = 20u;
#else
const QW: u32 = 12u;
#endif
fn q_runs(c: u32) -> vec2<u32> { return vec2<u32>(64u * c, 64u * c + 32u); }
fn q_load(b: u32, c: u32) -> array<u32, QW> {
#if BLOCKS4
  // The same words as 16-byte loads (blocks are 16-byte aligned): a quarter of the load instructions.
  let v = b * (QB / 16u);
  let hd = blocks4[v];
  let q0 = blocks4[v + QS / 16u + 2u * c];
  let q1 = blocks4[v + QS / 16u + 2u * c + 1u];
#if Q5_K
  let h0 = blocks4[v + 1u];
  let h1 = blocks4[v + 2u];
  return array<u32, QW>(hd.x, hd.y, hd.z, hd.w, q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w,
    h0.x, h0.y, h0.z, h0.w, h1.x, h1.y, h1.z, h1.w);
#else
  return array<u32, QW>(hd.x, hd.y, hd.z, hd.w, q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w);
#endif
#else
  let w = b * (QB / 4u);
  let q = w + QS / 4u + 8u * c;
#if Q5_K
  let h = w + 4u;
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u],
    blocks[q], blocks[q + 1u], blocks[q + 2u], blocks[q + 3u], blocks[q + 4u], blocks[q + 5u], blocks[q + 6u], blocks[q + 7u],
    blocks[h], blocks[h + 1u], blocks[h + 2u], blocks[h + 3u], blocks[h + 4u], blocks[h + 5u], blocks[h + 6u], blocks[h + 7u]);
#else
  return array<u32, QW>(blocks[w], blocks[w + 1u], blocks[w + 2u], blocks[w + 3u],
    blocks[q], blocks[q + 1u], blocks[q + 2u], blocks[q + 3u], blocks[q + 4u], blocks[q + 5u], blocks[q + 6u], blocks[q + 7u]);
#endif
#endif
}
// qs word k: sub-block 2c element 4k.. (low nibbles, x0) and sub-block 2c + 1 (high, x1); with
// Q5_K's qh word k (bits 2c and 2c + 1).
fn k_step(q: u32, h: u32, c: u32, x0: vec4<f32>, x1: vec4<f32>) -> vec2<f32> {
#if Q5_K
  let hh = h >> (2u * c);
  let lo = (q & LO) | ((hh & 0x01010101u) << 4u);
  let hi = ((q >> 4u) & LO) | (((hh >> 1u) & 0x01010101u) << 4u);
  return vec2<f32>(q_dot4(lo, 0.0, x0), q_dot4(hi, 0.0, x1));
#else
  return vec2<f32>(q_nib4(q, 0u, 0.0, x0), q_nib4(q, 4u, 0.0, x1));
#endif
}
fn k_sums(x0: vec4<f32>, x1: vec4<f32>) -> vec2<f32> {
  return vec2<f32>(q_sum4(x0), q_sum4(x1));
}
// The 8 scales and 8 mins as bytes of two words each, all at once (ggml's utmp trick).
fn q_dot(r: array<u32, QW>, b: u32, c: u32, x: array<vec4<f32>, 16>) -> f32 {
  let dm = unpack2x16float(r[0]);
  let sc = select((r[3] & LO) | ((r[1] >> 2u) & 0x30303030u), r[1] & 0x3f3f3f3fu, c < 2u);
  let mn = select(((r[3] >> 4u) & LO) | ((r[2] >> 2u) & 0x30303030u), r[2] & 0x3f3f3f3fu, c < 2u);
  let sh = (c & 1u) * 16u;
#if Q5_K
  let a = ((k_step(r[4], r[12], c, x[0], x[8]) + k_step(r[5], r[13], c, x[1], x[9])) + (k_step(r[6], r[14], c, x[2], x[10]) + k_step(r[7], r[15], c, x[3], x[11]))) +
    ((k_step(r[8], r[16], c, x[4], x[12]) + k_step(r[9], r[17], c, x[5], x[13])) + (k_step(r[10], r[18], c, x[6], x[14]) + k_step(r[11], r[19], c, x[7], x[15])));
#else
  let a = ((k_step(r[4], 0u, c, x[0], x[8]) + k_step(r[5], 0u, c, x[1], x[9])) + (k_step(r[6], 0u, c, x[2], x[10]) + k_step(r[7], 0u, c, x[3], x[11]))) +
    ((k_step(r[8], 0u, c, x[4], x[12]) + k_step(r[9], 0u, c, x[5], x[13])) + (k_step(r[10], 0u, c, x[6], x[14]) + k_step(r[11], 0u, c, x[7], x[15])));
#endif
  let sx = ((k_sums(x[0], x[8]) + k_sums(x[1], x[9])) + (k_sums(x[2], x[10]) + k_sums(x[3], x[11]))) +
    ((k_sums(x[4], x[12]) + k_sums(x[5], x[13])) + (k_sums(x[6], x[14]) + k_sums(x[7], x[15])));
  let scf = vec2<f32>(f32((sc >> sh) & 0xffu), f32((sc >> (sh + 8u)) & 0xffu));
  let mnf = vec2<f32>(f32((mn >> sh) & 0xffu), f32((mn >> (sh + 8u)) & 0xffu));
  return dm.x * dot(scf, a) - dm.y * dot(mnf, sx);
}
#endif

#elif Q6_K
const QK: u32 = 256u;
const QB: u32 = 210u;
// ql[128] (low 4 bits), qh[64] (high 2 bits), i8 scales[16] at 192, f16 d at 208. Element
// 128h + 32k + l: nibble k >> 1 of ql[64h + 32(k & 1) + l], bits 2k of qh[32h + l], scale
// scales[8h + 2k + l / 16]; value d * scale * (q - 32).
fn q_scale6(o: u32, i: u32) -> f32 {
  return f32(bitcast<i32>(q_byte(o + 192u + i) << 24u) >> 24u);
}
fn q_deq4(b: u32, j: u32) -> vec4<f32> {
  let o = b * QB;
  let h = j >> 7u;
  let k = (j >> 5u) & 3u;
  let l = j & 31u;
  let ql = q_u32(o + 64u * h + 32u * (k & 1u) + l) >> (4u * (k >> 1u));
  let qh = q_u32(o + 128u + 32u * h + l) >> (2u * k);
  let q = (ql & LO) | ((qh & 0x03030303u) << 4u);
  return q_bytes(q, 32.0) * (q_f16(o + 208u) * q_scale6(o, j >> 4u));
}
#if QMV
const QU: u32 = 32u;
// Unit u = (half h, group g): 16 ql bytes whose low nibbles are elements r.. r + 15 and high
// nibbles r + 64.., r = 128h + 16g. Words (the block's offset is even): the 5 words holding those
// ql bytes, the 5 holding the unit's 16 qh bytes, the 2 holding its two scale bytes, the one holding d.
const QW: u32 = 13u;
fn q_runs(u: u32) -> vec2<u32> {
  let r = (u >> 2u) * 128u + (u & 3u) * 16u;
  return vec2<u32>(r, r + 64u);
}
fn q_load(b: u32, u: u32) -> array<u32, QW> {
  let o = b * QB;
  let h = u >> 2u;
  let g = u & 3u;
  let l = (o + 64u * h + 16u * g) >> 2u;
  let m = (o + 128u + 32u * h + 16u * (g & 1u)) >> 2u;
  let sc = o + 192u + 8u * h + g;
  let last = arrayLength(&blocks) - 1u;
  return array<u32, QW>(blocks[l], blocks[l + 1u], blocks[l + 2u], blocks[l + 3u], blocks[min(l + 4u, last)],
    blocks[m], blocks[m + 1u], blocks[m + 2u], blocks[m + 3u], blocks[min(m + 4u, last)],
    blocks[sc >> 2u], blocks[(sc + 4u) >> 2u], blocks[(o + 208u) >> 2u]);
}
// ql and qh words k (already funnel-shifted): elements r + 4k.. (x0) and r + 64 + 4k.. (x1).
fn q6_step(ql: u32, qh: u32, sh: u32, x0: vec4<f32>, x1: vec4<f32>) -> vec2<f32> {
  let lo = (ql & LO) | (((qh >> sh) & 0x03030303u) << 4u);
  let hi = ((ql >> 4u) & LO) | (((qh >> (sh + 4u)) & 0x03030303u) << 4u);
  return vec2<f32>(q_dot4(lo, 32.0, x0), q_dot4(hi, 32.0, x1));
}
fn q_dot(r: array<u32, QW>, b: u32, u: u32, x: array<vec4<f32>, 8>) -> f32 {
  // ql and qh start at the same parity as the block (offsets 64h + 16g and 128 + .. are even).
  let s = (b * QB) & 2u;
  let h = u >> 2u;
  let g = u & 3u;
  let sh = 2u * (g >> 1u);
  let acc = (q6_step(q_odd(r[0], r[1], s), q_odd(r[5], r[6], s), sh, x[0], x[4]) + q6_step(q_odd(r[1], r[2], s), q_odd(r[6], r[7], s), sh, x[1], x[5])) +
    (q6_step(q_odd(r[2], r[3], s), q_odd(r[7], r[8], s), sh, x[2], x[6]) + q6_step(q_odd(r[3], r[4], s), q_odd(r[8], r[9], s), sh, x[3], x[7]));
  let sc = (b * QB + 192u + 8u * h + g) & 3u;
  let s0 = f32(bitcast<i32>((r[10] >> (8u * sc)) << 24u) >> 24u);
  let s1 = f32(bitcast<i32>((r[11] >> (8u * sc)) << 24u) >> 24u);
  return q_half(r[12], ((b * QB + 208u) & 2u) != 0u) * (s0 * acc.x + s1 * acc.y);
}
#endif
#endif
