// Sync points: lb.eval() computes lazy tensors and runs everything recorded, reading nothing back.
import type { Tensor } from '../tensor/tensor.js';
import { currentDevice } from './context.js';
import type { MetalStorage } from './storage.js';

/**
 * Computes the given lazy tensors (each becomes one fused kernel), submits all recorded GPU work
 * in one command buffer, and waits for it to finish.
 */
export async function eval_(...tensors: Tensor[]): Promise<void> {
  for (const t of tensors) {
    // A tensor of a lost device has nothing to compute: say so rather than resolve.
    if (t.device === 'gpu') (t.storage as MetalStorage).checkAlive();
  }
  const dev = currentDevice();
  if (!dev) return;
  await dev.stream.submit();
  await dev.device.queue.onSubmittedWorkDone();
  await dev.checkErrors();
}
