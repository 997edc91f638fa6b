// Plain-WGSL stand-ins for subgroupMatrixLoad / Store / MultiplyAccumulate on 4x4 fragments, so
// the subgroup-matrix attention kernel's generated code runs (and is checked) on adapters without
// the feature: every lane holds the whole fragment as a mat4x4 (element (i, j) = m[j][i], so a * b
// is the fragment product), straight-line so a CPU adapter compiles it quickly.

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * emu_ld_<arr>(blk, off, cm, st) for each array and emu_st_ss; `blocks`: the arrays are arrays of
 * fragment-row blocks (blk selects one, off is inside it), else flat (blk ignored).
 */
export function sgmatEmulation(arrays: string[], blocks: boolean): string {
  const cells = range(16).map((e) => [Math.floor(e / 4), e % 4]);
  const at = (i: number, j: number) => `select(off + ${i}u * st + ${j}u, off + ${j}u * st + ${i}u, cm)`;
  const el = (a: string, i: number, j: number) => (blocks ? `${a}[blk][${at(i, j)}]` : `${a}[${at(i, j)}]`);
  return [
    ...arrays.map((a) => [
      `fn emu_ld_${a}(blk: u32, off: u32, cm: bool, st: u32) -> Acc {`,
      '  var r: Acc;',
      ...cells.map(([i, j]) => `  r[${j}][${i}] = f32(${el(a, i, j)});`),
      '  return r;',
      '}',
    ].join('\n')),
    ['fn emu_st_ss(blk: u32, off: u32, v: Acc, cm: bool, st: u32) {', ...cells.map(([i, j]) => `  ${el('ss', i, j)} = v[${j}][${i}];`), '}'].join('\n'),
    'fn emu_mma(a: Acc, b: Acc, c: Acc) -> Acc { return c + a * b; }',
  ].join('\n\n');
}
