// Straight-line register code of the tiled matmul kernel (the default variant of wgsl/matmul.wgsl)
// for one tile config: named accumulators, the prefetch registers of the next k tile, the stores
// of those into workgroup memory, the multiply-accumulate steps of one k tile and the thread's
// place in the grid.
import { tileLanes, type TileConfig } from '../tune/table.js';
import { memoCode } from '../kernels/memo.js';

/** Defines of the tiled kernel for `c` (see wgsl/matmul.wgsl); `aKcont`: A is read along k. */
function tileCodeUncached(c: TileConfig, aKcont = false): Record<string, string | number | boolean> {
  const threads = (c.bm / c.tm) * (c.bn / c.tn);
  const la = Math.ceil((c.bm * c.bk) / 4 / threads);
  const lb = Math.ceil((c.bn * c.bk) / 4 / threads);
  const tm4 = c.tm / 4;
  const tn4 = c.tn / 4;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const accs = range(c.tm * tn4).map((i) => `acc${i}`);
  // Unit e = lid + i * WG of each tile; the last round may run past the tile (e >= NA).
  const units = (n: number, total: string, body: (i: number) => string) =>
    range(n).map((i) => `{ let e = lid + ${i}u * WG; if (${(i + 1) * threads <= (total === 'NA' ? c.bm : c.bn) * c.bk / 4 ? 'true' : `e < ${total}`}) { ${body(i)} } }`);
  const fma = range(c.tm).flatMap((i) => range(tn4).map((j) => `acc${i * tn4 + j} = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${j}, acc${i * tn4 + j});`));
  // Flat tiles: ao / bo are vec4 offsets of the buffer read; CK: buffer indices, k a constant.
  const flatStep = [
    ...range(tm4).map((i) => `let a${i} = As[ao + kk * BM4 + ${i}u * TY + ty];`),
    ...range(tn4).map((j) => `let b${j} = Bs[bo + kk * BN4 + ${j}u * TX + tx];`),
    ...fma,
  ];
  const ckStep = (kk: number) => [
    ...range(tm4).map((i) => `let a${i} = As[ao][${kk}u][${i}u * TY + ty];`),
    ...range(tn4).map((j) => `let b${j} = Bs[bo][${kk}u][${j}u * TX + tx];`),
    ...fma,
  ];
  // AR: per 4 k steps, the TM rows of A as vec4 (4 k each), then each k step's B fragments.
  const ar = !!c.ar && aKcont && !c.ck;
  const arStep = (k4: string) => [
    ...range(c.tm).map((i) => `let r${i} = As[ao + (${i >> 2}u * TY * 4u + ty * 4u + ${i & 3}u) * PK + ${k4}];`),
    ...range(4).map((q) => block([
      `let kk = ${k4} * 4u + ${q}u;`,
      ...range(tn4).map((j) => `let b${j} = Bs[bo + kk * BN4 + ${j}u * TX + tx];`),
      ...range(c.tm).flatMap((i) => range(tn4).map((j) => `acc${i * tn4 + j} = fma(vec4<f32>(r${i}.${'xyzw'[q]}), b${j}, acc${i * tn4 + j});`)),
    ], '        ')),
  ];
  function block(lines: string[], indent = '      '): string {
    return `{\n${indent}${lines.join(`\n${indent}`)}\n${indent.slice(2)}}`;
  }
  const lx = tileLanes(c);
  const tx = c.bn / c.tn;
  // Register sets of the prefetched tiles: r (next tile), s (the one after, p2 only).
  const fetch = (r: string) => [
    ...units(la, 'NA', (i) => `${r}a${i} = fetch_a(a_base, m0, kq, kend, e);`),
    ...units(lb, 'NB', (i) => `${r}b${i} = fetch_b(b_base, n0, kq, kend, e);`),
  ];
  const put = (r: string) => [...units(la, 'NA', (i) => `put_a(pa, e, ${r}a${i});`), ...units(lb, 'NB', (i) => `put_b(pb, e, ${r}b${i});`)];
  const mac = c.ck
    ? range(c.bk).map((kk) => block(ckStep(kk)))
    : ar
      ? c.unroll
        ? range(c.bk / 4).map((k4) => block(arStep(`${k4}u`)))
        : [`for (var k4 = 0u; k4 < BK4; k4 = k4 + 1u) ${block(arStep('k4'))}`]
      : c.unroll
        ? range(c.bk).map((kk) => block([`let kk = ${kk}u;`, ...flatStep]))
        : [`for (var kk = 0u; kk < BK; kk = kk + 1u) ${block(flatStep)}`];
  return {
    BM: c.bm,
    BN: c.bn,
    BK: c.bk,
    TM: c.tm,
    TN: c.tn,
    DB: !!c.db,
    CK: !!c.ck,
    NBUF: c.db || c.pl ? 2 : 1,
    // Row-major thread grid, or groups of 32 threads covering (32 / lx) x lx threads of it.
    THREAD_XY:
      lx === Math.min(tx, 32)
        ? 'let tx = lid % TX;\n  let ty = lid / TX;'
        : `let tx = ((lid / 32u) % ${tx / lx}u) * ${lx}u + lid % ${lx}u;\n  let ty = ((lid / 32u) / ${tx / lx}u) * ${32 / lx}u + (lid % 32u) / ${lx}u;`,
    ACC_DECL: accs.map((a) => `var ${a}: vec4<f32>;`).join(' '),
    ACC_LIST: accs.join(', '),
    // CK: TM4 x TN4 blocks of 4 x 4 per thread, TY * 4 rows and TX * 4 columns apart.
    STORE_OUT: range(c.tm)
      .map((i) => {
        const stores = range(tn4).map((j) => `put_out(o_base, m, n0 + ${j}u * TX * 4u + tx * 4u, acc${i * tn4 + j}, e0_base, e1_base);`);
        return `{ let m = m0 + ${i >> 2}u * TY * 4u + ty * 4u + ${i & 3}u; if (m < params.m) { ${stores.join(' ')} } }`;
      })
      .join('\n  '),
    PREFETCH_DECL: (c.pl && c.p2 ? ['r', 's'] : ['r'])
      .flatMap((r) => [...range(la).map((i) => `var ${r}a${i}: vec4<f32>;`), ...range(lb).map((i) => `var ${r}b${i}: vec4<f32>;`)])
      .join(' '),
    AR: ar,
    MAC_LOOP: mac.join('\n    '),
    K_LOOP: kLoop(c, fetch, put, mac).join('\n  '),
  };
}

/**
 * The k loop over [kbeg, kend): the first tiles fetched into registers, then per k step the next
 * tiles fetched while the current ones are multiplied. One buffer: store, barrier, multiply,
 * barrier. DB: two buffers (offsets pa / ao alternate at run time), one barrier per step. PL: two
 * buffers with the loop unrolled by two, so each half's buffer offsets are constants, and the
 * fetch unconditional (past kend the loaders return zeros); p2: two tiles ahead in registers.
 */
function kLoop(c: TileConfig, fetch: (r: string) => string[], put: (r: string) => string[], mac: string[]): string[] {
  const ind = (lines: string[], pad: string) => lines.map((l) => pad + l);
  if (c.pl) {
    // p2: tile t + 2 is fetched (into the set tile t came in) while tile t is multiplied.
    const ahead = c.p2 ? 2 : 1;
    const half = (j: number) => {
      const [buf, next] = j === 0 ? ['0u', 'ASTEP'] : ['ASTEP', '0u'];
      const [fr, pr] = c.p2 ? (j === 0 ? ['r', 's'] : ['s', 'r']) : ['r', 'r'];
      return [
        `  kq = k0 + ${j + ahead}u * BK;`, ...ind(fetch(fr), '  '),
        '  {', `    const ao = ${buf};`, `    const bo = ${buf === '0u' ? '0u' : 'BSTEP'};`, ...ind(mac, '    '), '  }',
        '  {', `    const pa = ${next};`, `    const pb = ${next === '0u' ? '0u' : 'BSTEP'};`, ...ind(put(pr), '    '), '  }',
        '  workgroupBarrier();',
      ];
    };
    return [
      'var kq = kbeg;', ...fetch('r'),
      ...(c.p2 ? ['kq = kbeg + BK;', ...fetch('s')] : []),
      '{', '  const pa = 0u;', '  const pb = 0u;', ...ind(put('r'), '  '), '}',
      'workgroupBarrier();',
      'for (var k0 = kbeg; k0 < kend; k0 = k0 + 2u * BK) {',
      ...half(0),
      '  if (k0 + BK >= kend) { break; }',
      ...half(1),
      '}',
    ];
  }
  const [fetchR, putR] = [fetch('r'), put('r')];
  if (c.db) {
    return [
      'var kq = kbeg;', ...fetchR,
      'var pa = 0u;', 'var pb = 0u;', ...putR,
      'workgroupBarrier();',
      'for (var k0 = kbeg; k0 < kend; k0 = k0 + BK) {',
      '  let ao = pa;', '  let bo = pb;', '  kq = k0 + BK;', '  let more = kq < kend;',
      '  if (more) {', ...ind(fetchR, '    '), '  }',
      ...ind(mac, '  '),
      '  if (more) {', '    pa = ASTEP - ao;', '    pb = BSTEP - bo;', ...ind(putR, '    '), '  }',
      '  workgroupBarrier();',
      '}',
    ];
  }
  return [
    'var kq = kbeg;', ...fetchR,
    'let pa = 0u;', 'let pb = 0u;', 'let ao = 0u;', 'let bo = 0u;',
    'for (var k0 = kbeg; k0 < kend; k0 = k0 + BK) {',
    ...ind(putR, '  '),
    '  workgroupBarrier();',
    '  // Prefetch the next tiles while this one is multiplied.',
    '  kq = k0 + BK;',
    '  if (kq < kend) {', ...ind(fetchR, '    '), '  }',
    ...ind(mac, '  '),
    '  workgroupBarrier();',
    '}',
  ];
}

/** tileCode, built once per distinct arguments (src/kernels/memo.ts). */
export const tileCode = memoCode(tileCodeUncached);
