// The subgroup-matrix attention kernel (wgsl/attention_sgmat.wgsl): when it applies, its shape,
// and its straight-line fragment code (Q and O fragments are named registers, as in matmul).
// `emulate` replaces the subgroup-matrix types and builtins with plain WGSL (every lane holds a
// whole fragment), so the generated code can be checked on adapters without the feature.
import type { GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import type { AttentionSgmatConfig } from '../tune/table.js';
import { subgroupMatrixConfigs } from './matmul-sgmat.js';

export interface SgmatPlan {
  /** Fragment size (M = N = K). */
  fs: number;
  /** Subgroup size (fixed). */
  sg: number;
  /** Subgroups per workgroup; each owns fs query rows. */
  sgs: number;
  bq: number;
  tk: number;
  /** Rows of the K tile array: max(TK, BQ), the Q block is staged there before the key loop. */
  kr: number;
  emulate: boolean;
}

interface SubgroupSizes { subgroupMinSize?: number; subgroupMaxSize?: number }

/** Shared memory of a plan: K (kr rows) and V tiles, scores (f32), P (f16), per-row values, the stamp. */
export function sgmatBytes(D: number, bq: number, tk: number, kr = Math.max(tk, bq)): number {
  return (kr + tk) * (D + 8) * 2 + bq * (tk + 4) * 4 + bq * (tk + 8) * 2 + 2 * bq * 4 + 16;
}

/** The plan for head size D, or null when the kernel cannot run it here. */
export function sgmatAttentionPlan(dev: GpuDevice, c: AttentionSgmatConfig, D: number, dtypes: readonly DType[], emulate = false): SgmatPlan | null {
  if (!dev.features.f16 || !dev.features.subgroups || dtypes.some((d) => d !== 'f16')) return null;
  const info = (dev.adapter.info ?? {}) as SubgroupSizes;
  const sg = info.subgroupMaxSize ?? 0;
  if (!sg || info.subgroupMinSize !== sg) return null;
  let fs: number;
  if (emulate) fs = 4; // the emulation holds 4x4 fragments
  else {
    const m = subgroupMatrixConfigs(dev).find((x) => x.componentType === 'f16' && x.resultComponentType === 'f32' && x.M === x.N && x.N === x.K);
    if (!m) return null;
    fs = m.M;
  }
  const lpr = sg / fs;
  // Q and O fragments stay in registers: D / fs of each (at most 8).
  if (D % fs || D / fs > 8 || !Number.isInteger(lpr) || (lpr & (lpr - 1)) !== 0) return null;
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  let { sgs, tk } = c;
  tk = Math.max(fs, Math.ceil(tk / fs) * fs);
  // Fewer subgroups first (the Q block shares ks), then fewer keys per step.
  while (sgs > 1 && sgmatBytes(D, sgs * fs, tk) > limit) sgs >>= 1;
  while (tk > fs && sgmatBytes(D, sgs * fs, tk) > limit) tk -= fs;
  if (sgmatBytes(D, sgs * fs, tk) > limit || tk % lpr || sgs * sg > dev.limits.maxComputeInvocationsPerWorkgroup) return null;
  const bq = sgs * fs;
  return { fs, sg, sgs, bq, tk, kr: Math.max(tk, bq), emulate };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Defines of attention_sgmat.wgsl for a plan and head size D. */
export function sgmatAttentionCode(p: SgmatPlan, D: number): Record<string, string | number> {
  const nd = D / p.fs;
  const nk = p.tk / p.fs;
  const emu = p.emulate;
  const ld = (kind: string, arr: string, off: string, cm: boolean, stride: string) =>
    emu ? `emu_ld_${arr}(${off}, ${cm}, ${stride})` : `subgroupMatrixLoad<${kind}>(&${arr}, ${off}, ${cm}, ${stride})`;
  const st = (arr: string, off: string, v: string, stride: string) =>
    emu ? `if (lane == 0u) { emu_st_${arr}(${off}, ${v}, false, ${stride}); }` : `subgroupMatrixStore(&${arr}, ${off}, ${v}, false, ${stride});`;
  const mma = (a: string, b: string, c: string) => (emu ? `emu_mma(${a}, ${b}, ${c})` : `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`);

  // Q fragments: the block's rows staged in ks, loaded once before the key loop.
  const qload = ['stage_q(b, hk, r0, r1, lid);', ...range(nd).map((f) => `let q${f} = ${ld('Left', 'ks', `sg * FS * KP + ${f * p.fs}u`, false, 'KP')};`)];
  // S = Q Kᵀ: the TK / fs key fragments' accumulators interleaved per D step (independent MMA chains).
  const scores = [
    '{',
    `  ${range(nk).map((kf) => `var s${kf} = Acc();`).join(' ')}`,
    ...range(nd).flatMap((f) => range(nk).flatMap((kf) => [
      `  let k${kf}_${f} = ${ld('Right', 'ks', `${kf * p.fs}u * KP + ${f * p.fs}u`, true, 'KP')};`,
      `  s${kf} = ${mma(`q${f}`, `k${kf}_${f}`, `s${kf}`)};`,
    ])),
    ...range(nk).map((kf) => `  ${st('ss', `sg * FS * SP + ${kf * p.fs}u`, `s${kf}`, 'SP')}`),
    '}',
  ];
  const pv = [
    ...range(nk).map((kf) => `let p${kf} = ${ld('Left', 'ps', `sg * FS * PP + ${kf * p.fs}u`, false, 'PP')};`),
    ...range(nd).flatMap((f) => range(nk).map((kf) => `{ let v = ${ld('Right', 'vs', `${kf * p.fs}u * KP + ${f * p.fs}u`, false, 'KP')}; o${f} = ${mma(`p${kf}`, 'v', `o${f}`)}; }`)),
  ];
  // Softmax of the lane's keys e * LPR + part_ (e < KPL) as named values s0, s1, ...
  const kpl = p.tk / (p.sg / p.fs);
  const scoreRow = range(kpl).map((e) => `let s${e} = score(lrow, ${e}u * LPR + part_, j0, full, lim, mrow, kend); tmax = max(tmax, s${e});`);
  const pRow = range(kpl).map((e) => `{ let p = select(exp2(s${e} - m), 0.0, is_neg_inf(s${e})); l = l + p; ps[lrow * PP + ${e}u * LPR + part_] = f16(p); }`);
  // The step's K and V tiles: unit u = lid + t * WG (8 halves of key u / NCH), 16-byte loads
  // stored straight to ks / vs. Keys past kend load key kend - 1 and are masked to zero; lanes past
  // the tile's last unit load and store that unit again (branch-free).
  const nch = D / 8;
  const wg = p.sgs * p.sg;
  const units = p.tk * nch;
  const put = range(Math.ceil(units / wg)).map((t) => {
    const u = (t + 1) * wg <= units ? `lid + ${t * wg}u` : `min(lid + ${t * wg}u, ${units - 1}u)`;
    return [
      `{ let u = ${u}; let j = j0 + u / NCH; let jc = min(j, kend - 1u); let d0 = (u % NCH) * 8u;`,
      `  let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend)); let p = (u / NCH) * KP + d0;`,
      `  put_ks(p, k_raw(kbase + jc * params.k_ss, d0) & keep); put_vs(p, v_raw(vbase + jc * params.v_ss, d0) & keep); }`,
    ].join('\n    ');
  });
  // O fragments go through this subgroup's rows of ss, NR at a time (rescale and epilogue).
  const nr = Math.min(nk, nd);
  const rounds = range(Math.ceil(nd / nr)).map((r) => range(nr).map((i) => r * nr + i).filter((f) => f < nd));
  // The rare O rescale (`rescale` is workgroup-uniform): through this subgroup's rows of ss.
  const rescale = [
    'if (rescale) {',
    ...rounds.flatMap((fr) => [
      ...fr.map((f, i) => st('ss', `sg * FS * SP + ${i * p.fs}u`, `o${f}`, 'SP')),
      'workgroupBarrier();',
      `scale_rows(sg, lane, ${fr.length}u);`,
      'workgroupBarrier();',
      ...fr.map((f, i) => `o${f} = ${ld('Acc', 'ss', `sg * FS * SP + ${i * p.fs}u`, false, 'SP')};`),
      'workgroupBarrier();',
    ]).map((x) => `  ${x}`),
    '}',
  ];
  const epi = rounds.flatMap((fr) => [
    ...fr.map((f, i) => st('ss', `sg * FS * SP + ${i * p.fs}u`, `o${f}`, 'SP')),
    'workgroupBarrier();',
    `write_rows(b, hk, r0, r1, sp, sg, lane, ${fr.length}u, ${fr[0] * p.fs}u);`,
    'workgroupBarrier();',
  ]);
  const types = emu
    ? ['alias Left = mat4x4<f32>;', 'alias Right = mat4x4<f32>;', 'alias Acc = mat4x4<f32>;'].join('\n')
    : [`alias Left = subgroup_matrix_left<f16, ${p.fs}, ${p.fs}>;`, `alias Right = subgroup_matrix_right<f16, ${p.fs}, ${p.fs}>;`,
      `alias Acc = subgroup_matrix_result<f32, ${p.fs}, ${p.fs}>;`].join('\n');
  return {
    SG_SIZE: p.sg,
    FS: p.fs,
    NSG: p.sgs,
    TK: p.tk,
    KR: p.kr,
    SG_TYPES: types,
    SG_EMU: emu ? emulation(['ks', 'vs', 'ps', 'ss']) : '',
    SG_QLOAD: qload.join('\n  '),
    SG_DECL: range(nd).map((f) => `var o${f} = Acc();`).join(' '),
    SG_PUT: put.join('\n    '),
    SG_SCORES: scores.join('\n    '),
    SG_SCORE_ROW: scoreRow.join('\n    '),
    SG_P_ROW: pRow.join('\n    '),
    SG_RESCALE: rescale.join('\n    '),
    SG_PV: pv.join('\n    '),
    SG_EPI: epi.join('\n  '),
  };
}

/**
 * Plain-WGSL stand-ins for subgroupMatrixLoad / Store / MultiplyAccumulate on 4x4 fragments: every
 * lane holds the whole fragment as a mat4x4 (element (i, j) = m[j][i], so a * b is the fragment
 * product), straight-line so a CPU adapter compiles it quickly.
 */
function emulation(arrays: string[]): string {
  const cells = range(16).map((e) => [Math.floor(e / 4), e % 4]);
  const at = (i: number, j: number) => `select(off + ${i}u * st + ${j}u, off + ${j}u * st + ${i}u, cm)`;
  return [
    ...arrays.map((a) => [
      `fn emu_ld_${a}(off: u32, cm: bool, st: u32) -> Acc {`,
      '  var r: Acc;',
      ...cells.map(([i, j]) => `  r[${j}][${i}] = f32(${a}[${at(i, j)}]);`),
      '  return r;',
      '}',
    ].join('\n')),
    ['fn emu_st_ss(off: u32, v: Acc, cm: bool, st: u32) {', ...cells.map(([i, j]) => `  ss[${at(i, j)}] = v[${j}][${i}];`), '}'].join('\n'),
    'fn emu_mma(a: Acc, b: Acc, c: Acc) -> Acc { return c + a * b; }',
  ].join('\n\n');
}
