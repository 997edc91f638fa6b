// Random family: counter-based random numbers, out[e] a function of (key, e) only, so any
// element can be computed anywhere: src/cpu/random.ts computes the same u32 stream.
// Generator: Threefry-2x32, 20 rounds (Random123; as in JAX), key = (k0, k1) = the 64-bit seed,
// counter = (e, STREAM) with STREAM 0 for uniform, 1 for normal.
//   uniform: (w0 >> (32 - BITS)) * 2^-BITS, BITS = the dtype's significand bits (f32 24, f16 11,
//            bf16 8), so every value is exact in the dtype and lies in [0, 1).
//   normal:  Box-Muller in f32 on (w0, w1): u1 = ((w0 >> 8) + 1) * 2^-24 in (0, 1],
//            u2 = (w1 >> 8) * 2^-24, z = sqrt(-2 ln u1) * -cos(u2 * 2pi - pi), rounded to the dtype.
// Bindings: params (uniform), out. Dispatch: ceil(n / PER_THREAD / 256) workgroups folded into
// x/y; OUT_HALF: 16-bit output, thread t packs elements 2t and 2t + 1 into word t.
#include "_half"
#include "_math"
#include "_store"

struct Params {
  n: u32,
  grid_x: u32,
  k0: u32,
  k1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<$OUT_STORE>;

fn rotl(x: u32, r: u32) -> u32 {
  return (x << r) | (x >> (32u - r));
}

// Four rounds with rotations (a, b, c, d).
fn rounds4(x: vec2<u32>, a: u32, b: u32, c: u32, d: u32) -> vec2<u32> {
  var x0 = x.x + x.y;
  var x1 = rotl(x.y, a) ^ x0;
  x0 = x0 + x1;
  x1 = rotl(x1, b) ^ x0;
  x0 = x0 + x1;
  x1 = rotl(x1, c) ^ x0;
  x0 = x0 + x1;
  x1 = rotl(x1, d) ^ x0;
  return vec2<u32>(x0, x1);
}

fn threefry(c0: u32, c1: u32) -> vec2<u32> {
  let k0 = params.k0;
  let k1 = params.k1;
  let k2 = k0 ^ k1 ^ 0x1bd11bdau;
  var x = vec2<u32>(c0 + k0, c1 + k1);
  x = rounds4(x, 13u, 15u, 26u, 6u) + vec2<u32>(k1, k2 + 1u);
  x = rounds4(x, 17u, 29u, 16u, 24u) + vec2<u32>(k2, k0 + 2u);
  x = rounds4(x, 13u, 15u, 26u, 6u) + vec2<u32>(k0, k1 + 3u);
  x = rounds4(x, 17u, 29u, 16u, 24u) + vec2<u32>(k1, k2 + 4u);
  x = rounds4(x, 13u, 15u, 26u, 6u) + vec2<u32>(k2, k0 + 5u);
  return x;
}

fn sample(e: u32) -> f32 {
#if NORMAL
  let w = threefry(e, 1u);
  let u1 = f32((w.x >> 8u) + 1u) * 5.9604644775390625e-8;
  let u2 = f32(w.y >> 8u) * 5.9604644775390625e-8;
  // lbrx's log/cos/sqrt (wgsl/_math.wgsl): the builtins may be ~1e-4 off (SwiftShader's are).
  return sqrt_f32(-2.0 * log_f32(u1)) * -cos_f32(u2 * 6.2831854820251465 - 3.1415927410125732);
#else
  let w = threefry(e, 0u);
  return f32(w.x >> (32u - $BITSu)) * $SCALE;
#endif
}
