// Row kernels' shared part (softmax, norms, row reductions): the input seen as [rows, cols], read
// a quad (4 consecutive elements of a row) at a time, and folds over the TPR threads of a row.
// Input modes (src/ops/rows.ts picks one):
//   IN_VEC     rows contiguous, offset, row stride and cols multiples of 4: one 16-byte (32-bit
//              types) or 8-byte (f16/bf16) load per quad from leaf0
//   IN_DIRECT  rows contiguous, any alignment: leaf0[off + row * RS + k], one load per element
//   neither    value(row * cols + k) (wgsl/_value.wgsl): a fused expression or any strided view
// off = params.offsets[0][0], RS = params.strides[0][0] (row stride in elements).
// Threads: a workgroup holds RPW rows of TPR threads each (lid = slot * TPR + lane).
// Folds: SG > 0: butterflies of subgroupShuffleXor over aligned groups of min(TPR, SG) lanes
// (SG = the adapter's smallest subgroup size, so each group lies in one subgroup), then, if TPR is
// larger, one partial per group through workgroup memory; SG = 0: a tree in workgroup memory.
// Every thread must call the folds (no early return): they contain barriers and shuffles.
// Output (ROW_OUT): contiguous [rows, cols] of OUT_DT (f32, or f16/bf16 packed two to a word with
// cols even); OUT_VEC (cols % 4 = 0): one store per quad.

const TPR: u32 = $TPRu;
const RPW: u32 = $RPWu;
const WG: u32 = $WGu;
const SG: u32 = $SGu;
const ITEMS: u32 = $ITEMSu;

// Four f16 values packed in two words, as f32 (exact: every f16 is an f32).
fn f16x4(w: vec2<u32>) -> vec4<f32> {
#if NATIVE_F16
  return vec4<f32>(bitcast<vec4<f16>>(w));
#else
  let h = vec4<u32>(w.x & 0xffffu, w.x >> 16u, w.y & 0xffffu, w.y >> 16u);
  let em = h & vec4<u32>(0x7fffu);
  let e = em >> vec4<u32>(10u);
  let normal = (em << vec4<u32>(13u)) + vec4<u32>(0x38000000u);
  let special = (em << vec4<u32>(13u)) | vec4<u32>(0x7f800000u);
  // Subnormals: m * 2^-24 is a normal f32, computed exactly.
  let sub = bitcast<vec4<u32>>(vec4<f32>(em) * 5.9604644775390625e-8);
  let mag = select(select(normal, special, e == vec4<u32>(31u)), sub, e == vec4<u32>(0u));
  return bitcast<vec4<f32>>(mag | ((h & vec4<u32>(0x8000u)) << vec4<u32>(16u)));
#endif
}

fn bf16x4(w: vec2<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(vec4<u32>(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}

// f32 to f16 bits, round to nearest even, overflow to ±Inf, NaN stays NaN (as f32_to_f16 in
// _half.wgsl), branch-free. Below 2^-14 the f16 subnormal is |x| + 0.5 rounded by the adder: the
// f32 ulp at 0.5 is 2^-24, the f16 subnormal step (f32 subnormals flushed to 0 give 0 too).
fn f16_bits4(v: vec4<f32>) -> vec4<u32> {
  let b = bitcast<vec4<u32>>(v);
  let a = b & vec4<u32>(0x7fffffffu);
  let sign = (b >> vec4<u32>(16u)) & vec4<u32>(0x8000u);
  let a_safe = max(a, vec4<u32>(0x38000000u));
  let normal = min((a_safe - vec4<u32>(0x38000000u) + vec4<u32>(0xfffu) + ((a_safe >> vec4<u32>(13u)) & vec4<u32>(1u))) >> vec4<u32>(13u), vec4<u32>(0x7c00u));
  let tiny = bitcast<vec4<u32>>(bitcast<vec4<f32>>(a) + vec4<f32>(0.5)) - vec4<u32>(0x3f000000u);
  let nan = vec4<u32>(0x7e00u) | ((a >> vec4<u32>(13u)) & vec4<u32>(0x3ffu));
  var r = select(normal, tiny, a < vec4<u32>(0x38800000u));
  r = select(r, nan, a > vec4<u32>(0x7f800000u));
  return sign | r;
}

// f32 to bf16 bits, round to nearest even; NaN stays a (quiet) NaN.
fn bf16_bits4(v: vec4<f32>) -> vec4<u32> {
  let b = bitcast<vec4<u32>>(v);
  let rounded = ((b + vec4<u32>(0x7fffu) + ((b >> vec4<u32>(16u)) & vec4<u32>(1u))) >> vec4<u32>(16u)) & vec4<u32>(0xffffu);
  let nan = (b & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
  return select(rounded, ((b >> vec4<u32>(16u)) | vec4<u32>(0x40u)) & vec4<u32>(0xffffu), nan);
}

fn pack_halves(h: vec4<u32>) -> vec2<u32> {
  return vec2<u32>(h.x | (h.y << 16u), h.z | (h.w << 16u));
}

fn x_off() -> u32 { return params.offsets[0][0]; }
fn x_rs() -> u32 { return params.strides[0][0]; }

// Element k of row `row`, as $LT.
fn load1(row: u32, k: u32) -> $LT {
#if IN_VEC
  let e = x_off() + row * x_rs() + k;
  let q4 = e >> 2u;
  return ($X_LOAD4)[e & 3u];
#elif IN_DIRECT
  let e = x_off() + row * x_rs() + k;
  return $X_LOAD1;
#else
  return $X_LOAD1;
#endif
}

// Elements 4q .. 4q + 3 of row `row` (all < cols).
fn load4(row: u32, q: u32) -> vec4<$LT> {
#if IN_VEC
  let q4 = ((x_off() + row * x_rs()) >> 2u) + q;
  return $X_LOAD4;
#else
  let k = q * 4u;
  return vec4<$LT>(load1(row, k), load1(row, k + 1u), load1(row, k + 2u), load1(row, k + 3u));
#endif
}

// A row as its threads hold it: ITEMS quads each (quad lane + i * TPR) and, in lane 0, the
// row's last cols % 4 entries; `fill` past the row and in rows past the end.
struct Row {
  q: array<vec4<f32>, ITEMS>,
  t: vec4<f32>,
}

fn load_row(row: u32, lane: u32, fill: f32) -> Row {
  var r: Row;
  let valid = row < params.rows;
  let quads = params.cols >> 2u;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let j = lane + i * TPR;
    var v = vec4<f32>(fill);
    if (valid && j < quads) { v = vec4<f32>(load4(row, j)); }
    r.q[i] = v;
  }
  r.t = vec4<f32>(fill);
  let rem = params.cols & 3u;
  if (valid && lane == 0u && rem > 0u) {
    for (var k = 0u; k < rem; k = k + 1u) { r.t[k] = f32(load1(row, quads * 4u + k)); }
  }
  return r;
}

#if SG_ONLY
#elif SG_PARTS
var<workgroup> red: array<$RT, WG / SG>;
#else
var<workgroup> red: array<$RT, WG>;
#endif

// The sum (MAX: the largest) of v over the TPR threads of this row, returned to all of them.
fn row_fold(v: $RT, lid: u32, is_max: bool) -> $RT {
  var s = v;
#if SG_ONLY
  for (var o = TPR / 2u; o > 0u; o = o >> 1u) {
    let t = subgroupShuffleXor(s, o);
    s = select(s + t, max(s, t), is_max);
  }
  return s;
#elif SG_PARTS
  for (var o = SG / 2u; o > 0u; o = o >> 1u) {
    let t = subgroupShuffleXor(s, o);
    s = select(s + t, max(s, t), is_max);
  }
  if (lid % SG == 0u) { red[lid / SG] = s; }
  workgroupBarrier();
  // Partials in a fixed order: the same row gives the same bits on every run.
  let first = (lid / TPR) * (TPR / SG);
  s = red[first];
  for (var i = 1u; i < TPR / SG; i = i + 1u) {
    let t = red[first + i];
    s = select(s + t, max(s, t), is_max);
  }
  workgroupBarrier();
  return s;
#else
  red[lid] = s;
  workgroupBarrier();
  let lane = lid % TPR;
  for (var h = TPR / 2u; h > 0u; h = h >> 1u) {
    if (lane < h) {
      let t = red[lid + h];
      red[lid] = select(red[lid] + t, max(red[lid], t), is_max);
    }
    workgroupBarrier();
  }
  s = red[lid - lane];
  workgroupBarrier();
  return s;
#endif
}

fn row_sum(v: $RT, lid: u32) -> $RT { return row_fold(v, lid, false); }
fn row_max(v: $RT, lid: u32) -> $RT { return row_fold(v, lid, true); }

#if ROW_OUT
#if OUT_VEC
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<$OUT_VT>;
#elif OUT_HALF
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<u32>;
#else
@group(0) @binding($OUT_BINDING) var<storage, read_write> out: array<f32>;
#endif

// The stored form of four results: vec4<f32>, or four 16-bit values in two words.
fn out4(v: vec4<f32>) -> $OUT_VT {
  return $OUT_CVT4;
}

// Results for columns 4q .. 4q + 3 of row `row`.
fn store4(row: u32, q: u32, v: vec4<f32>) {
#if OUT_VEC
  out[row * (params.cols >> 2u) + q] = out4(v);
#elif OUT_HALF
  let w = out4(v);
  let i = (row * params.cols + q * 4u) >> 1u;
  out[i] = w.x;
  out[i + 1u] = w.y;
#else
  let i = row * params.cols + q * 4u;
  out[i] = v.x;
  out[i + 1u] = v.y;
  out[i + 2u] = v.z;
  out[i + 3u] = v.w;
#endif
}

// The row's last n = cols % 4 results (from column 4q), n > 0; 16-bit: n = 2.
fn store_tail(row: u32, q: u32, v: vec4<f32>, n: u32) {
#if OUT_VEC
#elif OUT_HALF
  out[(row * params.cols + q * 4u) >> 1u] = out4(v).x;
#else
  let i = row * params.cols + q * 4u;
  for (var k = 0u; k < n; k = k + 1u) { out[i + k] = v[k]; }
#endif
}
#endif
