// lb.matmul(a, q, { transB: true, ...epilogue }) with q a QuantizedTensor [N, K] (a GGUF weight:
// blocks along K): a @ dequant(q)^T, decoded inside wgsl/matmul_quant.wgsl (M = 1: a matrix-vector
// kernel, the integer one of matmul-quant-i8.ts for large weights or with quantizeActivations, else
// the f32 decoder of matmul-quant-f32.ts; M > 1: the tiled one). The result has a's dtype. On the
// CPU: dequantize, then the reference matmul.
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import { QuantizedTensor, quantDefines, type QuantType } from '../formats/quant.js';
import { QUANT_LAYOUT } from '../cpu/quant.js';
import { requireDevice } from '../runtime/context.js';
import { subgroupMin, type GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { familyTable } from '../tune/table.js';
import { lazyElementwise } from './gpu-elementwise.js';
import { normalize, type MatView, type Problem } from './matmul-gpu.js';
import { dispatchZ, epilogueBuffers, epilogueOperands, MAX_BATCH_DIMS, packParams, type ParamsExtra } from './matmul-params.js';
import { commonDefines, type Activation, type OperandAccess } from './matmul-wgsl.js';
import { integerPreferred, matvec8Code, matvec8Config, matvec8Supported, recordBytes, roundActivations, runLength, type IntFormat, type Matvec8Config } from './matmul-quant-i8.js';
import { CpuStorage } from '../runtime/storage.js';
import { matvecConfig, matvecUnit, qmvCode } from './matmul-quant-f32.js';
import { keptByKey } from '../kernels/memo.js';
import type { KernelSpec } from '../kernels/cache.js';
export { matvecConfig, matvecSharedBytes, matvecUnit, type MatvecQuantConfig } from './matmul-quant-f32.js';

export interface QuantMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  activation?: Activation;
  residual?: Tensor;
  alpha?: number;
  /**
   * Round a's rows to 8 bits per run of 16 values (32 for Q4_K / Q5_K; scale max |x| / 127, as
   * llama.cpp's Q8_1 activations) and multiply them with the weight's integers by integer dot
   * products: about a quarter of the decode work of the exact kernel, so faster where decoding
   * limits it (M <= 16 on a GPU with subgroups; elsewhere the exact kernels run). Relative error
   * about 2^-8 per activation instead of f32 rounding; a run holding NaN or Inf gives NaN.
   */
  quantizeActivations?: boolean;
}

/**
 * Kernel choice for M = 1: `groups` groups of `tpr` threads per workgroup, each group on `rows`
 * weight rows, `unroll` units per thread loaded together, x staged `xc` elements at a time.
 * `tiled` forces the M > 1 kernel (also for M = 1 and the few-row case).
 */
export interface QuantConfig {
  tpr?: number;
  groups?: number;
  rows?: number;
  unroll?: number;
  xc?: number;
  tiled?: boolean;
  /** K splits of the tiled kernel (partial sums reduced by a second pass); default: by occupancy. */
  splits?: number;
  /** The 8-bit-activation matvec's config (with `quantizeActivations`). */
  i8?: Partial<Matvec8Config>;
  /** The integer matvec's config (M = 1 without `quantizeActivations`: x as 23-bit integers). */
  i24?: Partial<Matvec8Config>;
  /**
   * M = 1 without quantizeActivations: 'int' the integer matvec (x as 23-bit integers), 'float'
   * the f32 decoder; default by size (integerPreferred). Either needs subgroups for 'int'.
   */
  matvec?: 'int' | 'float';
  /**
   * f16 a with more than 16 rows: 'fused' decodes the blocks inside the tiled kernel, 'half'
   * dequantizes the weight to f16 first and runs the dense f16 matmul; default by halfPreferred.
   */
  prefill?: 'fused' | 'half';
}

let forced: QuantConfig = {};

/** Runs `fn` with every quantized matmul it records using `cfg` (tests, benchmarks). */
export function withQuantConfig<T>(cfg: QuantConfig, fn: () => T): T {
  const prev = forced;
  forced = cfg;
  try {
    return fn();
  } finally {
    forced = prev;
  }
}

const OP = 'matmul';
const ACTIVATIONS: readonly (Activation | undefined)[] = [undefined, 'relu', 'gelu', 'silu'];

function floatTensor(x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(OP, `${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (!isFloat(x.dtype)) throw new DTypeError(OP, `${what} must be f32, f16 or bf16, got ${x.dtype} (cast it first: x.cast('f32'))`);
  return x;
}

function broadcastsTo(name: string, t: Tensor, out: readonly number[]): void {
  let ok = t.ndim <= out.length;
  try {
    ok &&= broadcastShapes(OP, t.shape, out).every((d, i) => d === out[i]);
  } catch {
    ok = false;
  }
  if (!ok) throw new ShapeError(OP, `${name} of shape [${t.shape}] does not broadcast to the result's shape [${out}]`, [t.shape, out]);
}

export function quantizedMatmul(aIn: Tensor, q: QuantizedTensor, o: QuantMatmulOptions = {}): Tensor {
  const a = floatTensor(aIn, 'a');
  if (q.disposed) throw new DTypeError(OP, `the ${q.type} weight of shape [${q.shape}] was disposed`);
  if (q.shape.length !== 2) throw new ShapeError(OP, `a quantized b must be a 2-D weight [N, K], got shape [${q.shape}]`, [a.shape, q.shape]);
  if (!o.transB) {
    throw new ShapeError(OP, `a quantized b is stored as [N, K] with its blocks along K; pass { transB: true } to compute a @ b^T`, [a.shape, q.shape]);
  }
  const bias = o.bias === undefined ? undefined : floatTensor(o.bias, 'bias');
  const residual = o.residual === undefined ? undefined : floatTensor(o.residual, 'residual');
  if (!ACTIVATIONS.includes(o.activation)) throw new LbrxError(`matmul: unknown activation ${JSON.stringify(o.activation)}; use 'relu', 'gelu' or 'silu'`);
  const alpha = o.alpha ?? 1;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new LbrxError(`matmul: alpha must be a finite number, got ${alpha}`);
  if (a.ndim === 0) throw new ShapeError(OP, 'operands must have at least 1 dimension', [a.shape, q.shape]);
  const [n, kq] = q.shape;
  const vec = a.ndim === 1;
  const transA = !!o.transA && !vec;
  const last = a.shape[a.ndim - 1];
  const [m, k] = vec ? [1, last] : transA ? [last, a.shape[a.ndim - 2]] : [a.shape[a.ndim - 2], last];
  if (k !== kq) throw new ShapeError(OP, `inner dimensions differ (${transA ? 'transA, ' : ''}transB, a gives K = ${k}, b gives K = ${kq})`, [a.shape, q.shape]);
  const batch = a.shape.slice(0, Math.max(0, a.ndim - 2));
  const outShape = [...batch, ...(vec ? [] : [m]), n];
  if (bias) broadcastsTo('bias', bias, outShape);
  if (residual) broadcastsTo('residual', residual, outShape);
  for (const [name, t] of [['b', q], ['bias', bias], ['residual', residual]] as const) {
    if (t && t.device !== a.device) throw new GpuValidationError(`matmul: ${name} is on ${t.device} but a is on ${a.device}; move it to ${a.device} first`);
  }
  const q8 = o.quantizeActivations ?? false;
  if (typeof q8 !== 'boolean') throw new LbrxError(`matmul: quantizeActivations must be true or false, got ${JSON.stringify(q8)}`);
  const epi = { transB: true, transA: o.transA, bias, residual, activation: o.activation, alpha };
  // The CPU reference rounds a where the GPU would (the matvec: M <= MATVEC_ROWS).
  const rounds = q8 && m <= MATVEC_ROWS;
  if (a.device === 'cpu') return cpuQuantMatmul(rounds ? roundedRows(a, transA, q.type) : a, q, rounds ? { ...epi, transA: false } : epi);
  const dev = requireDevice(OP);
  if (forced.prefill !== undefined && forced.prefill !== 'fused' && forced.prefill !== 'half') throw new LbrxError(`matmul: quantized prefill kernel ${JSON.stringify(forced.prefill)}: want 'fused' or 'half'`);
  if (a.dtype === 'f16' && m > MATVEC_ROWS && (forced.prefill === 'half' || (forced.prefill === undefined && halfPreferred(dev, m * sizeOf(batch))))) {
    return viaHalfWeight(a, q, epi);
  }
  const view = (t: Tensor, s0: number, s1: number, bstrides: number[]): MatView => ({ storage: t.storage as MetalStorage, dtype: t.dtype, offset: t.offset, bstrides, s0, s1 });
  const s = a.strides;
  const [sm, sk] = vec ? [0, s[0]] : transA ? [s[a.ndim - 1], s[a.ndim - 2]] : [s[a.ndim - 2], s[a.ndim - 1]];
  // Bias / residual over [...batch, M, N]; a 1-D a has no M in the result.
  const epiView = (t: Tensor): MatView => {
    const full = broadcastStrides(t.shape, t.strides, outShape);
    const nb = batch.length;
    return view(t, vec ? 0 : full[nb], full[nb + (vec ? 0 : 1)], full.slice(0, nb));
  };
  const p = normalize({
    m, n, k, bshape: batch, alpha, act: o.activation, out: a.dtype,
    a: view(a, sm, sk, s.slice(0, batch.length)),
    // The weight is shared by every batch entry (stride 0), so a batch folds into M where it can.
    b: { storage: q.storage.storage as MetalStorage, dtype: 'f32', offset: 0, bstrides: batch.map(() => 0), s0: 1, s1: k },
    bias: bias && epiView(bias),
    residual: residual && epiView(residual),
  });
  const r = record(dev, p, q, q8);
  const t = new Tensor(r.storage, outShape, r.dtype);
  if (r.dtype === a.dtype) return t;
  try {
    return lazyElementwise(dev, 'copy', [t], outShape, a.dtype, r.dtype);
  } finally {
    t.dispose();
  }
}

/** a (rows along its last axis, or the one before with transA) with every row rounded as the
 * 8-bit-activation kernel rounds it: the CPU reference of `quantizeActivations`. */
function roundedRows(a: Tensor, transA: boolean, type: QuantType): Tensor {
  const rows = transA ? a.transpose([...a.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i))) : a;
  const f32 = rows.cast('f32');
  const dense = f32.contiguous();
  try {
    const storage = dense.storage as CpuStorage;
    const x = new Float32Array(storage.bytes.buffer, storage.bytes.byteOffset + dense.offset * 4, dense.size);
    const k = dense.shape[dense.ndim - 1];
    const out = roundActivations(x, k, runLength(type));
    return new Tensor(new CpuStorage(new Uint8Array(out.buffer), 'f32', 'quantized activations'), dense.shape, 'f32').cast(a.dtype);
  } finally {
    for (const t of new Set([rows, f32, dense])) if (t !== a) t.dispose();
  }
}

function cpuQuantMatmul(a: Tensor, q: QuantizedTensor, o: QuantMatmulOptions): Tensor {
  const w = q.dequantize();
  try {
    const r = a.matmul(w, o);
    if (r.dtype === a.dtype) return r;
    try {
      return r.cast(a.dtype);
    } finally {
      r.dispose();
    }
  } finally {
    w.dispose();
  }
}

/**
 * f16 a with many rows on a GPU with subgroup matrices: the dense f16 kernel on a dequantized
 * weight beats decoding inside the f32-FMA tiled kernel once the weight's decode (about 65 us for
 * 4096 x 4096 on the H100) is spread over enough rows: at M = 512 the fused kernel took 845 us, the
 * f16 matmul 171 us (bench/results/quant-notes.md); at M = 64, 118 against 112 plus the decode.
 */
function halfPreferred(dev: GpuDevice, rows: number): boolean {
  return dev.features.subgroupMatrix && dev.features.f16 && rows >= 128;
}

/** a @ f16(dequantize(q))^T with the epilogue: the weight's values rounded to f16 (a is f16 too). */
function viaHalfWeight(a: Tensor, q: QuantizedTensor, epi: QuantMatmulOptions): Tensor {
  const w = q.dequantize();
  const w16 = w.cast('f16');
  try {
    return a.matmul(w16, epi);
  } finally {
    w16.dispose();
    w.dispose();
  }
}

const isHalf = (d: DType) => d === 'f16' || d === 'bf16';
/**
 * The Params uniform for a quantized b: a read along k (rows s0, elements s1), b as rows of
 * blocksPerRow blocks (the kernel addresses blocks, not elements).
 */
function quantParams(p: Problem, blocksPerRow: number, extra: Omit<ParamsExtra, 'count'>): ArrayBuffer {
  const la = { kcont: true, vec: false, rs: p.a.s0, cs: p.a.s1 };
  const lb = { kcont: true, vec: false, rs: blocksPerRow, cs: 1 };
  return packParams(p, la, lb, { ...extra, count: extra.batch * p.m * p.n });
}

/**
 * Up to this many rows of a run the matrix-vector kernel once per row (as batch entries): each
 * row decodes the weight again, but from L2 after the first, which beats tiles this thin.
 */
const MATVEC_ROWS = 16;

/** a's M rows as batch entries of an M = 1 problem (bias and residual rows too; the weight is shared). */
function rowsAsBatch(p: Problem): Problem {
  const add = <T extends MatView | undefined>(v: T, s: number): T => (v && { ...v, bstrides: [...v.bstrides, s] }) as T;
  return {
    ...p, m: 1, bshape: [...p.bshape, p.m],
    a: add(p.a, p.a.s0), b: add(p.b, 0), bias: add(p.bias, p.bias?.s0 ?? 0), residual: add(p.residual, p.residual?.s0 ?? 0),
  };
}

function record(dev: GpuDevice, p0: Problem, q: QuantizedTensor, q8: boolean): { storage: MetalStorage; dtype: DType } {
  const fold = !forced.tiled && p0.m > 1 && p0.m <= MATVEC_ROWS && p0.bshape.length < MAX_BATCH_DIMS;
  const p = fold ? rowsAsBatch(p0) : p0;
  const batch = sizeOf(p.bshape);
  const matvec = p.m === 1 && !forced.tiled;
  const cfg = matvecConfig(dev, p.k, q.type, forced);
  if (forced.matvec !== undefined && forced.matvec !== 'int' && forced.matvec !== 'float') throw new LbrxError(`matmul: quantized matvec kernel ${JSON.stringify(forced.matvec)}: want 'int' or 'float'`);
  // M = 1 through integer dots where the device has subgroups: x rounded to 8 bits with
  // quantizeActivations; for large weights (or forced) x as 23-bit integers (exact up to 2^-22 of
  // each run's max); else the f32 decoder.
  const wantInt = forced.matvec === 'int' || forced.i24 !== undefined || (forced.matvec !== 'float' && integerPreferred(dev, p.n, p.k, q.type));
  const fmt: IntFormat | null = !matvec || !matvec8Supported(dev) ? null : q8 ? 'x8' : wantInt ? 'x24' : null;
  const i8 = fmt !== null;
  const cfg8 = fmt ? matvec8Config(dev, p.n, p.k, q.type, fmt === 'x8' ? forced.i8 : forced.i24, fmt) : null;
  const perGroup = cfg8 ? cfg8.rows : cfg.groups * cfg.rows;
  // Packed 16-bit outputs need whole pairs: odd N (or odd rows per matvec workgroup) compute f32, converted after.
  const outDType: DType = isHalf(p.out) && (p.n % 2 !== 0 || (matvec && perGroup % 2 !== 0)) ? 'f32' : p.out;
  const count = batch * p.m * p.n;
  dev.checkAllocatable(count * byteSize(outDType));
  const storage = MetalStorage.empty(dev, count * byteSize(outDType), outDType, 'matmul');
  if (count === 0) return { storage, dtype: outDType };
  const a = p.a;
  const aligned = a.s1 === 1 && a.offset % 4 === 0 && a.bstrides.every((s) => s % 4 === 0) && (p.m === 1 || a.s0 % 4 === 0);
  const operands: OperandAccess[] = [{ name: 'a', binding: 1, dtype: a.dtype, vec: aligned }];
  const epilogue = epilogueOperands(p);
  const blocksPerRow = p.k / QUANT_LAYOUT[q.type].block;
  const bm = p.m <= 16 ? 16 : 64;
  const tilesN = Math.ceil(p.n / 64);
  const tiles = Math.ceil(p.m / bm) * tilesN;
  // Split K where the tiles alone would leave most of the GPU idle (as the dense tiled kernel does).
  let splits = 1;
  if (!matvec) {
    const fill = familyTable(dev.fingerprint).fillWorkgroups;
    splits = forced.splits ?? (tiles * batch * 2 <= fill && p.k >= 1024 ? Math.min(Math.ceil(fill / (tiles * batch)), Math.floor(p.k / 256), 32) : 1);
    if (!(Number.isInteger(splits) && splits >= 1)) throw new LbrxError(`matmul: quantized matmul splits must be a positive integer, got ${splits}`);
  }
  const kchunk = splits > 1 ? Math.ceil(p.k / splits / 32) * 32 : p.k;
  splits = splits > 1 ? Math.ceil(p.k / kchunk) : 1;
  const split = splits > 1;
  const partial = split ? MetalStorage.empty(dev, splits * count * 4, 'f32', 'matmul split-K') : null;
  // A persistent integer matvec runs at most cfg8.persist workgroups, each looping over row blocks.
  const blocksN = Math.ceil(p.n / perGroup);
  const { workgroups, gridX } = dev.stream.grid(matvec ? (cfg8?.persist ? Math.min(blocksN, cfg8.persist) : blocksN) : tiles);
  // Q4_K / Q5_K blocks (144 / 176 bytes) are 16-byte aligned: the matvecs load them as vec4s.
  const blocks4 = matvec && (q.type === 'q4_k' || q.type === 'q5_k');
  // The matvec stores single outputs; the tiled kernel stores 4 at a time (vec4 when N % 4 = 0).
  const used = split ? operands : [...operands, ...epilogue];
  const outForm = { dtype: split ? 'f32' as const : outDType, vec4: !matvec && p.n % 4 === 0 };
  const sgMin = cfg8 ? subgroupMin(dev, 4) : 0;
  const label = `matmul ${q.type}${fmt === 'x8' ? ' matvec, 8-bit x' : fmt ? ' matvec, integer x' : matvec ? ' matvec' : split ? ' split-K' : ''}`;
  const key = ['quant', used, outForm, p.act, i8, q.type, matvec, fmt, blocks4, split, cfg8, sgMin, matvec ? cfg : null, bm];
  const spec = keptByKey(key, (): KernelSpec => ({ file: 'matmul_quant', label, defines: {
    ...commonDefines(used, outForm, p.act, i8 ? 'enable subgroups;' : ''),
    ...quantDefines(q.type),
    MATVEC: true,
    QMV: matvec,
    QMV8: i8,
    X24: fmt === 'x24',
    PERSIST: !!cfg8?.persist,
    FUSEX: !!cfg8?.fuse,
    QMV_TAIL: matvec,
    BLOCKS4: blocks4,
    SPLIT: split,
    ...(cfg8
      ? { WG: cfg8.wg, UPT: cfg8.upt, RW: cfg8.rows, SG_MIN: sgMin, ...matvec8Code(cfg8, fmt!) }
      : matvec ? { TPR: cfg.tpr, GROUPS: cfg.groups, ROWS: cfg.rows, UNROLL: cfg.unroll, XC: cfg.xc, ...qmvCode(cfg.rows, cfg.unroll) } : { BM: bm }),
  } }));
  // Integer matvec: a's rows written once as unit records (wgsl/matmul_quant_x.wgsl), read by every
  // matvec workgroup (unless the matvec computes them itself: fuse).
  let xq: MetalStorage | null = null;
  if (cfg8 && !cfg8.fuse) {
    const units = batch * (p.k / matvecUnit(q.type));
    const rec = recordBytes(matvecUnit(q.type), fmt!);
    const what = fmt === 'x8' ? '8-bit activations' : 'x as integers';
    xq = MetalStorage.empty(dev, units * rec, 'u32', `matmul ${what}`);
    const g = dev.stream.grid(Math.ceil(units / 64));
    dev.stream.record({
      kind: 'dispatch',
      spec: keptByKey(['quant x', operands, q.type, fmt], (): KernelSpec => ({
        file: 'matmul_quant_x', label: `matmul ${q.type} ${what}`,
        defines: { ...commonDefines(operands, { dtype: 'f32', vec4: false }, undefined, ''), ...quantDefines(q.type), MATVEC: true, QMV: true, X24: fmt === 'x24' },
      })),
      buffers: { a: a.storage.use(), xq: xq.use() },
      params: quantParams(p, blocksPerRow, { tilesN, gridX: g.gridX, batch, z0: 0, kchunk: p.k, splits: 1 }),
      workgroups: g.workgroups,
      bytes: batch * p.m * p.k * byteSize(a.dtype) + units * rec,
    });
  }
  // X24's NaN / Inf fallback dequantizes through `blocks` (q_deq4) next to the matvec's blocks4 loads.
  const weight = blocks4 ? { blocks4: p.b.storage.use(), ...(fmt === 'x24' ? { blocks: p.b.storage.use() } : {}) } : { blocks: p.b.storage.use() };
  const buffers: Record<string, GPUBuffer> = cfg8
    ? { a: a.storage.use(), ...(xq ? { xq: xq.use() } : {}), ...weight, out: storage.use() }
    : { a: a.storage.use(), ...weight, out: (partial ?? storage).use() };
  const epiBuffers = epilogueBuffers(p);
  dispatchZ(dev, batch * splits, (z0, zc) =>
    dev.stream.record({
      kind: 'dispatch',
      spec,
      buffers: split ? buffers : { ...buffers, ...epiBuffers },
      params: quantParams(p, blocksPerRow, { tilesN, gridX, batch, z0, kchunk, splits }),
      workgroups: [workgroups[0], workgroups[1], zc],
      flops: (2 * p.m * p.n * p.k * zc) / splits,
      bytes: q.byteLength + ((p.m * p.k * byteSize(a.dtype)) / splits + p.m * p.n * byteSize(split ? 'f32' : outDType)) * zc,
    }),
  );
  xq?.release();
  if (partial) {
    const r = dev.stream.grid(Math.ceil(count / 2 / 256));
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'matmul', label: `matmul ${q.type} split-K reduce`, defines: { ...commonDefines(epilogue, { dtype: outDType, vec4: false }, p.act, ''), REDUCE: true } },
      buffers: { part: partial.use(), out: storage.use(), ...epiBuffers },
      params: quantParams(p, blocksPerRow, { tilesN, gridX: r.gridX, batch, z0: 0, kchunk, splits }),
      workgroups: r.workgroups,
    });
    partial.release();
  }
  return { storage, dtype: outDType };
}
