// The quantized matvec with 8-bit activations (`lb.matmul(x, q, { transB: true,
// quantizeActivations: true })`: wgsl/matmul_quant.wgsl Q8X quantizes a's rows into unit records,
// then QMV8 multiplies them with the weight): its config, generated code, when a device can run
// it, and the CPU reference of its rounding.
import { LbrxError } from '../errors.js';
import type { QuantType } from '../formats/quant.js';
import { subgroupMin, type GpuDevice } from '../runtime/device.js';

/** `wg` threads per workgroup, `upt` units per thread per pass over K, `rows` weight rows per
 * workgroup, their loads issued `group` rows at a time. */
export interface Matvec8Config {
  wg: number;
  upt: number;
  rows: number;
  group: number;
}

/** Bytes of one unit's record of quantized x (wgsl XR vec4s: packed i8, then scales and sums). */
export const recordBytes = (qu: number): number => (qu / 16 + 1) * 16;

/** Elements of each of a unit's two runs (the granularity of x's 8-bit scales). */
export const runLength = (type: QuantType): number => (type === 'q4_k' || type === 'q5_k' ? 32 : 16);

/** Whether the device can run the kernel (subgroup sums); without it the exact kernel runs. */
export const matvec8Supported = (dev: GpuDevice): boolean => subgroupMin(dev, 4) > 0;

/**
 * Defaults measured on the H100 (bench/results/quant-notes.md): 128 threads, each on one unit per
 * pass at K = 4096 (more units per thread for longer rows, up to 4, then more passes), 8 rows per
 * workgroup with the loads of 4 issued together. Software rasterizers: small workgroups. `forced`
 * fields (withQuantConfig's `i8`) replace the defaults.
 */
export function matvec8Config(dev: GpuDevice, k: number, qu: number, forced: Partial<Matvec8Config> = {}): Matvec8Config {
  const software = dev.fingerprint.family === 'software';
  const sg = subgroupMin(dev, 4);
  const wg = forced.wg ?? Math.max(sg, software ? 32 : 128);
  const units = Math.max(1, Math.ceil(k / qu));
  const c: Matvec8Config = {
    wg,
    upt: forced.upt ?? Math.min(4, Math.ceil(units / wg)),
    rows: forced.rows ?? (software ? 4 : 8),
    group: forced.group ?? (software ? 2 : 4),
  };
  const pow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
  const ok = pow2(c.wg) && c.wg >= sg && c.wg <= Math.min(256, dev.limits.maxComputeInvocationsPerWorkgroup) &&
    Number.isInteger(c.upt) && c.upt >= 1 && c.upt <= 8 && Number.isInteger(c.rows) && c.rows >= 2 && c.rows <= 32 && c.rows % 2 === 0 &&
    Number.isInteger(c.group) && c.group >= 1 && c.rows % c.group === 0;
  if (!ok) {
    throw new LbrxError(`matmul: 8-bit-activation matvec config ${JSON.stringify(c)}: want wg a power of two from the subgroup size (${sg}) to 256, upt 1..8, rows even in 2..32, group dividing rows`);
  }
  return c;
}

/** Q8_DECL, Q8_PASS and Q8_RED of wgsl/matmul_quant.wgsl: straight-line over named variables. */
export function matvec8Code(c: Matvec8Config): Record<string, string> {
  const R = [...Array(c.rows).keys()];
  const U = [...Array(c.upt).keys()];
  const pass: string[] = [];
  for (const u of U) {
    pass.push(
      `let uu${u} = c0 + lid + ${u * c.wg}u; let live${u} = uu${u} < units; let uc${u} = min(uu${u}, units - 1u);`,
      `let t${u} = vec2<u32>((uc${u} * QU) / QK, ((uc${u} * QU) % QK) / QU); let x${u} = x_load(zb, uc${u});`,
    );
  }
  for (let g0 = 0; g0 < c.rows; g0 += c.group) {
    const G = R.slice(g0, g0 + c.group);
    // A group's weight loads all go out before any of its decodes.
    pass.push(...G.flatMap((j) => U.map((u) => `let g${j}_${u} = q_load(row${j} + t${u}.x, t${u}.y);`)));
    pass.push(...G.flatMap((j) => U.map((u) => `acc${j} = acc${j} + select(0.0, q_idot(g${j}_${u}, row${j} + t${u}.x, t${u}.y, x${u}.q, x${u}.d), live${u});`)));
  }
  return {
    Q8_DECL: R.map((j) => `let row${j} = min(w * RW + ${j}u, params.n - 1u) * params.b_rs; var acc${j} = 0.0;`).join('\n  '),
    Q8_PASS: pass.join('\n    '),
    Q8_RED: R.map((j) => `{ let s = subgroupAdd(acc${j}); if (sl == 0u) { red[${j}u * RP + lid / sz] = s; } }`).join('\n  '),
  };
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
