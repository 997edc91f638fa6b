// The subgroup-matrix attention kernel (wgsl/attention_sgmat.wgsl, src/ops/attention-sgmat.ts):
// against the CPU reference, on adapters with subgroup matrices for real and elsewhere with the
// builtins emulated, and the shape of its plans. Its generated code (and the regression for the
// H100 alignment bug) is checked in attention-sgmat-code.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { attentionTuning } from '../src/ops/attention.js';
import { sgmatAttentionCode, sgmatAttentionPlan, sgmatBytes } from '../src/ops/attention-sgmat.js';
import { requireDevice } from '../src/runtime/context.js';
import type { GpuDevice } from '../src/runtime/device.js';
import { attentionTable, type AttentionSgmatConfig } from '../src/tune/table.js';
import { gen, rising } from './attention-helpers.js';
import { checkOp, seedOf, useGpu, type InputSpec } from './helpers.js';

useGpu();
afterEach(() => {
  for (const k of ['force', 'sgmat', 'fill', 'minChunk', 'emulateSgmat'] as const) delete attentionTuning[k];
});

interface Case {
  name: string;
  B?: number; Hq?: number; Hkv?: number; L: number; S: number; D: number;
  causal?: boolean;
  mask?: InputSpec;
  kvLength?: number;
  /** Per-batch valid keys as an i32 tensor. */
  kvLen?: number[];
  /** k and v stored [B, Hkv, D, S] and passed transposed (strided loads, not vec4). */
  kT?: boolean;
}

async function run(c: Case): Promise<void> {
  const { B = 1, Hq = 2, Hkv = Hq, L, S, D } = c;
  const kv = (seedView: boolean): InputSpec =>
    seedView
      ? { dtype: 'f16', shape: [B, Hkv, D, S], gen, view: (t: Tensor) => t.permute([0, 1, 3, 2]) }
      : { dtype: 'f16', shape: [B, Hkv, S, D], gen };
  const inputs: InputSpec[] = [{ dtype: 'f16', shape: [B, Hq, L, D], gen }, kv(!!c.kT), kv(!!c.kT)];
  if (c.mask) inputs.push(c.mask);
  const lens = c.kvLen && { gpu: lb.tensor(Int32Array.from(c.kvLen), [B], { dtype: 'i32', device: 'gpu' }), cpu: lb.tensor(Int32Array.from(c.kvLen), [B], { dtype: 'i32', device: 'cpu' }) };
  try {
    await checkOp(
      (q, k, v, m) => lb.attention(q, k, v, { causal: c.causal, mask: m, kvLength: lens ? lens[q.device as 'gpu' | 'cpu'] : c.kvLength }),
      inputs,
      { ulps: 2, atol: 1e-3, seed: seedOf(c.name) },
    );
  } finally {
    if (lens) for (const t of [lens.gpu, lens.cpu]) t.dispose();
  }
}


const REAL: Case[] = [
  { name: 'sg MHA L=S=256 D=128 causal', L: 256, S: 256, D: 128, causal: true },
  { name: 'sg MHA L=S=256 D=128', L: 256, S: 256, D: 128 },
  { name: 'sg L != S, S not a tile multiple D=64', L: 70, S: 133, D: 64 },
  { name: 'sg GQA 8/2 D=80 causal L=40', Hq: 8, Hkv: 2, L: 40, S: 90, D: 80, causal: true },
  { name: 'sg D=96 causal L > S (rows fully masked)', L: 50, S: 20, D: 96, causal: true },
  { name: 'sg mask rising and falling (rescales)', L: 20, S: 300, D: 64, mask: rising(20, 300) },
  { name: 'sg kvLength 100 of 160 causal', Hq: 4, Hkv: 1, L: 33, S: 160, D: 128, causal: true, kvLength: 100 },
  { name: 'sg -Inf rows and a [S] mask', L: 20, S: 50, D: 64, mask: { dtype: 'f16', shape: [50], gen: { scale: 2 } } },
  { name: 'sg k, v transposed views D=32', L: 40, S: 70, D: 32, causal: true, kT: true },
];
// Lavapipe compiles the emulated kernel slowly: one case through every path (GQA rows spanning
// heads, causal, rescales, split keys, a kvLength tensor, strided k and v).
const EMU: Case = { name: 'sg emulated', Hq: 4, Hkv: 2, L: 9, S: 45, D: 16, causal: true, mask: rising(9, 45), kvLen: [40], kT: true };

function realKernel(dev: GpuDevice): boolean {
  return dev.features.subgroupMatrix && attentionTable(dev.fingerprint).sgmat !== null;
}

describe('subgroup-matrix attention kernel', () => {
  const T = 600_000;
  /** Each configuration on the EMU case with the builtins emulated (adapters without subgroup matrices). */
  async function emulated(configs: Partial<AttentionSgmatConfig>[]): Promise<void> {
    attentionTuning.force = 'sgmat';
    attentionTuning.emulateSgmat = true;
    attentionTuning.fill = 64;
    attentionTuning.minChunk = 8;
    for (const sgmat of configs) {
      attentionTuning.sgmat = sgmat;
      await run({ ...EMU, name: `${EMU.name} ${JSON.stringify(sgmat)}` });
    }
  }

  it('matches the CPU reference (f16)', async () => {
    if (!realKernel(requireDevice('test'))) {
      // One buffer and one row fragment per subgroup; two of each (LPR = 1) with Q reloaded every step.
      // ... and S / O split between the subgroups otherwise than the softmax rows (sr, or).
      // ... half a fragment row of softmax rows per subgroup, prefetched tiles, contiguous lane keys.
      await emulated([{ sgs: 2, tk: 8 }, { sgs: 2, tk: 8, rf: 2, db: true, qs: true }, { sgs: 2, tk: 8, sr: 2, or: 2 },
        { sgs: 4, tk: 8, rf: 0.5, or: 2, pf: true, cl: true }]);
      return;
    }
    attentionTuning.force = 'sgmat';
    for (const c of REAL) await run(c);
    attentionTuning.fill = 4096;
    attentionTuning.minChunk = 32;
    await run({ name: 'sg split', Hq: 2, L: 100, S: 400, D: 128, causal: true });
    attentionTuning.fill = 4096;
    await run({ name: 'sg split kvLength tensor', B: 2, Hq: 2, L: 64, S: 300, D: 64, causal: true, kvLen: [300, 170] });
  }, T);

  it('K a tile ahead of V, fragment-row block arrays (with column groups for shares), runtime K / V offsets: emulated', async () => {
    if (realKernel(requireDevice('test'))) return; // the real kernel runs these plans below
    await emulated([{ sgs: 2, tk: 8, ka: true, cf: true }, { sgs: 2, tk: 8, rf: 2, db: true, qs: true, cf: true },
      { sgs: 4, tk: 8, rf: 0.5, or: 2, ka: true, cf: true, cl: true }, { sgs: 2, tk: 8, sr: 2, or: 2, ka: true, rk: true },
      { sgs: 2, tk: 8, sr: 2, or: 2, ka: true, cf: true }]);
  }, T);

  /**
   * Checks each configuration on three cases (causal D = 128, a rising mask at D = 64, GQA with a
   * kvLength tensor). Options a configuration does not name are off, whatever the table's default.
   */
  async function configurations(configs: Partial<AttentionSgmatConfig>[]): Promise<void> {
    attentionTuning.force = 'sgmat';
    for (const sgmat of configs) {
      attentionTuning.sgmat = { pf: false, ka: false, cf: false, ...sgmat };
      const tag = JSON.stringify(sgmat);
      await run({ name: `sg ${tag} causal`, Hq: 2, L: 130, S: 130, D: 128, causal: true });
      await run({ name: `sg ${tag} D=64 mask`, L: 40, S: 100, D: 64, mask: rising(40, 100) });
      // Half-row subgroups split 5 column fragments (D = 80) in no whole shares: D = 96 for them.
      const D = sgmat.rf === 0.5 ? 96 : 80;
      await run({ name: `sg ${tag} D=${D} kvLength tensor`, B: 2, Hq: 4, Hkv: 2, L: 70, S: 150, D, causal: true, kvLen: [150, 61] });
    }
  }

  it('other configurations (subgroups per workgroup, keys per step) match on adapters with subgroup matrices', async () => {
    // The emulated kernel is checked above; more configurations would take minutes on lavapipe.
    if (!realKernel(requireDevice('test'))) return;
    await configurations([{ sgs: 2, tk: 64 }, { sgs: 8, tk: 16 }, { sgs: 1, tk: 16 }, { sgs: 4, tk: 32, rf: 2 }, { sgs: 2, tk: 32, rf: 2 },
      { sgs: 4, tk: 32, db: true }, { sgs: 2, tk: 32, rf: 2, db: true }, { sgs: 4, tk: 16, rf: 2, db: true }, { sgs: 8, tk: 32 },
      { sgs: 4, tk: 32, qs: true }, { sgs: 4, tk: 16, qs: true, db: true }, { sgs: 2, tk: 32, rf: 2, qs: true },
      { sgs: 8, tk: 32, or: 2 }, { sgs: 8, tk: 32, sr: 2 }, { sgs: 8, tk: 32, sr: 2, or: 2 }, { sgs: 8, tk: 32, sr: 2, or: 4 },
      { sgs: 4, tk: 32, sr: 2, or: 2, db: true }, { sgs: 4, tk: 32, sr: 2, or: 2, qs: true }, { sgs: 2, tk: 32, rf: 2, or: 4 },
      { sgs: 8, tk: 32, sr: 2, or: 2, pf: true }, { sgs: 8, tk: 32, sr: 2, or: 2, cl: true }, { sgs: 16, tk: 32, rf: 0.5 },
      { sgs: 16, tk: 32, rf: 0.5, or: 2, pf: true, cl: true }, { sgs: 16, tk: 32, rf: 0.5, or: 4 }]);
  }, T);

  it('K a tile ahead of V (ka), fragment-row block arrays (cf) and runtime K / V offsets (rk) match on adapters with subgroup matrices', async () => {
    if (!realKernel(requireDevice('test'))) return; // emulated above
    // The table's default before ka / cf first.
    await configurations([{ sgs: 8, tk: 32, pf: true }, { sgs: 8, tk: 32, pf: true, rk: true }, { sgs: 8, tk: 32, pf: true, cf: true }, { sgs: 8, tk: 32, ka: true },
      { sgs: 8, tk: 32, ka: true, cf: true }, { sgs: 8, tk: 32, ka: true, cf: true, sr: 2, or: 2, cl: true }, { sgs: 8, tk: 32, ka: true, cf: true, or: 2 },
      { sgs: 16, tk: 32, rf: 0.5, or: 2, ka: true, cf: true }, { sgs: 4, tk: 32, rf: 2, ka: true, cf: true }, { sgs: 4, tk: 32, db: true, cf: true },
      { sgs: 4, tk: 16, qs: true, db: true, cf: true }, { sgs: 2, tk: 64, ka: true, cf: true }, { sgs: 8, tk: 16, ka: true, cf: true, qs: true },
      // Shares in column groups of ss / vs (cf), and sr 2 + or 4, whose groups do not fit.
      { sgs: 8, tk: 32, ka: true, cf: true, sr: 2, or: 2 }, { sgs: 8, tk: 32, ka: true, cf: true, or: 4 }, { sgs: 8, tk: 32, ka: true, cf: true, sr: 2, or: 4 },
      { sgs: 4, tk: 32, sr: 2, or: 2, db: true, cf: true }]);
  }, T);
});

describe('subgroup-matrix plans', () => {
  const fake = (limit: number, configs = [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }]) =>
    ({
      features: { f16: true, subgroups: true, subgroupMatrix: true },
      adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: configs } },
      limits: { maxComputeWorkgroupStorageSize: limit, maxComputeInvocationsPerWorkgroup: 1024 },
    }) as unknown as GpuDevice;
  const f16 = ['f16', 'f16', 'f16'] as const;

  it('stage the Q block in the K tile array (whole, else in passes) and shrink subgroups, then keys, to fit workgroup memory', () => {
    const p = sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32 }, 128, f16)!;
    expect(p).toMatchObject({ fs: 16, sg: 32, sgs: 4, rf: 1, db: false, bq: 64, tk: 32, kr: 64 });
    expect(sgmatBytes(128, 64, 32)).toBe(40448);
    // 8 x 16 at D = 128 needs 55552 bytes with the Q block staged whole: staged in passes of 16 rows.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 16 }, 128, f16)).toMatchObject({ sgs: 8, bq: 128, tk: 16, kr: 16 });
    // 32 KiB: passes of 32 rows (31744 bytes), then fewer subgroups.
    expect(sgmatAttentionPlan(fake(32768), { sgs: 4, tk: 32 }, 128, f16)).toMatchObject({ sgs: 4, bq: 64, tk: 32, kr: 32 });
    const small = sgmatAttentionPlan(fake(24576), { sgs: 4, tk: 32 }, 128, f16)!;
    expect(small).toMatchObject({ sgs: 2, bq: 32, tk: 32, kr: 32 });
    expect(sgmatBytes(128, small.bq, small.tk, small.kr)).toBeLessThanOrEqual(24576);
  });

  it('two row fragments per subgroup and double-buffered tiles', () => {
    // 128 rows: the Q block in passes of one subgroup's 32 rows.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, rf: 2 }, 128, f16)).toMatchObject({ sgs: 4, rf: 2, bq: 128, tk: 32, kr: 32 });
    expect(sgmatBytes(128, 128, 32, 32)).toBe(46080);
    // Two K and V tiles at 4 x 32, D = 128 fill 48 KiB exactly (per-row values in the ss pad).
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, db: true }, 128, f16)).toMatchObject({ sgs: 4, db: true, bq: 64, tk: 32, kr: 64 });
    expect(sgmatBytes(128, 64, 32, 64, 2)).toBe(49152);
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, rf: 2, db: true }, 128, f16)).toMatchObject({ sgs: 2, rf: 2, db: true, bq: 64, kr: 64 });
    // 32 rows per subgroup need 32 lanes (one row each).
    const sg16 = { ...fake(49152), adapter: { info: { subgroupMinSize: 16, subgroupMaxSize: 16, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } } } as unknown as GpuDevice;
    expect(sgmatAttentionPlan(sg16, { sgs: 4, tk: 32, rf: 2 }, 128, f16)).toBeNull();
    // Q kept past the tiles for the whole loop: 4 x 32 at D = 128 fills 48 KiB exactly.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, qs: true }, 128, f16)).toMatchObject({ sgs: 4, qs: true, bq: 64, tk: 32, kr: 96 });
    expect(sgmatBytes(128, 64, 32, 96)).toBe(49152);
    expect(sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 16, qs: true }, 128, f16)).toMatchObject({ sgs: 4, bq: 64, tk: 16, kr: 80 });
  });

  it('split S and O between subgroups in shares of sr / or fragment rows, or keep the softmax rows where a share does not tile', () => {
    expect(sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 32, sr: 2, or: 4 }, 128, f16)).toMatchObject({ sgs: 8, rf: 1, sr: 2, or: 4, bq: 128, tk: 32, kr: 32 });
    // 16 keys are one fragment: an S share of 2 rows would need half a key fragment.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 16, sr: 2, or: 2 }, 128, f16)).toMatchObject({ sr: 1, or: 2 });
    // 8 subgroups x 1 row fragment: a share of 16 rows is more than the block; 3 does not divide it.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 32, sr: 16, or: 3 }, 128, f16)).toMatchObject({ sr: 1, or: 1 });
    // With two row fragments per subgroup a share is a multiple of 2.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, rf: 2, sr: 1, or: 4 }, 128, f16)).toMatchObject({ rf: 2, sr: 2, or: 4 });
    // The Q block is staged in passes of whole S shares (32 rows here, with 16-row softmax shares).
    const p = sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 16, sr: 2 }, 64, f16);
    expect(p).toMatchObject({ sr: 1 });
    const q = sgmatAttentionPlan(fake(49152), { sgs: 8, tk: 32, sr: 2 }, 128, f16)!;
    expect(q).toMatchObject({ sgs: 8, sr: 2, tk: 32, kr: 32 });
    expect(sgmatAttentionCode(q, 128).QP).toBe(32);
  });

  it('half a fragment row of softmax rows per subgroup (rf 0.5): shares of whole fragments, or no plan', () => {
    // 16 subgroups x 8 rows = 128 rows, 4 lanes per softmax row; S: 8 x 2 fragments, one per subgroup.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 32, rf: 0.5 }, 128, f16)).toMatchObject({ sgs: 16, rf: 0.5, sr: 1, or: 1, bq: 128, tk: 32, kr: 32 });
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 32, rf: 0.5, or: 2 }, 128, f16)).toMatchObject({ sr: 1, or: 2 });
    // 16 keys: 8 S fragments for 16 subgroups.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 16, rf: 0.5 }, 128, f16)).toBeNull();
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 32, rf: 0.25 }, 128, f16)).toBeNull();
    // D = 80: 8 x 5 O fragments over 16 subgroups.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 32, rf: 0.5 }, 80, f16)).toBeNull();
    expect(sgmatAttentionPlan(fake(49152), { sgs: 16, tk: 32, rf: 0.5 }, 96, f16)).toMatchObject({ sr: 1, or: 1 });
    // pf is for one buffer only.
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32, db: true, pf: true }, 128, f16)).toMatchObject({ db: true, pf: false });
  });

  it('need square f16 -> f32 fragments, f16 operands and D / fragment <= 8', () => {
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32 }, 256, f16)).toBeNull();
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32 }, 72, f16)).toBeNull();
    expect(sgmatAttentionPlan(fake(49152), { sgs: 4, tk: 32 }, 128, ['f16', 'f32', 'f16'])).toBeNull();
    expect(sgmatAttentionPlan(fake(49152, [{ componentType: 'f16', resultComponentType: 'f32', M: 8, N: 16, K: 16 }]), { sgs: 4, tk: 32 }, 128, f16)).toBeNull();
  });
});
