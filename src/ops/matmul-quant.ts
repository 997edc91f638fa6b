// lb.matmul(a, q, { transB: true, ...epilogue }) with q a QuantizedTensor [N, K] (a GGUF weight:
// blocks along K): a @ dequant(q)^T, decoded inside wgsl/matmul_quant.wgsl (M = 1: the matrix-
// vector kernel; M > 1: the tiled one). The result has a's dtype. On the CPU: dequantize, then the
// reference matmul.
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import { QuantizedTensor, quantDefines } from '../formats/quant.js';
import { QUANT_LAYOUT } from '../cpu/quant.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { lazyElementwise } from './gpu-elementwise.js';
import { normalize, type MatView, type Problem } from './matmul-gpu.js';
import { commonDefines, type Activation, type OperandAccess } from './matmul-wgsl.js';

export interface QuantMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  activation?: Activation;
  residual?: Tensor;
  alpha?: number;
}

/**
 * Kernel choice for M = 1: `groups` groups of `tpr` threads per workgroup, each group on `rows`
 * weight rows, reduced with subgroupAdd (`subgroup`, needs groups = 1) or in workgroup memory.
 * `tiled` forces the M > 1 kernel.
 */
export interface QuantConfig {
  tpr?: number;
  groups?: number;
  rows?: number;
  subgroup?: boolean;
  tiled?: boolean;
}

/** The M = 1 config: the forced fields over the default (a subgroup reduction where there are subgroups). */
export function matvecConfig(dev: GpuDevice): Required<Omit<QuantConfig, 'tiled'>> {
  const subgroup = forced.subgroup ?? (dev.features.subgroups && (forced.groups ?? 1) === 1);
  const c = { tpr: forced.tpr ?? 32, groups: forced.groups ?? (subgroup ? 1 : 8), rows: forced.rows ?? 2, subgroup };
  const pow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
  const ok = pow2(c.tpr) && pow2(c.groups) && c.tpr * c.groups <= 256 && c.tpr * c.groups >= 4 &&
    Number.isInteger(c.rows) && c.rows >= 1 && c.rows <= 8 && (!c.subgroup || (c.groups === 1 && dev.features.subgroups));
  if (!ok) {
    throw new LbrxError(`matmul: quantized matvec config ${JSON.stringify(c)}: want powers of two with tpr * groups in 4..256, rows 1..8, and subgroup only with groups = 1 on a device with subgroups`);
  }
  return c;
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
  const epi = { transB: true, transA: o.transA, bias, residual, activation: o.activation, alpha };
  if (a.device === 'cpu') return cpuQuantMatmul(a, q, epi);
  const dev = requireDevice(OP);
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
  const r = record(dev, p, q);
  const t = new Tensor(r.storage, outShape, r.dtype);
  if (r.dtype === a.dtype) return t;
  try {
    return lazyElementwise(dev, 'copy', [t], outShape, a.dtype, r.dtype);
  } finally {
    t.dispose();
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

const isHalf = (d: DType) => d === 'f16' || d === 'bf16';
const MAX_BATCH_DIMS = 4;

/** The Params uniform of wgsl/matmul.wgsl (44 words): b_rs = blocks per weight row. */
function packParams(p: Problem, blocksPerRow: number, extra: { tilesN: number; gridX: number; batch: number; z0: number }): ArrayBuffer {
  const w = new Uint32Array(44);
  const f = new Float32Array(w.buffer);
  const pad = (xs: readonly number[]) => [...new Array(MAX_BATCH_DIMS - xs.length).fill(0), ...xs];
  const e0 = p.bias;
  const e1 = p.residual;
  w.set([p.m, p.n, p.k, p.k, p.a.s0, p.a.s1, blocksPerRow, 1, p.a.offset, 0, extra.tilesN, extra.gridX]);
  w.set([e0?.s0 ?? 0, e0?.s1 ?? 0, e1?.s0 ?? 0, e1?.s1 ?? 0, e0?.offset ?? 0, e1?.offset ?? 0, extra.batch, extra.z0], 12);
  f[20] = p.alpha;
  w.set([1, 8, extra.batch * p.m * p.n], 21);
  w.set([...new Array(MAX_BATCH_DIMS - p.bshape.length).fill(1), ...p.bshape], 24);
  w.set(pad(p.a.bstrides), 28);
  w.set(pad(e0?.bstrides ?? []), 36);
  w.set(pad(e1?.bstrides ?? []), 40);
  return w.buffer;
}

function record(dev: GpuDevice, p: Problem, q: QuantizedTensor): { storage: MetalStorage; dtype: DType } {
  const batch = sizeOf(p.bshape);
  const matvec = p.m === 1 && !forced.tiled;
  const cfg = matvecConfig(dev);
  const rows = cfg.rows;
  // Packed 16-bit outputs need whole pairs: odd N (or odd rows per matvec group) compute f32, converted after.
  const outDType: DType = isHalf(p.out) && (p.n % 2 !== 0 || (matvec && rows % 2 !== 0)) ? 'f32' : p.out;
  const count = batch * p.m * p.n;
  dev.checkAllocatable(count * byteSize(outDType));
  const storage = MetalStorage.empty(dev, count * byteSize(outDType), outDType, 'matmul');
  if (count === 0) return { storage, dtype: outDType };
  const a = p.a;
  const aligned = a.s1 === 1 && a.offset % 4 === 0 && a.bstrides.every((s) => s % 4 === 0) && (p.m === 1 || a.s0 % 4 === 0);
  const operands: OperandAccess[] = [{ name: 'a', binding: 1, dtype: a.dtype, vec: aligned }];
  if (p.bias) operands.push({ name: 'e0', binding: 3, dtype: p.bias.dtype, vec: false });
  if (p.residual) operands.push({ name: 'e1', binding: 4, dtype: p.residual.dtype, vec: false });
  const blocksPerRow = p.k / QUANT_LAYOUT[q.type].block;
  const bm = p.m <= 16 ? 16 : 64;
  const perGroup = cfg.groups * rows;
  const tilesN = Math.ceil(p.n / 64);
  const { workgroups, gridX } = dev.stream.grid(matvec ? Math.ceil(p.n / perGroup) : Math.ceil(p.m / bm) * tilesN);
  const defines = {
    // The matvec stores single outputs; the tiled kernel stores 4 at a time (vec4 when N % 4 = 0).
    ...commonDefines(operands, { dtype: outDType, vec4: !matvec && p.n % 4 === 0 }, p.act, matvec && cfg.subgroup ? 'enable subgroups;' : ''),
    ...quantDefines(q.type),
    MATVEC: true,
    QMV: matvec,
    ...(matvec ? { TPR: cfg.tpr, GROUPS: cfg.groups, ROWS: rows, SUBGROUP: cfg.subgroup } : { BM: bm }),
  };
  const buffers: Record<string, GPUBuffer> = { a: a.storage.use(), blocks: p.b.storage.use(), out: storage.use() };
  if (p.bias) buffers.e0 = p.bias.storage.use();
  if (p.residual) buffers.e1 = p.residual.storage.use();
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  for (let z0 = 0; z0 < batch; z0 += max) {
    const zc = Math.min(max, batch - z0);
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'matmul_quant', label: `matmul ${q.type}${matvec ? ' matvec' : ''}`, defines },
      buffers,
      params: packParams(p, blocksPerRow, { tilesN, gridX, batch, z0 }),
      workgroups: [workgroups[0], workgroups[1], zc],
      flops: 2 * p.m * p.n * p.k * zc,
      bytes: q.byteLength + (p.m * p.k * byteSize(a.dtype) + p.m * p.n * byteSize(outDType)) * zc,
    });
  }
  return { storage, dtype: outDType };
}
