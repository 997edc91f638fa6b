// Normalization over the last axis: layerNorm and rmsNorm. GPU: one kernel (wgsl/norm.wgsl)
// that reads x through the fused prologue; CPU: src/cpu/norm.ts. Math in f32 on the GPU (f64 on
// the CPU), inputs and output in x's dtype; weight and bias may be any float dtype.
import { DTypeError, ShapeError } from '../errors.js';
import { leafBuffers, valueDefines, valueParams, leafBytes } from '../graph/realize.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/norm.js';
import { checkSameDevice } from './elementwise.js';
import { fuse } from '../graph/fuse.js';
import { f32Bits, nextBinding, plainView, prologueInput, releaseInput, withPrologue } from './prologue.js';
import { quadAs, rowDefines, rowOutDefines, rowPlan, rowRead, vecType } from './rows.js';
import { convertValue, isHalf, loadValue, storeType, storeValue } from './wgsl-types.js';

/** y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis (biased variance). */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return norm('layerNorm', x, weight, bias, eps, false);
}

/** y = x / sqrt(mean(x^2) + eps) * weight over the last axis. */
export function rmsNorm(x: Tensor, weight: Tensor | null = null, eps = 1e-6): Tensor {
  return norm('rmsNorm', x, weight, null, eps, true);
}

function norm(op: string, x: Tensor, w: Tensor | null, b: Tensor | null, eps: number, rms: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `x must be a Tensor, got ${typeof x}`);
  if (x.ndim === 0) throw new ShapeError(op, 'x needs at least one dimension (normalized over the last)', [x.shape]);
  if (!isFloat(x.dtype)) throw new DTypeError(op, `x must be a float tensor (f32, f16, bf16), got ${x.dtype}`);
  const d = x.shape[x.ndim - 1];
  for (const [name, p] of [['weight', w], ['bias', b]] as const) {
    if (p === null || p === undefined) continue;
    if (!(p instanceof Tensor)) throw new DTypeError(op, `${name} must be a Tensor or null, got ${typeof p}`);
    checkSameDevice(op, x, p);
    if (!isFloat(p.dtype)) throw new DTypeError(op, `${name} must be a float tensor, got ${p.dtype}`);
    if (p.ndim !== 1 || p.shape[0] !== d) {
      throw new ShapeError(op, `${name} must have shape [${d}] (the last dimension of x)`, [x.shape, p.shape]);
    }
  }
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new DTypeError(op, `eps must be a finite number >= 0, got ${String(eps)}`);
  }
  w ??= null;
  b ??= null;
  if (x.device === 'cpu') return cpu.norm(x, w, b, eps, rms);
  return gpuNorm(requireDevice(op), op, x, w, b, eps, rms);
}

/** Most quads (4 elements) a thread of the register kernel (wgsl/norm_rows.wgsl) holds. */
const MAX_ITEMS = 8;

/** Threads per row: enough for ~4 elements each, 32 to 256. */
function workgroupSize(d: number): number {
  let wg = 32;
  while (wg < 256 && wg * 4 < d) wg *= 2;
  return wg;
}

function gpuNorm(dev: GpuDevice, op: string, x: Tensor, w: Tensor | null, b: Tensor | null, eps: number, rms: boolean): Tensor {
  const bytes = x.size * byteSize(x.dtype);
  dev.checkAllocatable(bytes);
  const d = x.shape[x.ndim - 1];
  const rows = d === 0 ? 0 : x.size / d;
  const out = MetalStorage.empty(dev, bytes, x.dtype, op);
  if (x.size > 0) {
    // Parameters first: computing a lazy one must not disturb the fused x below.
    const wv = w && plainView(w);
    const bv = b && plainView(b);
    const own = 1 + (wv ? 1 : 0) + (bv ? 1 : 0);
    const plan = rowPlan(dev, rows, d, 'cached', byteSize(x.dtype));
    if (plan.items <= MAX_ITEMS && (!isHalf(x.dtype) || d % 2 === 0)) {
      rowsNorm(dev, op, x, out, { w, b, wv, bv, eps, rms, plan, own, rows, d });
      return new Tensor(out, [...x.shape], x.dtype);
    }
    withPrologue(dev, x, own, (body) => {
      const wg = workgroupSize(d);
      const { workgroups, gridX } = dev.stream.grid(rows);
      const half = isHalf(x.dtype);
      const buffers: Record<string, GPUBuffer> = { ...leafBuffers(body), out: out.use() };
      if (wv) buffers.weight = wv.storage.use();
      if (bv) buffers.bias = bv.storage.use();
      dev.stream.record({
        kind: 'dispatch',
        bytes: leafBytes(body, x.size) + bytes,
        spec: {
          file: 'norm',
          label: op,
          defines: {
            ...valueDefines(body),
            OUT_BINDING: nextBinding(body),
            W_BINDING: nextBinding(body, 1),
            B_BINDING: nextBinding(body, wv ? 2 : 1),
            HAS_W: !!wv,
            HAS_B: !!bv,
            W_STORE: w ? storeType(w.dtype) : '',
            B_STORE: b ? storeType(b.dtype) : '',
            W_LOAD: w ? loadValue('weight', w.dtype, 'f32', 'wi') : '',
            B_LOAD: b ? loadValue('bias', b.dtype, 'f32', 'bi') : '',
            RMS: rms,
            WG: wg,
            OUT_HALF: half,
            ATOMIC: half && d % 2 === 1,
            OUT_STORE: storeType(x.dtype),
            STORE: storeValue(x.dtype, 'f32'),
            LOAD: convertValue(body.valueType, 'f32', 'value(i)'),
          },
        },
        buffers,
        params: valueParams(body, [
          f32Bits(eps), gridX, rows, d, wv?.offset ?? 0, wv?.stride ?? 0, bv?.offset ?? 0, bv?.stride ?? 0,
        ]),
        workgroups,
      });
    });
  }
  return new Tensor(out, [...x.shape], x.dtype);
}

interface RowsNormArgs {
  w: Tensor | null;
  b: Tensor | null;
  wv: ReturnType<typeof plainView> | null;
  bv: ReturnType<typeof plainView> | null;
  eps: number;
  rms: boolean;
  plan: ReturnType<typeof rowPlan>;
  own: number;
  rows: number;
  d: number;
}

/** The register kernel: rows of x read once (vector loads where x is a plain aligned tensor). */
function rowsNorm(dev: GpuDevice, op: string, x: Tensor, out: MetalStorage, a: RowsNormArgs): void {
  const { w, b, wv, bv, plan, rows, d } = a;
  const input = prologueInput(dev, x, a.own);
  try {
    const read = rowRead(input, fuse(input, dev.features.f16), rows, d);
    const body = read.body;
    // A parameter is read a quad at a time when contiguous and 4-aligned.
    const vecW = !!wv && wv.stride === 1 && wv.offset % 4 === 0 && d % 4 === 0;
    const vecB = !!bv && bv.stride === 1 && bv.offset % 4 === 0 && d % 4 === 0;
    const { workgroups, gridX } = dev.stream.grid(plan.groups);
    const buffers: Record<string, GPUBuffer> = { ...leafBuffers(body), out: out.use() };
    if (wv) buffers.weight = wv.storage.use();
    if (bv) buffers.bias = bv.storage.use();
    dev.stream.record({
      kind: 'dispatch',
      bytes: leafBytes(body, x.size) + x.size * byteSize(x.dtype),
      spec: {
        file: 'norm_rows',
        label: op,
        defines: {
          ...rowDefines(dev, read, plan, 'f32'),
          ...rowOutDefines(x.dtype, d, nextBinding(body)),
          W_BINDING: nextBinding(body, 1),
          B_BINDING: nextBinding(body, wv ? 2 : 1),
          HAS_W: !!wv,
          HAS_B: !!bv,
          W_VEC: vecW,
          B_VEC: vecB,
          W_STORE: w ? (vecW ? vecType(w.dtype) : storeType(w.dtype)) : '',
          B_STORE: b ? (vecB ? vecType(b.dtype) : storeType(b.dtype)) : '',
          W_LOAD4: w && vecW ? quadAs(w.dtype, 'f32', 'weight[q4]') : '',
          B_LOAD4: b && vecB ? quadAs(b.dtype, 'f32', 'bias[q4]') : '',
          W_LOAD: w ? loadValue('weight', w.dtype, 'f32', 'wi') : '',
          B_LOAD: b ? loadValue('bias', b.dtype, 'f32', 'bi') : '',
          RMS: a.rms,
        },
      },
      buffers,
      params: valueParams(body, [
        f32Bits(a.eps), gridX, rows, d, wv?.offset ?? 0, wv?.stride ?? 0, bv?.offset ?? 0, bv?.stride ?? 0,
      ]),
      workgroups,
    });
  } finally {
    releaseInput(input);
  }
}
