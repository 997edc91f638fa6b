// GPU reductions: the input (any fused elementwise expression or view) is read as [rows, cols]
// with the reduced axes last, through strides (no copy); passes of wgsl/reduce.wgsl fold each
// row into one state (a value, a (value, index) pair, or (count, mean, m2) moments).
import { fuse } from '../graph/fuse.js';
import type { NodeInput } from '../graph/node.js';
import { leafBuffers, valueDefines, valueParams, leafBytes } from '../graph/realize.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { lazyElementwise } from './gpu-elementwise.js';
import { prologueInput, releaseInput } from './prologue.js';
import { rowDefines, rowPlan, rowRead } from './rows.js';
import { convertValue, isHalf, storeType, storeValue } from './wgsl-types.js';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'argmax' | 'argmin' | 'var';

/** Elements one workgroup folds before the row is split over workgroups (and a later pass). */
const CHUNK = 4096;
/** Elements one thread folds in column mode. */
const COL_CHUNK = 64;
/** Column mode (a thread per row): for rows of at most COL_SHORT elements once there are
 * COL_MIN_ROWS rows, or for strided rows (a kept axis closer in memory) once a warp has a row each. */
const COL_MIN_ROWS = 256;
const COL_SHORT = 64;
const COL_STRIDED_ROWS = 32;
/** Rows of more than CHUNK elements still take the one-pass kernel (wgsl/reduce_rows.wgsl) from
 * this many rows on: a workgroup per row then fills the GPU. */
const ROWS_MIN_LONG = 1024;

type Acc = 'f32' | 'i32' | 'u32';

interface OpSpec {
  state: 'scalar' | 'arg' | 'moments';
  /** Bytes of one partial state. */
  stateBytes: number;
  acc: Acc;
  /** The final pass's output element type. */
  out: Acc;
  defines: Record<string, string | number | boolean>;
}

function opSpec(op: ReduceOp, dtype: DType): OpSpec {
  const float = isFloat(dtype);
  const acc: Acc = float || op === 'mean' || op === 'var' ? 'f32' : (dtype as Acc);
  const lowest = { f32: 'inf_f32(true)', i32: 'i32(-2147483647 - 1)', u32: '0u' }[acc];
  const highest = { f32: 'inf_f32(false)', i32: '2147483647i', u32: '4294967295u' }[acc];
  switch (op) {
    case 'sum':
    case 'mean':
      return {
        state: 'scalar', stateBytes: 4, acc, out: acc,
        defines: { IDENTITY: `${acc}(0)`, COMBINE: 'a.v + b.v', FINALIZE: op === 'mean' ? 's.v / f32(params.pad0)' : 's.v' },
      };
    case 'max':
    case 'min': {
      // max_f32/min_f32 (_math.wgsl): NaN-propagating, max(-0, 0) = 0, min(-0, 0) = -0.
      const fn = float ? `${op}_f32` : op;
      return {
        state: 'scalar', stateBytes: 4, acc, out: acc,
        defines: { IDENTITY: op === 'max' ? lowest : highest, COMBINE: `${fn}(a.v, b.v)`, FINALIZE: 's.v' },
      };
    }
    case 'argmax':
    case 'argmin':
      return {
        state: 'arg', stateBytes: 8, acc, out: 'i32',
        defines: {
          ARG: true, FLOAT: float, IDENTITY: `${acc}(0)`,
          BETTER: float ? `ford(b.v) ${op === 'argmax' ? '>' : '<'} ford(a.v)` : `b.v ${op === 'argmax' ? '>' : '<'} a.v`,
          EQUAL: float ? 'ford(b.v) == ford(a.v)' : 'b.v == a.v',
          FINALIZE: 'i32(s.i)',
        },
      };
    case 'var':
      return { state: 'moments', stateBytes: 12, acc, out: 'f32', defines: { MOMENTS: true, FINALIZE: 'variance(s)' } };
  }
}

type Source =
  | { kind: 'input'; input: NodeInput; perm: readonly number[] }
  | { kind: 'partials'; storage: MetalStorage };

interface PassResult {
  out: MetalStorage;
  chunks: number;
}

/** One pass over [rows, cols]: final values (one per row) or partial states (rows x chunks). */
function pass(
  dev: GpuDevice, src: Source, spec: OpSpec, rows: number, cols: number, column: boolean,
  header: readonly [number, number], label: string,
): PassResult {
  const chunk = column ? COL_CHUNK : CHUNK;
  const chunks = Math.max(1, Math.ceil(cols / chunk));
  const final = chunks === 1;
  const out = MetalStorage.empty(dev, rows * chunks * (final ? 4 : spec.stateBytes), final ? spec.out : 'u32', label);
  const groups = column ? Math.ceil((rows * chunks) / 256) : rows * chunks;
  const { workgroups, gridX } = dev.stream.grid(groups);
  const words = [rows * chunks, gridX, rows, cols, chunk, chunks, header[0], header[1]];
  // Workgroup mode: enough threads for ~8 elements each (32 to 256), so short rows spend less
  // of their time in the tree.
  let wg = 256;
  if (!column) for (wg = 32; wg < 256 && wg * 8 < Math.min(cols, CHUNK); ) wg *= 2;
  const common = { ...spec.defines, ACC: spec.acc, OUT: spec.out, FINAL: final, COLUMN: column, WG: wg };
  if (src.kind === 'partials') {
    dev.stream.record({
      kind: 'dispatch',
      spec: { file: 'reduce', label, defines: { ...common, ENABLE: '', F16: false, FROM_PARTIALS: true, TWO_PASS: false, LOAD: '', OUT_BINDING: 2 } },
      buffers: { pin: src.storage.use(), [final ? 'out' : 'pout']: out.use() },
      params: new Uint32Array(words).buffer,
      workgroups,
    });
    return { out, chunks };
  }
  const { input, perm } = src;
  const shape = input.kind === 'node' ? input.node.shape : input.kind === 'view' ? input.shape : [];
  // f16 values computed in f32 and rounded at every node, like the CPU reference: a driver may
  // keep native f16 intermediates wider (NVIDIA does), which would change fused results.
  const body = fuse(input, false, { shape: perm.map((p) => shape[p]), map: (s) => perm.map((p) => s[p]) });
  dev.stream.record({
    kind: 'dispatch',
    bytes: leafBytes(body, rows * cols),
    spec: {
      file: 'reduce',
      label,
      defines: {
        ...valueDefines(body),
        ...common,
        FROM_PARTIALS: false,
        TWO_PASS: spec.state === 'moments',
        OUT_BINDING: Math.max(body.leaves.length, 1) + 1,
        LOAD: convertValue(body.valueType, spec.acc, 'value(base + k)'),
      },
    },
    buffers: { ...leafBuffers(body), [final ? 'out' : 'pout']: out.use() },
    params: valueParams(body, words),
    workgroups,
  });
  return { out, chunks };
}

export interface ReduceOptions {
  /** var: subtracted from the count (0: population variance, 1: sample variance). */
  correction?: number;
}

/** Reduces `x` over `axes` (sorted, distinct); the result has `outShape` and dtype `outDType`. */
export function reduceAxes(
  dev: GpuDevice, op: ReduceOp, x: Tensor, axes: readonly number[], outShape: readonly number[], outDType: DType,
  opts: ReduceOptions = {},
): Tensor {
  const spec = opSpec(op, x.dtype);
  const reduced = new Set(axes);
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced.has(i));
  // The kernel reads the input with the reduced axes last, through strides: no copy.
  const perm = [...kept, ...axes];
  const rows = kept.reduce((n, a) => n * x.shape[a], 1);
  const cols = axes.reduce((n, a) => n * x.shape[a], 1);
  const header: [number, number] = [cols >>> 0, new Uint32Array(new Float32Array([opts.correction ?? 0]).buffer)[0]];
  // A thread per row when rows are many and short, or when a kept axis is closer in memory than
  // every reduced one (reducing over leading axes: adjacent threads then read adjacent elements).
  const column = (rows >= COL_MIN_ROWS && cols <= COL_SHORT) ||
    (rows >= COL_STRIDED_ROWS && innerStride(x, kept) < innerStride(x, axes));
  const input = prologueInput(dev, x, 1);
  let res: PassResult;
  try {
    if (!column && spec.state === 'scalar' && (cols <= CHUNK || rows >= ROWS_MIN_LONG)) {
      return rowsReduce(dev, op, input, perm, rows, cols, spec, outShape, outDType, byteSize(x.dtype));
    }
    res = pass(dev, { kind: 'input', input, perm }, spec, rows, cols, column, header, op);
  } finally {
    releaseInput(input);
  }
  while (res.chunks > 1) {
    const partials = res.out;
    const col = rows >= COL_MIN_ROWS && res.chunks <= COL_SHORT;
    res = pass(dev, { kind: 'partials', storage: partials }, spec, rows, res.chunks, col, header, op);
    partials.release();
  }
  const result = new Tensor(res.out, [...outShape], spec.out);
  if (spec.out === outDType) return result;
  try {
    return lazyElementwise(dev, 'copy', [result], outShape, outDType, spec.out);
  } finally {
    result.dispose();
  }
}

/** sum/mean/max/min in one pass of wgsl/reduce_rows.wgsl, written in the result dtype. */
function rowsReduce(
  dev: GpuDevice, op: ReduceOp, input: NodeInput, perm: readonly number[], rows: number, cols: number, spec: OpSpec,
  outShape: readonly number[], outDType: DType, elemBytes: number,
): Tensor {
  const shape = input.kind === 'node' ? input.node.shape : input.kind === 'view' ? input.shape : [];
  const body = fuse(input, false, { shape: perm.map((p) => shape[p]), map: (s) => perm.map((p) => s[p]) });
  const read = rowRead(input, body, rows, cols);
  const plan = rowPlan(dev, rows, cols, 'stream', elemBytes);
  // max/min accumulate in f32 only for float inputs.
  const fkey = spec.acc === 'f32' && (op === 'max' || op === 'min');
  const rt = fkey ? 'i32' : spec.acc;
  const out = MetalStorage.empty(dev, Math.ceil((rows * byteSize(outDType)) / 4) * 4, outDType, op);
  const { workgroups, gridX } = dev.stream.grid(plan.groups);
  dev.stream.record({
    kind: 'dispatch',
    bytes: leafBytes(read.body, rows * cols) + rows * byteSize(outDType),
    spec: {
      file: 'reduce_rows',
      label: op,
      defines: {
        ...rowDefines(dev, read, plan, spec.acc, rt),
        OUT_BINDING: Math.max(read.body.leaves.length, 1) + 1,
        SUM: op === 'sum' || op === 'mean',
        MEAN: op === 'mean',
        MIN: op === 'min',
        FKEY: fkey,
        LOWEST: spec.acc === 'i32' ? 'i32(-2147483647 - 1)' : '0u',
        OUT: storeType(outDType),
        OUT_HALF: isHalf(outDType),
        STORE: storeValue(outDType, spec.acc, 'res'),
      },
    },
    buffers: { ...leafBuffers(read.body), out: out.use() },
    params: valueParams(read.body, [rows * cols, gridX, rows, cols]),
    workgroups,
  });
  return new Tensor(out, [...outShape], outDType);
}

/** The smallest memory stride among `axes` of size > 1 (a lazy tensor counts as contiguous). */
function innerStride(x: Tensor, axes: readonly number[]): number {
  let best = Infinity;
  for (const a of axes) if (x.shape[a] > 1) best = Math.min(best, Math.abs(x.strides[a]));
  return best;
}
