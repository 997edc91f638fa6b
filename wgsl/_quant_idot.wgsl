// Integer-dot decoders of the matvec with 8-bit activations (wgsl/matmul_quant.wgsl QMV8), one per
// block type, over the unit words of wgsl/_quant.wgsl's q_load (include that file first, with QMV).
//   q_idot(r, b, u, xq, xd)  sum of value * x over unit u of block b: the weight's integers times
//       x's 8-bit integers by dot4I8Packed, scaled once per run. xq holds the unit's two runs of
//       QU / 2 values as packed i8 (run A in xq[0 .. QU / 8), run B after it), xd = (scale A,
//       scale B, integer sum A, integer sum B). A zero-point q0 is taken out per run with the
//       integer sum: sum (q - q0) x = sum q x - q0 sum x.
// The integers are exact; what differs from the f32 kernels is x rounded to 8 bits per run.

fn i8dot4(a: vec4<u32>, x: vec4<u32>) -> i32 {
  return (dot4I8Packed(a.x, x.x) + dot4I8Packed(a.y, x.y)) + (dot4I8Packed(a.z, x.z) + dot4I8Packed(a.w, x.w));
}

// The words of run A / B of a 32-element unit (4 words each).
fn xq_a(x: array<u32, QU / 4u>) -> vec4<u32> { return vec4<u32>(x[0], x[1], x[2], x[3]); }
fn xq_b(x: array<u32, QU / 4u>) -> vec4<u32> { return vec4<u32>(x[4], x[5], x[6], x[7]); }

// Runs A and B of integer sums (minus zero point q0 per element), scaled by x's run scales.
fn runs(ia: i32, ib: i32, q0: f32, xd: vec4<f32>) -> f32 {
  return xd.x * (f32(ia) - q0 * xd.z) + xd.y * (f32(ib) - q0 * xd.w);
}

#if Q8_0
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
  let s = (b * QB) & 2u;
  let a = vec4<u32>(q_at2(r[0], r[1], s), q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s));
  let c = vec4<u32>(q_at2(r[4], r[5], s), q_at2(r[5], r[6], s), q_at2(r[6], r[7], s), q_at2(r[7], r[8], s));
  return q_half(r[0], s != 0u) * runs(i8dot4(a, xq_a(xq)), i8dot4(c, xq_b(xq)), 0.0, xd);
}

#elif Q4_0
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
  let s = (b * QB) & 2u;
  let q = vec4<u32>(q_at2(r[0], r[1], s), q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s));
  return q_half(r[0], s != 0u) * runs(i8dot4(q & vec4<u32>(LO), xq_a(xq)), i8dot4((q >> vec4<u32>(4u)) & vec4<u32>(LO), xq_b(xq)), 8.0, xd);
}

#elif Q4_1
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
  let dm = unpack2x16float(r[0]);
  let q = vec4<u32>(r[1], r[2], r[3], r[4]);
  let ia = i8dot4(q & vec4<u32>(LO), xq_a(xq));
  let ib = i8dot4((q >> vec4<u32>(4u)) & vec4<u32>(LO), xq_b(xq));
  return dm.x * runs(ia, ib, 0.0, xd) + dm.y * (xd.x * xd.z + xd.y * xd.w);
}
#endif

#if Q5
// Four qs words with their fifth bits from qh: (low nibbles = run A, high = run B).
fn q5_words(q: vec4<u32>, qh: u32) -> array<vec4<u32>, 2> {
  let lo = vec4<u32>(q_spread4(qh), q_spread4(qh >> 4u), q_spread4(qh >> 8u), q_spread4(qh >> 12u));
  let hi = vec4<u32>(q_spread4(qh >> 16u), q_spread4(qh >> 20u), q_spread4(qh >> 24u), q_spread4(qh >> 28u));
  return array<vec4<u32>, 2>((q & vec4<u32>(LO)) | (lo << vec4<u32>(4u)), ((q >> vec4<u32>(4u)) & vec4<u32>(LO)) | (hi << vec4<u32>(4u)));
}
#endif

#if Q5_0
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
  let s = (b * QB) & 2u;
  let w = q5_words(vec4<u32>(q_at2(r[1], r[2], s), q_at2(r[2], r[3], s), q_at2(r[3], r[4], s), q_at2(r[4], r[5], s)), q_at2(r[0], r[1], s));
  return q_half(r[0], s != 0u) * runs(i8dot4(w[0], xq_a(xq)), i8dot4(w[1], xq_b(xq)), 16.0, xd);
}

#elif Q5_1
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
  let dm = unpack2x16float(r[0]);
  let w = q5_words(vec4<u32>(r[2], r[3], r[4], r[5]), r[1]);
  return dm.x * runs(i8dot4(w[0], xq_a(xq)), i8dot4(w[1], xq_b(xq)), 0.0, xd) + dm.y * (xd.x * xd.z + xd.y * xd.w);
}

#elif K45
// Unit c: sub-block 2c = low nibbles of the 8 qs words (run A), 2c + 1 = high nibbles (run B).
fn q_idot(r: array<u32, QW>, b: u32, c: u32, xq: array<u32, 16>, xd: vec4<f32>) -> f32 {
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
  let ia = i8dot4(a0, vec4<u32>(xq[0], xq[1], xq[2], xq[3])) + i8dot4(a1, vec4<u32>(xq[4], xq[5], xq[6], xq[7]));
  let ib = i8dot4(b0, vec4<u32>(xq[8], xq[9], xq[10], xq[11])) + i8dot4(b1, vec4<u32>(xq[12], xq[13], xq[14], xq[15]));
  let scf = vec2<f32>(f32((sc >> sh) & 0xffu), f32((sc >> (sh + 8u)) & 0xffu));
  let mnf = vec2<f32>(f32((mn >> sh) & 0xffu), f32((mn >> (sh + 8u)) & 0xffu));
  return dm.x * (scf.x * xd.x * f32(ia) + scf.y * xd.y * f32(ib)) - dm.y * (mnf.x * xd.x * xd.z + mnf.y * xd.y * xd.w);
}

#elif Q6_K
// Unit (half h, group g): run A = the low nibbles of 16 ql bytes (elements r..), run B = their
// high nibbles (r + 64..), each with 2 bits from qh; integers 0..63 minus 32.
fn q_idot(r: array<u32, QW>, b: u32, u: u32, xq: array<u32, 8>, xd: vec4<f32>) -> f32 {
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
  let ia = f32(i8dot4(lo, xq_a(xq))) - 32.0 * xd.z;
  let ib = f32(i8dot4(hi, xq_b(xq))) - 32.0 * xd.w;
  return q_half(r[12], ((b * QB + 208u) & 2u) != 0u) * (s0 * xd.x * ia + s1 * xd.y * ib);
}
#endif
