// GPU reductions: the input (any fused elementwise expression or view) is read as [rows, cols]
// with the reduced axes last; one or two passes of wgsl/reduce.wgsl.
import { fuse } from '../graph/fuse.js';
import type { NodeInput } from '../graph/node.js';
import { leafBuffers, valueDefines, valueParams } from '../graph/realize.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { asInput, lazyElementwise } from './gpu-elementwise.js';
import { convertValue } from './wgsl-types.js';

/** Elements one workgroup reduces before the work is split into a second pass. */
const CHUNK = 16384;

type Acc = 'f32' | 'i32' | 'u32';

/** One pass: out[row * chunks + chunk] = sum of a chunk of the row. */
function pass(dev: GpuDevice, input: NodeInput, perm: readonly number[], rows: number, cols: number, acc: Acc): { out: MetalStorage; chunks: number } {
  const chunks = Math.max(1, Math.ceil(cols / CHUNK));
  const out = MetalStorage.empty(dev, rows * chunks * 4, acc, 'sum');
  const shape = input.kind === 'node' ? input.node.shape : input.kind === 'view' ? input.shape : [];
  const body = fuse(input, dev.features.f16, { shape: perm.map((p) => shape[p]), map: (s) => perm.map((p) => s[p]) });
  const { workgroups, gridX } = dev.stream.grid(rows * chunks);
  dev.stream.record({
    kind: 'dispatch',
    spec: {
      file: 'reduce',
      label: 'sum',
      defines: {
        ...valueDefines(body),
        OUT_BINDING: Math.max(body.leaves.length, 1) + 1,
        ACC: acc,
        IDENTITY: `${acc}(0)`,
        COMBINE: 'acc + v',
        LOAD: convertValue(body.valueType, acc, 'value(base + k)'),
      },
    },
    buffers: { ...leafBuffers(body), out: out.use() },
    params: valueParams(body, [rows * chunks, gridX, rows, cols, CHUNK, chunks]),
    workgroups,
  });
  return { out, chunks };
}

/** Sums `x` over `axes` (sorted); `perm` puts kept axes first; result has `outShape`, x's dtype. */
export function sumAxes(dev: GpuDevice, x: Tensor, perm: readonly number[], rows: number, cols: number, outShape: readonly number[]): Tensor {
  const acc: Acc = isFloat(x.dtype) ? 'f32' : (x.dtype as Acc);
  const input = asInput(x);
  let out: MetalStorage;
  let chunks: number;
  try {
    ({ out, chunks } = pass(dev, input, perm, rows, cols, acc));
  } finally {
    release(input);
  }
  while (chunks > 1) {
    const partials: NodeInput = { kind: 'view', storage: out, dtype: acc, shape: [rows, chunks], strides: [chunks, 1], offset: 0 };
    const next = pass(dev, partials, [0, 1], rows, chunks, acc);
    out.release();
    ({ out, chunks } = next);
  }
  const partial = new Tensor(out, [...outShape], acc);
  if (acc === x.dtype) return partial;
  try {
    return lazyElementwise(dev, 'copy', [partial], outShape, x.dtype as DType, acc);
  } finally {
    partial.dispose();
  }
}

function release(input: NodeInput): void {
  if (input.kind === 'node') input.node.release();
  else if (input.kind === 'view') input.storage.release();
}
