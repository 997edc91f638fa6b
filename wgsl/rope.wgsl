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
$ENABLE
#include "_half"
#include "_math"
#include "_value"
#include "_store"

@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_STORE>;
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
