// The subgroup-matrix attention kernel (wgsl/attention_sgmat.wgsl, src/ops/attention-sgmat.ts):
// against the CPU reference, on adapters with subgroup matrices for real and elsewhere with the
// builtins emulated; the shape of its plans; and the regression for the H100 bug (every output
// wrong while lavapipe was exact: a 4-byte workgroup variable put the f16 arrays that the
// cooperative-matrix loads read off 16-byte alignment), checked on the generated code.
import { afterEach, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { buildKernel } from '../src/kernels/registry.js';
import { attentionTuning } from '../src/ops/attention.js';
import { enables, operandCode } from '../src/ops/attention-kernels.js';
import { sgmatAttentionCode, sgmatAttentionPlan, sgmatBytes, type SgmatPlan } from '../src/ops/attention-sgmat.js';
import { storeValue } from '../src/ops/wgsl-types.js';
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
  it('matches the CPU reference (f16)', async () => {
    const dev = requireDevice('test');
    const real = realKernel(dev);
    attentionTuning.force = 'sgmat';
    if (!real) {
      attentionTuning.emulateSgmat = true;
      attentionTuning.fill = 64;
      attentionTuning.minChunk = 8;
      // One buffer and one row fragment per subgroup; two of each (LPR = 1) with Q reloaded every step.
      // ... and S / O split between the subgroups otherwise than the softmax rows (sr, or).
      // ... half a fragment row of softmax rows per subgroup, prefetched tiles, contiguous lane keys.
      // ... K a tile ahead of V, in arrays of fragment-row blocks; the runtime K / V offsets (rk).
      for (const sgmat of [{ sgs: 2, tk: 8 }, { sgs: 2, tk: 8, rf: 2, db: true, qs: true }, { sgs: 2, tk: 8, sr: 2, or: 2 },
        { sgs: 4, tk: 8, rf: 0.5, or: 2, pf: true, cl: true }, { sgs: 2, tk: 8, ka: true, cf: true }, { sgs: 2, tk: 8, rf: 2, db: true, qs: true, cf: true },
        { sgs: 4, tk: 8, rf: 0.5, or: 2, ka: true, cf: true, cl: true }, { sgs: 2, tk: 8, sr: 2, or: 2, ka: true, rk: true }]) {
        attentionTuning.sgmat = sgmat;
        await run({ ...EMU, name: `${EMU.name} ${JSON.stringify(sgmat)}` });
      }
      return;
    }
    for (const c of REAL) await run(c);
    if (real) {
      attentionTuning.fill = 4096;
      attentionTuning.minChunk = 32;
      await run({ name: 'sg split', Hq: 2, L: 100, S: 400, D: 128, causal: true });
      attentionTuning.fill = 4096;
      await run({ name: 'sg split kvLength tensor', B: 2, Hq: 2, L: 64, S: 300, D: 64, causal: true, kvLen: [300, 170] });
    }
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
      { sgs: 4, tk: 16, qs: true, db: true, cf: true }, { sgs: 2, tk: 64, ka: true, cf: true }, { sgs: 8, tk: 16, ka: true, cf: true, qs: true }]);
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

describe('subgroup-matrix kernel code (regression: every output wrong on the H100)', () => {
  // On the H100 (Vulkan cooperative matrices) the kernel gave wrong S = Q Kᵀ from right Q and K
  // tiles while lavapipe's emulation was exact: a lone `var<workgroup> flag: u32` put the f16 and
  // f32 arrays the matrix loads and stores use off 16-byte alignment in the driver's layout. Every
  // workgroup variable must be a whole number of 16-byte units, whatever order they are laid out in.
  function kernel(plan: SgmatPlan, D: number, opts: { causal: boolean; mask: boolean; kvlen: boolean; split: boolean }): string {
    const ops = (['q', 'k', 'v'] as const).map((name) => operandCode({ name, dtype: 'f16', vec: true }));
    return buildKernel('attention_sgmat', {
      D, Q_ARR: ops[0].arr, K_ARR: ops[1].arr, V_ARR: ops[2].arr, Q_RAW: ops[0].raw, K_RAW: ops[1].raw, V_RAW: ops[2].raw,
      LOADERS: ops.map((o) => o.code).join('\n\n'), M_STORE: 'f32', M_LOAD: opts.mask ? 'mask[i]' : '0.0', HAS_MASK: opts.mask, KVLEN: opts.kvlen,
      CAUSAL: opts.causal, HALF_WORDS: true, ATOMIC: false, OUT_STORE: 'u32', STORE: storeValue('f16', 'f32'), SPLIT: opts.split, COMBINE: false,
      F16: true, ENABLE: enables(true, true, !plan.emulate), DECODE: false, TILE: false, SGMAT: true, SUBGROUPS: true, ...sgmatAttentionCode(plan, D),
    });
  }

  /** Bytes of each workgroup variable the entry point uses, from the kernel's `const` declarations. */
  function workgroupBytes(code: string): Record<string, number> {
    const consts: Record<string, number> = {};
    const value = (expr: string) => {
      const js = expr.replace(/(\d+)u\b/g, '$1').replace(/[A-Z_][A-Z0-9_]*/g, (n) => {
        if (!(n in consts)) throw new Error(`unknown constant ${n} in ${expr}`);
        return String(consts[n]);
      });
      return Math.floor(Function(`return (${js});`)() as number);
    };
    for (const m of code.matchAll(/^const ([A-Z_][A-Z0-9_]*): u32 = ([^;]+);/gm)) consts[m[1]] = value(m[2]);
    const size: Record<string, number> = { f16: 2, f32: 4, u32: 4, i32: 4, 'vec4<u32>': 16, 'vec4<f32>': 16, 'vec2<f32>': 8 };
    const main = code.slice(code.indexOf('fn main('));
    const used = (name: string) => new RegExp(`\\b${name}\\b`).test(main) || [...code.matchAll(/^fn (\w+)\(/gm)].some((f) => {
      // used through a function main calls
      const body = code.slice(f.index, code.indexOf('\n}', f.index));
      return new RegExp(`\\b${name}\\b`).test(body) && new RegExp(`\\b${f[1]}\\(`).test(main);
    });
    const out: Record<string, number> = {};
    for (const m of code.matchAll(/^var<workgroup> (\w+): ([^;]+);/gm)) {
      if (!used(m[1])) continue;
      // array<T, N> or array<array<T, N>, M> (fragment-row blocks)
      let t = m[2];
      const counts: number[] = [];
      for (let arr = /^array<(.+), ([^,>]+)>$/.exec(t); arr; arr = /^array<(.+), ([^,>]+)>$/.exec(t)) {
        counts.unshift(value(arr[2]));
        t = arr[1];
      }
      if (!(t in size)) throw new Error(`unknown type ${t}`);
      out[m[1]] = size[t] * counts.reduce((a, b) => a * b, 1);
      // Each block of an array of blocks is where fragment loads start: a multiple of 16 bytes too.
      if (counts.length > 1) out[`${m[1]} block`] = size[t] * counts[0];
    }
    return out;
  }

  const plans: [SgmatPlan, number][] = [];
  const dev32 = {
    features: { f16: true, subgroups: true, subgroupMatrix: true },
    adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } },
    limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
  } as unknown as GpuDevice;
  for (const [sgs, tk, D, rf, db, qs] of [[4, 32, 128, 1, 0, 0], [2, 64, 128, 1, 0, 0], [4, 16, 64, 1, 0, 0], [4, 32, 80, 1, 0, 0], [2, 32, 96, 1, 0, 0],
    [1, 16, 16, 1, 0, 0], [8, 16, 32, 1, 0, 0], [8, 16, 128, 1, 0, 0], [4, 32, 128, 2, 0, 0], [4, 32, 128, 1, 1, 0], [2, 32, 128, 2, 1, 0],
    [4, 16, 96, 2, 1, 0], [1, 16, 16, 2, 1, 0], [4, 32, 128, 1, 0, 1], [4, 16, 128, 1, 1, 1], [2, 16, 80, 2, 0, 1]]) {
    // Flat arrays, and arrays of fragment-row blocks (cf) with K a tile ahead of V (ka) where there is one buffer.
    for (const cf of [false, true]) {
      const plan = sgmatAttentionPlan(dev32, { sgs, tk, rf, db: !!db, qs: !!qs, cf, ka: cf }, D, ['f16', 'f16', 'f16']);
      if (!plan) throw new Error(`no plan for ${[sgs, tk, D, rf, db, cf]}`);
      plans.push([plan, D]);
    }
  }

  it('every workgroup variable is a multiple of 16 bytes', () => {
    for (const [plan, D] of plans) {
      for (const kvlen of [false, true]) {
        const opts = { causal: true, mask: kvlen, kvlen, split: kvlen };
        const bytes = workgroupBytes(kernel(plan, D, opts));
        const names = ['ks', 'ps', 'ss', 'vs'];
        expect(Object.keys(bytes).sort(), JSON.stringify(plan)).toEqual(plan.cf ? [...names.map((n) => [n, `${n} block`]).flat()] : names);
        for (const [name, n] of Object.entries(bytes)) expect(n % 16, `${name} (${n} bytes) ${JSON.stringify(plan)} D=${D}`).toBe(0);
        const total = names.reduce((a, n) => a + bytes[n], 0);
        expect(total, 'sgmatBytes counts what the kernel declares').toBe(sgmatBytes(D, plan.bq, plan.tk, plan.kr, plan.db ? 2 : 1));
        expect(total).toBeLessThanOrEqual(49152);
      }
    }
  });

  it('the check sees a lone u32 (what broke the H100)', () => {
    const [plan, D] = plans[0];
    const good = kernel(plan, D, { causal: true, mask: false, kvlen: false, split: false });
    const bad = good.replace('var<workgroup> ss:', 'var<workgroup> flag: u32;\nvar<workgroup> ss:').replace('let w = wid.x', 'flag = 1u;\n  let w = wid.x');
    expect(bad).not.toBe(good);
    expect(workgroupBytes(bad).flag).toBe(4);
  });

  it('the tile stores past the last unit are clamped, not branched', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 32, kr: 64, ka: false, cf: false, rk: false, emulate: false }, 80);
    // 32 keys x 10 units = 320 units over 128 lanes: the third load clamps to unit 319.
    expect(code.SG_LOAD).toContain('min(lid + 256u, 319u)');
    expect(String(code.SG_LOAD) + String(code.SG_STORE)).not.toContain('if (');
  });

  it('the softmax of a lane\'s keys is straight-line named values; S chains interleaved', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 32, kr: 64, ka: false, cf: false, rk: false, emulate: false }, 128);
    // 32 keys over 2 lanes per row: s0 .. s15.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(16);
    expect(String(code.SG_P_ROW)).toContain('ps[lpo + 15u * LPR + part_]');
    // S = Q Kᵀ: the two key fragments' MMA chains interleaved per D step.
    expect(String(code.SG_SCORES)).toContain('var s0_0 = Acc(); var s0_1 = Acc();');
    expect(String(code.SG_SCORES).indexOf('s0_1 = subgroupMatrixMultiplyAccumulate(q0_0')).toBeLessThan(String(code.SG_SCORES).indexOf('s0_0 = subgroupMatrixMultiplyAccumulate(q0_1'));
  });

  it('shares of S and O: each K fragment feeds sr multiplies, each V fragment or; Q for the S share only', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, emulate: false };
    const code = sgmatAttentionCode({ ...base, sr: 2, or: 4 }, 128);
    const sc = String(code.SG_SCORES);
    // S share 32 rows x 16 keys: 8 K fragments, 16 multiplies, 2 stores; Q: 2 x 8 fragments.
    expect(sc.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(8);
    expect(sc.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(16);
    expect(sc.match(/subgroupMatrixStore/g)?.length).toBe(2);
    expect(String(code.SG_QLOAD).match(/subgroupMatrixLoad<Left>/g)?.length).toBe(4 * 16); // 4 passes of 32 rows
    expect(String(code.SG_QLOAD)).toContain('if (sr0 / 32u == 3u) {');
    // O share 64 rows x 32 columns: 8 P fragments, 2 x 2 V fragments, 16 multiplies.
    const pv = String(code.SG_PV);
    expect(pv.match(/subgroupMatrixLoad<Left>/g)?.length).toBe(8);
    expect(pv.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(4);
    expect(pv.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(16);
    expect(code.SG_ROLES).toBe('let sr0 = (sg / 2u) * 32u; let sk0 = (sg % 2u) * 16u; let or0 = (sg / 4u) * 64u; let oc0 = (sg % 4u) * 32u;');
    // The epilogue: 8 O fragments through the subgroup's 2 slots of ss, 4 rounds.
    expect(String(code.SG_EPI).match(/write_frag\(/g)?.length).toBe(8);
    expect(String(code.SG_EPI).match(/workgroupBarrier/g)?.length).toBe(8);
    // The default shares are the softmax rows: all keys, all columns.
    const own = sgmatAttentionCode({ ...base, sr: 1, or: 1 }, 128);
    expect(own.SG_ROLES).toBe('let sr0 = (sg / 1u) * 16u; let sk0 = (sg % 1u) * 32u; let or0 = (sg / 1u) * 16u; let oc0 = (sg % 1u) * 128u;');
    expect(String(own.SG_SCORES).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(String(own.SG_PV).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
  });

  it('K and V fragment offsets are constant expressions with one buffer and one share (no robustness branch)', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: true, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, emulate: false };
    // Tint predicates a fragment load unless offset, stride and array length are all constants.
    const kvLoads = (c: Record<string, string | number>) => [...`${c.SG_SCORES}${c.SG_PV}`.matchAll(/subgroupMatrixLoad<Right>\(&(?:ks|vs), ([^,]+),/g)].map((m) => m[1]);
    const own = kvLoads(sgmatAttentionCode(base, 128));
    expect(own.length).toBe(32);
    for (const off of own) expect(off).toMatch(/^[0-9u+*() KP]+$/);
    // Shares of keys / columns and a second buffer keep their runtime terms.
    const shared = kvLoads(sgmatAttentionCode({ ...base, sr: 2, or: 4 }, 128));
    expect(shared.some((o) => o.includes('sk0')) && shared.some((o) => o.includes('oc0'))).toBe(true);
    expect(kvLoads(sgmatAttentionCode({ ...base, pf: false, db: true }, 128)).every((o) => o.startsWith('(kb + '))).toBe(true);
  });

  it('cf: every fragment access of the 8 x 32 plan is a block of its array plus a constant offset; rk keeps runtime K / V offsets', () => {
    const base = { fs: 16, sg: 32, sgs: 8, rf: 1, db: false, qs: false, sr: 1, or: 1, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: true, cf: true, rk: false, emulate: false };
    const code = sgmatAttentionCode(base, 128);
    const all = ['SG_QLOAD', 'SG_SCORES', 'SG_PV', 'SG_RESCALE', 'SG_EPI'].map((k) => String(code[k])).join('\n');
    const calls = [...all.matchAll(/subgroupMatrix(?:Load<\w+>|Store)\(&(\w+)(\[[^\]]*\])?, ([^,]+),/g)];
    // Q 4 passes x 8, K 16, S 2, P 2, V 16, O 8 x 3 (rescale store / reload, epilogue store).
    expect(calls.length).toBe(32 + 16 + 2 + 2 + 16 + 24);
    for (const [call, , blk, off] of calls) {
      expect(blk, call).toBeDefined();
      expect(off, call).toMatch(/^[0-9u+ ]+$/); // a const-expression
    }
    // The block index of a K fragment is itself constant; of S, the subgroup's rows.
    expect(String(code.SG_SCORES)).toContain('subgroupMatrixLoad<Right>(&ks[(0u + 0u + 16u) / 16u], 32u, true, KP)');
    expect(String(code.SG_SCORES)).toContain('subgroupMatrixStore(&ss[(sr0 + 0u) / 16u], 0u + 16u, s0_1, false, SP)');
    // Element accesses of the softmax row go through its block lb.
    expect(String(code.SG_P_ROW)).toContain('ps[lb][lpo + 15u * LPR + part_] = f16(p);');
    expect(String(code.SG_K_STORE)).toContain('ks[(r) / FS][((r) % FS) * KP + c + 7u] = ksw.y;');
    // rk: the K / V offsets from sk0, oc0 and kb (the code before constant offsets).
    const rk = sgmatAttentionCode({ ...base, cf: false, ka: false, pf: true, rk: true }, 128);
    const kv = [...`${rk.SG_SCORES}${rk.SG_PV}`.matchAll(/subgroupMatrixLoad<Right>\(&(?:ks|vs), ([^,]+),/g)].map((m) => m[1]);
    expect(kv.length).toBe(32);
    expect(kv.every((o) => o.startsWith('(kb + ') && /sk0|oc0/.test(o))).toBe(true);
  });

  it('ka: K stored a tile ahead of V, one barrier between the scores and the softmax', () => {
    const plan = sgmatAttentionPlan({
      features: { f16: true, subgroups: true, subgroupMatrix: true },
      adapter: { info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] } },
      limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 },
    } as unknown as GpuDevice, { sgs: 8, tk: 32, pf: true, ka: true }, 128, ['f16', 'f16', 'f16'])!;
    // ka replaces pf (the same registers, held a step); not with two buffers.
    expect(plan).toMatchObject({ ka: true, pf: false, db: false });
    const code = sgmatAttentionCode(plan, 128);
    expect(code.KA).toBe(1);
    expect(String(code.SG_K_LOAD)).toContain('kw0 = k_raw(kbase + jc * params.k_ss, (u0 % NCH) * 8u) & keep;');
    expect(String(code.SG_K_LOAD)).not.toContain('vw0');
    expect(String(code.SG_V_LOAD)).toContain('let ju = jv + u1 / NCH;');
    expect(String(code.SG_K_STORE)).not.toContain('vs[');
    expect(String(code.SG_V_STORE)).not.toContain('ks[');
  });

  it('rf 0.5: O slots of one fragment per subgroup, pairs of subgroups side by side in 16 rows of ss; pf and cl code', () => {
    const base = { fs: 16, sg: 32, sgs: 16, rf: 0.5, db: false, qs: false, sr: 1, or: 2, pf: true, cl: true, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, emulate: false };
    const code = sgmatAttentionCode(base, 128);
    expect(code.RS).toBe(8);
    // 4 O fragments, one slot each round: 4 rounds.
    expect(String(code.SG_EPI).match(/write_frag\(/g)?.length).toBe(4);
    expect(String(code.SG_EPI)).toContain('subgroupMatrixStore(&ss, (((sg * 1u + 0u) / 2u) * 16u) * SP + ((sg * 1u + 0u) % 2u) * 16u, o0_0, false, SP);');
    // 32 keys over 4 lanes per row, a contiguous run of 8 each.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(8);
    expect(String(code.SG_P_ROW)).toContain('ps[lpo + part_ * KPL + 7u]');
    // 32 keys x 16 units over 512 lanes: one unit each, held in registers across steps.
    expect(code.SG_PF_DECL).toBe('let u0 = lid + 0u; var kw0 = vec4<u32>(); var vw0 = vec4<u32>();');
    expect(String(code.SG_PF_LOAD)).toContain('kw0 = k_raw(kbase + jc * params.k_ss, (u0 % NCH) * 8u) & keep;');
    expect(code.PF).toBe(1);
  });

  it('two row fragments: each K and V fragment loaded once feeds both; Q staged in passes', () => {
    const code = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 2, db: false, qs: false, sr: 2, or: 2, pf: false, cl: false, bq: 128, tk: 32, kr: 32, ka: false, cf: false, rk: false, emulate: false }, 128);
    const sc = String(code.SG_SCORES);
    expect(sc.match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(sc.match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(32);
    expect(String(code.SG_PV).match(/subgroupMatrixLoad<Right>/g)?.length).toBe(16);
    expect(String(code.SG_PV).match(/subgroupMatrixMultiplyAccumulate/g)?.length).toBe(32);
    expect(String(code.SG_QLOAD).match(/stage_q\(/g)?.length).toBe(4);
    expect(code.QP).toBe(32);
    const qs = sgmatAttentionCode({ fs: 16, sg: 32, sgs: 4, rf: 1, db: true, qs: true, sr: 1, or: 1, pf: false, cl: false, bq: 64, tk: 16, kr: 96, ka: false, cf: false, rk: false, emulate: false }, 128);
    // Q reloaded per D step from the block kept past the two K tiles.
    expect(qs.QROW).toBe(32);
    expect(String(qs.SG_SCORES).match(/let q0_\d+ = subgroupMatrixLoad<Left>\(&ks, \(QROW \+ sr0 \+ 0u\)/g)?.length).toBe(8);
    expect(String(qs.SG_QLOAD)).toBe('stage_q(b, hk, r0, r1, lid);');
    // 32 keys over 1 lane per row: s0 .. s31.
    expect(String(code.SG_SCORE_ROW).match(/let s\d+ = score\(/g)?.length).toBe(32);
  });
});
