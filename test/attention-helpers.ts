// Shared by the attention tests: tolerances per dtype, the case description and `run`, which checks
// lb.attention on one case against the CPU reference (f64 softmax(q kᵀ·scale + mask) v).
import { afterEach } from 'vitest';
import * as lb from '../src/index.js';
import type { DType } from '../src/index.js';
import { attentionTuning } from '../src/ops/attention.js';
import { checkOp, seedOf, type InputSpec } from './helpers.js';

/** Undoes every attentionTuning override a test set (forced variant, splits, emulation, f16 loads). */
export function resetAttentionTuningAfterEach(): void {
  afterEach(() => {
    for (const k of ['force', 'decode', 'tile', 'sgmat', 'fill', 'minChunk', 'emulateSgmat', 'subgroups'] as const) delete attentionTuning[k];
    attentionTuning.nativeF16 = true;
  });
}

export const TOL = { f32: { rtol: 1e-4, atol: 2e-5 }, f16: { ulps: 2, atol: 1e-3 }, bf16: { ulps: 2, atol: 4e-3 } } as const;
export const gen = { scale: 1 };

/** A mask that rises by more than TAU per tile on odd rows (every step moves their max, so O is
 * rescaled) and falls on even rows. */
export const rising = (L: number, S: number): InputSpec => ({
  dtype: 'f32', shape: [L, S], gen, data: Float32Array.from({ length: L * S }, (_, e) => (e % S) * 0.9 * ((Math.floor(e / S) % 2) * 2 - 1)),
});

/** One case: q [B, Hq, L, D], k and v [B, Hkv, S, D]; the name seeds its data. */
export interface Case {
  name: string;
  B?: number; Hq?: number; Hkv?: number; L: number; S: number; D: number;
  dtype?: DType;
  causal?: boolean;
  scale?: number;
  mask?: InputSpec;
  /** A number, or per-batch lengths passed as an i32 tensor. */
  kvLength?: number | number[];
}

/** Checks lb.attention on the case's random inputs against the CPU reference, with TOL[dtype]. */
export async function run(c: Case): Promise<void> {
  const { B = 1, Hq = 2, Hkv = Hq, L, S, D, dtype = 'f32' } = c;
  const inputs: InputSpec[] = [
    { dtype, shape: [B, Hq, L, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
    { dtype, shape: [B, Hkv, S, D], gen },
  ];
  if (c.mask) inputs.push(c.mask);
  if (Array.isArray(c.kvLength)) inputs.push({ dtype: 'i32', shape: [B], data: Int32Array.from(c.kvLength) });
  await checkOp((q, k, v, ...rest) => {
    const mask = c.mask ? rest.shift() : undefined;
    const kvLength = Array.isArray(c.kvLength) ? rest.shift() : c.kvLength;
    return lb.attention(q, k, v, { causal: c.causal, scale: c.scale, mask, kvLength });
  }, inputs, { ...TOL[dtype as 'f32'], seed: seedOf(c.name) });
}
