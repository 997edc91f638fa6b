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
  /** Subgroups per workgroup; each owns rf * fs query rows. */
  sgs: number;
  /** Softmax row fragments per subgroup (1, 2, or 0.5: fs / 2 rows, so twice the subgroups share a block of the same rows). */
  rf: number;
  /** K / V tiles double-buffered: the next tile loads during this step's softmax, 2 barriers per step instead of 4. */
  db: boolean;
  /** Q fragments loaded from the Q block kept in ks (rows NB TK..) every step instead of held in registers. */
  qs: boolean;
  /**
   * Row fragments of each subgroup's share of S = Q Kᵀ (a multiple of rf): with sr > rf a subgroup
   * computes sr fragment rows x fewer key fragments (its Q fragments: sr x D / fs in registers), so
   * each K fragment loaded feeds sr multiplies. S goes through workgroup memory anyway, so the
   * softmax rows (rf fragments per subgroup) need not be the ones the subgroup multiplied.
   */
  sr: number;
  /** Row fragments of each subgroup's share of O (a multiple of rf): or x (rf D / (or fs)) fragments; each V fragment loaded feeds or multiplies. */
  or: number;
  /** Single buffer: the next K / V tile's global loads are issued right after this tile is stored and held in registers until the next step stores them. */
  pf: boolean;
  /** Each softmax lane takes a contiguous run of its row's keys (else every LPR-th key). */
  cl: boolean;
  bq: number;
  tk: number;
  /**
   * Rows of the K tile array (NB = 1 or 2 tiles), where the Q block is staged before the key loop:
   * max(NB TK, BQ) (one pass) when that fits, else max(NB TK, rf * fs) (passes of whole subgroups).
   */
  kr: number;
  emulate: boolean;
}

interface SubgroupSizes { subgroupMinSize?: number; subgroupMaxSize?: number }

/** Shared memory of a plan: K (kr rows) and nb V tiles, scores (f32, with the per-row values and stamp in its pad), P (f16). */
export function sgmatBytes(D: number, bq: number, tk: number, kr = Math.max(tk, bq), nb = 1): number {
  return (kr + nb * tk) * (D + 8) * 2 + bq * (tk + 4) * 4 + bq * (tk + 8) * 2;
}

/** The plan for head size D, or null when the kernel cannot run it here. */
/** Whether a subgroup share of `fr` fragment rows of a product with `cols` fragment columns tiles the block (sgs x rf rows). */
function shareFits(fr: number, rf: number, sgs: number, cols: number): boolean {
  const per = (cols * rf) / fr; // fragment columns per subgroup
  return fr >= rf && fr % rf === 0 && (sgs * rf) % fr === 0 && Number.isInteger(per) && cols % per === 0;
}

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
  const rf = c.rf ?? 1;
  if (rf !== 0.5 && !Number.isInteger(rf)) return null;
  const rs = fs * rf;
  const lpr = sg / rs;
  // Q and O fragments stay in registers: rf x D / fs of each (D / fs at most 8).
  if (D % fs || D / fs > 8 || !Number.isInteger(lpr) || (lpr & (lpr - 1)) !== 0) return null;
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  // The Q block staged whole in ks when that fits, else in passes of whole subgroups' rows.
  const nb = c.db ? 2 : 1;
  // Q rows per staging pass: whole subgroup shares of S.
  const qr = Math.max(rs, (c.sr ?? Math.max(rf, 1)) * fs);
  const krOf = (sgs: number, tk: number) => {
    if (c.qs) return nb * tk + sgs * rs; // the tiles, then the Q block for the whole loop
    return sgmatBytes(D, sgs * rs, tk, Math.max(nb * tk, sgs * rs), nb) <= limit ? Math.max(nb * tk, sgs * rs) : Math.max(nb * tk, qr);
  };
  const bytes = (sgs: number, tk: number) => sgmatBytes(D, sgs * rs, tk, krOf(sgs, tk), nb);
  let { sgs, tk } = c;
  tk = Math.max(fs, Math.ceil(tk / fs) * fs);
  // Fewer subgroups first, then fewer keys per step.
  while (sgs > 1 && bytes(sgs, tk) > limit) sgs >>= 1;
  while (tk > fs && bytes(sgs, tk) > limit) tk -= fs;
  if (bytes(sgs, tk) > limit || tk % lpr || sgs * sg > dev.limits.maxComputeInvocationsPerWorkgroup) return null;
  // Shares that do not tile the final block fall back to the softmax rows' own (rf, at least one fragment row).
  const share = (want: number | undefined, cols: number) => [want, Math.max(rf, 1)].find((fr) => fr && shareFits(fr, rf, sgs, cols));
  const sr = share(c.sr, tk / fs);
  const or = share(c.or, D / fs);
  if (!sr || !or) return null;
  return { fs, sg, sgs, rf, db: !!c.db, qs: !!c.qs, sr, or, pf: !!c.pf && !c.db, cl: !!c.cl, bq: sgs * rs, tk, kr: krOf(sgs, tk), emulate };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Defines of attention_sgmat.wgsl for a plan and head size D. */
export function sgmatAttentionCode(p: SgmatPlan, D: number): Record<string, string | number> {
  const nd = D / p.fs;
  const nk = p.tk / p.fs;
  const rs = p.fs * p.rf;
  const emu = p.emulate;
  const ld = (kind: string, arr: string, off: string, cm: boolean, stride: string) =>
    emu ? `emu_ld_${arr}(${off}, ${cm}, ${stride})` : `subgroupMatrixLoad<${kind}>(&${arr}, ${off}, ${cm}, ${stride})`;
  const st = (arr: string, off: string, v: string, stride: string) =>
    emu ? `if (lane == 0u) { emu_st_${arr}(${off}, ${v}, false, ${stride}); }` : `subgroupMatrixStore(&${arr}, ${off}, ${v}, false, ${stride});`;
  const mma = (a: string, b: string, c: string) => (emu ? `emu_mma(${a}, ${b}, ${c})` : `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`);
  // This subgroup's shares: S rows sr0.. (sr fragments) x keys sk0.. (sc fragments); O rows or0..
  // (or fragments) x columns oc0.. (oc fragments). With sr = or = rf: its own softmax rows, all keys / columns.
  const sc = (nk * p.rf) / p.sr;
  const oc = (nd * p.rf) / p.or;
  const roles = `let sr0 = (sg / ${nk / sc}u) * ${p.sr * p.fs}u; let sk0 = (sg % ${nk / sc}u) * ${sc * p.fs}u; ` +
    `let or0 = (sg / ${nd / oc}u) * ${p.or * p.fs}u; let oc0 = (sg % ${nd / oc}u) * ${oc * p.fs}u;`;
  const srows = range(p.sr);
  const orows = range(p.or);
  // K / V fragment offsets as WGSL const-expressions where they can be (one buffer, one key / column
  // share): Dawn's robustness wraps every fragment load in a bounds branch unless its offset, stride
  // and array length are all constants (Tint's PredicateSubgroupMatrixCall).
  const kbE = p.db ? 'kb' : '0u';
  const sk0E = nk / sc === 1 ? '0u' : 'sk0';
  const oc0E = nd / oc === 1 ? '0u' : 'oc0';

  // Q fragments q<r>_<f> of the S rows: the block's rows staged in ks (QP rows a pass), loaded once before the key loop.
  const qrow = p.qs ? (p.db ? 2 : 1) * p.tk : 0; // first ks row of the staged Q block
  const srs = p.sr * p.fs;
  const qp = p.qs ? p.bq : Math.min(p.bq, Math.floor(p.kr / srs) * srs);
  const passes = Math.ceil(p.bq / qp);
  const qfrag = (r: number, f: number, base: string) => ld('Left', 'ks', `(${base} + ${r * p.fs}u) * KP + ${f * p.fs}u`, false, 'KP');
  const qload = p.qs ? ['stage_q(b, hk, r0, r1, lid);'] : passes === 1
    ? ['stage_q(b, hk, r0, r1, lid);', ...srows.flatMap((r) => range(nd).map((f) => `let q${r}_${f} = ${qfrag(r, f, 'sr0')};`))]
    : [
      srows.flatMap((r) => range(nd).map((f) => `var q${r}_${f} = Left();`)).join(' '),
      ...range(passes).flatMap((ps) => [
        `stage_q(b, hk, r0 + ${ps * qp}u, r1, lid);`,
        `if (sr0 / ${qp}u == ${ps}u) {`,
        ...srows.flatMap((r) => range(nd).map((f) => `  q${r}_${f} = ${qfrag(r, f, `sr0 % ${qp}u`)};`)),
        '}',
      ]),
    ];
  // S = Q Kᵀ: each key fragment feeds the sr row fragments; the sr x sc accumulators interleaved
  // per D step (independent MMA chains).
  const scores = [
    '{',
    `  ${srows.flatMap((r) => range(sc).map((kf) => `var s${r}_${kf} = Acc();`)).join(' ')}`,
    ...range(nd).flatMap((f) => [...(p.qs ? srows.map((r) => `  let q${r}_${f} = ${qfrag(r, f, `QROW + sr0`)};`) : []), ...range(sc).flatMap((kf) => [
      `  let k${kf}_${f} = ${ld('Right', 'ks', `${kbE} + (${sk0E} + ${kf * p.fs}u) * KP + ${f * p.fs}u`, true, 'KP')};`,
      ...srows.map((r) => `  s${r}_${kf} = ${mma(`q${r}_${f}`, `k${kf}_${f}`, `s${r}_${kf}`)};`),
    ])]),
    ...srows.flatMap((r) => range(sc).map((kf) => `  ${st('ss', `(sr0 + ${r * p.fs}u) * SP + sk0 + ${kf * p.fs}u`, `s${r}_${kf}`, 'SP')}`)),
    '}',
  ];
  // O += P V over the O share: each V fragment feeds the or row fragments.
  const pv = [
    ...orows.flatMap((r) => range(nk).map((kf) => `let p${r}_${kf} = ${ld('Left', 'ps', `(or0 + ${r * p.fs}u) * PP + ${kf * p.fs}u`, false, 'PP')};`)),
    ...range(oc).flatMap((f) => range(nk).map((kf) =>
      `{ let v = ${ld('Right', 'vs', `${kbE} + ${kf * p.fs}u * KP + ${oc0E} + ${f * p.fs}u`, false, 'KP')}; ${orows.map((r) => `o${r}_${f} = ${mma(`p${r}_${kf}`, 'v', `o${r}_${f}`)};`).join(' ')} }`)),
  ];
  // Softmax of the lane's keys e * LPR + part_ (e < KPL) as named values s0, s1, ...
  const kpl = p.tk / (p.sg / rs);
  const key = (e: number) => (p.cl ? `part_ * KPL + ${e}u` : `${e}u * LPR + part_`);
  const scoreRow = range(kpl).map((e) => `let s${e} = score(lrow, ${key(e)}, j0, full, lim, mrow, kend); tmax = max(tmax, s${e});`);
  const pRow = range(kpl).map((e) => `{ let p = select(exp2(s${e} - m), 0.0, is_neg_inf(s${e})); l = l + p; ps[lrow * PP + ${key(e)}] = f16(p); }`);
  // The step's K and V tiles: unit u = lid + t * WG (8 halves of key u / NCH), 16-byte loads
  // stored straight to ks / vs. Keys past kend load key kend - 1 and are masked to zero; lanes past
  // the tile's last unit load and store that unit again (branch-free).
  const nch = D / 8;
  const wg = p.sgs * p.sg;
  const units = p.tk * nch;
  // Loads (SG_LOAD: tile start jt into named registers kw<t>, vw<t>) and stores (SG_STORE: at
  // offset kt of ks / vs) are separate so that with two buffers the loads fly during the softmax.
  const ut = (t: number) => ((t + 1) * wg <= units ? `lid + ${t * wg}u` : `min(lid + ${t * wg}u, ${units - 1}u)`);
  const tiles = range(Math.ceil(units / wg));
  const load = tiles.map((t) => [
    `let u${t} = ${ut(t)}; let ju${t} = jt + u${t} / NCH; let jc${t} = min(ju${t}, kend - 1u); let keep${t} = vec4<u32>(select(0u, 0xffffffffu, ju${t} < kend));`,
    `let kw${t} = k_raw(kbase + jc${t} * params.k_ss, (u${t} % NCH) * 8u) & keep${t}; let vw${t} = v_raw(vbase + jc${t} * params.v_ss, (u${t} % NCH) * 8u) & keep${t};`,
  ].join('\n    '));
  const store = tiles.map((t) => `{ let p = kt + (u${t} / NCH) * KP + (u${t} % NCH) * 8u; put_ks(p, kw${t}); put_vs(p, vw${t}); }`);
  // With pf: the registers kw<t>, vw<t> live across steps (declared before the loop, assigned by the loads).
  const pfDecl = tiles.map((t) => `let u${t} = ${ut(t)}; var kw${t} = vec4<u32>(); var vw${t} = vec4<u32>();`);
  const pfLoad = tiles.map((t) => [
    `{ let ju = jt + u${t} / NCH; let jc = min(ju, max(kend, 1u) - 1u); let keep = vec4<u32>(select(0u, 0xffffffffu, ju < kend));`,
    `  kw${t} = k_raw(kbase + jc * params.k_ss, (u${t} % NCH) * 8u) & keep; vw${t} = v_raw(vbase + jc * params.v_ss, (u${t} % NCH) * 8u) & keep; }`,
  ].join('\n    '));
  // O fragments go through this subgroup's RS rows x TK columns of ss (rf x nk fragment slots) a
  // round at a time (rescale and epilogue); slot i holds O fragment (row r, column f) of the share.
  const frags = orows.flatMap((r) => range(oc).map((f) => [r, f]));
  // Slots: the block's BQ / fs x nk fragment positions of ss, rf x nk of them per subgroup (g = sg * per + i).
  const per = p.rf * nk;
  const rounds = range(Math.ceil(frags.length / per)).map((i) => frags.slice(i * per, (i + 1) * per));
  const slot = (i: number) => `((sg * ${per}u + ${i}u) / ${nk}u) * ${p.fs}u * SP + ((sg * ${per}u + ${i}u) % ${nk}u) * ${p.fs}u`;
  const stO = (fr: number[][]) => fr.map(([r, f], i) => st('ss', slot(i), `o${r}_${f}`, 'SP'));
  // The rare O rescale (`rescale` is workgroup-uniform): through this subgroup's slots of ss.
  const rescale = [
    'if (rescale) {',
    ...rounds.flatMap((fr) => [
      ...stO(fr),
      'workgroupBarrier();',
      ...fr.map(([r], i) => `scale_frag(${slot(i)}, or0 + ${r * p.fs}u, lane);`),
      'workgroupBarrier();',
      ...fr.map(([r, f], i) => `o${r}_${f} = ${ld('Acc', 'ss', slot(i), false, 'SP')};`),
      'workgroupBarrier();',
    ]).map((x) => `  ${x}`),
    '}',
  ];
  const epi = rounds.flatMap((fr) => [
    ...stO(fr),
    'workgroupBarrier();',
    ...fr.map(([r, f], i) => `write_frag(b, hk, r0, r1, sp, ${slot(i)}, or0 + ${r * p.fs}u, oc0 + ${f * p.fs}u, lane);`),
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
    RS: rs,
    PF: p.pf ? 1 : 0,
    SG_PF_DECL: pfDecl.join('\n  '),
    SG_PF_LOAD: pfLoad.join('\n    '),
    NB: p.db ? 2 : 1,
    DB: p.db ? 1 : 0,
    TK: p.tk,
    KR: p.kr,
    QP: qp,
    QROW: qrow,
    SG_TYPES: types,
    SG_EMU: emu ? emulation(['ks', 'vs', 'ps', 'ss']) : '',
    SG_ROLES: roles,
    SG_QLOAD: qload.join('\n  '),
    SG_DECL: orows.flatMap((r) => range(oc).map((f) => `var o${r}_${f} = Acc();`)).join(' '),
    SG_LOAD: load.join('\n    '),
    SG_STORE: store.join('\n    '),
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
