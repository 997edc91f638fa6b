// The subgroup-matrix attention kernel (wgsl/attention_sgmat.wgsl): when it applies, its shape,
// and its straight-line fragment code (Q and O fragments are named registers, as in matmul).
// `emulate` replaces the subgroup-matrix types and builtins with plain WGSL (every lane holds a
// whole fragment), so the generated code can be checked on adapters without the feature.
import type { GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import type { AttentionSgmatConfig } from '../tune/table.js';
import { sgmatEmulation } from './attention-sgmat-emu.js';
import { subgroupMatrixConfigs } from './matmul-sgmat.js';
import { memoCode } from '../kernels/memo.js';

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
  /**
   * One buffer, K a tile ahead of V: K(j + 1) and V(j) are stored between the scores and the
   * softmax of step j (K(j) is dead, P V(j - 1) done), so a step has 2 barriers instead of 4; the
   * global loads of K(j + 2) and V(j + 1) are held in registers until the next step.
   */
  ka: boolean;
  /**
   * Workgroup arrays as arrays of fragment-row blocks (fs rows each): every fragment access is
   * `&arr[block]` plus a constant offset, so Dawn's robustness pass (Tint's
   * PredicateSubgroupMatrixCall) skips its bounds branch: it keeps it unless the array length,
   * stride and offset are all constants. Flat arrays: only the K / V fragments of one buffer and
   * one share get constant offsets.
   */
  cf: boolean;
  /** K / V fragment offsets from runtime values (sk0, oc0, kb) even where constants would do: the code before constant offsets, for comparison. */
  rk: boolean;
  /**
   * cf: column groups of ss (one per key share of S, nk / sc) and of vs (one per column share of O,
   * nd / oc), each block being fs rows of one group with its own pad, so a share's column offset
   * is a block too and its fragment offsets stay constant; 1 when there is one share, or when
   * the groups' pads would not fit workgroup memory.
   */
  scg: number;
  vcg: number;
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

/**
 * Shared memory of a plan: K (kr rows) and nb V tiles, scores (f32, with the per-row values and
 * stamp in its pad), P (f16); with scg / vcg column groups of ss / vs, each with its own pad.
 */
export function sgmatBytes(D: number, bq: number, tk: number, kr = Math.max(tk, bq), nb = 1, scg = 1, vcg = 1): number {
  return kr * (D + 8) * 2 + nb * tk * (D + 8 * vcg) * 2 + bq * (tk + 4 * scg) * 4 + bq * (tk + 8) * 2;
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
  const ka = !!c.ka && !c.db;
  const kr = krOf(sgs, tk);
  // Column groups (cf): one per share of S's keys (sr / rf of them) and of O's columns (or / rf),
  // when their pads fit; else the shares' column offsets stay runtime values.
  let [scg, vcg] = c.cf && !c.rk ? [sr / rf, or / rf] : [1, 1];
  if (sgmatBytes(D, sgs * rs, tk, kr, nb, scg, vcg) > limit) [scg, vcg] = [1, 1];
  return {
    fs, sg, sgs, rf, db: !!c.db, qs: !!c.qs, sr, or, pf: !!c.pf && !c.db && !ka, cl: !!c.cl, ka, cf: !!c.cf, rk: !!c.rk, scg, vcg,
    bq: sgs * rs, tk, kr, emulate,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A fragment's place in a workgroup array: block (cf layout; '0u' flat) and offset inside it. */
interface At { blk: string; off: string }

/** Defines of attention_sgmat.wgsl for a plan and head size D. */
function sgmatAttentionCodeUncached(p: SgmatPlan, D: number): Record<string, string | number> {
  const fs = p.fs;
  const nd = D / fs;
  const nk = p.tk / fs;
  const rs = fs * p.rf;
  const emu = p.emulate;
  // A fragment whose first row `row` is a multiple of fs, at column `col` of an array of pitch P:
  // flat, offset row * P + col; cf, block row / fs and offset col (a constant where col is). With
  // G column groups (cf), column group `grp` of the row's blocks, col inside it.
  const frag = (pitch: string, row: string, col: string, grp = '', G = 1): At =>
    p.cf
      ? { blk: G > 1 ? `((${row}) / ${fs}u) * ${G}u + ${grp}` : `(${row}) / ${fs}u`, off: col }
      : { blk: '0u', off: `(${row}) * ${pitch} + ${col}` };
  const sw = p.tk / p.scg; // keys per column group of ss
  const vw = D / p.vcg; // columns per column group of vs
  const ref = (arr: string, a: At) => (p.cf ? `&${arr}[${a.blk}]` : `&${arr}`);
  const ld = (kind: string, arr: string, a: At, cm: boolean, stride: string) =>
    emu ? `emu_ld_${arr}(${a.blk}, ${a.off}, ${cm}, ${stride})` : `subgroupMatrixLoad<${kind}>(${ref(arr, a)}, ${a.off}, ${cm}, ${stride})`;
  const st = (arr: string, a: At, v: string, stride: string) =>
    emu ? `if (lane == 0u) { emu_st_${arr}(${a.blk}, ${a.off}, ${v}, false, ${stride}); }` : `subgroupMatrixStore(${ref(arr, a)}, ${a.off}, ${v}, false, ${stride});`;
  // One element (row, col) of a workgroup array of pitch P (cf with G column groups of width W:
  // col's group in the row's blocks).
  const el = (arr: string, pitch: string, row: string, col: string, G = 1, W = '') =>
    !p.cf ? `${arr}[(${row}) * ${pitch} + ${col}]`
      : G > 1 ? `${arr}[((${row}) / FS) * ${G}u + (${col}) / ${W}][((${row}) % FS) * ${pitch} + (${col}) % ${W}]`
        : `${arr}[(${row}) / FS][((${row}) % FS) * ${pitch} + ${col}]`;
  const mma = (a: string, b: string, c: string) => (emu ? `emu_mma(${a}, ${b}, ${c})` : `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`);
  // This subgroup's shares: S rows sr0.. (sr fragments) x keys sk0.. (sc fragments); O rows or0..
  // (or fragments) x columns oc0.. (oc fragments). With sr = or = rf: its own softmax rows, all keys / columns.
  const sc = (nk * p.rf) / p.sr;
  const oc = (nd * p.rf) / p.or;
  const roles = `let sr0 = (sg / ${nk / sc}u) * ${p.sr * fs}u; let sk0 = (sg % ${nk / sc}u) * ${sc * fs}u; ` +
    `let or0 = (sg / ${nd / oc}u) * ${p.or * fs}u; let oc0 = (sg % ${nd / oc}u) * ${oc * fs}u;`;
  const srows = range(p.sr);
  const orows = range(p.or);
  // Share offsets as WGSL const-expressions where there is one share (Dawn's robustness wraps a
  // fragment access in a bounds branch unless its offset, stride and array length are constants);
  // rk keeps the runtime values. kb: first row of this step's K / V buffer.
  const kbE = p.db || p.rk ? 'kb' : '0u';
  const sk0E = nk / sc === 1 && !p.rk ? '0u' : 'sk0';
  const oc0E = nd / oc === 1 && !p.rk ? '0u' : 'oc0';

  // Q fragments q<r>_<f> of the S rows: the block's rows staged in ks (QP rows a pass), loaded once before the key loop.
  const qrow = p.qs ? (p.db ? 2 : 1) * p.tk : 0; // first ks row of the staged Q block
  const srs = p.sr * fs;
  const qp = p.qs ? p.bq : Math.min(p.bq, Math.floor(p.kr / srs) * srs);
  const passes = Math.ceil(p.bq / qp);
  const qfrag = (r: number, f: number, base: string) => ld('Left', 'ks', frag('KP', `${base} + ${r * fs}u`, `${f * fs}u`), false, 'KP');
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
      `  let k${kf}_${f} = ${ld('Right', 'ks', frag('KP', `${kbE} + ${sk0E} + ${kf * fs}u`, `${f * fs}u`), true, 'KP')};`,
      ...srows.map((r) => `  s${r}_${kf} = ${mma(`q${r}_${f}`, `k${kf}_${f}`, `s${r}_${kf}`)};`),
    ])]),
    ...srows.flatMap((r) => range(sc).map((kf) => `  ${st('ss', p.scg > 1
      ? frag('SP', `sr0 + ${r * fs}u`, `${kf * fs}u`, `sk0 / ${sw}u`, p.scg)
      : frag('SP', `sr0 + ${r * fs}u`, `${sk0E} + ${kf * fs}u`), `s${r}_${kf}`, 'SP')}`)),
    '}',
  ];
  // O += P V over the O share: each V fragment feeds the or row fragments.
  const pv = [
    ...orows.flatMap((r) => range(nk).map((kf) => `let p${r}_${kf} = ${ld('Left', 'ps', frag('PP', `or0 + ${r * fs}u`, `${kf * fs}u`), false, 'PP')};`)),
    ...range(oc).flatMap((f) => range(nk).map((kf) =>
      `{ let v = ${ld('Right', 'vs', p.vcg > 1
        ? frag('VP', `${kbE} + ${kf * fs}u`, `${f * fs}u`, `oc0 / ${vw}u`, p.vcg)
        : frag('VP', `${kbE} + ${kf * fs}u`, `${oc0E} + ${f * fs}u`), false, 'VP')}; ${orows.map((r) => `o${r}_${f} = ${mma(`p${r}_${kf}`, 'v', `o${r}_${f}`)};`).join(' ')} }`)),
  ];
  // Softmax of the lane's keys e * LPR + part_ (e < KPL) as named values s0, s1, ...; the lane's
  // row is block lb, offsets lso (ss) and lpo (ps) in it (flat: lb = 0).
  const lpr = p.sg / rs;
  const kpl = p.tk / lpr;
  const key = (e: number) => (p.cl ? `part_ * KPL + ${e}u` : `${e}u * LPR + part_`);
  const inRow = (arr: string, base: string, e: number) => {
    if (!p.cf) return `${arr}[${base} + ${key(e)}]`;
    if (arr !== 'ss' || p.scg === 1) return `${arr}[lb][${base} + ${key(e)}]`;
    // Keys e * LPR + part_ (part_ < LPR, LPR divides the group width) stay in one group: a constant.
    if (!p.cl) return `ss[lb * SCG + ${Math.floor((e * lpr) / sw)}u][${base} + ${(e * lpr) % sw}u + part_]`;
    return `ss[lb * SCG + (${key(e)}) / SW][${base} + (${key(e)}) % SW]`;
  };
  const scoreRow = range(kpl).map((e) => `let s${e} = score(${inRow('ss', 'lso', e)}, ${key(e)}, j0, full, lim, mrow, kend); tmax = max(tmax, s${e});`);
  const pRow = range(kpl).map((e) => `{ let p = select(exp2(s${e} - m), 0.0, is_neg_inf(s${e})); l = l + p; ${inRow('ps', 'lpo', e)} = f16(p); }`);
  // The step's K and V tiles: unit u = lid + t * WG (8 halves of key u / NCH), 16-byte loads
  // stored to ks / vs rows kt... Keys past kend load key kend - 1 and are masked to zero; lanes past
  // the tile's last unit load and store that unit again (branch-free).
  const nch = D / 8;
  const wg = p.sgs * p.sg;
  const units = p.tk * nch;
  const ut = (t: number) => ((t + 1) * wg <= units ? `lid + ${t * wg}u` : `min(lid + ${t * wg}u, ${units - 1}u)`);
  const tiles = range(Math.ceil(units / wg));
  // Loads (SG_LOAD: tile start jt into named registers kw<t>, vw<t>) and stores (SG_STORE) are
  // separate so that with two buffers the loads fly during the softmax.
  const load = tiles.map((t) => [
    `let u${t} = ${ut(t)}; let ju${t} = jt + u${t} / NCH; let jc${t} = min(ju${t}, kend - 1u); let keep${t} = vec4<u32>(select(0u, 0xffffffffu, ju${t} < kend));`,
    `let kw${t} = k_raw(kbase + jc${t} * params.k_ss, (u${t} % NCH) * 8u) & keep${t}; let vw${t} = v_raw(vbase + jc${t} * params.v_ss, (u${t} % NCH) * 8u) & keep${t};`,
  ].join('\n    '));
  // The 8 halves of register w into arr at row r, columns c.. (inline: no function parameters
  // between the index and its array, so the robustness pass sees the whole index).
  const put = (arr: string, w: string) => {
    const at = (i: number) => (arr === 'ks' ? el(arr, 'KP', 'r', `c + ${i}u`) : el(arr, 'VP', 'r', `c + ${i}u`, p.vcg, 'VW'));
    return ['x', 'y', 'z', 'w'].map((x, i) => `let ${arr}${x} = bitcast<vec2<f16>>(${w}.${x}); ${at(2 * i)} = ${arr}${x}.x; ${at(2 * i + 1)} = ${arr}${x}.y;`).join(' ');
  };
  const storeOf = (which: ('ks' | 'vs')[]) => tiles.map((t) =>
    `{ let r = kt + u${t} / NCH; let c = (u${t} % NCH) * 8u; ${which.map((a) => put(a, `${a === 'ks' ? 'kw' : 'vw'}${t}`)).join(' ')} }`);
  // With pf / ka: the registers kw<t>, vw<t> live across steps (declared before the loop, assigned
  // by the loads: K from tile start jk, V from jv).
  const pfDecl = tiles.map((t) => `let u${t} = ${ut(t)}; var kw${t} = vec4<u32>(); var vw${t} = vec4<u32>();`);
  const loadOf = (w: 'kw' | 'vw', j: string) => tiles.map((t) => [
    `{ let ju = ${j} + u${t} / NCH; let jc = min(ju, max(kend, 1u) - 1u); let keep = vec4<u32>(select(0u, 0xffffffffu, ju < kend));`,
    w === 'kw'
      ? `  kw${t} = k_raw(kbase + jc * params.k_ss, (u${t} % NCH) * 8u) & keep; }`
      : `  vw${t} = v_raw(vbase + jc * params.v_ss, (u${t} % NCH) * 8u) & keep; }`,
  ].join('\n    '));
  // O fragments go through the block's fragment slots of ss (rf x nk per subgroup, g = sg * per + i)
  // a round at a time (rescale and epilogue); slot i holds O fragment (row r, column f) of the share.
  const frags = orows.flatMap((r) => range(oc).map((f) => [r, f]));
  const per = p.rf * nk;
  const rounds = range(Math.ceil(frags.length / per)).map((i) => frags.slice(i * per, (i + 1) * per));
  const slot = (i: number): At => {
    const row = `((sg * ${per}u + ${i}u) / ${nk}u) * ${fs}u`;
    // With whole fragment rows per subgroup the slot's column is a constant.
    const kc = per % nk === 0 ? `${i % nk}u` : `((sg * ${per}u + ${i}u) % ${nk}u)`;
    if (p.scg === 1) return frag('SP', row, per % nk === 0 ? `${(i % nk) * fs}u` : `${kc} * ${fs}u`);
    return per % nk === 0
      ? frag('SP', row, `${((i % nk) * fs) % sw}u`, `${Math.floor(((i % nk) * fs) / sw)}u`, p.scg)
      : frag('SP', row, `(${kc} * ${fs}u) % SW`, `(${kc} * ${fs}u) / SW`, p.scg);
  };
  const stO = (fr: number[][]) => fr.map(([r, f], i) => st('ss', slot(i), `o${r}_${f}`, 'SP'));
  // The rare O rescale (`rescale` is workgroup-uniform): through this subgroup's slots of ss.
  const rescale = [
    'if (rescale) {',
    ...rounds.flatMap((fr) => [
      ...stO(fr),
      'workgroupBarrier();',
      ...fr.map(([r], i) => `scale_frag(${slot(i).blk}, ${slot(i).off}, or0 + ${r * fs}u, lane);`),
      'workgroupBarrier();',
      ...fr.map(([r, f], i) => `o${r}_${f} = ${ld('Acc', 'ss', slot(i), false, 'SP')};`),
      'workgroupBarrier();',
    ]).map((x) => `  ${x}`),
    '}',
  ];
  const epi = rounds.flatMap((fr) => [
    ...stO(fr),
    'workgroupBarrier();',
    ...fr.map(([r, f], i) => `write_frag(b, hk, r0, r1, sp, ${slot(i).blk}, ${slot(i).off}, or0 + ${r * fs}u, oc0 + ${f * fs}u, lane);`),
    'workgroupBarrier();',
  ]);
  const types = emu
    ? ['alias Left = mat4x4<f32>;', 'alias Right = mat4x4<f32>;', 'alias Acc = mat4x4<f32>;'].join('\n')
    : [`alias Left = subgroup_matrix_left<f16, ${fs}, ${fs}>;`, `alias Right = subgroup_matrix_right<f16, ${fs}, ${fs}>;`,
      `alias Acc = subgroup_matrix_result<f32, ${fs}, ${fs}>;`].join('\n');
  return {
    SG_SIZE: p.sg,
    FS: fs,
    NSG: p.sgs,
    RS: rs,
    PF: p.pf ? 1 : 0,
    KA: p.ka ? 1 : 0,
    CF: p.cf ? 1 : 0,
    SCG: p.scg,
    VCG: p.vcg,
    SS_FLAG: p.cf ? 'ss[0][FLAG]' : 'ss[FLAG]',
    SS_KVL: p.cf ? 'ss[0][KVL]' : 'ss[KVL]',
    SG_PF_DECL: pfDecl.join('\n  '),
    SG_PF_LOAD: [...loadOf('kw', 'jt'), ...loadOf('vw', 'jt')].join('\n    '),
    SG_K_LOAD: loadOf('kw', 'jk').join('\n    '),
    SG_V_LOAD: loadOf('vw', 'jv').join('\n    '),
    NB: p.db ? 2 : 1,
    DB: p.db ? 1 : 0,
    TK: p.tk,
    KR: p.kr,
    QP: qp,
    QROW: qrow,
    SG_TYPES: types,
    SG_EMU: emu ? sgmatEmulation(['ks', 'vs', 'ps', 'ss'], p.cf) : '',
    SG_ROLES: roles,
    SG_QLOAD: qload.join('\n  '),
    SG_DECL: orows.flatMap((r) => range(oc).map((f) => `var o${r}_${f} = Acc();`)).join(' '),
    SG_LOAD: load.join('\n    '),
    SG_STORE: storeOf(['ks', 'vs']).join('\n    '),
    SG_K_STORE: storeOf(['ks']).join('\n    '),
    SG_V_STORE: storeOf(['vs']).join('\n    '),
    SG_SCORES: scores.join('\n    '),
    SG_SCORE_ROW: scoreRow.join('\n    '),
    SG_P_ROW: pRow.join('\n    '),
    SG_RESCALE: rescale.join('\n    '),
    SG_PV: pv.join('\n    '),
    SG_EPI: epi.join('\n  '),
  };
}

/** sgmatAttentionCode, built once per distinct arguments (src/kernels/memo.ts). */
export const sgmatAttentionCode = memoCode(sgmatAttentionCodeUncached);
