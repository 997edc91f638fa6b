// lb.matmul: validation, dtype rules, operand views, then the GPU kernels or the CPU reference.
//
// a: [..., M, K] (transA: [..., K, M]), b: [..., K, N] (transB: [..., N, K]); a 1-D a is [K]
// (no M in the result), a 1-D b is [K] (no N). Batch dims broadcast (NumPy). Transposes and other
// views are read in place through strides, lazy inputs are computed first. Inputs f32/f16/bf16,
// accumulation in f32, result dtype = promote(a, b). Epilogue, fused into the same kernel:
//   out = residual + activation(alpha * (a @ b) + bias)
// with bias and residual any float tensors that broadcast to the result's shape (bias: [N]).
// A QuantizedTensor b (a GGUF weight [N, K], with transB) goes to src/ops/matmul-quant.ts.
import { DTypeError, GpuValidationError, LbrxError, ShapeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import type { MetalStorage } from '../runtime/storage.js';
import { isFloat, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/matmul.js';
import { lazyElementwise } from './gpu-elementwise.js';
import { normalize, recordMatmul, type MatView, type Problem } from './matmul-gpu.js';
import type { Activation } from './matmul-wgsl.js';
import { QuantizedTensor } from '../formats/quant.js';
import { quantizedMatmul } from './matmul-quant.js';

export type { Activation } from './matmul-wgsl.js';

export interface MatmulOptions {
  /** Read a as [..., K, M] (its last two dims swapped), in place. */
  transA?: boolean;
  /** Read b as [..., N, K] (e.g. nn.Linear weights), in place. */
  transB?: boolean;
  /** Added before the activation; broadcasts to the result (typically [N]). */
  bias?: Tensor;
  activation?: Activation;
  /** Added after the activation; broadcasts to the result. */
  residual?: Tensor;
  /** Scales a @ b (before the bias). Default 1. */
  alpha?: number;
  /** With a quantized b only: a's rows rounded to 8 bits for integer dot products (see QuantMatmulOptions). */
  quantizeActivations?: boolean;
}

const ACTIVATIONS: readonly (Activation | undefined)[] = [undefined, 'relu', 'gelu', 'silu'];

interface Dims {
  batchA: number[];
  batchB: number[];
  batch: number[];
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

function floatArg(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) {
    const kind = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    throw new DTypeError(op, `${what} must be a Tensor, got ${kind}`);
  }
  if (!isFloat(x.dtype)) throw new DTypeError(op, `${what} must be f32, f16 or bf16, got ${x.dtype} (cast it first: x.cast('f32'))`);
  return x;
}

function dims(a: Tensor, b: Tensor, o: MatmulOptions): Dims {
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul', 'operands must have at least 1 dimension', [a.shape, b.shape]);
  const [m, ka] = a.ndim === 1 ? [1, a.shape[0]] : o.transA ? [a.shape[a.ndim - 1], a.shape[a.ndim - 2]] : [a.shape[a.ndim - 2], a.shape[a.ndim - 1]];
  const [kb, n] = b.ndim === 1 ? [b.shape[0], 1] : o.transB ? [b.shape[b.ndim - 1], b.shape[b.ndim - 2]] : [b.shape[b.ndim - 2], b.shape[b.ndim - 1]];
  if (ka !== kb) {
    const how = `${o.transA ? 'transA, ' : ''}${o.transB ? 'transB, ' : ''}`;
    throw new ShapeError('matmul', `inner dimensions differ (${how}a gives K = ${ka}, b gives K = ${kb})`, [a.shape, b.shape]);
  }
  const batchA = a.shape.slice(0, Math.max(0, a.ndim - 2));
  const batchB = b.shape.slice(0, Math.max(0, b.ndim - 2));
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', batchA, batchB);
  } catch {
    throw new ShapeError('matmul', `batch dimensions [${batchA}] and [${batchB}] cannot be broadcast together`, [a.shape, b.shape]);
  }
  const outShape = [...batch, ...(a.ndim > 1 ? [m] : []), ...(b.ndim > 1 ? [n] : [])];
  return { batchA, batchB, batch, m, k: ka, n, outShape };
}

function checkEpilogue(name: string, t: Tensor, outShape: readonly number[]): void {
  let ok = t.ndim <= outShape.length;
  if (ok) {
    try {
      ok = broadcastShapes('matmul', t.shape, outShape).every((d, i) => d === outShape[i]);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new ShapeError('matmul', `${name} of shape [${t.shape}] does not broadcast to the result's shape [${outShape}]`, [t.shape, outShape]);
}

export function matmul(aIn: Tensor, bIn: Tensor | QuantizedTensor, opts: MatmulOptions = {}): Tensor {
  if (bIn instanceof QuantizedTensor) return quantizedMatmul(aIn, bIn, opts);
  if (opts.quantizeActivations) throw new LbrxError('matmul: quantizeActivations applies to a quantized b (a QuantizedTensor from lb.loadGguf); b here is a dense tensor');
  const a = floatArg('matmul', aIn, 'a');
  const b = floatArg('matmul', bIn, 'b');
  const bias = opts.bias === undefined ? undefined : floatArg('matmul', opts.bias, 'bias');
  const residual = opts.residual === undefined ? undefined : floatArg('matmul', opts.residual, 'residual');
  if (!ACTIVATIONS.includes(opts.activation)) {
    throw new LbrxError(`matmul: unknown activation ${JSON.stringify(opts.activation)}; use 'relu', 'gelu' or 'silu'`);
  }
  const alpha = opts.alpha ?? 1;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new LbrxError(`matmul: alpha must be a finite number, got ${alpha}`);
  const out = promote('matmul', a.dtype, b.dtype);
  const d = dims(a, b, opts);
  if (bias) checkEpilogue('bias', bias, d.outShape);
  if (residual) checkEpilogue('residual', residual, d.outShape);
  const device = a.device;
  for (const [name, t] of [['b', b], ['bias', bias], ['residual', residual]] as const) {
    if (t && t.device !== device) {
      throw new GpuValidationError(`matmul: ${name} is on ${t.device} but a is on ${device}; move it with await t.to('${device}')`);
    }
  }
  return device === 'cpu' ? cpuMatmul(a, b, bias, residual, opts, d, out, alpha) : gpuMatmul(a, b, bias, residual, opts, d, out, alpha);
}

/** The matrix view of `t`: rows/cols strides of its last two dims (swapped if `trans`), batch strides over `batch`. */
function matView(t: Tensor, batch: readonly number[], trans: boolean, vector: 'row' | 'col'): MatView {
  const storage = t.storage as MetalStorage;
  let s0: number;
  let s1: number;
  let tb: readonly number[] = [];
  let tbs: readonly number[] = [];
  if (t.ndim === 1) {
    [s0, s1] = vector === 'row' ? [0, t.strides[0]] : [t.strides[0], 0];
  } else {
    const x0 = t.strides[t.ndim - 2];
    const x1 = t.strides[t.ndim - 1];
    [s0, s1] = trans ? [x1, x0] : [x0, x1];
    tb = t.shape.slice(0, t.ndim - 2);
    tbs = t.strides.slice(0, t.ndim - 2);
  }
  return { storage, dtype: t.dtype, offset: t.offset, bstrides: broadcastStrides(tb, tbs, batch), s0, s1 };
}

/** Bias / residual seen over [...batch, M, N] (1-D operands drop M or N from the result). */
function epilogueView(t: Tensor, d: Dims, aVec: boolean, bVec: boolean): MatView {
  const storage = t.storage as MetalStorage;
  const full = broadcastStrides(t.shape, t.strides, d.outShape);
  const nb = d.batch.length;
  const s0 = aVec ? 0 : full[nb];
  const s1 = bVec ? 0 : full[nb + (aVec ? 0 : 1)];
  return { storage, dtype: t.dtype, offset: t.offset, bstrides: full.slice(0, nb), s0, s1 };
}

function gpuMatmul(a: Tensor, b: Tensor, bias: Tensor | undefined, residual: Tensor | undefined, o: MatmulOptions, d: Dims, out: DType, alpha: number): Tensor {
  const dev = requireDevice('matmul');
  dev.checkAllocatable(sizeOf(d.outShape) * 4);
  const p: Problem = normalize({
    m: d.m,
    n: d.n,
    k: d.k,
    bshape: d.batch,
    a: matView(a, d.batch, !!o.transA && a.ndim > 1, 'row'),
    b: matView(b, d.batch, !!o.transB && b.ndim > 1, 'col'),
    bias: bias && epilogueView(bias, d, a.ndim === 1, b.ndim === 1),
    residual: residual && epilogueView(residual, d, a.ndim === 1, b.ndim === 1),
    act: o.activation,
    alpha,
    out,
  });
  const r = recordMatmul(dev, p);
  const t = new Tensor(r.storage, d.outShape, r.dtype);
  if (r.dtype === out) return t;
  try {
    return lazyElementwise(dev, 'copy', [t], d.outShape, out, r.dtype);
  } finally {
    t.dispose();
  }
}

function cpuMatmul(a: Tensor, b: Tensor, bias: Tensor | undefined, residual: Tensor | undefined, o: MatmulOptions, d: Dims, out: DType, alpha: number): Tensor {
  const made: Tensor[] = [];
  const view = (t: Tensor) => (made.push(t), t);
  try {
    let av = a.ndim === 1 ? view(a.reshape([1, d.k])) : a;
    if (o.transA && a.ndim > 1) av = view(av.permute(swapLast(av.ndim)));
    let bv = b.ndim === 1 ? view(b.reshape([d.k, 1])) : b;
    if (o.transB && b.ndim > 1) bv = view(bv.permute(swapLast(bv.ndim)));
    const lift = (t: Tensor | undefined) => (t ? view(t.reshape(liftShape(t.shape, d, a.ndim === 1, b.ndim === 1))) : undefined);
    return cpu.matmul({
      a: av, b: bv, batch: d.batch, m: d.m, k: d.k, n: d.n,
      bias: lift(bias), residual: lift(residual),
      activation: o.activation, alpha, out, outShape: d.outShape,
    });
  } finally {
    for (const t of made) t.dispose();
  }
}

function swapLast(ndim: number): number[] {
  const p = Array.from({ length: ndim }, (_, i) => i);
  [p[ndim - 2], p[ndim - 1]] = [p[ndim - 1], p[ndim - 2]];
  return p;
}

/** An epilogue operand's shape aligned to [...batch, M, N] (size-1 dims where the result drops M or N). */
function liftShape(shape: readonly number[], d: Dims, aVec: boolean, bVec: boolean): number[] {
  const full = [...new Array(d.outShape.length - shape.length).fill(1), ...shape];
  const nb = d.batch.length;
  const batch = full.slice(0, nb);
  const m = aVec ? 1 : full[nb];
  const n = bVec ? 1 : full[nb + (aVec ? 0 : 1)];
  return [...batch, m, n];
}
