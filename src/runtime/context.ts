// The current device. lb.init() makes one; everything else asks for it here.
import { GpuValidationError } from '../errors.js';
import { GpuDevice, type InitOptions } from './device.js';

let current: GpuDevice | null = null;
// Every device ever made stays referenced here until destroyed: a device (and the Dawn
// object behind it) must never be garbage-collected while work on it may still be in flight.
const alive = new Set<GpuDevice>();
let pending: Promise<GpuDevice> | null = null;

export async function init(options: InitOptions = {}): Promise<GpuDevice> {
  if (current && !current.lost && Object.keys(options).length === 0) return current;
  if (pending) return pending;
  pending = (async () => {
    try {
      const dev = await GpuDevice.create(options);
      if (current && !current.lost) await shutdown();
      else if (current) forgetWhenSettled(current);
      alive.add(dev);
      current = dev;
      return dev;
    } finally {
      pending = null;
    }
  })();
  return pending;
}

/** A lost device is let go once Dawn has settled what was in flight on it (callbacks reject). */
function forgetWhenSettled(lost: GpuDevice): void {
  void lost.stream.idle().catch(() => {}).finally(() => alive.delete(lost));
}

/** Devices the library still holds (for tests: lost ones must be let go). */
export function heldDeviceCount(): number {
  return alive.size;
}

/** The current device, or null when init() has not run (or the device was lost and not replaced). */
export function currentDevice(): GpuDevice | null {
  return current;
}

export function requireDevice(op: string): GpuDevice {
  if (!current) throw new GpuValidationError(`${op}: no GPU device; call 'await lb.init()' first, or create the tensor with { device: 'cpu' }`);
  current.checkAlive(op);
  return current;
}

/** Waits for outstanding GPU work, then destroys the current device and its buffers. */
export async function shutdown(): Promise<void> {
  const dev = current;
  if (!dev) return;
  current = null;
  if (!dev.lost) {
    await dev.stream.idle().catch(() => {});
    await dev.pipelines.flushRecord().catch(() => {});
    dev.destroy();
  }
  alive.delete(dev);
}
