// The integer matvec (wgsl/matmul_quant_x.wgsl writes a record of x per unit, wgsl/matmul_quant.wgsl QMV8
// multiplies them with the weight's integers by dot4I8Packed): its config, generated code, when a
// device can run it, and the CPU reference of the 8-bit rounding. Two x formats: 'x24' (exact x,
// the M = 1 default for large weights: x as 23-bit integers per run in three 8-bit digits, exact up
// to x's rounding to 2^-22 of its run's max) and 'x8' (`quantizeActivations`: x rounded to 8 bits
// per run).
import { LbrxError } from '../errors.js';
import type { QuantType } from '../formats/quant.js';
import { subgroupMin, type GpuDevice } from '../runtime/device.js';
import { memoCode } from '../kernels/memo.js';
import { familyTable } from '../tune/table.js';
import { matvecUnit } from './matmul-quant-f32.js';

/** `wg` threads per workgroup, `upt` units per thread per pass over K, `rows` weight rows per
 * workgroup (per block of a persistent one), their loads issued `group` rows at a time. `persist`
 * > 0: at most that many workgroups per batch entry, each looping over row blocks with its
 * threads' x records kept in registers (needs one pass over K: units <= wg * upt); `fuse`: those
 * records computed from a by each thread (no x pass; persistent only); `pipe`: the next block's
 * weight loads issued before this block's dots. fuse and pipe default to persist > 0. */
export interface Matvec8Config {
  wg: number;
  upt: number;
  rows: number;
  group: number;
  persist: number;
  fuse: boolean;
  pipe: boolean;
}

/** x's record format: 'x24' three 8-bit digits of 23-bit integers, 'x8' 8-bit rounding. */
export type IntFormat = 'x24' | 'x8';

/** Bytes of one unit's record of x (wgsl XR vec4s): X8 the packed i8 then (scales, sums); X24
 * three digit planes then (1 / S, digit sums) per run. */
export const recordBytes = (qu: number, fmt: IntFormat = 'x8'): number => (fmt === 'x24' ? 3 * (qu / 16) + 2 : qu / 16 + 1) * 16;

/** Elements of each of a unit's two runs (the granularity of x's 8-bit scales). */
export const runLength = (type: QuantType): number => (type === 'q4_k' || type === 'q5_k' ? 32 : 16);

/** Whether the device can run the kernel (subgroup sums); without it the f32 kernel runs. */
export const matvec8Supported = (dev: GpuDevice): boolean => subgroupMin(dev, 4) > 0;

/**
 * Whether M = 1 without quantizeActivations takes the integer matvec (X24) rather than the f32
 * decoder. Where its default config is persistent (one dispatch: below), always; else for large
 * weights only, since the two-pass form's x pass is a second dispatch (about 5 us of launch and
 * barrier on the H100) which its faster loop repays only when the matvec is long (session 4:
 * 32000 x 4096 Q8_0 / Q4_0 / Q4_K 60.6 / 43.9 / 38.4 us against 64.5 / 54.7 / 52.5 for the f32
 * decoder; 11008 x 4096 30.2 / 23.7 / 21.2 against 27.9 / 23.2 / 22.9).
 */
export function integerPreferred(dev: GpuDevice, n: number, k: number, type: QuantType): boolean {
  return (matvec8Supported(dev) && matvec8Config(dev, n, k, type, {}, 'x24').persist > 0) || (n >= 16384 && n * k >= 2 ** 26);
}

/**
 * Workgroups of the persistent matvec by default, 0 for the two-pass one. Measured on the H100 only
 * (bench/results/quant-notes.md, session 5), so NVIDIA and Q8_0 / Q4_0 / Q4_K only: fused and
 * pipelined, the family's fillWorkgroups (528) x 128 threads in all, x 96 for X24 Q4_K (its 56-word
 * x records: 1056 workgroups of 64 ran 44.0 us at 32000 x 4096, 792 33.3, 1320 40.0; X8 Q4_K 1056:
 * 33.7), where each thread holds one unit of K (units <= wg: with 3 units per thread the records
 * and loads spill, 4096 x 11008 Q4_0 26.6 us against 22.3 two-pass) and there are at least two row
 * blocks per workgroup (at 4096 x 4096 the one-dispatch f32 decoder stays ahead: 10.4-12.4 against
 * 10.2-13.1 us).
 */
function persistDefault(dev: GpuDevice, n: number, type: QuantType, fmt: IntFormat, units: number, wg: number, rows: number): number {
  if (dev.fingerprint.family !== 'nvidia' || units > wg || !(type === 'q8_0' || type === 'q4_0' || type === 'q4_k')) return 0;
  const threads = fmt === 'x24' && type === 'q4_k' ? 96 : 128;
  const count = Math.max(1, Math.round((familyTable(dev.fingerprint).fillWorkgroups * threads) / wg));
  return Math.ceil(n / rows) >= 2 * count ? count : 0;
}

/**
 * Defaults measured on the H100 (bench/results/quant-notes.md, sessions 4 and 5): 128 threads, but
 * no more than a row has units (Q4_K at K = 4096: 64 units, 64 threads: 41.5 against 43.8 us at
 * 32000 x 4096 with 128, 18.4 against 20.7 at 11008 x 4096), each on one unit per pass (more units
 * per thread for longer rows, up to 4, then more passes). Persistent where persistDefault says so
 * (fused, pipelined): 8 rows per block for Q4_0 (5-word unit loads: 32000 x 4096 33.8-34.2 us
 * against 44.8-45.0 two-pass), 4 for Q8_0 / Q4_K (9 and 12 words: Q8_0 52.7-54.1 against 64.1, Q4_K
 * 33.3 against 38.9), whose next block's words are held next to this block's. Two-pass
 * rows per workgroup and rows whose loads go out together: X8 4 / 4 for the 32-element units
 * (Q8_0 53.2 against 54.4 us with 8 rows at 32000 x 4096, Q4_0 33.0 against 34.4), 8 / 4 for
 * Q4_K / Q5_K; X24 8 / 4, and 8 / 2 for Q4_K / Q5_K (their 56-word x records and 12-word units:
 * 38.4 against 39.7 us). Software rasterizers: small workgroups. `forced` fields (withQuantConfig's
 * `i8` / `i24`) replace the defaults.
 */
export function matvec8Config(dev: GpuDevice, n: number, k: number, type: QuantType, forced: Partial<Matvec8Config> = {}, fmt: IntFormat = 'x8'): Matvec8Config {
  const software = dev.fingerprint.family === 'software';
  const qu = matvecUnit(type);
  const sg = subgroupMin(dev, 4);
  const units = Math.max(1, Math.ceil(k / qu));
  const fit = 2 ** Math.floor(Math.log2(units));
  const wg = forced.wg ?? Math.max(sg, Math.min(software ? 32 : 128, fit));
  const upt = forced.upt ?? Math.min(4, Math.ceil(units / wg));
  const persistRows = forced.rows ?? (type === 'q4_0' ? 8 : 4);
  const persist = forced.persist ?? (upt === 1 ? persistDefault(dev, n, type, fmt, units, wg, persistRows) : 0);
  const c: Matvec8Config = {
    wg,
    upt,
    rows: forced.rows ?? (persist > 0 ? persistRows : software ? 4 : fmt === 'x8' && qu === 32 ? 4 : 8),
    group: forced.group ?? (software ? 2 : fmt === 'x24' && qu === 64 ? 2 : 4),
    persist,
    fuse: forced.fuse ?? persist > 0,
    pipe: forced.pipe ?? persist > 0,
  };
  const pow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
  const ok = pow2(c.wg) && c.wg >= sg && c.wg <= Math.min(256, dev.limits.maxComputeInvocationsPerWorkgroup) &&
    Number.isInteger(c.upt) && c.upt >= 1 && c.upt <= 8 && Number.isInteger(c.rows) && c.rows >= 2 && c.rows <= 32 && c.rows % 2 === 0 &&
    Number.isInteger(c.group) && c.group >= 1 && c.rows % c.group === 0 &&
    Number.isInteger(c.persist) && c.persist >= 0 && typeof c.fuse === 'boolean' && typeof c.pipe === 'boolean' &&
    (c.persist > 0 || (!c.fuse && !c.pipe));
  const what = fmt === 'x8' ? '8-bit-activation' : 'integer';
  if (!ok) {
    throw new LbrxError(`matmul: ${what} matvec config ${JSON.stringify(c)}: want wg a power of two from the subgroup size (${sg}) to 256, upt 1..8, rows even in 2..32, group dividing rows, persist a count >= 0 (fuse and pipe only with persist > 0)`);
  }
  if (c.persist > 0 && units > c.wg * c.upt) {
    throw new LbrxError(`matmul: ${what} matvec config ${JSON.stringify(c)}: a persistent matvec keeps x in one pass over K, but K = ${k} has ${units} units of ${qu} > wg * upt = ${c.wg * c.upt}; raise upt (up to 8) or wg, or set persist: 0`);
  }
  return c;
}

/**
 * Q8_DECL, Q8_PASS and Q8_RED of wgsl/matmul_quant.wgsl: straight-line over named variables.
 * X24 units whose record marks NaN or Inf are summed again from a with the dequantized weight
 * (unit_ieee), so their rows get the reference's IEEE result.
 */
function matvec8CodeUncached(c: Matvec8Config, fmt: IntFormat = 'x8'): Record<string, string> {
  const R = [...Array(c.rows).keys()];
  const U = [...Array(c.upt).keys()];
  const pass: string[] = [];
  for (const u of U) {
    pass.push(
      `let uu${u} = c0 + lid + ${u * c.wg}u; let live${u} = uu${u} < units; let uc${u} = min(uu${u}, units - 1u);`,
      `let t${u} = vec2<u32>((uc${u} * QU) / QK, ((uc${u} * QU) % QK) / QU); let x${u} = x_load(zb, uc${u});`,
      fmt === 'x24' ? `let ok${u} = live${u} && x${u}.ok;` : `let ok${u} = live${u};`,
    );
  }
  for (let g0 = 0; g0 < c.rows; g0 += c.group) {
    const G = R.slice(g0, g0 + c.group);
    // A group's weight loads all go out before any of its decodes.
    pass.push(...G.flatMap((j) => U.map((u) => `let g${j}_${u} = q_load(row${j} + t${u}.x, t${u}.y);`)));
    pass.push(...G.flatMap((j) => U.map((u) => `acc${j} = acc${j} + select(0.0, x_dot(q_iw(g${j}_${u}, row${j} + t${u}.x, t${u}.y), x${u}), ok${u});`)));
  }
  if (fmt === 'x24') pass.push(...ieeeRuns(R, U));
  if (c.persist > 0) return persistCode(c, fmt);
  return {
    Q8_DECL: R.map((j) => `let row${j} = min(w * RW + ${j}u, params.n - 1u) * params.b_rs; var acc${j} = 0.0;`).join('\n  '),
    Q8_PASS: pass.join('\n    '),
    Q8_RED: R.map((j) => `{ let s = subgroupAdd(acc${j}); if (sl == 0u) { red[${j}u * RP + lid / sz] = s; } }`).join('\n  '),
  };
}

/**
 * P_UNITS, P_FIRST, P_X and P_BODY of the persistent QMV8 (wgsl/matmul_quant.wgsl PERSIST): the
 * thread's units, with pipe the first block's weight loads (issued before x is read or converted, so
 * the two overlap), the thread's x records once (from xq, or computed from a with fuse), then per
 * row block w the dots of its rows
 * (with pipe: the words gJ_U of block w were loaded in the previous iteration, and the next block's
 * hJ_U go out before the dots) and the subgroup sums into half `ro` of red.
 */
function persistCode(c: Matvec8Config, fmt: IntFormat): Record<string, string> {
  const R = [...Array(c.rows).keys()];
  const U = [...Array(c.upt).keys()];
  const make = fmt === 'x24' ? 'x24_rec(a_base, ' : 'x_quant(a_base, ';
  const pu = U.map((u) =>
    `let uu${u} = lid + ${u * c.wg}u; let live${u} = uu${u} < units; let uc${u} = min(uu${u}, units - 1u); let t${u} = vec2<u32>((uc${u} * QU) / QK, ((uc${u} * QU) % QK) / QU);`);
  const px = U.flatMap((u) => [
    `let x${u} = ${c.fuse ? `${make}uc${u})` : 'x_load(zb, uc' + u + ')'};`,
    fmt === 'x24' ? `let ok${u} = live${u} && x${u}.ok;` : `let ok${u} = live${u};`,
  ]);
  const rowAt = (blk: string, j: number) => `min(${blk} * RW + ${j}u, params.n - 1u) * params.b_rs`;
  const body: string[] = R.map((j) => `let row${j} = ${rowAt('w', j)}; var acc${j} = 0.0;`);
  const dot = (j: number, u: number, g: string) => `acc${j} = acc${j} + select(0.0, x_dot(q_iw(${g}, row${j} + t${u}.x, t${u}.y), x${u}), ok${u});`;
  let first = '';
  if (c.pipe) {
    first = R.flatMap((j) => U.map((u) => `var g${j}_${u} = q_load(${rowAt('w', j)} + t${u}.x, t${u}.y);`)).join('\n  ');
    body.push(...R.map((j) => `let nr${j} = ${rowAt('(w + step)', j)};`));
    body.push(...R.flatMap((j) => U.map((u) => `let h${j}_${u} = q_load(nr${j} + t${u}.x, t${u}.y);`)));
    body.push(...R.flatMap((j) => U.map((u) => dot(j, u, `g${j}_${u}`))));
    body.push(...R.flatMap((j) => U.map((u) => `g${j}_${u} = h${j}_${u};`)));
  } else {
    for (let g0 = 0; g0 < c.rows; g0 += c.group) {
      const G = R.slice(g0, g0 + c.group);
      body.push(...G.flatMap((j) => U.map((u) => `let g${j}_${u} = q_load(row${j} + t${u}.x, t${u}.y);`)));
      body.push(...G.flatMap((j) => U.map((u) => dot(j, u, `g${j}_${u}`))));
    }
  }
  if (fmt === 'x24') body.push(...ieeeRuns(R, U));
  body.push(...R.map((j) => `{ let s = subgroupAdd(acc${j}); if (sl == 0u) { red[ro + ${j}u * RP + lid / sz] = s; } }`));
  return { P_UNITS: pu.join('\n  '), P_X: px.join('\n  '), P_FIRST: first, P_BODY: body.join('\n    ') };
}

/**
 * X24's runs holding NaN or Inf, summed again in floating point: one unit_ieee in a loop over the
 * rows (rare, so kept small); row j's sum goes to accJ.
 */
function ieeeRuns(R: number[], U: number[]): string[] {
  return U.flatMap((u) => [
    `if (live${u} && !x${u}.ok) {`,
    `  for (var j = 0u; j < RW; j = j + 1u) {`,
    `    let v = unit_ieee(zb, min(w * RW + j, params.n - 1u) * params.b_rs + t${u}.x, t${u}.y, t${u}.x * QK);`,
    `    ${R.map((j) => `acc${j} = acc${j} + select(0.0, v, j == ${j}u);`).join(' ')}`,
    `  }`,
    `}`,
  ]);
}

/** Round half to even, as WGSL's round(). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The values the kernel multiplies instead of x: each aligned run of `run` elements of every row
 * (rows of `k`) rounded to round(x * 127 / max|x|) * max|x| / 127 in f32; a run holding NaN or
 * Inf becomes NaN. The GPU's 127 / max may differ from this by an ulp (WGSL's division is not
 * correctly rounded), which can move a value sitting on a rounding boundary by one step.
 */
export function roundActivations(x: Float32Array, k: number, run: number): Float32Array {
  const out = new Float32Array(x.length);
  const f = Math.fround;
  for (let r0 = 0; r0 < x.length; r0 += k) {
    for (let s = r0; s < r0 + k; s += run) {
      let mx = 0;
      let bad = false;
      for (let i = s; i < s + run; i++) {
        if (!Number.isFinite(x[i])) bad = true;
        mx = Math.max(mx, Math.abs(x[i]));
      }
      const d = f(mx / 127);
      const inv = mx === 0 ? 0 : f(127 / mx);
      for (let i = s; i < s + run; i++) out[i] = bad ? NaN : f(roundEven(f(x[i] * inv)) * d);
    }
  }
  return out;
}

/** matvec8Code, built once per distinct arguments (src/kernels/memo.ts). */
export const matvec8Code = memoCode(matvec8CodeUncached);
