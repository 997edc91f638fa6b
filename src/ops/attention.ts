// lb.attention: scaled dot-product attention, fused (flash attention, wgsl/attention.wgsl).
//
// q [B, Hq, L, D], k and v [B, Hkv, S, D] with Hq a multiple of Hkv (MHA, GQA, MQA: query head h
// reads kv head h / (Hq / Hkv)). All four operands are read in place through their strides, so
// transposed or sliced views work without copies, e.g. a preallocated KV cache [B, Hkv, Smax, D]
// sliced to its valid length S. Inputs f32/f16/bf16 (any mix), math in f32, result [B, Hq, L, D]
// in q's dtype.
//   out = softmax(q kᵀ · scale + mask) v, scale default 1 / sqrt(D)
// causal keeps key j for query i iff j <= i + S - L (the queries aligned to the end of the keys,
// as in decode with a KV cache); mask is additive and broadcasts to [B, Hq, L, S]. A query whose
// every key is masked (-Inf) gives zeros, not NaN. The L x S scores are never materialized.
//
// Split-K (decode): when the query blocks alone, B * Hq * ceil(L / BQ) workgroups, are fewer than
// attentionTuning.fill (512: ~4 per compute unit on a 132-SM H100; WebGPU does not report the
// count) and S is long, the keys are split across workgroups:
//   splits = min(ceil(S / keysPerSplit = 256), maxSplits = 64, ceil(fill / blocks)),
// each split a chunk of ceil(S / splits) keys rounded up to the key tile TK. Pass 1 writes, per
// query row and split, (max, sum, unnormalized output row) in f32 to a scratch buffer of
// B·Hq·L·splits·(D + 2) floats; pass 2 (entry point `combine`) merges them with log-sum-exp
// rescaling into q's dtype. Two dispatches per call; one when splits = 1.
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/attention.js';
import { f32Bits } from './prologue.js';
import { isHalf, loadValue, storeType, storeValue } from './wgsl-types.js';

export interface AttentionOptions {
  /** Key j is visible to query i iff j <= i + S - L (end-aligned). Default false. */
  causal?: boolean;
  /** Multiplies q kᵀ before the mask. Default 1 / sqrt(D). */
  scale?: number;
  /** Additive mask (any float dtype), broadcastable to [B, Hq, L, S]; -Inf hides a key. */
  mask?: Tensor;
}

const OP = 'attention';

function floatArg(x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) {
    const kind = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new DTypeError(OP, `${what} must be a Tensor, got ${kind}`);
  }
  if (!isFloat(x.dtype)) throw new DTypeError(OP, `${what} must be f32, f16 or bf16, got ${x.dtype} (cast it first: x.cast('f32'))`);
  return x;
}

interface Dims { B: number; Hq: number; Hkv: number; L: number; S: number; D: number }

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
  if (q.device === 'cpu') return cpu.attention({ q, k, v, mask, causal, scale, out: q.dtype });
  return gpuAttention(requireDevice(OP), q, k, v, mask, causal, scale, d);
}

/** Queries per workgroup, threads per query, keys per tile for this problem and device. */
export function attentionConfig(dev: GpuDevice, L: number, D: number): { bq: number; tpq: number; tk: number } {
  const [bq, tpq] = L === 1 ? [1, 64] : [8, 8];
  const limit = dev.limits.maxComputeWorkgroupStorageSize;
  let tk = 64;
  while (tk >= 1 && 4 * (bq * D + tk * D + bq * tk) > limit) tk >>= 1;
  if (tk < 1) throw new ShapeError(OP, `head size D = ${D} is too large for this device's ${limit} bytes of workgroup memory`, [[D]]);
  return { bq, tpq, tk };
}

/** Split-K tuning (see the header); mutable for tests and benchmarks. */
export const attentionTuning = { fill: 512, keysPerSplit: 256, maxSplits: 64 };

/** Key splits and keys per split for `blocks` query-block workgroups over S keys (tiles of tk). */
export function attentionSplits(blocks: number, S: number, tk: number): { splits: number; chunk: number } {
  const { fill, keysPerSplit, maxSplits } = attentionTuning;
  const want = blocks >= fill ? 1 : Math.min(Math.ceil(S / keysPerSplit), maxSplits, Math.ceil(fill / blocks));
  if (want <= 1) return { splits: 1, chunk: S };
  const chunk = Math.ceil(Math.ceil(S / want) / tk) * tk;
  return { splits: Math.ceil(S / chunk), chunk };
}

function gpuAttention(dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, causal: boolean, scale: number, d: Dims): Tensor {
  const { B, Hq, Hkv, L, S, D } = d;
  const outShape = [B, Hq, L, D];
  const count = B * Hq * L * D;
  const dtype: DType = q.dtype;
  const bytes = count * byteSize(dtype);
  dev.checkAllocatable(bytes);
  const cfg = attentionConfig(dev, L, D);
  const out = MetalStorage.empty(dev, bytes, dtype, OP);
  if (count === 0) return new Tensor(out, outShape, dtype);
  // Realize lazy operands (their kernels are recorded first) and read them through strides.
  const qs = q.storage as MetalStorage;
  const ks = k.storage as MetalStorage;
  const vs = v.storage as MetalStorage;
  const ms = mask ? (mask.storage as MetalStorage) : undefined;
  const mStrides = mask ? broadcastStrides(mask.shape, mask.strides, [B, Hq, L, S]) : [0, 0, 0, 0];
  const qblocks = Math.ceil(L / cfg.bq);
  const blocks = B * Hq * qblocks;
  const { splits, chunk } = attentionSplits(blocks, S, cfg.tk);
  const split = splits > 1;
  const groups = blocks * splits;
  const { workgroups, gridX } = dev.stream.grid(groups);
  const half = isHalf(dtype);
  const paramsFor = (gx: number, n: number): ArrayBuffer => {
    const words = [
      q.offset, k.offset, v.offset, mask?.offset ?? 0,
      ...q.strides, ...k.strides, ...v.strides, ...mStrides,
      Hq, L, S, Hq / Hkv,
      qblocks, gx, f32Bits(scale), n,
      splits, chunk, 0, 0,
    ];
    if (words.some((w) => w < 0 || w > 0xffffffff)) throw new ShapeError(OP, 'negative strides or offsets beyond 2^32 are not supported', [q.shape, k.shape]);
    return new Uint32Array(words).buffer;
  };
  const params = paramsFor(gridX, groups);
  const buffers: Record<string, GPUBuffer> = { q: qs.use(), k: ks.use(), v: vs.use() };
  if (ms) buffers.mask = ms.use();
  let part: MetalStorage | null = null;
  if (split) {
    const partBytes = B * Hq * L * splits * (D + 2) * 4;
    dev.checkAllocatable(partBytes);
    part = MetalStorage.empty(dev, partBytes, 'f32', `${OP} partials`);
    buffers.part = part.use();
  } else {
    buffers.out = out.use();
  }
  const spec = {
    file: 'attention',
    label: split ? `${OP} split` : OP,
    defines: {
      D, BQ: cfg.bq, TK: cfg.tk, TPQ: cfg.tpq, DR: Math.ceil(D / (2 * cfg.tpq)),
      Q_STORE: storeType(q.dtype), K_STORE: storeType(k.dtype), V_STORE: storeType(v.dtype),
      M_STORE: mask ? storeType(mask.dtype) : 'f32',
      Q_LOAD: loadValue('q', q.dtype, 'f32', 'i'),
      K_LOAD: loadValue('k', k.dtype, 'f32', 'i'),
      V_LOAD: loadValue('v', v.dtype, 'f32', 'i'),
      M_LOAD: mask ? loadValue('mask', mask.dtype, 'f32', 'i') : '0.0',
      HAS_MASK: !!mask,
      CAUSAL: causal,
      OUT_HALF: half,
      HALF_WORDS: half && D % 2 === 0,
      ATOMIC: half && D % 2 === 1,
      OUT_STORE: storeType(dtype),
      STORE: storeValue(dtype, 'f32'),
      SPLIT: split,
      COMBINE: false,
    },
  };
  dev.stream.record({ kind: 'dispatch', spec, buffers, params, workgroups });
  if (part) {
    const rows = B * Hq * L;
    const g = dev.stream.grid(rows);
    dev.stream.record({
      kind: 'dispatch',
      spec: { ...spec, label: `${OP} combine`, entryPoint: 'combine', defines: { ...spec.defines, COMBINE: true } },
      buffers: { part: part.use(), out: out.use() },
      params: paramsFor(g.gridX, rows),
      workgroups: g.workgroups,
    });
    part.release();
  }
  return new Tensor(out, outShape, dtype);
}
