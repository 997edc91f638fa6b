// When the subgroup-matrix kernel applies: f16 operands, an adapter configuration f16 -> f32,
// a fixed subgroup size, and operands contiguous along one matrix dimension with 16-byte
// aligned strides and offsets (subgroupMatrixLoad reads them straight from storage).
import type { GpuDevice } from '../runtime/device.js';
import type { MatView, Problem } from './matmul-gpu.js';
import { memoCode } from '../kernels/memo.js';
import type { DType } from '../tensor/dtype.js';
import type { SgmatConfig } from '../tune/table.js';
import { commonDefines, SGMAT_ENABLE, type Activation, type OperandAccess, type OutputForm } from './matmul-wgsl.js';

interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

interface AdapterInfoWithSgmat {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
}

/** The adapter's subgroup-matrix configurations (empty without the feature). */
export function subgroupMatrixConfigs(dev: GpuDevice): SubgroupMatrixConfig[] {
  if (!dev.features.subgroupMatrix) return [];
  const info = (dev.adapter.info ?? {}) as AdapterInfoWithSgmat;
  return [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({
    componentType: c.componentType,
    resultComponentType: c.resultComponentType,
    M: c.M,
    N: c.N,
    K: c.K,
  }));
}

function contiguousAligned(v: MatView, q: number): boolean {
  const rowMajor = v.s1 === 1 && v.s0 % q === 0 && v.s0 > 0;
  const colMajor = v.s0 === 1 && v.s1 % q === 0 && v.s1 > 0;
  return (rowMajor || colMajor) && v.offset % q === 0 && v.bstrides.every((s) => s % q === 0);
}

/** Subgroup size and fragment shape for `p`, or null when the subgroup-matrix kernel cannot run it. */
export function sgmatShape(dev: GpuDevice, p: Problem, allowed: boolean): { size: number; m: number; n: number; k: number } | null {
  if (!allowed || !dev.features.subgroupMatrix || !dev.features.f16) return null;
  if (p.a.dtype !== 'f16' || p.b.dtype !== 'f16') return null;
  const info = (dev.adapter.info ?? {}) as AdapterInfoWithSgmat;
  const size = info.subgroupMaxSize;
  if (!size || info.subgroupMinSize !== size) return null;
  const c = subgroupMatrixConfigs(dev).find((x) => x.componentType === 'f16' && x.resultComponentType === 'f32');
  if (!c || (c.M * c.N) % (size * 4) !== 0) return null;
  // 8 f16 = 16 bytes: the alignment cooperative-matrix loads want for their stride and pointer.
  if (!contiguousAligned(p.a, 8) || !contiguousAligned(p.b, 8)) return null;
  return { size, m: c.M, n: c.N, k: c.K };
}

export type SgmatLoad = 'direct' | 'prefetch' | 'stage' | 'coop';

/**
 * Straight-line code of the SGMAT variant (see wgsl/matmul.wgsl) for one config and layout.
 * direct: each k step loads its fragments from storage; prefetch: the next step's fragments are
 * loaded before this step's multiplies; stage / coop: BK-deep tiles go through workgroup memory
 * (see stagedCode; `db`: double-buffered).
 */
function sgmatCodeUncached(
  c: { fm: number; fn: number; sgr: number; sgc: number; load?: SgmatLoad; bk?: number; db?: boolean },
  aKcont: boolean,
  bKcont: boolean,
  sgSize: number,
  frag: { m: number; n: number; k: number },
): Record<string, string> {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const accs = range(c.fm * c.fn);
  const load = c.load ?? 'direct';
  const mma = range(c.fm).flatMap((i) => range(c.fn).map((j) => `c${i * c.fn + j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, c${i * c.fn + j});`));
  const epi = accs.flatMap((f) => [
    `subgroupMatrixStore(&stage, s0, c${f}, false, SN);`,
    'workgroupBarrier();',
    `store_fragment(s0, lane, mb + ${Math.floor(f / c.fn)}u * SM, nb + ${f % c.fn}u * SN, o_base, e0_base, e1_base);`,
    'workgroupBarrier();',
  ]);
  const decl = accs.map((f) => `var c${f} = Acc();`).join(' ');
  if (load === 'direct' || load === 'prefetch') {
    const aOff = (i: number, k: string) => (aKcont ? `a_base + (mb + ${i}u * SM) * params.a_rs + ${k}` : `a_base + ${k} * params.a_rs + mb + ${i}u * SM`);
    const bOff = (j: number, k: string) => (bKcont ? `b_base + (nb + ${j}u * SN) * params.b_rs + ${k}` : `b_base + ${k} * params.b_rs + nb + ${j}u * SN`);
    const loads = (k: string, pre: string, kw: string) => [
      ...range(c.fm).map((i) => `${kw} ${pre}l${i} = subgroupMatrixLoad<Left>(&a, ${aOff(i, k)}, ${!aKcont}, params.a_rs);`),
      ...range(c.fn).map((j) => `${kw} ${pre}r${j} = subgroupMatrixLoad<Right>(&b, ${bOff(j, k)}, ${bKcont}, params.b_rs);`),
    ];
    if (load === 'direct') {
      return { SG_SHARED: '', SG_DECL: decl, SG_LOOP: ['for (var k = 0u; k < params.k; k = k + SK) {', ...loads('k', '', 'let'), ...mma, '}'].join('\n    '), SG_EPI: epi.join('\n  ') };
    }
    const swap = [...range(c.fm).map((i) => `l${i} = nl${i};`), ...range(c.fn).map((j) => `r${j} = nr${j};`)];
    return {
      SG_SHARED: '',
      SG_DECL: [decl, ...loads('0u', '', 'var')].join('\n  '),
      SG_LOOP: [
        'for (var k = 0u; k < params.k; k = k + SK) {',
        '  // The last step reloads itself: every load stays inside the operands.',
        '  let kn = select(k + SK, k, k + SK >= params.k);',
        ...loads('kn', 'n', '  let'),
        ...mma.map((x) => `  ${x}`),
        ...swap.map((x) => `  ${x}`),
        '}',
      ].join('\n  '),
      SG_EPI: epi.join('\n  '),
    };
  }
  return stagedCode({ ...c, coop: load === 'coop' }, aKcont, bKcont, sgSize, frag, decl, mma, epi.join('\n  '));
}

/**
 * Staged load mode: a BM x BK tile of A and a BK x BN tile of B per step, rows padded by 8 halves,
 * filled from 16-byte global loads held in registers one step ahead (8 two-byte workgroup stores
 * per load: WGSL has no wider store into the array<f16> that subgroupMatrixLoad reads).
 * `coop`: the tiles move as 16 x 16 fragments instead (subgroupMatrixLoad from storage, one step
 * ahead, then subgroupMatrixStore into workgroup memory: the driver picks the access width).
 * Single buffer: barrier, store, barrier, multiply. `db`: two buffers and two register sets, one
 * barrier per step; the stores of the next tile are spread between this step's multiplies and the
 * global loads go out two steps ahead (the loop body is two steps, so names and offsets are fixed).
 */
function stagedCode(
  c: { fm: number; fn: number; sgr: number; sgc: number; bk?: number; db?: boolean; coop?: boolean },
  aKcont: boolean,
  bKcont: boolean,
  sgSize: number,
  frag: { m: number; n: number; k: number },
  decl: string,
  mma: string[],
  epi: string,
): Record<string, string> {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const bm = c.sgr * c.fm * frag.m;
  const bn = c.sgc * c.fn * frag.n;
  const bk = c.bk ?? 32;
  const threads = c.sgr * c.sgc * sgSize;
  const aPitch = (aKcont ? bk : bm) + 8;
  const bPitch = (bKcont ? bk : bn) + 8;
  const aSize = (aKcont ? bm : bk) * aPitch;
  const bSize = (bKcont ? bn : bk) * bPitch;
  const aUnits = (bm * bk) / 8;
  const bUnits = (bn * bk) / 8;
  const la = Math.ceil(aUnits / threads);
  const lb = Math.ceil(bUnits / threads);
  // Unit u (8 halves along the contiguous dimension) of each tile: global element and tile slot.
  const aSlot = aKcont
    ? { g: (k: string) => `a_base + (t.x * BM + u / ${bk / 8}u) * params.a_rs + ${k} + (u % ${bk / 8}u) * 8u`, s: `(u / ${bk / 8}u) * ${aPitch}u + (u % ${bk / 8}u) * 8u` }
    : { g: (k: string) => `a_base + (${k} + u / ${bm / 8}u) * params.a_rs + t.x * BM + (u % ${bm / 8}u) * 8u`, s: `(u / ${bm / 8}u) * ${aPitch}u + (u % ${bm / 8}u) * 8u` };
  const bSlot = bKcont
    ? { g: (k: string) => `b_base + (t.y * BN + u / ${bk / 8}u) * params.b_rs + ${k} + (u % ${bk / 8}u) * 8u`, s: `(u / ${bk / 8}u) * ${bPitch}u + (u % ${bk / 8}u) * 8u` }
    : { g: (k: string) => `b_base + (${k} + u / ${bn / 8}u) * params.b_rs + t.y * BN + (u % ${bn / 8}u) * 8u`, s: `(u / ${bn / 8}u) * ${bPitch}u + (u % ${bn / 8}u) * 8u` };
  const guard = (i: number, total: number) => ((i + 1) * threads <= total ? 'true' : `u < ${total}u`);
  // Register set `r` ('' or 0/1 with db) loaded from k step `k`.
  const unitFetch = (k: string, r: string) => [
    ...range(la).map((i) => `{ let u = lid + ${i * threads}u; if (${guard(i, aUnits)}) { ra${r}_${i} = a[(${aSlot.g(k)}) >> 3u]; } }`),
    ...range(lb).map((i) => `{ let u = lid + ${i * threads}u; if (${guard(i, bUnits)}) { rb${r}_${i} = b[(${bSlot.g(k)}) >> 3u]; } }`),
  ];
  const put1 = (arr: string, reg: string, slot: string, off: number, i: number, total: number) =>
    `{ let u = lid + ${i * threads}u; if (${guard(i, total)}) { let p = ${off ? `${off}u + ` : ''}${slot}; ` +
    range(4).map((w) => `let h${w} = bitcast<vec2<f16>>(${reg}${i}[${w}]); ${arr}[p + ${2 * w}u] = h${w}.x; ${arr}[p + ${2 * w + 1}u] = h${w}.y;`).join(' ') + ' } }';
  // Stores register set `r` into buffer `buf`.
  const unitPut = (r: string, buf: number) => [
    ...range(la).map((i) => put1('sa', `ra${r}_`, aSlot.s, buf * aSize, i, aUnits)),
    ...range(lb).map((i) => put1('sb', `rb${r}_`, bSlot.s, buf * bSize, i, bUnits)),
  ];
  // coop: fragment q = sg + i * subgroups of each tile, (outer fragment, k fragment) = (q / kf, q % kf).
  const sgs = c.sgr * c.sgc;
  const kf = bk / frag.k;
  const fa = Math.ceil(((bm / frag.m) * kf) / sgs);
  const fb = Math.ceil(((bn / frag.n) * kf) / sgs);
  const fguard = (i: number, total: number) => ((i + 1) * sgs <= total ? '' : `if (sg + ${i * sgs}u < ${total}u) `);
  const aFrag = (i: number, k: string, buf: number) => {
    const q = `(sg + ${i * sgs}u)`;
    return aKcont
      ? { g: `a_base + (t.x * BM + (${q} / ${kf}u) * SM) * params.a_rs + ${k} + (${q} % ${kf}u) * SK`, s: `${buf * aSize}u + (${q} / ${kf}u) * SM * ${aPitch}u + (${q} % ${kf}u) * SK` }
      : { g: `a_base + (${k} + (${q} % ${kf}u) * SK) * params.a_rs + t.x * BM + (${q} / ${kf}u) * SM`, s: `${buf * aSize}u + (${q} % ${kf}u) * SK * ${aPitch}u + (${q} / ${kf}u) * SM` };
  };
  const bFrag = (j: number, k: string, buf: number) => {
    const q = `(sg + ${j * sgs}u)`;
    return bKcont
      ? { g: `b_base + (t.y * BN + (${q} / ${kf}u) * SN) * params.b_rs + ${k} + (${q} % ${kf}u) * SK`, s: `${buf * bSize}u + (${q} / ${kf}u) * SN * ${bPitch}u + (${q} % ${kf}u) * SK` }
      : { g: `b_base + (${k} + (${q} % ${kf}u) * SK) * params.b_rs + t.y * BN + (${q} / ${kf}u) * SN`, s: `${buf * bSize}u + (${q} % ${kf}u) * SK * ${bPitch}u + (${q} / ${kf}u) * SN` };
  };
  const aTotal = (bm / frag.m) * kf;
  const bTotal = (bn / frag.n) * kf;
  const coopFetch = (k: string, r: string) => [
    ...range(fa).map((i) => `${fguard(i, aTotal)}{ ga${r}_${i} = subgroupMatrixLoad<Left>(&a, ${aFrag(i, k, 0).g}, ${!aKcont}, params.a_rs); }`),
    ...range(fb).map((j) => `${fguard(j, bTotal)}{ gb${r}_${j} = subgroupMatrixLoad<Right>(&b, ${bFrag(j, k, 0).g}, ${bKcont}, params.b_rs); }`),
  ];
  const coopPut = (r: string, buf: number) => [
    ...range(fa).map((i) => `${fguard(i, aTotal)}{ subgroupMatrixStore(&sa, ${aFrag(i, '0u', buf).s}, ga${r}_${i}, ${!aKcont}, ${aPitch}u); }`),
    ...range(fb).map((j) => `${fguard(j, bTotal)}{ subgroupMatrixStore(&sb, ${bFrag(j, '0u', buf).s}, gb${r}_${j}, ${bKcont}, ${bPitch}u); }`),
  ];
  const coopRegs = (r: string) => [...range(fa).map((i) => `var ga${r}_${i} = Left();`), ...range(fb).map((j) => `var gb${r}_${j} = Right();`)];
  const fetch = c.coop ? coopFetch : unitFetch;
  const put = c.coop ? coopPut : unitPut;
  const rowM = '(sg / SGC) * FM * SM';
  const colN = '(sg % SGC) * FN * SN';
  // Fragment loads of fragment k step s from buffer `buf`.
  const fragLoads = (s: number, buf: number) => [
    ...range(c.fm).map((i) =>
      aKcont
        ? `let l${i} = subgroupMatrixLoad<Left>(&sa, ${buf * aSize}u + (${rowM} + ${i}u * SM) * ${aPitch}u + ${s * frag.k}u, false, ${aPitch}u);`
        : `let l${i} = subgroupMatrixLoad<Left>(&sa, ${buf * aSize + s * frag.k * aPitch}u + ${rowM} + ${i}u * SM, true, ${aPitch}u);`,
    ),
    ...range(c.fn).map((j) =>
      bKcont
        ? `let r${j} = subgroupMatrixLoad<Right>(&sb, ${buf * bSize}u + (${colN} + ${j}u * SN) * ${bPitch}u + ${s * frag.k}u, true, ${bPitch}u);`
        : `let r${j} = subgroupMatrixLoad<Right>(&sb, ${buf * bSize + s * frag.k * bPitch}u + ${colN} + ${j}u * SN, false, ${bPitch}u);`,
    ),
  ];
  const steps = bk / frag.k;
  // One block per fragment k step, so the fragment names can repeat; `extra[s]` goes between its multiplies.
  const blocks = (buf: number, extra: string[][] = []) =>
    range(steps).map((s) => {
      const body = [...fragLoads(s, buf)];
      const ex = extra[s] ?? [];
      mma.forEach((x, q) => {
        body.push(x);
        // Spread the extra statements evenly over the multiplies.
        const from = Math.floor((q * ex.length) / mma.length);
        const to = Math.floor(((q + 1) * ex.length) / mma.length);
        body.push(...ex.slice(from, to));
      });
      return `{\n      ${body.join('\n      ')}\n    }`;
    });
  const unitRegs = (r: string) => [...range(la).map((i) => `var ra${r}_${i}: vec4<u32>;`), ...range(lb).map((i) => `var rb${r}_${i}: vec4<u32>;`)];
  const regs = c.coop ? coopRegs : unitRegs;
  if (!c.db) {
    return {
      SG_SHARED: [`var<workgroup> sa: array<f16, ${aSize}>;`, `var<workgroup> sb: array<f16, ${bSize}>;`].join('\n'),
      SG_DECL: [decl, ...regs('')].join(' '),
      SG_LOOP: [
        ...fetch('0u', ''),
        `for (var k0 = 0u; k0 < params.k; k0 = k0 + ${bk}u) {`,
        '  workgroupBarrier();',
        ...put('', 0).map((x) => `  ${x}`),
        '  workgroupBarrier();',
        `  if (k0 + ${bk}u < params.k) {`,
        `    let kn = k0 + ${bk}u;`,
        ...fetch('kn', '').map((x) => `    ${x}`),
        '  }',
        ...blocks(0).map((x) => `  ${x}`),
        '}',
      ].join('\n  '),
      SG_EPI: epi,
    };
  }
  // Split a put into per-fragment-step slices so it interleaves with the multiplies.
  const slices = (xs: string[]) => range(steps).map((s) => xs.slice(Math.floor((s * xs.length) / steps), Math.floor(((s + 1) * xs.length) / steps)));
  const step = (buf: number, put: string[], fetchAt: number, set: string) => [
    ...blocks(buf, slices(put)),
    `if (k0 + ${fetchAt * bk}u < params.k) {`,
    `  let kn = k0 + ${fetchAt * bk}u;`,
    ...fetch('kn', set).map((x) => `  ${x}`),
    '}',
  ];
  // Tile t sits in register set t % 2 and buffer t % 2; step t stores tile t + 1 (stale registers
  // past the last tile land in a buffer nobody reads again) and loads tile t + 3.
  return {
    SG_SHARED: [`var<workgroup> sa: array<f16, ${2 * aSize}>;`, `var<workgroup> sb: array<f16, ${2 * bSize}>;`].join('\n'),
    SG_DECL: [decl, ...regs('0'), ...regs('1')].join(' '),
    SG_LOOP: [
      ...fetch('0u', '0'),
      `if (${bk}u < params.k) {`,
      ...fetch(`${bk}u`, '1').map((x) => `  ${x}`),
      '}',
      ...put('0', 0),
      'workgroupBarrier();',
      `if (${2 * bk}u < params.k) {`,
      ...fetch(`${2 * bk}u`, '0').map((x) => `  ${x}`),
      '}',
      `for (var k0 = 0u; k0 < params.k; k0 = k0 + ${2 * bk}u) {`,
      ...step(0, put('1', 1), 3, '1').map((x) => `  ${x}`),
      '  workgroupBarrier();',
      `  if (k0 + ${bk}u < params.k) {`,
      ...step(1, put('0', 0), 4, '0').map((x) => `    ${x}`),
      '  }',
      '  workgroupBarrier();',
      '}',
    ].join('\n  '),
    SG_EPI: epi,
  };
}

/** sgmatCode, built once per distinct arguments (src/kernels/memo.ts). */
export const sgmatCode = memoCode(sgmatCodeUncached);

/** The SGMAT variant's defines: operand access, output form and epilogue, then the config's code. */
export function sgmatDefines(
  operands: OperandAccess[], outForm: OutputForm, act: Activation | undefined, ct: DType, cfg: SgmatConfig, aK: boolean, bK: boolean,
  sg: { size: number; m: number; n: number; k: number },
): Record<string, string | number | boolean> {
  return {
    ...commonDefines(operands, outForm, act, SGMAT_ENABLE),
    SGMAT: true,
    ...sgmatCode(cfg, aK, bK, sg.size, sg),
    SG_SIZE: sg.size,
    SM: sg.m,
    SN: sg.n,
    SK: sg.k,
    FM: cfg.fm,
    FN: cfg.fn,
    SGR: cfg.sgr,
    SGC: cfg.sgc,
    CT: ct,
  };
}
