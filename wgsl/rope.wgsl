// Rope family: rotary position embedding. x is read through value() (wgsl/_value.wgsl) as
// [rows, L, D] row-major; out (contiguous, x's dtype) gets, for element o = (r * L + l) * D + d:
//   d >= ROT:            out = x[o]                                  (passes through)
//   d in a pair (a, b):  out[a] = x[a] * c - x[b] * s,  out[b] = x[b] * c + x[a] * s
// with pairs (i, i + ROT/2) (HALF, GPT-NeoX/Llama) or (2i, 2i + 1) (GPT-J), c/s = cos/sin of
// angle = f32(pos[l] + offset) * inv_freq[i] (f32 multiply). inv_freq comes from the host in
// params.scalars from word FREQ_BASE (after the fused expression's scalars).
// Header words: n, grid_x, rows = L, cols = D, chunk = ROT, chunks = positions offset,
// pad0 = positions stride, pad1 = offset (i32 bits). Without HAS_POS, pos[l] = l.
// Bindings: params (uniform), leaf0.., out (OUT_BINDING), pos (POS_BINDING, HAS_POS, i32/u32).
// Dispatch: ceil(n / PER_THREAD / 256) workgroups folded into x/y; OUT_HALF: 16-bit output,
// thread t packs elements 2t and 2t + 1 into word t. Math in f32.
// QUADS (D % 4 = 0, ROT % 8 = 0 for HALF, ROT % 4 = 0 interleaved): TPR threads per row, a unit
// at a time:
// HALF: quads i..i+3 and i+ROT/2..i+ROT/2+3 (four pairs), interleaved: one quad (two pairs); the
// dims past ROT are copied a quad per thread. Rows are read and written through wgsl/_rows.wgsl
// (vector loads where x is a plain aligned tensor); n = rows (of D), FREQ_BASE % 4 = 0.
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#if QUADS
#include "_rows"
#else
#include "_store"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
#endif
#if HAS_POS
@group(0) @binding($POS_BINDING) var<storage, read> pos: array<$POS_STORE>;
#endif

fn load(i: u32) -> f32 {
  return $LOAD;
}

fn freq(i: u32) -> f32 {
  let k = $FREQ_BASEu + i;
  return bitcast<f32>(params.scalars[k / 4u][k % 4u]);
}

fn position(l: u32) -> f32 {
  let offset = bitcast<i32>(params.pad1);
#if HAS_POS
  return f32(bitcast<i32>(pos[params.chunks + l * params.pad0]) + offset);
#else
  return f32(i32(l) + offset);
#endif
}

// (cos a, sin a): a reduced to [-pi, pi] (Cody-Waite, 2 pi in three parts), then by a quarter
// turn to |r| <= pi/4 for lbrx's polynomials (wgsl/_math_trig.wgsl): builtin cos/sin may be
// 2^-11 off even there (WGSL's bound; SwiftShader is ~1e-4 off). About 1e-7 for |a| up to ~2e5.
fn cos_sin(a: f32) -> vec2<f32> {
  let k = round(a * 0.15915494309189535);
  let t = ((a - k * 6.28125) - k * 0.0019353071693331003) - k * 1.0253131677018246e-11;
  let j = round(t * 0.6366197723675814); // -2..2 quarter turns; j * pi/2 in two parts is exact
  let r = (t - j * 1.5707963705062866) + j * 4.371139006309477e-8;
  let c = cos_poly(r);
  let s = sin_poly(r);
  switch (u32(i32(j) + 4) & 3u) {
    case 1u: { return vec2<f32>(-s, c); }
    case 2u: { return vec2<f32>(-c, -s); }
    case 3u: { return vec2<f32>(s, -c); }
    default: { return vec2<f32>(c, s); }
  }
}

fn rotated(o: u32) -> f32 {
  let d = o % params.cols;
  let x = load(o);
  if (d >= params.chunk) { return x; }
#if HALF
  let h = params.chunk / 2u;
  let first = d < h;
  let i = select(d - h, d, first);
  let partner = select(o - h, o + h, first);
#else
  let first = (d & 1u) == 0u;
  let i = d >> 1u;
  let partner = select(o - 1u, o + 1u, first);
#endif
  let cs = cos_sin(position((o / params.cols) % params.rows) * freq(i));
  let xp = load(partner);
  return select(x * cs.x + xp * cs.y, x * cs.x - xp * cs.y, first);
}

#if QUADS
fn sin_poly4(r: vec4<f32>) -> vec4<f32> {
  let z = r * r;
  return r + r * z * (-0.16666667 + z * (0.008333334 + z * (-1.984127e-4 + z * 2.7557319e-6)));
}

fn cos_poly4(r: vec4<f32>) -> vec4<f32> {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (0.041666668 + z * (-0.0013888889 + z * (2.4801587e-5 + z * -2.7557319e-7)));
}

// cos_sin of four angles: (cos, sin) as columns 0 and 1.
fn cos_sin4(a: vec4<f32>) -> mat2x4<f32> {
  let k = round(a * 0.15915494309189535);
  let t = ((a - k * 6.28125) - k * 0.0019353071693331003) - k * 1.0253131677018246e-11;
  let j = round(t * 0.6366197723675814);
  let r = (t - j * 1.5707963705062866) + j * 4.371139006309477e-8;
  let c = cos_poly4(r);
  let s = sin_poly4(r);
  let q = vec4<u32>(vec4<i32>(j) + vec4<i32>(4)) & vec4<u32>(3u);
  let one = q == vec4<u32>(1u);
  let two = q == vec4<u32>(2u);
  let three = q == vec4<u32>(3u);
  let cq = select(select(select(c, -s, one), -c, two), s, three);
  let sq = select(select(select(s, c, one), -s, two), -c, three);
  return mat2x4<f32>(cq, sq);
}

// Inverse frequencies i .. i + 3 (i % 4 = 0).
fn freq4(i: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>(params.scalars[($FREQ_BASEu + i) >> 2u]);
}

// One unit of row `row` at position p.
fn rope_unit(row: u32, u: u32, pairs: u32, p: f32) {
  let rot = params.chunk;
  if (u >= pairs) {
    let q = (rot >> 2u) + (u - pairs);
    store4(row, q, load4(row, q));
    return;
  }
#if HALF
  let cs = cos_sin4(p * freq4(u * 4u));
  let qb = u + (rot >> 3u);
  let a = load4(row, u);
  let b = load4(row, qb);
  store4(row, u, a * cs[0] - b * cs[1]);
  store4(row, qb, b * cs[0] + a * cs[1]);
#else
  let f = freq4((u >> 1u) * 4u);
  let f2 = select(f.xxyy, f.zzww, (u & 1u) == 1u);
  let cs = cos_sin4(p * f2);
  let x = load4(row, u);
  store4(row, u, x * cs[0] + x.yxwz * cs[1] * vec4<f32>(-1.0, 1.0, -1.0, 1.0));
#endif
}

// RPW rows per workgroup, TPR threads per row stepping over its units.
@compute @workgroup_size($WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * params.grid_x) * RPW + lid / TPR;
  if (row >= params.n) { return; }
  let rot = params.chunk;
#if HALF
  let pairs = rot >> 3u;
#else
  let pairs = rot >> 2u;
#endif
  let units = pairs + ((params.cols - rot) >> 2u);
  let p = position(row % params.rows);
  for (var u = lid % TPR; u < units; u = u + TPR) {
    rope_unit(row, u, pairs, p);
  }
}
#endif
