// The current device. lb.init() makes one; everything else asks for it here. After a device
// loss, init() (or { recover: true } by itself) makes a new one and compiles on it the kernels
// the lost one had compiled.
import { GpuValidationError } from '../errors.js';
import { GpuDevice, type InitOptions } from './device.js';

let current: GpuDevice | null = null;
// Every device ever made stays referenced here until destroyed: a device (and the Dawn
// object behind it) must never be garbage-collected while work on it may still be in flight.
const alive = new Set<GpuDevice>();
// Devices the library shut down on purpose: their loss is no reason to recover.
const retired = new WeakSet<GpuDevice>();
let pending: Promise<GpuDevice> | null = null;
// Why the last automatic recovery failed (told by requireDevice until init() succeeds).
let recoveryFailure: Error | null = null;
// When the recent automatic recoveries started: a driver that keeps losing devices must not
// make the library loop on init().
const recoveries: number[] = [];
const MAX_RECOVERIES = 3;
const RECOVERY_WINDOW_MS = 10_000;

/**
 * Makes the current device (or returns it, when it is alive and no options are given). Options
 * other than none replace a live device. After a loss, init() without options reuses the lost
 * device's options and resolves once the kernels it had compiled are compiled again; while an
 * automatic recovery ({ recover: true }) runs, init() waits for it.
 */
export async function init(options: InitOptions = {}): Promise<GpuDevice> {
  // A pending init (a recovery rebuilding its kernels) first: the device it made is current already.
  if (pending) return pending;
  if (current && !current.lost && Object.keys(options).length === 0) return current;
  pending = (async () => {
    try {
      const previous = current;
      const opts = Object.keys(options).length === 0 && previous ? previous.options : options;
      const dev = await GpuDevice.create(opts);
      // The pipeline cache's key list: what the lost device had compiled.
      const rebuild = previous?.lost ? previous.pipelines.variants() : [];
      if (current && !current.lost) await shutdown();
      else if (current) forgetWhenSettled(current);
      alive.add(dev);
      current = dev;
      recoveryFailure = null;
      dev.onLost = onDeviceLost;
      if (rebuild.length) await dev.pipelines.rebuild(rebuild);
      return dev;
    } finally {
      pending = null;
    }
  })();
  return pending;
}

/** The device's lost handler: with { recover: true }, a new device comes up by itself. */
function onDeviceLost(dev: GpuDevice): void {
  if (dev !== current || retired.has(dev) || !dev.options.recover) return;
  // Deferred: the loss may be noticed inside library code (destroy(), a failing submit).
  queueMicrotask(() => {
    if (dev !== current) return;
    const now = performance.now();
    while (recoveries.length && now - recoveries[0] > RECOVERY_WINDOW_MS) recoveries.shift();
    if (recoveries.length >= MAX_RECOVERIES) {
      recoveryFailure = new Error(`the device was lost ${MAX_RECOVERIES + 1} times within ${RECOVERY_WINDOW_MS / 1000} s; not recovering again by itself (call lb.init())`);
      return;
    }
    recoveries.push(now);
    init().catch((e: unknown) => {
      recoveryFailure = e instanceof Error ? e : new Error(String(e));
    });
  });
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

/** The device for a new op: alive, or a DeviceLostError that says what to do. */
export function requireDevice(op: string): GpuDevice {
  if (!current) throw new GpuValidationError(`${op}: no GPU device; call 'await lb.init()' first, or create the tensor with { device: 'cpu' }`);
  if (current.lost && recoveryFailure) {
    current.checkAlive(`${op} (automatic recovery failed: ${recoveryFailure.message})`);
  }
  if (current.lost && pending) current.checkAlive(`${op} (a new device is coming up: await lb.init() first)`);
  current.checkAlive(op);
  return current;
}

/** Waits for outstanding GPU work, then destroys the current device and its buffers. */
export async function shutdown(): Promise<void> {
  const dev = current;
  if (!dev) return;
  current = null;
  retired.add(dev);
  if (!dev.lost) {
    await dev.stream.idle().catch(() => {});
    await dev.pipelines.flushRecord().catch(() => {});
    // Lost at once for the library: its tensors fail clearly from here on, not at Dawn's event.
    dev.markLost('destroyed', 'the device was shut down (lb.shutdown(), or lb.init() with new options)');
    dev.destroy();
  }
  alive.delete(dev);
}
