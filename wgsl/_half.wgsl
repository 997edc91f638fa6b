// 16-bit float helpers: f16 and bf16 live packed two to a u32 word (low half = even element).
// Conversions are done on the bits, so NaN, ±Inf, ±0 and rounding are the same on every GPU.

fn half_at(word: u32, index: u32) -> u32 {
  return (word >> ((index & 1u) * 16u)) & 0xffffu;
}

fn f16_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let mag = f32(m) * 5.9604644775390625e-8; // subnormal: m * 2^-24
    return bitcast<f32>(bitcast<u32>(mag) | sign);
  }
  if (e == 31u) {
    return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
  }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn f32_to_f16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let e8 = (b >> 23u) & 0xffu;
  var m = b & 0x7fffffu;
  if (e8 == 0xffu) {
    return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
  }
  let e = i32(e8) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    m = m | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    let rest = m & ((1u << shift) - 1u);
    var r = m >> shift;
    if (rest > half || (rest == half && (r & 1u) == 1u)) { r = r + 1u; }
    return sign | r;
  }
  // Rounding may carry into the exponent; adding the fields handles that (and overflow to Inf).
  var r = (u32(e) << 10u) | (m >> 13u);
  let rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u) == 1u)) { r = r + 1u; }
  return sign | min(r, 0x7c00u);
}

fn bf16_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}

fn f32_to_bf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) {
    return ((b >> 16u) | 0x40u) & 0xffffu; // keep NaN a (quiet) NaN
  }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

// NaN is tested on the bits: compilers may fold `x != x` to false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn f32_to_i32(x: f32) -> i32 {
  if (is_nan(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return -2147483647 - 1; }
  return i32(x);
}

fn f32_to_u32(x: f32) -> u32 {
  if (!(x > 0.0)) { return 0u; }
  if (x >= 4294967296.0) { return 4294967295u; }
  return u32(x);
}
