// x records of the integer quantized matvec, computed from a's row in registers: x_quant (X8:
// x rounded to 8 bits per run) and x24_rec (X24: x as 23-bit integers per run in three 8-bit digit
// planes), record layouts (XQ / XD) in wgsl/_quant_idot.wgsl. Used by the x pass
// (wgsl/matmul_quant_x.wgsl, which stores them) and by the fused matvec (wgsl/matmul_quant.wgsl
// QMV8 with FUSEX, which keeps each thread's own units' records in registers). Needs load_a
// (wgsl/matmul.wgsl), q_runs (wgsl/_quant.wgsl with QMV) and wgsl/_quant_idot.wgsl.

fn nonfinite(v: vec4<f32>) -> bool {
  return any((bitcast<vec4<u32>>(v) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u));
}

fn vmax4(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) -> vec4<f32> {
  return max(max(abs(v0), abs(v1)), max(abs(v2), abs(v3)));
}

// x at element e (4 values) of a's row.
fn xv4(a_base: u32, e: u32) -> vec4<f32> {
  return load_a(a_base, 0u, e, 1u, params.k);
}

#if !X24
struct Run4 { w: vec4<u32>, d: f32, s: f32 }

// 16 values quantized with scale `inv` (127 / max |x| of their run): packed i8 and their integer sum.
fn q8_16(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, inv: f32) -> Run4 {
  let a = round(v0 * inv);
  let b = round(v1 * inv);
  let c = round(v2 * inv);
  let e = round(v3 * inv);
  let w = vec4<u32>(pack4xI8(vec4<i32>(a)), pack4xI8(vec4<i32>(b)), pack4xI8(vec4<i32>(c)), pack4xI8(vec4<i32>(e)));
  return Run4(w, 0.0, dot(a + b + c + e, vec4<f32>(1.0)));
}

// A run's scale from its largest magnitude m: m / 127, NaN where the run holds NaN or Inf.
fn run_scale(m: vec4<f32>, bad: bool) -> vec2<f32> {
  let mx = max(max(m.x, m.y), max(m.z, m.w));
  let d = select(mx / 127.0, nan_f32(), bad);
  return vec2<f32>(d, select(127.0 / mx, 0.0, mx == 0.0 || bad));
}

// The x values of unit uu of a row of a, quantized per run.
fn x_quant(a_base: u32, uu: u32) -> XQ {
  let bu = vec2<u32>((uu * QU) / QK, ((uu * QU) % QK) / QU);
  let r = q_runs(bu.y) + vec2<u32>(bu.x * QK);
#if K45
  let a0 = xv4(a_base, r.x); let a1 = xv4(a_base, r.x + 4u); let a2 = xv4(a_base, r.x + 8u); let a3 = xv4(a_base, r.x + 12u);
  let a4 = xv4(a_base, r.x + 16u); let a5 = xv4(a_base, r.x + 20u); let a6 = xv4(a_base, r.x + 24u); let a7 = xv4(a_base, r.x + 28u);
  let b0 = xv4(a_base, r.y); let b1 = xv4(a_base, r.y + 4u); let b2 = xv4(a_base, r.y + 8u); let b3 = xv4(a_base, r.y + 12u);
  let b4 = xv4(a_base, r.y + 16u); let b5 = xv4(a_base, r.y + 20u); let b6 = xv4(a_base, r.y + 24u); let b7 = xv4(a_base, r.y + 28u);
  let sa = run_scale(max(vmax4(a0, a1, a2, a3), vmax4(a4, a5, a6, a7)),
    nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3) || nonfinite(a4) || nonfinite(a5) || nonfinite(a6) || nonfinite(a7));
  let sb = run_scale(max(vmax4(b0, b1, b2, b3), vmax4(b4, b5, b6, b7)),
    nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3) || nonfinite(b4) || nonfinite(b5) || nonfinite(b6) || nonfinite(b7));
  let qa0 = q8_16(a0, a1, a2, a3, sa.y); let qa1 = q8_16(a4, a5, a6, a7, sa.y);
  let qb0 = q8_16(b0, b1, b2, b3, sb.y); let qb1 = q8_16(b4, b5, b6, b7, sb.y);
  return XQ(array<u32, 16>(qa0.w.x, qa0.w.y, qa0.w.z, qa0.w.w, qa1.w.x, qa1.w.y, qa1.w.z, qa1.w.w,
    qb0.w.x, qb0.w.y, qb0.w.z, qb0.w.w, qb1.w.x, qb1.w.y, qb1.w.z, qb1.w.w), vec4<f32>(sa.x, sb.x, qa0.s + qa1.s, qb0.s + qb1.s));
#else
  let a0 = xv4(a_base, r.x); let a1 = xv4(a_base, r.x + 4u); let a2 = xv4(a_base, r.x + 8u); let a3 = xv4(a_base, r.x + 12u);
  let b0 = xv4(a_base, r.y); let b1 = xv4(a_base, r.y + 4u); let b2 = xv4(a_base, r.y + 8u); let b3 = xv4(a_base, r.y + 12u);
  let sa = run_scale(vmax4(a0, a1, a2, a3), nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3));
  let sb = run_scale(vmax4(b0, b1, b2, b3), nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3));
  let qa = q8_16(a0, a1, a2, a3, sa.y);
  let qb = q8_16(b0, b1, b2, b3, sb.y);
  return XQ(array<u32, 8>(qa.w.x, qa.w.y, qa.w.z, qa.w.w, qb.w.x, qb.w.y, qb.w.z, qb.w.w), vec4<f32>(sa.x, sb.x, qa.s, qb.s));
#endif
}
#endif

#if X24
// A run's scale from its largest magnitude m: (S, 1 / S), S the power of two that puts m in
// [2^21, 2^22) (exponent clamped so both stay normal: runs under 2^-104 keep fewer bits, runs of
// huge values their 23); 1 / S = 0 marks a run holding NaN or Inf.
fn xd_scale(m: f32, bad: bool) -> vec2<f32> {
  let e = clamp((bitcast<u32>(m) >> 23u) & 0xffu, 22u, 254u);
  return vec2<f32>(bitcast<f32>((275u - e) << 23u), select(bitcast<f32>((e - 21u) << 23u), 0.0, bad));
}

// 4 values as X + 0x808080 (X = round(v * s), |X| <= 2^22): byte p of it is digit p + 128.
fn xd_z(v: vec4<f32>, s: f32) -> vec4<u32> {
  return bitcast<vec4<u32>>(vec4<i32>(round(v * s)) + vec4<i32>(0x808080));
}

// Digit plane p (byte p of each z, minus 128 as i8) of 16 values.
fn xd_plane(z0: vec4<u32>, z1: vec4<u32>, z2: vec4<u32>, z3: vec4<u32>, p: u32) -> vec4<u32> {
  let m = vec4<u32>(0xffu);
  let s = vec4<u32>(8u * p);
  return vec4<u32>(pack4xU8((z0 >> s) & m), pack4xU8((z1 >> s) & m), pack4xU8((z2 >> s) & m), pack4xU8((z3 >> s) & m)) ^ vec4<u32>(0x80808080u);
}

// Sum of the 16 signed digits of a plane's 4 words.
fn xd_sum(p: vec4<u32>) -> i32 {
  return i8dot4(p, vec4<u32>(0x01010101u));
}

// The record of unit uu of a row of a: its planes, each run's 1 / S and digit sums (as x_load of
// the stored record returns it).
fn x24_rec(a_base: u32, uu: u32) -> XD {
  let bu = vec2<u32>((uu * QU) / QK, ((uu * QU) % QK) / QU);
  let r = q_runs(bu.y) + vec2<u32>(bu.x * QK);
  let a0 = xv4(a_base, r.x); let a1 = xv4(a_base, r.x + 4u); let a2 = xv4(a_base, r.x + 8u); let a3 = xv4(a_base, r.x + 12u);
  let b0 = xv4(a_base, r.y); let b1 = xv4(a_base, r.y + 4u); let b2 = xv4(a_base, r.y + 8u); let b3 = xv4(a_base, r.y + 12u);
#if K45
  // 32-element runs: two halves of 16 share the run's scale.
  let a4 = xv4(a_base, r.x + 16u); let a5 = xv4(a_base, r.x + 20u); let a6 = xv4(a_base, r.x + 24u); let a7 = xv4(a_base, r.x + 28u);
  let b4 = xv4(a_base, r.y + 16u); let b5 = xv4(a_base, r.y + 20u); let b6 = xv4(a_base, r.y + 24u); let b7 = xv4(a_base, r.y + 28u);
  let ma = max(vmax4(a0, a1, a2, a3), vmax4(a4, a5, a6, a7));
  let mb = max(vmax4(b0, b1, b2, b3), vmax4(b4, b5, b6, b7));
  let ka = xd_scale(max(max(ma.x, ma.y), max(ma.z, ma.w)),
    nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3) || nonfinite(a4) || nonfinite(a5) || nonfinite(a6) || nonfinite(a7));
  let kb = xd_scale(max(max(mb.x, mb.y), max(mb.z, mb.w)),
    nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3) || nonfinite(b4) || nonfinite(b5) || nonfinite(b6) || nonfinite(b7));
  let za0 = xd_z(a0, ka.x); let za1 = xd_z(a1, ka.x); let za2 = xd_z(a2, ka.x); let za3 = xd_z(a3, ka.x);
  let za4 = xd_z(a4, ka.x); let za5 = xd_z(a5, ka.x); let za6 = xd_z(a6, ka.x); let za7 = xd_z(a7, ka.x);
  let zb0 = xd_z(b0, kb.x); let zb1 = xd_z(b1, kb.x); let zb2 = xd_z(b2, kb.x); let zb3 = xd_z(b3, kb.x);
  let zb4 = xd_z(b4, kb.x); let zb5 = xd_z(b5, kb.x); let zb6 = xd_z(b6, kb.x); let zb7 = xd_z(b7, kb.x);
  let pa00 = xd_plane(za0, za1, za2, za3, 0u); let pa01 = xd_plane(za4, za5, za6, za7, 0u);
  let pb00 = xd_plane(zb0, zb1, zb2, zb3, 0u); let pb01 = xd_plane(zb4, zb5, zb6, zb7, 0u);
  let pa10 = xd_plane(za0, za1, za2, za3, 1u); let pa11 = xd_plane(za4, za5, za6, za7, 1u);
  let pb10 = xd_plane(zb0, zb1, zb2, zb3, 1u); let pb11 = xd_plane(zb4, zb5, zb6, zb7, 1u);
  let pa20 = xd_plane(za0, za1, za2, za3, 2u); let pa21 = xd_plane(za4, za5, za6, za7, 2u);
  let pb20 = xd_plane(zb0, zb1, zb2, zb3, 2u); let pb21 = xd_plane(zb4, zb5, zb6, zb7, 2u);
  let s0 = vec2<i32>(xd_sum(pa00) + xd_sum(pa01), xd_sum(pb00) + xd_sum(pb01));
  let s1 = vec2<i32>(xd_sum(pa10) + xd_sum(pa11), xd_sum(pb10) + xd_sum(pb11));
  let s2 = vec2<i32>(xd_sum(pa20) + xd_sum(pa21), xd_sum(pb20) + xd_sum(pb21));
  let p0 = array<u32, 16>(pa00.x, pa00.y, pa00.z, pa00.w, pa01.x, pa01.y, pa01.z, pa01.w, pb00.x, pb00.y, pb00.z, pb00.w, pb01.x, pb01.y, pb01.z, pb01.w);
  let p1 = array<u32, 16>(pa10.x, pa10.y, pa10.z, pa10.w, pa11.x, pa11.y, pa11.z, pa11.w, pb10.x, pb10.y, pb10.z, pb10.w, pb11.x, pb11.y, pb11.z, pb11.w);
  let p2 = array<u32, 16>(pa20.x, pa20.y, pa20.z, pa20.w, pa21.x, pa21.y, pa21.z, pa21.w, pb20.x, pb20.y, pb20.z, pb20.w, pb21.x, pb21.y, pb21.z, pb21.w);
#else
  let ma = vmax4(a0, a1, a2, a3);
  let mb = vmax4(b0, b1, b2, b3);
  let ka = xd_scale(max(max(ma.x, ma.y), max(ma.z, ma.w)), nonfinite(a0) || nonfinite(a1) || nonfinite(a2) || nonfinite(a3));
  let kb = xd_scale(max(max(mb.x, mb.y), max(mb.z, mb.w)), nonfinite(b0) || nonfinite(b1) || nonfinite(b2) || nonfinite(b3));
  let za0 = xd_z(a0, ka.x); let za1 = xd_z(a1, ka.x); let za2 = xd_z(a2, ka.x); let za3 = xd_z(a3, ka.x);
  let zb0 = xd_z(b0, kb.x); let zb1 = xd_z(b1, kb.x); let zb2 = xd_z(b2, kb.x); let zb3 = xd_z(b3, kb.x);
  let pa0 = xd_plane(za0, za1, za2, za3, 0u); let pb0 = xd_plane(zb0, zb1, zb2, zb3, 0u);
  let pa1 = xd_plane(za0, za1, za2, za3, 1u); let pb1 = xd_plane(zb0, zb1, zb2, zb3, 1u);
  let pa2 = xd_plane(za0, za1, za2, za3, 2u); let pb2 = xd_plane(zb0, zb1, zb2, zb3, 2u);
  let s0 = vec2<i32>(xd_sum(pa0), xd_sum(pb0));
  let s1 = vec2<i32>(xd_sum(pa1), xd_sum(pb1));
  let s2 = vec2<i32>(xd_sum(pa2), xd_sum(pb2));
  let p0 = array<u32, 8>(pa0.x, pa0.y, pa0.z, pa0.w, pb0.x, pb0.y, pb0.z, pb0.w);
  let p1 = array<u32, 8>(pa1.x, pa1.y, pa1.z, pa1.w, pb1.x, pb1.y, pb1.z, pb1.w);
  let p2 = array<u32, 8>(pa2.x, pa2.y, pa2.z, pa2.w, pb2.x, pb2.y, pb2.z, pb2.w);
#endif
  let inv = vec2<f32>(ka.y, kb.y);
  let sx = vec2<f32>(s2 * 65536 + s1 * 256 + s0) * inv;
  return XD(p0, p1, p2, inv, s0, s1, s2, sx, min(inv.x, inv.y) > 0.0);
}
#endif
