// Gather: embedding lookup (gather) and index selection along an axis (indexSelect).
// GPU: wgsl/gather.wgsl (the source read through the fused prologue); CPU: src/cpu/gather.ts.
// Out-of-range ids (negative i32, or >= the axis size) give zero rows on both: a bad id cannot
// be reported at the call without reading the ids back, and zeros are easy to spot.
import { DTypeError, ShapeError } from '../errors.js';
import { leafBuffers, valueDefines, valueParams } from '../graph/realize.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize } from '../tensor/dtype.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/gather.js';
import { checkSameDevice } from './elementwise.js';
import { fuse } from '../graph/fuse.js';
import { nextBinding, prologueInput, releaseInput, withPrologue } from './prologue.js';
import { copyPlan, copyUnit } from './copy-unit.js';
import { rowRead } from './rows.js';
import { isHalf, storeType, storeValue } from './wgsl-types.js';
import { full } from './create.js';

/** Rows of `table` [V, ...] picked by `ids` (i32/u32, any shape): result [...ids.shape, ...table.shape[1:]]. */
export function gather(table: Tensor, ids: Tensor): Tensor {
  const op = 'gather';
  check(op, table, ids);
  if (table.ndim === 0) throw new ShapeError(op, 'table needs at least one dimension (rows are picked along the first)', [table.shape, ids.shape]);
  const outShape = [...ids.shape, ...table.shape.slice(1)];
  return select(op, table, 0, ids, outShape);
}

/** Entries of `x` along `axis` picked by the 1-D `ids` (i32/u32): x.shape with shape[axis] = ids.length. */
export function indexSelect(x: Tensor, axis: number, ids: Tensor): Tensor {
  const op = 'indexSelect';
  check(op, x, ids);
  if (x.ndim === 0) throw new ShapeError(op, 'x needs at least one dimension', [x.shape, ids.shape]);
  const ax = normalizeAxis(op, axis, x.ndim);
  if (ids.ndim !== 1) throw new ShapeError(op, `ids must be 1-D, got ${ids.ndim} dimensions`, [x.shape, ids.shape]);
  const outShape = x.shape.map((d, i) => (i === ax ? ids.shape[0] : d));
  return select(op, x, ax, ids, outShape);
}

function check(op: string, x: Tensor, ids: Tensor): void {
  if (!(x instanceof Tensor) || !(ids instanceof Tensor)) throw new DTypeError(op, 'takes a tensor and an ids tensor');
  checkSameDevice(op, x, ids);
  if (ids.dtype !== 'i32' && ids.dtype !== 'u32') throw new DTypeError(op, `ids must be i32 or u32, got ${ids.dtype}`);
}

function select(op: string, x: Tensor, axis: number, ids: Tensor, outShape: number[]): Tensor {
  if (outShape.length > 8) throw new ShapeError(op, `the result would have ${outShape.length} dimensions; at most 8 are supported`, [x.shape, ids.shape]);
  const geom = {
    outer: sizeOf(x.shape.slice(0, axis)),
    a: x.shape[axis],
    inner: sizeOf(x.shape.slice(axis + 1)),
    k: ids.size,
  };
  if (x.device === 'cpu') return cpu.indexSelect(x, ids, geom, outShape);
  const dev = requireDevice(op);
  const n = sizeOf(outShape);
  dev.checkAllocatable(n * byteSize(x.dtype));
  // Nothing to read from: every id is out of range.
  if (x.size === 0 && n > 0) return full(outShape, 0, { dtype: x.dtype, device: 'gpu' });
  return gpuSelect(dev, op, x, ids, geom, outShape);
}

function gpuSelect(dev: GpuDevice, op: string, x: Tensor, ids: Tensor, g: cpu.SelectGeometry, outShape: number[]): Tensor {
  const n = sizeOf(outShape);
  const out = MetalStorage.empty(dev, n * byteSize(x.dtype), x.dtype, op);
  if (n === 0) return new Tensor(out, outShape, x.dtype);
  // The ids as one strided run: 0-d and 1-D views as they are, others made contiguous.
  const flat = ids.ndim <= 1 || ids.isContiguous ? null : ids.contiguous();
  try {
    const idv = flat ?? ids;
    const idStorage = idv.storage as MetalStorage;
    const idStride = idv.ndim === 1 ? idv.strides[0] : idv.ndim === 0 ? 0 : 1;
    if (copyRows(dev, op, x, ids.dtype, idStorage, idv.offset, idStride, g, out)) return new Tensor(out, outShape, x.dtype);
    withPrologue(dev, x, 2, (body) => {
      const half = isHalf(x.dtype);
      const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / (half ? 2 : 1) / 256));
      dev.stream.record({
        kind: 'dispatch',
        bytes: 2 * n * byteSize(x.dtype),
        spec: {
          file: 'gather',
          label: op,
          defines: {
            ELEMENT: 'gathered',
            ...valueDefines(body),
            OUT_BINDING: nextBinding(body),
            IDS_BINDING: nextBinding(body, 1),
            IDS_TYPE: ids.dtype,
            IDS_I32: ids.dtype === 'i32',
            OUT_HALF: half,
            OUT_STORE: storeType(x.dtype),
            STORE: storeValue(x.dtype, body.valueType),
          },
        },
        buffers: { ...leafBuffers(body), out: out.use(), ids: idStorage.use() },
        params: valueParams(body, [n, gridX * 256, g.k, g.inner, g.a, idv.offset, idStride]),
        workgroups,
      });
    });
  } finally {
    flat?.dispose();
  }
  return new Tensor(out, outShape, x.dtype);
}

/** Rows of a realized x copied as raw bits, 16, 8 or 4 bytes per thread; false where x's rows are
 * not contiguous or not word-aligned (the value() kernel then). */
function copyRows(
  dev: GpuDevice, op: string, x: Tensor, idType: string, idStorage: MetalStorage, idOffset: number, idStride: number,
  g: cpu.SelectGeometry, out: MetalStorage,
): boolean {
  const input = prologueInput(dev, x, 2);
  try {
    const read = rowRead(input, fuse(input, false), g.outer * g.a, g.inner);
    if (read.mode === 'value') return false;
    const leaf = read.body.leaves[0];
    const unit = copyUnit(x.dtype, [g.inner, leaf.offset, leaf.strides[0]]);
    if (!unit) return false;
    const rows = g.outer * g.k;
    const plan = copyPlan(rows, g.inner / unit.elements);
    const { workgroups, gridX } = dev.stream.grid(plan.groups);
    dev.stream.record({
      kind: 'dispatch',
      bytes: 2 * g.outer * g.k * g.inner * byteSize(x.dtype),
      spec: {
        file: 'gather',
        label: op,
        defines: {
          ...valueDefines(read.body),
          LEAF_BINDINGS: `@group(0) @binding(1) var<storage, read> leaf0: array<${unit.type}>;`,
          BODY: '',
          RESULT: `${read.body.valueType}(0)`,
          ENABLE: read.body.usesF16 ? 'enable f16;' : '',
          COPY: true,
          UNIT: unit.type,
          LOG_U: Math.log2(unit.elements),
          TPR: plan.tpr,
          OUTER1: g.outer === 1,
          OUT_BINDING: nextBinding(read.body),
          IDS_BINDING: nextBinding(read.body, 1),
          IDS_TYPE: idType,
          IDS_I32: idType === 'i32',
        },
      },
      buffers: { ...leafBuffers(read.body), out: out.use(), ids: idStorage.use() },
      params: valueParams(read.body, [rows, gridX, g.k, g.inner, g.a, idOffset, idStride]),
      workgroups,
    });
    return true;
  } finally {
    releaseInput(input);
  }
}
