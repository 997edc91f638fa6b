// Concatenation along an axis. GPU: one output buffer, one wgsl/concat.wgsl dispatch per
// non-empty input writing its slice (the input read through the fused prologue, so views and
// lazy expressions are copied once). Mixed dtypes promote like binary ops; the cast is fused.
import { DTypeError, GpuValidationError, ShapeError } from '../errors.js';
import { leafBuffers, valueDefines, valueParams } from '../graph/realize.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, promote, type DType } from '../tensor/dtype.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/gather.js';
import { cast } from './elementwise.js';
import { fuse } from '../graph/fuse.js';
import { copyPlan, copyUnit } from './copy-unit.js';
import { nextBinding, prologueInput, releaseInput, withPrologue } from './prologue.js';
import { rowRead } from './rows.js';
import { isHalf, storeType, storeValue } from './wgsl-types.js';

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ShapeError(op, 'needs a non-empty array of tensors');
  if (tensors.some((t) => !(t instanceof Tensor))) throw new DTypeError(op, 'every element of the array must be a Tensor');
  const first = tensors[0];
  const shapes = tensors.map((t) => t.shape);
  if (first.ndim === 0) throw new ShapeError(op, 'cannot concatenate 0-d tensors; reshape them to [1] first', shapes);
  const ax = normalizeAxis(op, axis, first.ndim);
  for (const t of tensors) {
    if (t.device !== first.device) {
      throw new GpuValidationError(`${op}: inputs are on different devices (${first.device} and ${t.device}); move one with await t.to('${first.device}')`);
    }
    if (t.ndim !== first.ndim || t.shape.some((d: number, i: number) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(op, `all inputs must have the same shape except along axis ${ax}`, shapes);
    }
  }
  const dtype = tensors.map((t) => t.dtype).reduce((a, b) => promote(op, a, b));
  const outShape = first.shape.map((d: number, i: number) => (i === ax ? tensors.reduce((s, t) => s + t.shape[ax], 0) : d));
  if (first.device === 'cpu') {
    const cast_ = tensors.map((t) => (t.dtype === dtype ? t : cast(t, dtype)));
    try {
      return cpu.concat(cast_, ax, outShape, dtype);
    } finally {
      cast_.forEach((c, i) => c !== tensors[i] && c.dispose());
    }
  }
  return gpuConcat(requireDevice(op), tensors, ax, outShape, dtype);
}

function gpuConcat(dev: GpuDevice, tensors: readonly Tensor[], ax: number, outShape: number[], dtype: DType): Tensor {
  const bytes = sizeOf(outShape) * byteSize(dtype);
  dev.checkAllocatable(bytes);
  const out = MetalStorage.empty(dev, bytes, dtype, 'concat');
  const outer = sizeOf(outShape.slice(0, ax));
  const inner = sizeOf(outShape.slice(ax + 1));
  const dstStride = outShape[ax] * inner;
  const half = isHalf(dtype);
  let at = 0;
  for (const t of tensors) {
    const dstOff = at;
    at += t.shape[ax] * inner;
    if (t.size === 0) continue;
    let len = t.shape[ax] * inner;
    let blocks = outer;
    // Adjacent blocks form one run (and must: two threads may not share a 16-bit-packed word).
    if (len === dstStride) {
      len *= outer;
      blocks = 1;
    }
    if (t.dtype === dtype && copyBlocks(dev, t, out, { len, blocks, dstStride, dstOff })) continue;
    const words = Math.floor(len / 2) + 1;
    const threads = half ? blocks * words : blocks * len;
    const src = t.dtype === dtype ? t : cast(t, dtype);
    try {
      withPrologue(dev, src, 1, (body) => {
        const { workgroups, gridX } = dev.stream.grid(Math.ceil(threads / 256));
        dev.stream.record({
          kind: 'dispatch',
          spec: {
            file: 'concat',
            label: 'concat',
            defines: {
              ...valueDefines(body),
              OUT_BINDING: nextBinding(body),
              OUT_HALF: half,
              OUT_STORE: storeType(dtype),
              STORE: storeValue(dtype, body.valueType),
            },
          },
          buffers: { ...leafBuffers(body), out: out.use() },
          params: valueParams(body, [threads, gridX * 256, len, dstStride, dstOff, words]),
          workgroups,
        });
      });
    } finally {
      if (src !== t) src.dispose();
    }
  }
  return new Tensor(out, outShape, dtype);
}

interface Blocks {
  len: number;
  blocks: number;
  dstStride: number;
  dstOff: number;
}

/** A realized input whose blocks are contiguous copied as raw bits, 16, 8 or 4 bytes per thread;
 * false where they are not (or not word-aligned): the value() kernel then. */
function copyBlocks(dev: GpuDevice, t: Tensor, out: MetalStorage, b: Blocks): boolean {
  const input = prologueInput(dev, t, 1);
  try {
    const read = rowRead(input, fuse(input, false), b.blocks, b.len);
    if (read.mode === 'value') return false;
    const leaf = read.body.leaves[0];
    const unit = copyUnit(t.dtype, [b.len, b.dstStride, b.dstOff, leaf.offset, leaf.strides[0]]);
    if (!unit) return false;
    const plan = copyPlan(b.blocks, b.len / unit.elements);
    const { workgroups, gridX } = dev.stream.grid(plan.groups);
    dev.stream.record({
      kind: 'dispatch',
      bytes: 2 * b.blocks * b.len * byteSize(t.dtype),
      spec: {
        file: 'concat',
        label: 'concat',
        defines: {
          ...valueDefines(read.body),
          LEAF_BINDINGS: `@group(0) @binding(1) var<storage, read> leaf0: array<${unit.type}>;`,
          BODY: '',
          RESULT: `${read.body.valueType}(0)`,
          ENABLE: '',
          COPY: true,
          UNIT: unit.type,
          LOG_U: Math.log2(unit.elements),
          TPR: plan.tpr,
          OUT_BINDING: nextBinding(read.body),
        },
      },
      buffers: { ...leafBuffers(read.body), out: out.use() },
      params: valueParams(read.body, [b.blocks, gridX, b.len, b.dstStride, b.dstOff]),
      workgroups,
    });
    return true;
  } finally {
    releaseInput(input);
  }
}
