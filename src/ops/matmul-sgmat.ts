// When the subgroup-matrix kernel applies: f16 operands, an adapter configuration f16 -> f32,
// a fixed subgroup size, and operands contiguous along one matrix dimension with 16-byte
// aligned strides and offsets (subgroupMatrixLoad reads them straight from storage).
import type { GpuDevice } from '../runtime/device.js';
import type { MatView, Problem } from './matmul-gpu.js';

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

export type SgmatLoad = 'direct' | 'prefetch' | 'stage';

/**
 * Straight-line code of the SGMAT variant (see wgsl/matmul.wgsl) for one config and layout.
 * direct: each k step loads its fragments from storage; prefetch: the next step's fragments are
 * loaded before this step's multiplies; stage: BK-deep tiles go through workgroup memory (16-byte
 * global loads into registers one tile ahead, fragments then loaded from workgroup memory).
 */
export function sgmatCode(
  c: { fm: number; fn: number; sgr: number; sgc: number; load?: SgmatLoad; bk?: number },
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
  if (load !== 'stage') {
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
  // Staged: a BM x BK tile of A and a BK x BN tile of B per step, rows padded by 8 halves.
  const bm = c.sgr * c.fm * frag.m;
  const bn = c.sgc * c.fn * frag.n;
  const bk = c.bk ?? 32;
  const threads = c.sgr * c.sgc * sgSize;
  const aPitch = (aKcont ? bk : bm) + 8;
  const bPitch = (bKcont ? bk : bn) + 8;
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
  const fetch = (k: string) => [
    ...range(la).map((i) => `{ let u = lid + ${i * threads}u; if (${guard(i, aUnits)}) { ra${i} = a[(${aSlot.g(k)}) >> 3u]; } }`),
    ...range(lb).map((i) => `{ let u = lid + ${i * threads}u; if (${guard(i, bUnits)}) { rb${i} = b[(${bSlot.g(k)}) >> 3u]; } }`),
  ];
  const put = (arr: string, reg: string, slot: string, i: number, total: number) =>
    `{ let u = lid + ${i * threads}u; if (${guard(i, total)}) { let p = ${slot}; ` +
    range(4).map((w) => `let h${w} = bitcast<vec2<f16>>(${reg}${i}[${w}]); ${arr}[p + ${2 * w}u] = h${w}.x; ${arr}[p + ${2 * w + 1}u] = h${w}.y;`).join(' ') + ' } }';
  const rowM = '(sg / SGC) * FM * SM';
  const colN = '(sg % SGC) * FN * SN';
  // One block per fragment k step, so the fragment names can repeat.
  const blocks = range(bk / frag.k).map((s) => {
    const body = [
      ...range(c.fm).map((i) =>
        aKcont
          ? `let l${i} = subgroupMatrixLoad<Left>(&sa, (${rowM} + ${i}u * SM) * ${aPitch}u + ${s * frag.k}u, false, ${aPitch}u);`
          : `let l${i} = subgroupMatrixLoad<Left>(&sa, ${s * frag.k * aPitch}u + ${rowM} + ${i}u * SM, true, ${aPitch}u);`,
      ),
      ...range(c.fn).map((j) =>
        bKcont
          ? `let r${j} = subgroupMatrixLoad<Right>(&sb, (${colN} + ${j}u * SN) * ${bPitch}u + ${s * frag.k}u, true, ${bPitch}u);`
          : `let r${j} = subgroupMatrixLoad<Right>(&sb, ${s * frag.k * bPitch}u + ${colN} + ${j}u * SN, false, ${bPitch}u);`,
      ),
      ...mma,
    ];
    return `{\n      ${body.join('\n      ')}\n    }`;
  });
  return {
    SG_SHARED: [
      `var<workgroup> sa: array<f16, ${(aKcont ? bm : bk) * aPitch}>;`,
      `var<workgroup> sb: array<f16, ${(bKcont ? bn : bk) * bPitch}>;`,
    ].join('\n'),
    SG_DECL: [decl, ...range(la).map((i) => `var ra${i}: vec4<u32>;`), ...range(lb).map((i) => `var rb${i}: vec4<u32>;`)].join(' '),
    SG_LOOP: [
      ...fetch('0u'),
      `for (var k0 = 0u; k0 < params.k; k0 = k0 + ${bk}u) {`,
      '  workgroupBarrier();',
      ...range(la).map((i) => `  ${put('sa', 'ra', aSlot.s, i, aUnits)}`),
      ...range(lb).map((i) => `  ${put('sb', 'rb', bSlot.s, i, bUnits)}`),
      '  workgroupBarrier();',
      `  if (k0 + ${bk}u < params.k) {`,
      `    let kn = k0 + ${bk}u;`,
      ...fetch('kn').map((x) => `    ${x}`),
      '  }',
      ...blocks.map((x) => `  ${x}`),
      '}',
    ].join('\n  '),
    SG_EPI: epi.join('\n  '),
  };
}
