// Straight-line register code of the tiled matmul kernel (the default variant of wgsl/matmul.wgsl)
// for one tile config: named accumulators, the prefetch registers of the next k tile, the stores
// of those into workgroup memory and the multiply-accumulate steps of one k tile.
import { tileLanes, type TileConfig } from '../tune/table.js';

/** Defines of the tiled kernel for `c` (see wgsl/matmul.wgsl). */
export function tileCode(c: TileConfig, kcont: { a: boolean; b: boolean }): Record<string, string | number | boolean> {
  const threads = (c.bm / c.tm) * (c.bn / c.tn);
  const na = (c.bm * c.bk) / 4;
  const nb = (c.bn * c.bk) / 4;
  const la = Math.ceil(na / threads);
  const lb = Math.ceil(nb / threads);
  const tm4 = c.tm / 4;
  const tn4 = c.tn / 4;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const accs = range(c.tm * tn4).map((i) => `acc${i}`);
  // Unit e = lid + i * WG of each tile; only a last round that runs past the tile needs a check.
  const units = (n: number, total: number, body: (i: number) => string) =>
    range(n).map((i) => `{ let e = lid + ${i}u * WG; if (${(i + 1) * threads <= total ? 'true' : `e < ${total}u`}) { ${body(i)} } }`);
  const step = (kk: string) => [
    ...range(tm4).map((i) => `let a${i} = As[cb][${kk}][${i}u * TY + ty];`),
    ...range(tn4).map((j) => `let b${j} = Bs[cb][${kk}][${j}u * TX + tx];`),
    ...range(c.tm).flatMap((i) => range(tn4).map((j) => `acc${i * tn4 + j} = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${j}, acc${i * tn4 + j});`)),
  ];
  return {
    BM: c.bm,
    BN: c.bn,
    BK: c.bk,
    TM: c.tm,
    TN: c.tn,
    LX: tileLanes(c),
    DB: !!c.db,
    NBUF: c.db ? 2 : 1,
    PAD_A: kcont.a ? 1 : 0,
    PAD_B: kcont.b ? 1 : 0,
    ACC_DECL: accs.map((a) => `var ${a}: vec4<f32>;`).join(' '),
    STORE_OUT: range(c.tm)
      .map((i) => {
        const stores = range(tn4).map((j) => `put_out(o_base, m, n0 + ${j}u * TX * 4u + tx * 4u, acc${i * tn4 + j}, e0_base, e1_base);`);
        return `{ let m = m0 + ${i >> 2}u * TY * 4u + ty * 4u + ${i & 3}u; if (m < params.m) { ${stores.join(' ')} } }`;
      })
      .join('\n  '),
    PREFETCH_DECL: [...range(la).map((i) => `var ra${i}: vec4<f32>;`), ...range(lb).map((i) => `var rb${i}: vec4<f32>;`)].join(' '),
    FETCH: [
      ...units(la, na, (i) => `ra${i} = fetch_a(a_base, m0, kq, kend, e);`),
      ...units(lb, nb, (i) => `rb${i} = fetch_b(b_base, n0, kq, kend, e);`),
    ].join('\n      '),
    PUT: [...units(la, na, (i) => `put_a(nb, e, ra${i});`), ...units(lb, nb, (i) => `put_b(nb, e, rb${i});`)].join('\n    '),
    MAC_LOOP: c.unroll
      ? range(c.bk).map((kk) => `{\n      ${step(`${kk}u`).join('\n      ')}\n    }`).join('\n    ')
      : `for (var kk = 0u; kk < BK; kk = kk + 1u) {\n      ${step('kk').join('\n      ')}\n    }`,
  };
}
