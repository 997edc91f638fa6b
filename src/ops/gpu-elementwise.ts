// GPU elementwise ops record lazy nodes; src/graph fuses and realizes them at use.
import { LazyNode, type NodeInput } from '../graph/node.js';
import { realize } from '../graph/realize.js';
import { contiguousStrides, sizeOf } from '../tensor/shape.js';
import type { GpuDevice } from '../runtime/device.js';
import type { MetalStorage } from '../runtime/storage.js';
import { byteSize, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** Nodes one fused kernel may hold before its operands are computed separately. */
const MAX_FUSED_NODES = 48;

export type Operand = Tensor | { scalar: number; dtype: DType };

/** A tensor as a node operand: its lazy node (retained) or a strided view of its storage. */
export function asInput(t: Operand): NodeInput {
  if (!(t instanceof Tensor)) return { kind: 'scalar', value: t.scalar, dtype: t.dtype };
  const node = t.lazy;
  if (node) {
    node.retain();
    return { kind: 'node', node };
  }
  const storage = t.storage as MetalStorage;
  storage.retain();
  return { kind: 'view', storage, dtype: t.dtype, shape: t.shape, strides: t.strides, offset: t.offset };
}

/** A lazy tensor for `op` over `inputs`, broadcast to `shape`. */
export function lazyElementwise(
  dev: GpuDevice,
  op: string,
  inputs: readonly Operand[],
  shape: readonly number[],
  dtype: DType,
  computeDType: DType = dtype,
): Tensor {
  dev.checkAllocatable(sizeOf(shape) * byteSize(dtype));
  const node = new LazyNode(dev, op, inputs.map(asInput), [...shape], dtype, computeDType);
  // Keep generated kernels small and within the storage-binding limit: past either bound,
  // compute the operands first and fuse from their results.
  const maxLeaves = dev.limits.maxStorageBuffersPerShaderStage - 1;
  if (node.weight > MAX_FUSED_NODES || node.leafCount > maxLeaves) {
    node.inputs = node.inputs.map((i) => {
      if (i.kind !== 'node') return i;
      const storage = realize(i.node);
      storage.retain();
      i.node.release();
      return { kind: 'view', storage, dtype: i.node.dtype, shape: i.node.shape, strides: contiguousStrides(i.node.shape), offset: 0 };
    });
  }
  return new Tensor(node, [...shape], dtype);
}
