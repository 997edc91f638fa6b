// GPU reduction over the last axis of a contiguous [rows, cols] view, in one or two passes.
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { elementwise } from './gpu-elementwise.js';
import { loadExpr, storeType } from './wgsl-types.js';

/** Elements one workgroup sums before the work is split into a second pass. */
const CHUNK = 16384;

type Acc = 'f32' | 'i32' | 'u32';

function pass(dev: GpuDevice, x: GPUBuffer, xDtype: DType, offset: number, rows: number, cols: number, acc: Acc) {
  const chunks = Math.max(1, Math.ceil(cols / CHUNK));
  const out = MetalStorage.empty(dev, rows * chunks * 4, acc, 'sum');
  const { workgroups, gridX } = dev.stream.grid(rows * chunks);
  const params = new Uint32Array([rows, cols, CHUNK, chunks, gridX, offset]);
  dev.stream.record({
    kind: 'dispatch',
    spec: {
      file: 'reduce',
      label: 'sum',
      defines: {
        ENABLE: '',
        X_STORE: storeType(xDtype),
        LOAD_X: loadExpr('x', xDtype, acc),
        ACC: acc,
        IDENTITY: `${acc}(0)`,
        COMBINE: 'acc + v',
      },
    },
    buffers: { x, out: out.use() },
    params: params.buffer,
    workgroups,
  });
  return { out, chunks };
}

/** Sums each row of `x` (contiguous, viewed as [rows, cols]); result has `outShape`, dtype of x. */
export function sumRows(dev: GpuDevice, x: Tensor, rows: number, cols: number, outShape: readonly number[]): Tensor {
  const acc: Acc = isFloat(x.dtype) ? 'f32' : (x.dtype as Acc);
  let { out, chunks } = pass(dev, (x.storage as MetalStorage).use(), x.dtype, x.offset, rows, cols, acc);
  while (chunks > 1) {
    const next = pass(dev, out.use(), acc, 0, rows, chunks, acc);
    out.release();
    ({ out, chunks } = next);
  }
  const partial = new Tensor(out, [...outShape], acc);
  if (acc === x.dtype) return partial;
  try {
    return elementwise(dev, 'sum', 'a', [partial], outShape, x.dtype, 'f32');
  } finally {
    partial.dispose();
  }
}
