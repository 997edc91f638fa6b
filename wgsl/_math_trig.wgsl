// sin and cos for wgsl/_math.wgsl (included from there): Taylor polynomials on [-pi/4, pi/4]
// after an exact Payne-Hanek reduction, so every finite argument is within ~2 ulps.

// sin and cos of |r| <= pi/4: Taylor to r^9 and r^10 (truncation below 2^-28).
fn sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-0.16666667 + z * (0.008333334 + z * (-1.984127e-4 + z * 2.7557319e-6)));
}

fn cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (0.041666668 + z * (-0.0013888889 + z * (2.4801587e-5 + z * -2.7557319e-7)));
}

// a * b as (low word, high word).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let mid = lh + ah * bl;
  let lo = ll + (mid << 16u);
  return vec2<u32>(lo, ah * bh + (mid >> 16u) + select(0u, 0x10000u, mid < lh) + select(0u, 1u, lo < ll));
}

// Payne-Hanek: a = q pi/2 + r for finite a >= pi/4, |r| <= pi/4; returns (r, q mod 4). The
// mantissa times a 96-bit window of 2/pi is exact in integers, so r is right for every a.
fn trig_reduce(a: f32) -> vec2<f32> {
  // 2/pi in 32-bit words after one zero word (for small exponents).
  var tbl = array<u32, 8>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu);
  let bits = bitcast<u32>(a);
  let m = (bits & 0x7fffffu) | 0x800000u;
  // a = m 2^(e - 150); the bits of 2/pi weighing 4 or more contribute whole turns: skip them.
  let kb = (bits >> 23u) - 120u;
  let w = kb >> 5u;
  let s = kb & 31u;
  var win = array<u32, 3>(0u, 0u, 0u);
  for (var j = 0u; j < 3u; j = j + 1u) {
    let hi = tbl[w + j];
    win[j] = select((hi << s) | (tbl[w + j + 1u] >> (32u - s)), hi, s == 0u);
  }
  // m * win: 120 bits; bits 95..94 are q, bits 93..30 the fraction.
  let p2 = mul_wide(m, win[2]);
  let p1 = mul_wide(m, win[1]);
  let p0 = mul_wide(m, win[0]);
  let r2 = p2.y + p1.x;
  let r1 = p1.y + p0.x + select(0u, 1u, r2 < p1.x);
  var q = r1 >> 30u;
  var fh = (r1 << 2u) | (r2 >> 30u);
  var fl = (r2 << 2u) | (p2.x >> 30u);
  // A fraction of 1/2 or more rounds q up and leaves a negative remainder.
  let neg = (fh & 0x80000000u) != 0u;
  if (neg) {
    q = q + 1u;
    fh = ~fh;
    fl = ~fl + 1u;
    if (fl == 0u) { fh = fh + 1u; }
  }
  var e = 0i;
  if (fh == 0u) {
    fh = fl;
    fl = 0u;
    e = 32;
  }
  let lz = countLeadingZeros(fh);
  fh = select((fh << lz) | (fl >> (32u - lz)), fh, lz == 0u);
  let sh = e + i32(lz);
  let f_hi = f32(fh >> 8u) * pow2i(-24 - sh);
  let f_lo = f32(fh & 0xffu) * pow2i(-32 - sh);
  // r = f pi/2 with pi/2 = 1.5707963705062866 - 4.371139006309477e-8.
  let r = f_hi * 1.5707963705062866 + (f_lo * 1.5707963705062866 - f_hi * 4.371139006309477e-8);
  return vec2<f32>(flip_sign(r, neg), f32(q & 3u));
}

fn sin_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  let a = abs_bits(x);
  var s = a;
  if (a > 0.78539818) {
    let rq = trig_reduce(a);
    let q = u32(rq.y);
    s = select(sin_poly(rq.x), cos_poly(rq.x), (q & 1u) == 1u);
    s = flip_sign(s, q >= 2u);
  } else if (a >= 2.44140625e-4) {
    s = sin_poly(a);
  }
  return flip_sign(s, neg_sign(x));
}

fn cos_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  let a = abs_bits(x);
  if (a < 2.44140625e-4) { return 1.0; }
  if (a <= 0.78539818) { return cos_poly(a); }
  let rq = trig_reduce(a);
  let q = u32(rq.y);
  let c = select(cos_poly(rq.x), sin_poly(rq.x), (q & 1u) == 1u);
  return flip_sign(c, q == 1u || q == 2u);
}
