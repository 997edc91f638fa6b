// Sync points: lb.eval() runs everything recorded so far without reading anything back.
import { currentDevice } from './context.js';

/** Submits all recorded GPU work in one command buffer and waits for it to finish. */
export async function eval_(): Promise<void> {
  const dev = currentDevice();
  if (!dev) return;
  await dev.stream.submit();
  await dev.device.queue.onSubmittedWorkDone();
  await dev.checkErrors();
}
