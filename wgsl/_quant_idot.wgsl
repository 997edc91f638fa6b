// Integer-dot decoders of the integer matvec (wgsl/matmul_quant.wgsl QMV8), over the unit words of
// wgsl/_quant.wgsl's q_load (include that file first, with QMV). Per block type:
//   q_iw(r, b, u) -> IW   the unit's weight integers as packed i8 (w: run A's QU / 8 words, then
//       run B's), per run the scale of the integers (a) and, for types with a min (QMIN), the
//       coefficient of the run's sum of x (c). Q0 (zero point) is subtracted from every integer:
//       value = a * (q - Q0) + c.
// Per x format (a record per unit, written by wgsl/matmul_quant_x.wgsl):
//   x_dot(w, x)  sum of value * x over the unit.
//   X8   (`quantizeActivations`) XQ: x rounded to 8 bits per run (scale max |x| / 127): one
//        dot4I8Packed per 4 elements.
//   X24  (exact x, the default for large weights) XD: x as integers X = round(x * S) of 23 bits per run (S a power of two
//        putting max |x| in [2^21, 2^22)), split into three signed 8-bit digits
//        (X = d2 * 2^16 + d1 * 2^8 + d0): three dot4I8Packed per 4 elements, summed exactly in
//        integers, so the only rounding besides f32's is x's to 2^-22 of its run's max.
// Zero points leave the integer sums exactly: sum (q - Q0) d = sum q d - Q0 sum d per digit plane.

#if X24
const XR: u32 = 3u * (QU / 16u) + 2u; // vec4s per unit record of x: 3 digit planes of QU / 4 words, then (1 / S, digit sums) per run
#else
const XR: u32 = QU / 16u + 1u; // vec4s per unit record of x: QU / 4 packed words, then (scales, integer sums)
// x quantized to 8 bits for one unit: words (run A, then run B) and (scales, integer sums).
struct XQ { q: array<u32, QU / 4u>, d: vec4<f32> }
#endif

fn i8dot4(a: vec4<u32>, x: vec4<u32>) -> i32 {
  return (dot4I8Packed(a.x, x.x) + dot4I8Packed(a.y, x.y)) + (dot4I8Packed(a.z, x.z) + dot4I8Packed(a.w, x.w));
}

struct IW { w: array<u32, QU / 4u>, a: vec2<f32>, c: vec2<f32> }

// Integer dots of run A / B of a unit's weight words with x's words of the same layout.
#if K45
fn dot_a(w: array<u32, 16>, x: array<u32, 16>) -> i32 {
  return i8dot4(vec4<u32>(w[0], w[1], w[2], w[3]), vec4<u32>(x[0], x[1], x[2], x[3])) + i8dot4(vec4<u32>(w[4], w[5], w[6], w[7]), vec4<u32>(x[4], x[5], x[6], x[7]));
}
fn dot_b(w: array<u32, 16>, x: array<u32, 16>) -> i32 {
  return i8dot4(vec4<u32>(w[8], w[9], w[10], w[11]), vec4<u32>(x[8], x[9], x[10], x[11])) + i8dot4(vec4<u32>(w[12], w[13], w[14], w[15]), vec4<u32>(x[12], x[13], x[14], x[15]));
}
#else
fn dot_a(w: array<u32, 8>, x: array<u32, 8>) -> i32 {
  return i8dot4(vec4<u32>(w[0], w[1], w[2], w[3]), vec4<u32>(x[0], x[1], x[2], x[3]));
}
fn dot_b(w: array<u32, 8>, x: array<u32, 8>) -> i32 {
  return i8dot4(vec4<u32>(w[4], w[5], w[6], w[7]), vec4<u32>(x[4], x[5], x[6], x[7]));
}
#endif

// Runs A and B as 8 words (16 elements each) from two vec4s.
fn iw8(a: vec4<u32>, b: vec4<u32>) -> array<u32, 8> {
  return array<u32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
}

#if Q8_0
const Q0: i32 = 0;
const QMIN: bool = false;
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let s = (b * QB) & 2u;
  let d = q_half(r[0], s != 0u);
  return IW(iw8(vec4<u32>(q_at2(r[0], r[1], s), q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s)),
    vec4<u32>(q_at2(r[4], r[5], s), q_at2(r[5], r[6], s), q_at2(r[6], r[7], s), q_at2(r[7], r[8], s))), vec2<f32>(d), vec2<f32>(0.0));
}

#elif Q4_0
const Q0: i32 = 8;
const QMIN: bool = false;
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let s = (b * QB) & 2u;
  let q = vec4<u32>(q_at2(r[0], r[1], s), q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s));
  return IW(iw8(q & vec4<u32>(LO), (q >> vec4<u32>(4u)) & vec4<u32>(LO)), vec2<f32>(q_half(r[0], s != 0u)), vec2<f32>(0.0));
}

#elif Q4_1
const Q0: i32 = 0;
const QMIN: bool = true;
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let dm = unpack2x16float(r[0]);
  let q = vec4<u32>(r[1], r[2], r[3], r[4]);
  return IW(iw8(q & vec4<u32>(LO), (q >> vec4<u32>(4u)) & vec4<u32>(LO)), vec2<f32>(dm.x), vec2<f32>(dm.y));
}
#endif

#if Q5
// Four qs words with their fifth bits from qh: (low nibbles = run A, high = run B).
fn q5_words(q: vec4<u32>, qh: u32) -> array<u32, 8> {
  let lo = vec4<u32>(q_spread4(qh), q_spread4(qh >> 4u), q_spread4(qh >> 8u), q_spread4(qh >> 12u));
  let hi = vec4<u32>(q_spread4(qh >> 16u), q_spread4(qh >> 20u), q_spread4(qh >> 24u), q_spread4(qh >> 28u));
  return iw8((q & vec4<u32>(LO)) | (lo << vec4<u32>(4u)), ((q >> vec4<u32>(4u)) & vec4<u32>(LO)) | (hi << vec4<u32>(4u)));
}
#endif

#if Q5_0
const Q0: i32 = 16;
const QMIN: bool = false;
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let s = (b * QB) & 2u;
  let w = q5_words(vec4<u32>(q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s), q_at2(r[4], r[5], s)), q_at2(r[0], r[1], s));
  return IW(w, vec2<f32>(q_half(r[0], s != 0u)), vec2<f32>(0.0));
}

#elif Q5_1
const Q0: i32 = 0;
const QMIN: bool = true;
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let dm = unpack2x16float(r[0]);
  return IW(q5_words(vec4<u32>(r[2], r[3], r[4], r[5]), r[1]), vec2<f32>(dm.x), vec2<f32>(dm.y));
}

#elif K45
const Q0: i32 = 0;
const QMIN: bool = true;
// Unit c: sub-block 2c = low nibbles of the 8 qs words (run A), 2c + 1 = high nibbles (run B);
// value = d * sc * q - dmin * mn per sub-block.
fn q_iw(r: array<u32, QW>, b: u32, c: u32) -> IW {
  let dm = unpack2x16float(r[0]);
  let sc = select((r[3] & LO) | ((r[1] >> 2u) & 0x30303030u), r[1] & 0x3f3f3f3fu, c < 2u);
  let mn = select(((r[3] >> 4u) & LO) | ((r[2] >> 2u) & 0x30303030u), r[2] & 0x3f3f3f3fu, c < 2u);
  let sh = (c & 1u) * 16u;
  let q0 = vec4<u32>(r[4], r[5], r[6], r[7]);
  let q1 = vec4<u32>(r[8], r[9], r[10], r[11]);
  var a0 = q0 & vec4<u32>(LO);
  var a1 = q1 & vec4<u32>(LO);
  var b0 = (q0 >> vec4<u32>(4u)) & vec4<u32>(LO);
  var b1 = (q1 >> vec4<u32>(4u)) & vec4<u32>(LO);
#if Q5_K
  // The fifth bits of sub-blocks 2c and 2c + 1: bits 2c and 2c + 1 of each qh byte.
  let h0 = vec4<u32>(r[12], r[13], r[14], r[15]) >> vec4<u32>(2u * c);
  let h1 = vec4<u32>(r[16], r[17], r[18], r[19]) >> vec4<u32>(2u * c);
  let one = vec4<u32>(0x01010101u);
  a0 = a0 | ((h0 & one) << vec4<u32>(4u));
  a1 = a1 | ((h1 & one) << vec4<u32>(4u));
  b0 = b0 | (((h0 >> vec4<u32>(1u)) & one) << vec4<u32>(4u));
  b1 = b1 | (((h1 >> vec4<u32>(1u)) & one) << vec4<u32>(4u));
#endif
  let scf = vec2<f32>(f32((sc >> sh) & 0xffu), f32((sc >> (sh + 8u)) & 0xffu));
  let mnf = vec2<f32>(f32((mn >> sh) & 0xffu), f32((mn >> (sh + 8u)) & 0xffu));
  return IW(array<u32, 16>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w, b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w),
    dm.x * scf, -dm.y * mnf);
}

#elif Q6_K
const Q0: i32 = 32;
const QMIN: bool = false;
// Unit (half h, group g): run A = the low nibbles of 16 ql bytes (elements r..), run B = their
// high nibbles (r + 64..), each with 2 bits from qh; integers 0..63 minus 32.
fn q_iw(r: array<u32, QW>, b: u32, u: u32) -> IW {
  let s = (b * QB) & 2u;
  let h = u >> 2u;
  let g = u & 3u;
  let sh = 2u * (g >> 1u);
  let ql = vec4<u32>(q_odd(r[0], r[1], s), q_odd(r[1], r[2], s), q_odd(r[2], r[3], s), q_odd(r[3], r[4], s));
  let qh = vec4<u32>(q_odd(r[5], r[6], s), q_odd(r[6], r[7], s), q_odd(r[7], r[8], s), q_odd(r[8], r[9], s));
  let three = vec4<u32>(0x03030303u);
  let lo = (ql & vec4<u32>(LO)) | (((qh >> vec4<u32>(sh)) & three) << vec4<u32>(4u));
  let hi = ((ql >> vec4<u32>(4u)) & vec4<u32>(LO)) | (((qh >> vec4<u32>(sh + 4u)) & three) << vec4<u32>(4u));
  let sc = (b * QB + 192u + 8u * h + g) & 3u;
  let s0 = f32(bitcast<i32>((r[10] >> (8u * sc)) << 24u) >> 24u);
  let s1 = f32(bitcast<i32>((r[11] >> (8u * sc)) << 24u) >> 24u);
  return IW(iw8(lo, hi), q_half(r[12], ((b * QB + 208u) & 2u) != 0u) * vec2<f32>(s0, s1), vec2<f32>(0.0));
}
#endif

#if X24
// x of one unit as 23-bit integers per run: digit planes p0 (low) .. p2 (high), each run A's
// QU / 8 words then run B's; per run 1 / S (inv, 0 for a run holding NaN or Inf), the digit sums
// of each plane (s0..s2) and the run's sum of x (sx).
struct XD { p0: array<u32, QU / 4u>, p1: array<u32, QU / 4u>, p2: array<u32, QU / 4u>, inv: vec2<f32>, s0: vec2<i32>, s1: vec2<i32>, s2: vec2<i32>, sx: vec2<f32>, ok: bool }

// sum (q - Q0) X over a run from the planes' dots and digit sums: exact in i32 (|e2| < 2^19), one
// or two f32 roundings at the end.
fn x24_run(d0: i32, d1: i32, d2: i32, s0: i32, s1: i32, s2: i32) -> f32 {
  return fma(f32((d2 - Q0 * s2) * 256 + (d1 - Q0 * s1)), 256.0, f32(d0 - Q0 * s0));
}

fn x_dot(w: IW, x: XD) -> f32 {
  let ta = x24_run(dot_a(w.w, x.p0), dot_a(w.w, x.p1), dot_a(w.w, x.p2), x.s0.x, x.s1.x, x.s2.x);
  let tb = x24_run(dot_b(w.w, x.p0), dot_b(w.w, x.p1), dot_b(w.w, x.p2), x.s0.y, x.s1.y, x.s2.y);
  // Scale before 1 / S: the product overflows only where the result does.
  var r = (w.a.x * ta) * x.inv.x + (w.a.y * tb) * x.inv.y;
  if (QMIN) { r = r + (w.c.x * x.sx.x + w.c.y * x.sx.y); }
  return r;
}
#else
fn x_dot(w: IW, x: XQ) -> f32 {
  let ia = f32(dot_a(w.w, x.q)) - f32(Q0) * x.d.z;
  let ib = f32(dot_b(w.w, x.q)) - f32(Q0) * x.d.w;
  var r = w.a.x * (x.d.x * ia) + w.a.y * (x.d.y * ib);
  if (QMIN) { r = r + (w.c.x * (x.d.x * x.d.z) + w.c.y * (x.d.y * x.d.w)); }
  return r;
}
#endif
