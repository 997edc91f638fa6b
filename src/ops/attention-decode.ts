// Straight-line code of the DECODE variant (wgsl/attention_decode.wgsl): every query row, chunk and
// key of a step is a named variable, so nothing lives in an indexed array (which GPU compilers may
// keep in local memory: the first version, with loops over arrays, spent ~5 µs per key step on an H100).
// With a prefetching plan the K/V words of the next step load into the kr/vr registers before the
// current step's math (two steps of loads in flight per lane).
import type { GpuDevice } from '../runtime/device.js';
import { fusedScratch, type FusedScratch } from '../runtime/fused-scratch.js';
import type { DecodePlan } from './attention-kernels.js';
import { memoCode } from '../kernels/memo.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** DEC_SETUP, DEC_LOAD0, DEC_STEP and DEC_MERGE for a decode plan. */
function decodeCodeUncached(p: DecodePlan): Record<string, string> {
  const R = range(p.r);
  const C = range(p.nc);
  const U = range(p.ku);
  const setup = [
    // Chunk c of this lane: elements d{c} .. +8 (loads clamped inside the row; q is 0 past D).
    ...C.map((c) => `let d${c} = (${c}u * DT + dl) * 8u; let dl${c} = min(d${c}, DP - 8u); let qk${c} = select(0.0, params.scale, d${c} < D);`),
    ...R.flatMap((r) => [
      `let row${r} = min(r0 + ${r}u, r1 - 1u);`,
      `let lim${r} = row_end(row${r}, S);`,
      `let mrow${r} = mask_row(b, hk, row${r});`,
      `var m${r} = inf_f32(true); var l${r} = 0.0;`,
      ...C.flatMap((c) => [
        `let q${r}_${c} = q8(q_row(b, hk, row${r}), dl${c});`,
        `let qa${r}_${c} = q${r}_${c}.a * qk${c}; let qb${r}_${c} = q${r}_${c}.b * qk${c};`,
        `var aa${r}_${c} = vec4<f32>(0.0); var ab${r}_${c} = vec4<f32>(0.0);`,
      ]),
    ]),
    `var kend_rows = lim0;`,
    ...R.slice(1).map((r) => `kend_rows = max(kend_rows, lim${r});`),
  ];
  // Raw words of key u (index expression j), chunk c: loaded now, unpacked when used.
  const loads = (u: number, j: string, decl: string) => C.flatMap((c) => [
    `${decl}kr${u}_${c} = k_raw(kbase + ${j} * params.k_ss, dl${c});`,
    `${decl}vr${u}_${c} = v_raw(vbase + ${j} * params.v_ss, dl${c});`,
  ]);
  const load0 = p.pf ? U.flatMap((u) => loads(u, `min(kbeg + slot + ${u}u * KP, klast)`, 'var ')) : [];
  const step = [
    ...U.map((u) => `let j${u} = jb + ${u}u * KP;`),
    ...(p.pf
      ? [
        ...U.flatMap((u) => C.map((c) => `let k${u}_${c} = k_unpack(kr${u}_${c}); let v${u}_${c} = v_unpack(vr${u}_${c});`)),
        ...U.flatMap((u) => [`let jn${u} = min(j${u} + STEP, klast);`, ...loads(u, `jn${u}`, '')]),
      ]
      : U.flatMap((u) => [
        `let jc${u} = min(j${u}, klast);`,
        ...loads(u, `jc${u}`, 'let '),
        ...C.map((c) => `let k${u}_${c} = k_unpack(kr${u}_${c}); let v${u}_${c} = v_unpack(vr${u}_${c});`),
      ])),
    ...R.flatMap((r) => U.map((u) => `var s${r}_${u} = ${C.map((c) => `dot(qa${r}_${c}, k${u}_${c}.a) + dot(qb${r}_${c}, k${u}_${c}.b)`).join(' + ')};`)),
    ...(p.subgroups
      ? [
        // Butterfly over the DT lanes of the key group: every lane ends with the same sum.
        'for (var o = DT / 2u; o > 0u; o = o >> 1u) {',
        ...R.flatMap((r) => U.map((u) => `  s${r}_${u} = s${r}_${u} + subgroupShuffleXor(s${r}_${u}, o);`)),
        '}',
      ]
      : [
        ...R.flatMap((r) => U.map((u) => `red[(slot * R * KU + ${r * p.ku + u}u) * DT + dl] = s${r}_${u};`)),
        'workgroupBarrier();',
        ...R.flatMap((r) => U.map((u) => `s${r}_${u} = 0.0; for (var x = 0u; x < DT; x = x + 1u) { s${r}_${u} = s${r}_${u} + red[(slot * R * KU + ${r * p.ku + u}u) * DT + x]; }`)),
        'workgroupBarrier();',
      ]),
    ...R.flatMap((r) => [
      '{',
      `  let end = min(kend, lim${r});`,
      ...U.map((u) => `  let t${u} = select(inf_f32(true), s${r}_${u} + mask_at(mrow${r}, j${u}), j${u} < end);`),
      `  let tmax = ${U.slice(1).reduce((acc, u) => `max(${acc}, t${u})`, 't0')};`,
      '  if (!is_neg_inf(tmax)) {',
      `    let mn = max(m${r}, tmax);`,
      `    let alpha = select(exp2(m${r} - mn), 0.0, is_neg_inf(m${r}));`,
      ...U.map((u) => `    let p${u} = select(exp2(t${u} - mn), 0.0, is_neg_inf(t${u}));`),
      `    l${r} = l${r} * alpha + ${U.map((u) => `p${u}`).join(' + ')};`,
      ...C.flatMap((c) => [
        `    aa${r}_${c} = aa${r}_${c} * alpha + ${U.map((u) => `p${u} * v${u}_${c}.a`).join(' + ')};`,
        `    ab${r}_${c} = ab${r}_${c} * alpha + ${U.map((u) => `p${u} * v${u}_${c}.b`).join(' + ')};`,
      ]),
      `    m${r} = mn;`,
      '  }',
      '}',
    ]),
  ];
  const merge = R.flatMap((r) => [
    `if (r0 + ${r}u < r1) {`,
    '  workgroupBarrier();',
    `  if (dl == 0u) { mrg_ml[slot] = vec2<f32>(m${r}, l${r}); }`,
    ...C.map((c) => `  if (d${c} < DP) { mrg_put(slot * DP + d${c}, aa${r}_${c}, ab${r}_${c}); }`),
    '  workgroupBarrier();',
    `  merge_row(b, hk, r0 + ${r}u, wk.sp, lid);`,
    '}',
  ]);
  return { DEC_SETUP: setup.join('\n  '), DEC_LOAD0: load0.join('\n  '), DEC_STEP: step.join('\n    '), DEC_MERGE: merge.join('\n  ') };
}

/** Largest partials buffer the fused path keeps (past it the partials go through the combine pass). */
export const FUSED_MAX_BYTES = 64 * 2 ** 20;

/** The fused decode's buffers (src/runtime/fused-scratch.ts), or null: run the combine pass. */
export const decodeScratch = (dev: GpuDevice, words: number, blocks: number): FusedScratch | null =>
  fusedScratch(dev, 'attention decode', words, blocks, FUSED_MAX_BYTES);

/** decodeCode, built once per distinct arguments (src/kernels/memo.ts). */
export const decodeCode = memoCode(decodeCodeUncached);
