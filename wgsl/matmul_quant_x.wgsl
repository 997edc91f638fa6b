// The x pass of the integer quantized matvec (wgsl/matmul_quant.wgsl QMV8): thread g writes the
// record of unit g % units of batch row g / units of a into xq, once per call rather than once per
// matvec workgroup. X24: x as integers X = round(x * S) of 23 bits per run (S a power of two, 1 / S
// and each digit plane's sum kept), three signed 8-bit digit planes; X8 (quantizeActivations): x
// rounded to 8 bits per run (scale max |x| / 127, integer sums kept). Record layouts (XR vec4s per
// unit) in wgsl/_quant_idot.wgsl. Params and load_a from wgsl/matmul.wgsl (MATVEC); the unit's
// runs from wgsl/_quant.wgsl (QMV). Bindings: params, a 1, xq 6. Dispatch: ceil(batch * units / 64).
#include "matmul"
@group(0) @binding(2) var<storage, read> blocks: array<u32>; // declared for _quant; not read
#include "_quant"
#include "_quant_idot"
@group(0) @binding(6) var<storage, read_write> xq: array<vec4<u32>>;

#include "_quant_xrec"

#if X24
// Record o: unit uu of a row of a (x24_rec) stored as XR vec4s: the three planes (run A's words,
// then run B's), then per run (1 / S, digit sums).
fn x24_write(a_base: u32, uu: u32, o: u32) {
  let x = x24_rec(a_base, uu);
#if K45
  xq[o + 0u] = vec4<u32>(x.p0[0], x.p0[1], x.p0[2], x.p0[3]); xq[o + 1u] = vec4<u32>(x.p0[4], x.p0[5], x.p0[6], x.p0[7]); xq[o + 2u] = vec4<u32>(x.p0[8], x.p0[9], x.p0[10], x.p0[11]); xq[o + 3u] = vec4<u32>(x.p0[12], x.p0[13], x.p0[14], x.p0[15]);
  xq[o + 4u] = vec4<u32>(x.p1[0], x.p1[1], x.p1[2], x.p1[3]); xq[o + 5u] = vec4<u32>(x.p1[4], x.p1[5], x.p1[6], x.p1[7]); xq[o + 6u] = vec4<u32>(x.p1[8], x.p1[9], x.p1[10], x.p1[11]); xq[o + 7u] = vec4<u32>(x.p1[12], x.p1[13], x.p1[14], x.p1[15]);
  xq[o + 8u] = vec4<u32>(x.p2[0], x.p2[1], x.p2[2], x.p2[3]); xq[o + 9u] = vec4<u32>(x.p2[4], x.p2[5], x.p2[6], x.p2[7]); xq[o + 10u] = vec4<u32>(x.p2[8], x.p2[9], x.p2[10], x.p2[11]); xq[o + 11u] = vec4<u32>(x.p2[12], x.p2[13], x.p2[14], x.p2[15]);
#else
  xq[o + 0u] = vec4<u32>(x.p0[0], x.p0[1], x.p0[2], x.p0[3]); xq[o + 1u] = vec4<u32>(x.p0[4], x.p0[5], x.p0[6], x.p0[7]);
  xq[o + 2u] = vec4<u32>(x.p1[0], x.p1[1], x.p1[2], x.p1[3]); xq[o + 3u] = vec4<u32>(x.p1[4], x.p1[5], x.p1[6], x.p1[7]);
  xq[o + 4u] = vec4<u32>(x.p2[0], x.p2[1], x.p2[2], x.p2[3]); xq[o + 5u] = vec4<u32>(x.p2[4], x.p2[5], x.p2[6], x.p2[7]);
#endif
  xq[o + XR - 2u] = vec4<u32>(bitcast<u32>(x.inv.x), bitcast<vec3<u32>>(vec3<i32>(x.s0.x, x.s1.x, x.s2.x)));
  xq[o + XR - 1u] = vec4<u32>(bitcast<u32>(x.inv.y), bitcast<vec3<u32>>(vec3<i32>(x.s0.y, x.s1.y, x.s2.y)));
}
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let units = params.k / QU;
  let g = gid.x + gid.y * params.grid_x * 64u;
  if (g >= params.batch * units) { return; }
  let zb = g / units;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let o = g * XR;
#if X24
  x24_write(a_base, g % units, o);
#else
  let x = x_quant(a_base, g % units);
#if K45
  xq[o] = vec4<u32>(x.q[0], x.q[1], x.q[2], x.q[3]);
  xq[o + 1u] = vec4<u32>(x.q[4], x.q[5], x.q[6], x.q[7]);
  xq[o + 2u] = vec4<u32>(x.q[8], x.q[9], x.q[10], x.q[11]);
  xq[o + 3u] = vec4<u32>(x.q[12], x.q[13], x.q[14], x.q[15]);
  xq[o + 4u] = bitcast<vec4<u32>>(x.d);
#else
  xq[o] = vec4<u32>(x.q[0], x.q[1], x.q[2], x.q[3]);
  xq[o + 1u] = vec4<u32>(x.q[4], x.q[5], x.q[6], x.q[7]);
  xq[o + 2u] = bitcast<vec4<u32>>(x.d);
#endif
#endif
}

