// softmax / logSoftmax along any axis. GPU: one kernel per call (wgsl/softmax.wgsl): a workgroup
// per row reads x through the fused prologue (a lazy expression is not materialized; a row along
// a non-last axis is read through strides, no transpose copy) and writes x's shape, x's dtype.
// Math in f32 (f64 on the CPU reference). A row with a NaN, a +Inf, or only -Inf entries gives
// NaN everywhere (PyTorch's answer); integer inputs are rejected (cast first).
import { DTypeError } from '../errors.js';
import { leafBuffers, valueDefines, valueParams, leafBytes } from '../graph/realize.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat } from '../tensor/dtype.js';
import { normalizeAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { fuse } from '../graph/fuse.js';
import * as cpu from '../cpu/softmax.js';
import { prologueInput, releaseInput } from './prologue.js';
import { rowDefines, rowOutDefines, rowPlan, rowRead } from './rows.js';
import { convertValue, isHalf, storeType, storeValue } from './wgsl-types.js';

/** exp(x - max) / sum(exp(x - max)) along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return run('softmax', x, axis, false);
}

/** (x - max) - log(sum(exp(x - max))) along `axis` (default the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return run('logSoftmax', x, axis, true);
}

function run(op: string, x: Tensor, axisIn: number, log: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `x must be a Tensor, got ${typeof x}`);
  if (!isFloat(x.dtype)) throw new DTypeError(op, `x must be a float tensor (f32, f16, bf16), got ${x.dtype}; cast it first (x.cast('f32'))`);
  // A 0-d tensor is one row of length 1 (axis 0 or -1).
  const axis = x.ndim === 0 ? (normalizeAxis(op, axisIn === -1 ? 0 : axisIn, 0), 0) : normalizeAxis(op, axisIn, x.ndim);
  const shape = x.ndim === 0 ? [1] : x.shape;
  const cols = shape[axis];
  const inner = shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  if (x.device === 'cpu') return cpu.softmax(x, axis, log);
  const dev = requireDevice(op);
  return gpuSoftmax(dev, op, x, shape, axis, cols, inner, log);
}

/** Rows are split over workgroups (of SPLIT_CHUNK columns, TILED: 32 rows x SPLIT_CHUNK_TILED)
 * when they would fill fewer than SPLIT_BELOW workgroups. */
const SPLIT_BELOW = 256;
const SPLIT_CHUNK = 4096;
const SPLIT_CHUNK_TILED = 512;
/** Most quads (4 elements) a thread of the register kernel (wgsl/softmax_rows.wgsl) holds. */
const MAX_ITEMS = 8;

/** Threads per row: enough for ~4 elements each, 32 to 256. */
function workgroupSize(cols: number): number {
  let wg = 32;
  while (wg < 256 && wg * 4 < cols) wg *= 2;
  return wg;
}

function gpuSoftmax(
  dev: GpuDevice, op: string, x: Tensor, shape: readonly number[], axis: number, cols: number, inner: number, log: boolean,
): Tensor {
  const bytes = x.size * byteSize(x.dtype);
  dev.checkAllocatable(bytes);
  const out = MetalStorage.empty(dev, bytes, x.dtype, op);
  if (x.size === 0) return new Tensor(out, [...x.shape], x.dtype);
  const rows = x.size / cols;
  const half = isHalf(x.dtype);
  const contig = inner === 1;
  // Strided rows, enough of them: 32 rows per workgroup so neighbouring threads read neighbours.
  const tiled = !contig && rows >= 32;
  const groups = tiled ? Math.ceil(rows / 32) : rows;
  // Too few workgroups for long rows: split the rows over workgroups (a stats pass, then a write pass).
  const splitChunk = tiled ? SPLIT_CHUNK_TILED : SPLIT_CHUNK;
  const chunks = groups < SPLIT_BELOW && cols > splitChunk ? Math.ceil(cols / splitChunk) : 1;
  const chunk = chunks > 1 ? splitChunk : cols;
  // Rows along `axis`: the other axes first, then `axis`, read through strides.
  const perm = [...shape.keys()].filter((i) => i !== axis).concat(axis);
  const input = prologueInput(dev, x, chunks > 1 ? 2 : 1);
  try {
    const map = x.ndim === 0 ? () => [0] : (s: readonly number[]) => perm.map((p) => s[p]);
    // The prologue computes f16 values in f32, rounded at every node like the CPU reference:
    // a driver may keep native f16 intermediates wider (NVIDIA does), changing fused results.
    const body = fuse(input, false, { shape: perm.map((p) => shape[p]), map });
    // Rows along the last axis that fit in registers: the one-read kernel.
    const plan = rowPlan(dev, rows, cols, 'cached', byteSize(x.dtype));
    if (contig && chunks === 1 && plan.items <= MAX_ITEMS && (!half || cols % 2 === 0)) {
      const read = rowRead(input, body, rows, cols);
      const { workgroups, gridX } = dev.stream.grid(plan.groups);
      const n = rows * cols;
      dev.stream.record({
        kind: 'dispatch',
        spec: {
          file: 'softmax_rows',
          label: op,
          defines: { ...rowDefines(dev, read, plan, 'f32'), ...rowOutDefines(x.dtype, cols, Math.max(body.leaves.length, 1) + 1), LOG: log },
        },
        buffers: { ...leafBuffers(read.body), out: out.use() },
        params: valueParams(read.body, [0, gridX, rows, cols]),
        workgroups,
        bytes: leafBytes(read.body, n) + n * byteSize(x.dtype),
      });
      return new Tensor(out, [...x.shape], x.dtype);
    }
    const { workgroups, gridX } = dev.stream.grid(groups * chunks);
    const defines = {
      ...valueDefines(body),
      OUT_BINDING: Math.max(body.leaves.length, 1) + 1,
      PART_BINDING: Math.max(body.leaves.length, 1) + 2,
      WG: tiled ? 256 : workgroupSize(chunk),
      TILED: tiled,
      SPLIT: chunks > 1,
      SPLIT_STATS: false,
      SPLIT_WRITE: chunks > 1,
      LOG: log,
      CONTIG: contig,
      OUT_HALF: half,
      ATOMIC: half && (!contig || cols % 2 === 1),
      OUT_STORE: storeType(x.dtype),
      STORE: storeValue(x.dtype, 'f32'),
      LOAD: convertValue(body.valueType, 'f32', 'value(i)'),
    };
    const params = valueParams(body, [0, gridX, rows, cols, chunk, chunks, inner, 0]);
    const leaves = leafBuffers(body);
    const buffers: Record<string, GPUBuffer> = { ...leaves, out: out.use() };
    let part: MetalStorage | null = null;
    if (chunks > 1) {
      part = MetalStorage.empty(dev, rows * chunks * 8, 'f32', `${op} stats`);
      dev.stream.record({
        kind: 'dispatch',
        spec: { file: 'softmax', label: `${op} stats`, defines: { ...defines, SPLIT_STATS: true, SPLIT_WRITE: false } },
        buffers: { ...leaves, part: part.use() },
        params,
        workgroups,
      });
      buffers.part = part.use();
    }
    const n = rows * cols;
    dev.stream.record({ kind: 'dispatch', spec: { file: 'softmax', label: op, defines }, buffers, params, workgroups, bytes: leafBytes(body, n) + n * byteSize(x.dtype) });
    part?.release();
  } finally {
    releaseInput(input);
  }
  return new Tensor(out, [...x.shape], x.dtype);
}
