// lb.attention: scaled dot-product attention, fused (flash attention, wgsl/attention*.wgsl).
//
// q [B, Hq, L, D], k and v [B, Hkv, S, D] with Hq a multiple of Hkv (MHA, GQA, MQA: query head h
// reads kv head h / (Hq / Hkv)). All four operands are read in place through their strides, so
// transposed or sliced views work without copies. A preallocated KV cache [B, Hkv, Smax, D] is
// passed whole with `kvLength` (its valid prefix: one number, or an i32 tensor of B lengths).
// Inputs f32/f16/bf16 (any mix), math in f32, result [B, Hq, L, D] in q's dtype.
//   out = softmax(q kᵀ · scale + mask) v, scale default 1 / sqrt(D)
// causal keeps key j for query i iff j <= i + S - L (S = kvLength when given: the queries aligned
// to the end of the valid keys, as in decode with a KV cache); mask is additive and broadcasts to
// [B, Hq, L, S]. A query whose every key is masked (-Inf) gives zeros, not NaN. The L x S scores
// are never materialized: memory is the output plus, when keys are split, B·Hq·L·splits·(D + 2)
// floats of partials.
//
// Kernels (src/ops/attention-kernels.ts, per GPU family from src/tune/table.ts attentionTable):
//   decode  L <= table.decode.maxL: the G·L query rows of a kv head share one read of its K/V;
//   sgmat   subgroup-matrix prefill (f16, when the adapter has a matching configuration and the
//           family table enables it: nvidia, checked on the H100; see src/tune/table.ts);
//   tile    register-tiled prefill otherwise.
// Split-K: when the workgroups of one pass are fewer than table.fill, the keys are split across
// workgroups (each chunk at least table.minChunk keys) and a second pass (`combine`) merges them;
// a decode with few splits (rows per workgroup x splits <= table.decode.fuse) merges them in its
// own last workgroup per block instead (one dispatch; wgsl/attention_decode.wgsl, FUSED).
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import type { KernelSpec } from '../kernels/registry.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { ATTENTION_SGMAT_DEFAULT, attentionTable, type AttentionDecodeConfig, type AttentionSgmatConfig, type AttentionTileConfig } from '../tune/table.js';
import * as cpu from '../cpu/attention.js';
import { decodeCode, decodeScratch } from './attention-decode.js';
import { decodePlan, enables, operandCode, splitsFor, tilePlan, vecAccess, type DecodePlan, type TilePlan } from './attention-kernels.js';
import { sgmatAttentionCode, sgmatAttentionPlan, type SgmatPlan } from './attention-sgmat.js';
import { f32Bits } from './prologue.js';
import { isHalf, loadValue, storeType, storeValue } from './wgsl-types.js';

export interface AttentionOptions {
  /** Key j is visible to query i iff j <= i + S - L (end-aligned; S = kvLength when given). Default false. */
  causal?: boolean;
  /** Multiplies q kᵀ before the mask. Default 1 / sqrt(D). */
  scale?: number;
  /** Additive mask (any float dtype), broadcastable to [B, Hq, L, S]; -Inf hides a key. */
  mask?: Tensor;
  /**
   * Valid keys of k and v (a preallocated KV cache): keys >= kvLength are ignored. A number in
   * [0, S], or an i32 tensor of B lengths (or one) on q's device, clamped to [0, S].
   */
  kvLength?: number | Tensor;
}

export type AttentionVariant = 'decode' | 'tile' | 'sgmat';

/**
 * Overrides for tests and benchmarks (mutable): force a variant or a configuration, turn off
 * native f16 loads or subgroup operations (the workgroup-memory reductions then), or emulate
 * subgroup matrices (4x4) in plain WGSL, for adapters without them.
 */
export const attentionTuning: {
  force?: AttentionVariant;
  decode?: Partial<AttentionDecodeConfig>;
  tile?: AttentionTileConfig;
  sgmat?: Partial<AttentionSgmatConfig>;
  fill?: number;
  minChunk?: number;
  nativeF16: boolean;
  subgroups?: boolean;
  emulateSgmat?: boolean;
} = { nativeF16: true };

const OP = 'attention';

function floatArg(x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) {
    const kind = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new DTypeError(OP, `${what} must be a Tensor, got ${kind}`);
  }
  if (!isFloat(x.dtype)) throw new DTypeError(OP, `${what} must be f32, f16 or bf16, got ${x.dtype} (cast it first: x.cast('f32'))`);
  return x;
}

export interface Dims { B: number; Hq: number; Hkv: number; L: number; S: number; D: number }

function dims(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined): Dims {
  const shapes = [q.shape, k.shape, v.shape];
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.ndim !== 4) throw new ShapeError(OP, `${name} must be 4-D ([B, H, len, D]), got shape [${t.shape}]`, shapes);
  }
  const [B, Hq, L, D] = q.shape;
  const [Bk, Hkv, S, Dk] = k.shape;
  if (v.shape.some((d, i) => d !== k.shape[i])) throw new ShapeError(OP, `k [${k.shape}] and v [${v.shape}] must have the same shape`, shapes);
  if (Bk !== B) throw new ShapeError(OP, `batch sizes differ: q has ${B}, k and v have ${Bk}`, shapes);
  if (Dk !== D) throw new ShapeError(OP, `head sizes differ: q has D = ${D}, k and v have ${Dk}`, shapes);
  if (Hkv === 0 || Hq % Hkv !== 0) throw new ShapeError(OP, `q's ${Hq} heads are not a multiple of k/v's ${Hkv} heads`, shapes);
  if (S === 0 || D === 0) throw new ShapeError(OP, `S (keys) and D (head size) must be at least 1, got S = ${S}, D = ${D}`, shapes);
  if (mask) {
    const full = [B, Hq, L, S];
    let ok = mask.ndim <= 4;
    if (ok) {
      try {
        ok = broadcastShapes(OP, mask.shape, full).every((d, i) => d === full[i]);
      } catch {
        ok = false;
      }
    }
    if (!ok) throw new ShapeError(OP, `mask of shape [${mask.shape}] does not broadcast to [B, Hq, L, S] = [${full}]`, [mask.shape, full]);
  }
  return { B, Hq, Hkv, L, S, D };
}

function kvLengthArg(x: unknown, d: Dims, device: string): number | Tensor | undefined {
  if (x === undefined) return undefined;
  if (typeof x === 'number') {
    if (!Number.isInteger(x) || x < 0 || x > d.S) {
      throw new ShapeError(OP, `kvLength must be an integer in [0, S = ${d.S}] (the valid keys of k and v), got ${x}`, [[d.S]]);
    }
    return x;
  }
  if (!(x instanceof Tensor)) throw new DTypeError(OP, `kvLength must be a number or an i32 Tensor of B lengths, got ${x === null ? 'null' : typeof x}`);
  if (x.dtype !== 'i32') throw new DTypeError(OP, `kvLength tensor must be i32, got ${x.dtype} (cast it: t.cast('i32'))`);
  if (x.ndim !== 1 || (x.shape[0] !== d.B && x.shape[0] !== 1)) {
    throw new ShapeError(OP, `kvLength tensor must have shape [B] = [${d.B}] (or [1]), got [${x.shape}]`, [x.shape, [d.B]]);
  }
  if (x.device !== device) throw new GpuValidationError(`${OP}: kvLength is on ${x.device} but q is on ${device}; move it with await t.to('${device}')`);
  return x;
}

/** softmax(q kᵀ · scale + mask) v over the last two axes; see the file header. */
export function attention(qIn: Tensor, kIn: Tensor, vIn: Tensor, opts: AttentionOptions = {}): Tensor {
  const q = floatArg(qIn, 'q');
  const k = floatArg(kIn, 'k');
  const v = floatArg(vIn, 'v');
  const mask = opts.mask === undefined ? undefined : floatArg(opts.mask, 'mask');
  const d = dims(q, k, v, mask);
  const causal = opts.causal ?? false;
  if (typeof causal !== 'boolean') throw new LbrxError(`${OP}: causal must be a boolean, got ${typeof causal}`);
  const scale = opts.scale ?? 1 / Math.sqrt(d.D);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new LbrxError(`${OP}: scale must be a finite number, got ${scale}`);
  for (const [name, t] of [['k', k], ['v', v], ['mask', mask]] as const) {
    if (t && t.device !== q.device) {
      throw new GpuValidationError(`${OP}: ${name} is on ${t.device} but q is on ${q.device}; move it with await t.to('${q.device}')`);
    }
  }
  const kvLength = kvLengthArg(opts.kvLength, d, q.device);
  if (q.device === 'cpu') return cpu.attention({ q, k, v, mask, causal, scale, out: q.dtype, kvLength });
  return gpuAttention(requireDevice(OP), q, k, v, mask, causal, scale, d, kvLength);
}

export type AttentionPlan =
  | { variant: 'decode'; cfg: DecodePlan; rblocks: number; granule: number }
  | { variant: 'tile'; cfg: TilePlan; rblocks: number; granule: number }
  | { variant: 'sgmat'; cfg: SgmatPlan; rblocks: number; granule: number };

/** Which kernel runs a problem, with its configuration, and the key splits it takes. */
export function attentionPlan(dev: GpuDevice, d: Dims, dtypes: readonly DType[], sLen = d.S): AttentionPlan & { splits: number; chunk: number } {
  const table = attentionTable(dev.fingerprint);
  const t = attentionTuning;
  const rows = (d.Hq / d.Hkv) * d.L;
  let plan: AttentionPlan | null = null;
  const sgmat = table.sgmat || t.sgmat || t.emulateSgmat ? { ...ATTENTION_SGMAT_DEFAULT, ...table.sgmat, ...t.sgmat } : null;
  const want = t.force ?? (d.L <= table.decode.maxL ? 'decode' : sgmat ? 'sgmat' : 'tile');
  if (want === 'decode') {
    const cfg = decodePlan(dev, { ...table.decode, ...t.decode }, d.D, rows, t.subgroups ?? true);
    plan = { variant: 'decode', cfg, rblocks: Math.ceil(rows / cfg.r), granule: cfg.step };
  }
  if (!plan && want === 'sgmat') {
    const cfg = sgmatAttentionPlan(dev, sgmat ?? ATTENTION_SGMAT_DEFAULT, d.D, dtypes, t.emulateSgmat);
    if (cfg) plan = { variant: 'sgmat', cfg, rblocks: Math.ceil(rows / cfg.bq), granule: cfg.tk };
    else if (t.force === 'sgmat') throw new LbrxError(`${OP}: the subgroup-matrix kernel cannot run D = ${d.D}, dtypes ${dtypes} on this device`);
  }
  if (!plan) {
    const cfg = tilePlan(dev, t.tile ? { ...table, tiles: [t.tile] } : table, d.D, dtypes, t.subgroups ?? true);
    if (!cfg) throw new ShapeError(OP, `head size D = ${d.D} is too large for this device's ${dev.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`, [[d.D]]);
    plan = { variant: 'tile', cfg, rblocks: Math.ceil(rows / cfg.bq), granule: cfg.tk };
  }
  const blocks = d.B * d.Hkv * plan.rblocks;
  const most = plan.variant === 'decode' ? plan.cfg.maxSplits : undefined;
  return { ...plan, ...splitsFor(blocks, sLen, plan.granule, t.fill ?? table.fill, t.minChunk ?? table.minChunk, most) };
}

const specs = new Map<string, KernelSpec>();

/** The spec built for `key` before (kept while fewer than 256 are), else a new one from make(). */
function cachedSpec(key: string, make: () => KernelSpec): KernelSpec {
  let spec = specs.get(key);
  if (!spec) {
    if (specs.size >= 256) specs.clear();
    specs.set(key, (spec = make()));
  }
  return spec;
}

function gpuAttention(dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, causal: boolean, scale: number, d: Dims, kvLength: number | Tensor | undefined): Tensor {
  const { B, Hq, Hkv, L, S, D } = d;
  const outShape = [B, Hq, L, D];
  const count = B * Hq * L * D;
  const dtype: DType = q.dtype;
  const bytes = count * byteSize(dtype);
  dev.checkAllocatable(bytes);
  const out = MetalStorage.empty(dev, bytes, dtype, OP);
  if (count === 0) return new Tensor(out, outShape, dtype);
  const sLen = typeof kvLength === 'number' ? kvLength : S;
  const plan = attentionPlan(dev, d, [q.dtype, k.dtype, v.dtype], sLen);
  const { splits, chunk } = plan;
  const split = splits > 1;
  const rows = (Hq / Hkv) * L;
  const groups = B * Hkv * plan.rblocks * splits;
  const { workgroups, gridX } = dev.stream.grid(groups);
  const mStrides = mask ? broadcastStrides(mask.shape, mask.strides, [B, Hq, L, S]) : [0, 0, 0, 0];
  const paramsFor = (gx: number, n: number): ArrayBuffer => {
    const words = [
      q.offset, k.offset, v.offset, mask?.offset ?? 0,
      ...q.strides, ...k.strides, ...v.strides, ...mStrides,
      Hkv, L, sLen, Hq / Hkv,
      plan.rblocks, gx, f32Bits(scale * Math.LOG2E), n,
      splits, chunk, rows, 0,
    ];
    if (words.some((w) => w < 0 || w > 0xffffffff)) throw new ShapeError(OP, 'negative strides or offsets beyond 2^32 are not supported', [q.shape, k.shape]);
    return new Uint32Array(words).buffer;
  };
  // Realize lazy operands (their kernels are recorded first) and read them through strides.
  const buffers: Record<string, GPUBuffer> = {
    q: (q.storage as MetalStorage).use(), k: (k.storage as MetalStorage).use(), v: (v.storage as MetalStorage).use(),
  };
  if (mask) buffers.mask = (mask.storage as MetalStorage).use();
  if (kvLength instanceof Tensor) buffers.kvlen = (kvLength.storage as MetalStorage).use();
  // Few splits of a decode: one dispatch, its last workgroup per block merges the partials.
  const fused = split && plan.variant === 'decode' && plan.cfg.r * splits <= plan.cfg.fuse
    ? decodeScratch(dev, B * Hq * L * splits * (D + 2), B * Hkv * plan.rblocks) : null;
  let part: MetalStorage | null = null;
  if (fused) {
    buffers.part = fused.part;
    buffers.ctr = fused.ctr;
    buffers.out = out.use();
  } else if (split) {
    const partBytes = B * Hq * L * splits * (D + 2) * 4;
    dev.checkAllocatable(partBytes);
    part = MetalStorage.empty(dev, partBytes, 'f32', `${OP} partials`);
    buffers.part = part.use();
  } else {
    buffers.out = out.use();
  }
  const half = isHalf(dtype);
  const f16 = dev.features.f16 && attentionTuning.nativeF16;
  const vec = (t: Tensor) => vecAccess(t.dtype, D, t.offset, t.strides, t.shape);
  const store = { D, HALF_WORDS: half && D % 2 === 0, ATOMIC: half && D % 2 === 1, OUT_STORE: storeType(dtype), STORE: storeValue(dtype, 'f32') };
  // Kernel specs are reused while their inputs are the same: recording skips the code generation,
  // and a spec that stays the same object is cheap for the pipeline cache to look up.
  const key = [plan.variant, JSON.stringify(plan.cfg), D, q.dtype, vec(q), k.dtype, vec(k), v.dtype, vec(v), mask?.dtype ?? '-',
    kvLength instanceof Tensor, causal, split, !!fused, f16].join('|');
  const spec = cachedSpec(key, () => {
    const access = (name: 'q' | 'k' | 'v', t: Tensor) => operandCode({ name, dtype: t.dtype, vec: vec(t) });
    const ops = { q: access('q', q), k: access('k', k), v: access('v', v) };
    const common = {
      ...store,
      Q_ARR: ops.q.arr, K_ARR: ops.k.arr, V_ARR: ops.v.arr,
      Q_RAW: ops.q.raw, K_RAW: ops.k.raw, V_RAW: ops.v.raw,
      LOADERS: [ops.q.code, ops.k.code, ops.v.code].join('\n\n'),
      M_STORE: mask ? storeType(mask.dtype) : 'f32',
      M_LOAD: mask ? loadValue('mask', mask.dtype, 'f32', 'i') : '0.0',
      HAS_MASK: !!mask,
      KVLEN: kvLength instanceof Tensor,
      CAUSAL: causal,
      SPLIT: split && !fused,
      F16: f16,
    };
    if (plan.variant === 'decode') {
      const c = plan.cfg;
      return {
        file: 'attention_decode', label: `${OP} decode`,
        defines: { ...common, ENABLE: enables(f16, c.subgroups), DECODE: true, FUSED: !!fused, MERGES: !!fused, PARTS: split, SUBGROUPS: c.subgroups, WG: c.wg, DT: c.dt, KU: c.ku, R: c.r, ...decodeCode(c) },
      };
    }
    if (plan.variant === 'tile') {
      const c = plan.cfg;
      return {
        file: 'attention', label: `${OP} tile`,
        defines: {
          ...common, COMBINE: false, ENABLE: enables(f16, c.subgroups), DECODE: false, TILE: true, SGMAT: false, SUBGROUPS: c.subgroups,
          BQ: c.bq, TK: c.tk, TQ: c.tq, NJ: c.nj, CPT: c.cpt, CPT_EXACT: Math.ceil(D / 8) % c.nj === 0,
        },
      };
    }
    const c = plan.cfg;
    return {
      file: 'attention_sgmat', label: `${OP} sgmat`,
      defines: { ...common, COMBINE: false, ENABLE: enables(true, true, !c.emulate), DECODE: false, TILE: false, SGMAT: true, F16: true, SUBGROUPS: true, ...sgmatAttentionCode(c, D) },
    };
  });
  dev.stream.record({ kind: 'dispatch', spec, buffers, params: paramsFor(gridX, groups), workgroups });
  if (part) {
    const n = B * Hq * L;
    const g = dev.stream.grid(n);
    dev.stream.record({
      kind: 'dispatch',
      spec: cachedSpec(`combine|${JSON.stringify(store)}`, () => ({
        file: 'attention_decode', label: `${OP} combine`, entryPoint: 'combine', defines: { ...store, ENABLE: '', COMBINE: true, MERGES: true, SPLIT: true },
      })),
      buffers: { part: part.use(), out: out.use() },
      params: paramsFor(g.gridX, n),
      workgroups: g.workgroups,
    });
    part.release();
  }
  return new Tensor(out, outShape, dtype);
}
