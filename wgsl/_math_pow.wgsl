// pow and correctly rounded division for wgsl/_math.wgsl (included from there): both need more
// than f32 precision in between, got from numbers cut to 12 significant bits, whose products are
// exact (and stay exact when a compiler fuses multiply-adds).

fn mask12(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0xfffff000u); }

// a - q b exactly, for a, b in [1, 2) and q within a few ulps of a / b: q and b cut into 12-bit
// halves multiply exactly and every partial difference fits in 24 bits (Dekker), so neither
// rounding nor a compiler's fused multiply-add changes it.
fn div_residual(a: f32, q: f32, b: f32) -> f32 {
  let qh = mask12(q);
  let ql = q - qh;
  let bh = mask12(b);
  let bl = b - bh;
  return (((a - qh * bh) - qh * bl) - ql * bh) - ql * bl;
}

// Correctly rounded a / b, also on GPUs whose division is not (WGSL allows 2.5 ulps; NVIDIA's
// Vulkan division is off by one in a third of cases). Mantissas in [1, 2) are divided, the
// quotient is corrected with the exact residual and checked against the half-ulp bound, then
// scaled by the exponent difference (exact, or a single rounding to Inf).
fn div_f32(a: f32, b: f32) -> f32 {
  let neg = neg_sign(a) != neg_sign(b);
  if (nan_in(a) || nan_in(b) || (inf_in(a) && inf_in(b)) || (zero_in(a) && zero_in(b))) { return nan_f32(); }
  if (inf_in(a) || zero_in(b)) { return flip_sign(inf_f32(false), neg); }
  if (inf_in(b) || zero_in(a)) { return flip_sign(zero_like(a), neg_sign(b)); }
  let fa = frexp_bits(a);
  let fb = frexp_bits(b);
  let q0 = fa.x / fb.x;
  var q = q0 + div_residual(fa.x, q0, fb.x) / fb.x;
  // q is now within an ulp; move it if the quotient lies beyond half the gap on either side.
  let r = div_residual(fa.x, q, fb.x);
  let ulp = pow2i(i32(bitcast<u32>(q) >> 23u) - 150);
  let below = select(ulp, 0.5 * ulp, (bitcast<u32>(q) & 0x007fffffu) == 0u);
  if (2.0 * r > ulp * fb.x) {
    q = q + ulp;
  } else if (-2.0 * r > below * fb.x) {
    q = q - below;
  }
  let res = scale2(q, clamp(i32(fa.y - fb.y), -160, 130));
  // A subnormal result would round twice here: the GPU's own quotient (flushed where it flushes).
  if (bitcast<u32>(res) < 0x00800000u) { return a / b; }
  return flip_sign(res, neg);
}

// pow with the C99 special cases (pow(x, ±0) = 1, pow(1, y) = 1, pow(-1, ±Inf) = 1, ...). The
// rest follows fdlibm's e_powf.c (Sun Microsystems, freely redistributable): log2|x| = t1 + t2
// and y log2|x| = p_h + p_l in extended precision, where numbers cut to 12 significant bits
// multiply exactly; then 2^(p_h + p_l) with the result scaled in two exact steps.
fn pow_f32(x: f32, y: f32) -> f32 {
  if (zero_in(y) || x == 1.0) { return 1.0; }
  if (nan_in(x) || nan_in(y)) { return nan_f32(); }
  let ax = abs_bits(x);
  if (inf_in(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(inf_f32(false), 0.0, (ax < 1.0) == (y > 0.0));
  }
  // Signs and parity on the bits: a subnormal y is neither an integer nor zero, nor of either
  // sign by comparison, where the GPU flushes it.
  let ay = abs_bits(y);
  let y_int = !subnormal_in(y) && floor(y) == y;
  let odd = y_int && ay < 16777216.0 && (u32(ay) & 1u) == 1u;
  let y_neg = neg_sign(y);
  if (zero_in(x)) {
    if (y_neg) { return inf_f32(odd && neg_sign(x)); }
    return flip_sign(zero_like(x), neg_sign(x) && !odd);
  }
  if (inf_in(x)) {
    if (neg_sign(x)) {
      if (y_neg) { return flip_sign(zero_like(x), !odd); }
      return inf_f32(odd);
    }
    return select(x, 0.0, y_neg); // +Inf or +0
  }
  if (neg_sign(x) && !y_int) { return nan_f32(); }
  if (y == 2.0) { return x * x; }
  if (y == 1.0) { return x; }
  var t1: f32;
  var t2: f32;
  var ix = bitcast<u32>(ax);
  if ((bitcast<u32>(y) & 0x7fffffffu) > 0x4d000000u) {
    // |y| > 2^27: overflow or underflow unless |x| is within 2^-20 of 1.
    if (ix < 0x3f7ffff8u || ix > 0x3f800007u) { return select(0.0, inf_f32(false), (ix < 0x3f7ffff8u) == (y < 0.0)); }
    let t = ax - 1.0;
    let w = (t * t) * (0.5 - t * (0.333333333333 - t * 0.25));
    let u = 1.4426879883 * t;
    let v = t * 7.0526075433e-06 - w * 1.4426950216;
    t1 = mask12(u + v);
    t2 = v - (t1 - u);
  } else {
    var n = 0i;
    if (ix < 0x00800000u) {
      let sh = countLeadingZeros(ix) - 8u;
      ix = ((ix << sh) & 0x007fffffu) | 0x00800000u;
      n = -i32(sh);
    }
    n = n + i32(ix >> 23u) - 127;
    let j = ix & 0x007fffffu;
    ix = j | 0x3f800000u;
    var k = 0u;
    if (j > 0x1cc471u && j < 0x5db3d7u) {
      k = 1u;
    } else if (j >= 0x5db3d7u) {
      n = n + 1;
      ix = ix - 0x00800000u;
    }
    let m = bitcast<f32>(ix);
    let bp = select(1.0, 1.5, k == 1u);
    let dp_h = select(0.0, 5.84960938e-01, k == 1u);
    let dp_l = select(0.0, 1.56322085e-06, k == 1u);
    // s = s_h + s_l = (m - bp) / (m + bp)
    let u = m - bp;
    let v = 1.0 / (m + bp);
    let s = u * v;
    let s_h = mask12(s);
    var t_h = bitcast<f32>((((ix >> 1u) & 0xfffff000u) | 0x20000000u) + 0x00400000u + (k << 21u));
    let t_l = m - (t_h - bp);
    let s_l = v * ((u - s_h * t_h) - s_h * t_l);
    var s2 = s * s;
    var r = s2 * s2 * (0.60000002384 + s2 * (0.42857143283 + s2 * (0.33333334327 + s2 * (0.27272811532 +
      s2 * (0.23066075146 + s2 * 0.20697501302)))));
    r = r + s_l * (s_h + s);
    s2 = s_h * s_h;
    t_h = mask12(3.0 + s2 + r);
    let t_l2 = r - ((t_h - 3.0) - s2);
    let u2 = s_h * t_h;
    let v2 = s_l * t_h + t_l2 * s;
    let p_h = mask12(u2 + v2);
    let p_l = v2 - (p_h - u2);
    // log2(m) = (p_h + p_l) 2/(3 ln 2) + dp (FreeBSD's constants: cp_h has 12 bits, so z_h is exact)
    let z_h = 9.6191406250e-01 * p_h;
    let z_l = -1.1736857402e-04 * p_h + p_l * 9.6179670095e-01 + dp_l;
    let tn = f32(n);
    t1 = mask12(((z_h + z_l) + dp_h) + tn);
    t2 = z_l - (((t1 - tn) - dp_h) - z_h);
  }
  let y1 = mask12(y);
  let p_l = (y - y1) * t1 + y * t2;
  var p_h = y1 * t1;
  let z = p_l + p_h;
  var res = 0.0;
  if (z > 129.0) {
    res = inf_f32(false);
  } else if (z >= -151.0) {
    let n = floor(z + 0.5);
    p_h = p_h - n;
    let t = bitcast<f32>(bitcast<u32>(p_l + p_h) & 0xffff8000u);
    let u = t * 6.93145752e-01;
    let v = (p_l - (t - p_h)) * 6.9314718246e-01 + t * 1.42860654e-06;
    let zz = u + v;
    let w = v - (zz - u);
    // e^(zz + w) = e^zz (1 + w)
    let e = expm1_poly(zz);
    res = scale2(1.0 + (e + (1.0 + e) * w), i32(n));
  }
  return flip_sign(res, neg_sign(x) && odd);
}
