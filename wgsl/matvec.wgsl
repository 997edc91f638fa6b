// Matrix-vector family (M = 1, decode): out[z, n] = epilogue(sum_k x[z, k] * B[z, k, n]). It reads
// B once; the params, loaders, epilogue and output helpers come from wgsl/matmul.wgsl (included
// with MATVEC set, which leaves out that file's entry points). The per-thread loops are
// straight-line code over named variables, generated per config in src/ops/matmul-matvec.ts.
//   MATVEC_DOT  B k-contiguous (weights [N, K]): WG / TPR groups of TPR threads, each group on R
//               consecutive rows (rows past N read row N - 1 and store nothing); a thread loads 4
//               (or with V8, 8) elements per load, U loads of each of its R rows in flight, x
//               loaded once for its R rows; then a workgroup reduction per row.
//               Dispatch: ceil(N / (R * WG / TPR)) workgroups in x/y, z = batch.
//   else (AXPY) B n-contiguous ([K, N]): CT threads x C columns (C = 4, or 8 with V8: 16-byte
//               loads of 16-bit B), KL = WG / CT k-lanes, U k rows in flight per thread, reduced
//               in workgroup memory; SPLIT: each z = split * batch + batch index covers one K
//               chunk and writes f32 partials, for the REDUCE pass of wgsl/matmul.wgsl or (FUSE)
//               for the block's last workgroup to finish, which sums them and stores the outputs.
//               Dispatch: ceil(N / (C * CT)) in x/y.
//   SGK (AXPY, C = 8, subgroups of a fixed size SG): a subgroup is CTS column lanes x SG / CTS k
//               lanes; its k lanes are summed by shuffles (SG_RED, transposed: each step halves
//               the columns a lane keeps), NCS = CT / CTS subgroups side by side on columns and the
//               rest on k meet in workgroup memory after one barrier. Same splits and outputs.
#include "matmul"

#if MATVEC_DOT
const WG: u32 = $WGu;
const TPR: u32 = $TPRu;
const R: u32 = $Ru;
const GROUPS: u32 = WG / TPR;
const ROWS: u32 = GROUPS * R;
var<workgroup> red: array<f32, WG * R>;

// Sum of the TPR partials of output j (0 <= j < ROWS) of this workgroup, after the reduction.
fn row_total(j: u32) -> f32 {
  return red[(j % R) * WG + (j / R) * TPR];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.grid_x;
  let zb = wid.z + params.z0;
  let lane = lid % TPR;
  let n0 = w * ROWS + (lid / TPR) * R;
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  // Declares acc0..acc{R-1} (vec4<f32>), runs the k loop and stores each row's sum in red.
  $DOT_LOOP
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s = s >> 1u) {
    if (lane < s) {
      for (var r = 0u; r < R; r = r + 1u) { red[r * WG + lid] = red[r * WG + lid] + red[r * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  let o = zb * params.n;
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
#if OUT_HALF
  // ROWS is even (src/ops/matmul-gpu.ts) and so is N: pairs of outputs share a word.
  if (lid < ROWS / 2u) {
    let nn = w * ROWS + lid * 2u;
    if (nn < params.n) {
      let v0 = epilogue(row_total(lid * 2u), e0_base + nn * params.e0_sn, e1_base + nn * params.e1_sn);
      let v1 = epilogue(row_total(lid * 2u + 1u), e0_base + (nn + 1u) * params.e0_sn, e1_base + (nn + 1u) * params.e1_sn);
      out[(o + nn) >> 1u] = $PACK(v0) | ($PACK(v1) << 16u);
    }
  }
#else
  if (lid < ROWS) {
    let nn = w * ROWS + lid;
    if (nn < params.n) {
      out[o + nn] = epilogue(row_total(lid), e0_base + nn * params.e0_sn, e1_base + nn * params.e1_sn);
    }
  }
#endif
}

#else
const WG: u32 = $WGu;
const CT: u32 = $CTu;
const KL: u32 = WG / CT;
const C: u32 = $Cu;
const CV: u32 = C / 4u; // vec4s per thread
const CWN: u32 = CT * C; // columns per workgroup
#if SGK
const SG: u32 = $SGu;
const CTS: u32 = $CTSu; // column lanes of a subgroup's row
const NCS: u32 = CT / CTS; // subgroups side by side on columns
const KS: u32 = SG / CTS; // k lanes of a subgroup
const KG: u32 = WG / SG / NCS; // subgroups on k per column range
var<workgroup> redf: array<f32, KG * CWN>;
#if FUSE
var<workgroup> red: array<vec4<f32>, WG>; // the fused sum's split lanes
#endif
#else
var<workgroup> red: array<vec4<f32>, WG * CV>;
#endif
#if FUSE
// Partials as words (EMPTY until written: NaNs are stored canonical, so no sum is EMPTY) and one
// counter per (batch entry, column block); both left EMPTY / 0 for the next dispatch. WGSL has no
// device-scope fences: the last workgroup waits on each word it still finds EMPTY (its writer has
// counted itself done, so the store is on its way), as wgsl/attention_decode.wgsl's fused merge.
@group(0) @binding(6) var<storage, read_write> part: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> ctr: array<atomic<u32>>;
const EMPTY: u32 = 0xffffffffu;
var<workgroup> wg_last: u32;

fn put_part(i: u32, x: f32) {
  let u = bitcast<u32>(x);
  atomicStore(&part[i], select(u, 0x7fc00000u, (u & 0x7fffffffu) > 0x7f800000u));
}

// Word indices of the partials of 4 columns at word i of which m (1..4) exist (the rest repeat the last).
fn idx4(i: u32, m: u32) -> vec4<u32> {
  return vec4<u32>(i) + min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(m - 1u));
}

fn load4(j: vec4<u32>) -> vec4<u32> {
  return vec4<u32>(atomicLoad(&part[j.x]), atomicLoad(&part[j.y]), atomicLoad(&part[j.z]), atomicLoad(&part[j.w]));
}

// The 4 partials loaded as `w` (columns past m are 0): words still EMPTY are loaded again until
// their stores land; then every word is emptied for the next dispatch.
fn settle4(w: vec4<u32>, j: vec4<u32>, m: u32) -> vec4<f32> {
  var u = w;
  for (var c = 0u; c < 4u; c = c + 1u) {
    while (u[c] == EMPTY) { u[c] = atomicLoad(&part[j[c]]); }
  }
  for (var c = 0u; c < 4u; c = c + 1u) { atomicStore(&part[j[c]], EMPTY); }
  return select(vec4<f32>(0.0), bitcast<vec4<f32>>(u), vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(m));
}
#endif

@compute @workgroup_size(WG)
#if SGK
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32) {
#else
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#endif
  let w = wid.x + wid.y * params.grid_x;
#if FUSE
  if (w >= params.tiles_n) { return; } // past the column blocks (2-D grids): no counter of its own
#endif
  let z = wid.z + params.z0;
  let zb = z % params.batch;
  let kbeg = (z / params.batch) * params.kchunk;
  let kend = min(params.k, kbeg + params.kchunk);
#if SGK
  // Subgroup lid / SG (subgroups are runs of SG invocations): column range cs, k group kg; its
  // lane sl reads 8 columns cl.. of k rows of lane ks (kl among the KL = KG * KS k lanes).
  let cs = (lid / SG) % NCS;
  let kg = lid / SG / NCS;
  let ks = sl / CTS;
  let cl = (cs * CTS + sl % CTS) * C;
  let n = w * CWN + cl;
  let kl = kg * KS + ks;
#else
  let n = (w * CT + lid % CT) * C;
  let kl = lid / CT;
#endif
  let a_base = params.a_off + batch_offset(zb, params.a_bs);
  let b_base = params.b_off + batch_offset(zb, params.b_bs);
  // Declares acc0..acc{CV-1}, runs the k loop over [kbeg, kend) (and without SGK stores them in red).
  $AXPY_LOOP
#if SGK
  // Writes this lane's column sums over its subgroup's k lanes to redf[kg * CWN + column].
  $SG_RED
  workgroupBarrier();
  // Quads of the block's columns, summed over the KG k groups.
  for (var q = lid; q < CWN / 4u; q = q + WG) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < KG; j = j + 1u) {
      let i = j * CWN + q * 4u;
      v = v + vec4<f32>(redf[i], redf[i + 1u], redf[i + 2u], redf[i + 3u]);
    }
    let nq = w * CWN + q * 4u;
#if FUSE
    for (var c = 0u; c < 4u; c = c + 1u) {
      if (nq + c < params.n) { put_part(z * params.n + nq + c, v[c]); }
    }
#else
#if !SPLIT
    v = epilogue4(v, 0u, nq, params.e0_off + batch_offset(zb, params.e0_bs), params.e1_off + batch_offset(zb, params.e1_bs));
#endif
    if (nq < params.n) { store4(z * params.n + nq, nq, v); }
#endif
  }
#else
  workgroupBarrier();
  for (var s = KL / 2u; s > 0u; s = s >> 1u) {
    if (kl < s) {
      for (var c = 0u; c < CV; c = c + 1u) { red[c * WG + lid] = red[c * WG + lid] + red[c * WG + lid + s * CT]; }
    }
    workgroupBarrier();
  }
#if FUSE
  if (kl == 0u) {
    for (var c = 0u; c < C; c = c + 1u) {
      if (n + c < params.n) { put_part(z * params.n + n + c, red[(c / 4u) * WG + lid][c % 4u]); }
    }
  }
#else
  if (kl == 0u && n < params.n) {
    for (var c = 0u; c < CV; c = c + 1u) {
      var v = red[c * WG + lid];
      let nc = n + c * 4u;
#if !SPLIT
      v = epilogue4(v, 0u, nc, params.e0_off + batch_offset(zb, params.e0_bs), params.e1_off + batch_offset(zb, params.e1_bs));
#endif
      store4(z * params.n + nc, nc, v);
    }
  }
#endif
#endif
#if FUSE
  // Every split has stored its partials: count this one done; the last one sums them.
  storageBarrier();
  workgroupBarrier();
  let blocks = params.tiles_n;
  if (lid == 0u) { wg_last = select(0u, 1u, atomicAdd(&ctr[zb * blocks + w], 1u) == params.splits - 1u); }
  if (workgroupUniformLoad(&wg_last) == 0u) { return; }
  // Thread t sums column quad t % Q of the block over splits t / Q, t / Q + SL, ...; then the SL
  // sums of each quad meet in workgroup memory.
  const Q: u32 = CWN / 4u;
  const SL: u32 = max(WG / Q, 1u);
  let e0_base = params.e0_off + batch_offset(zb, params.e0_bs);
  let e1_base = params.e1_off + batch_offset(zb, params.e1_bs);
  for (var q0 = 0u; q0 < Q; q0 = q0 + WG) {
    let q = q0 + lid % Q;
    let sp = lid / Q;
    let nq = w * CWN + q * 4u;
    var v = vec4<f32>(0.0);
    if (sp < SL && q < Q && nq < params.n) {
      // Two splits per step: their 8 loads are in flight together (one round trip, not eight).
      // (With four per step in the same build the table config ran 46 us at 4096 x 11008, 37 before:
      // likely registers, 602 workgroups no longer resident at once. Session 5 part 2.)
      let m = min(4u, params.n - nq);
      let stride = params.batch * params.n;
      var s = sp;
      for (; s + SL < params.splits; s = s + 2u * SL) {
        let ja = idx4((s * params.batch + zb) * params.n + nq, m);
        let jb = ja + vec4<u32>(SL * stride);
        let wa = load4(ja);
        let wb = load4(jb);
        v = v + settle4(wa, ja, m) + settle4(wb, jb, m);
      }
      if (s < params.splits) {
        let ja = idx4((s * params.batch + zb) * params.n + nq, m);
        v = v + settle4(load4(ja), ja, m);
      }
    }
    workgroupBarrier();
    red[lid] = v;
    workgroupBarrier();
    if (sp == 0u && q < Q && nq < params.n) {
      var t = v;
      for (var j = 1u; j < SL; j = j + 1u) { t = t + red[j * Q + lid]; }
      store4(zb * params.n + nq, nq, epilogue4(t, 0u, nq, e0_base, e1_base));
    }
  }
  if (lid == 0u) { atomicStore(&ctr[zb * blocks + w], 0u); }
#endif
}
#endif
