// Helpers for kernels that read an input through the fused value() prologue (wgsl/_value.wgsl)
// and bind a few buffers of their own next to its leaves.
import { GpuValidationError } from '../errors.js';
import { fuse, type FusedBody } from '../graph/fuse.js';
import type { NodeInput } from '../graph/node.js';
import type { GpuDevice } from '../runtime/device.js';
import type { MetalStorage } from '../runtime/storage.js';
import type { Tensor } from '../tensor/tensor.js';
import { asInput } from './gpu-elementwise.js';

/**
 * `x` as a prologue input. A lazy expression stays fused unless its leaves plus the kernel's
 * `ownBindings` storage buffers could pass the per-stage limit; then it is computed first.
 */
export function prologueInput(dev: GpuDevice, x: Tensor, ownBindings: number): NodeInput {
  const node = x.lazy;
  if (node && node.leafCount + ownBindings > dev.limits.maxStorageBuffersPerShaderStage) void x.storage;
  return asInput(x);
}

/**
 * Runs `record` with the codegen for `x` read row-major over its own shape; the input's
 * references are dropped after (recording marks the leaf buffers busy for this batch).
 */
export function withPrologue<T>(dev: GpuDevice, x: Tensor, ownBindings: number, record: (body: FusedBody) => T): T {
  const input = prologueInput(dev, x, ownBindings);
  try {
    return record(fuse(input, dev.features.f16));
  } finally {
    releaseInput(input);
  }
}

export function releaseInput(input: NodeInput): void {
  if (input.kind === 'node') input.node.release();
  else if (input.kind === 'view') input.storage.release();
}

/** Binding index after the body's leaves (binding 0 is params; leaves start at 1). */
export function nextBinding(body: FusedBody, k = 0): number {
  return Math.max(body.leaves.length, 1) + 1 + k;
}

/** A realized tensor's storage, element offset and stride along one axis, for a plain binding. */
export function plainView(x: Tensor, axis = 0): { storage: MetalStorage; offset: number; stride: number } {
  const storage = x.storage as MetalStorage;
  if (storage.kind !== 'gpu') throw new GpuValidationError('internal: plainView of a CPU tensor');
  return { storage, offset: x.offset, stride: x.ndim === 0 ? 0 : x.strides[axis] };
}

export const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];
