// The device's peaks (memory bandwidth, f32 and f16 FLOP/s): what "% of peak" in a profile or a
// benchmark report is measured against. Three sources, each named in every report:
// 'calibrated' (measured now by src/runtime/peak-calibrate.ts), 'cached' (measured earlier on this
// adapter, kept in the platform's store next to the tuning record: a file in Node, IndexedDB in a
// browser) and 'table' (vendor specifications, src/runtime/peak-table.ts).
import { platform } from '#platform';
import type { TextStore } from '../platform/types.js';
import { requireDevice } from './context.js';
import { LIBRARY_VERSION, type GpuDevice } from './device.js';
import { calibrate } from './peak-calibrate.js';
import { tablePeaks } from './peak-table.js';

export type PeakSource = 'calibrated' | 'cached' | 'table';

export interface DevicePeaks {
  /** GB/s (1e9 bytes per second). */
  bandwidthGBs: number;
  /** GFLOP/s. f16: the best rate for f16 operands (f16 math, matrix units, or f32 after widening); absent where the device has no f16 and the table does not know it. */
  f32Gflops: number;
  f16Gflops?: number;
  source: PeakSource;
  /** Where the numbers come from: the table entry's reference, or what the calibration ran. */
  detail: string;
  /** The adapter fingerprint the numbers belong to. */
  device: string;
  /** When a calibration measured them (ISO time). */
  measuredAt?: string;
}

export interface PeaksOptions {
  /**
   * 'auto' (default): a calibration of this adapter measured before (this process, else the
   * persisted one), else the GPU-family table, else calibrate now (and persist).
   * 'table': the table only (null when it does not know this GPU). 'calibrate': measure now.
   */
  source?: 'auto' | 'table' | 'calibrate';
  /** Where calibrations persist (Node: a directory); default the one lb.init() got; false: memory only. */
  cacheDir?: string | false;
}

interface PeakRecord {
  kind: 'lbrx-peaks';
  version: number;
  library: string;
  device: string;
  peaks: Omit<DevicePeaks, 'source'>;
}

const RECORD_VERSION = 1;
const measured = new WeakMap<GpuDevice, DevicePeaks>();

export const peaksRecordKey = (dev: GpuDevice): string => `peaks-${dev.fingerprint.id}.json`;

function openStore(dev: GpuDevice, cacheDir?: string | false): TextStore | null {
  const dir = cacheDir === undefined ? dev.options.cacheDir : cacheDir;
  if (dir === false) return null;
  try {
    return platform.openStore(dir);
  } catch {
    return null;
  }
}

async function loadRecord(dev: GpuDevice, store: TextStore | null): Promise<DevicePeaks | null> {
  if (!store) return null;
  try {
    const text = await store.load(peaksRecordKey(dev));
    if (text === null) return null;
    const r = JSON.parse(text) as PeakRecord;
    const p = r?.peaks;
    const ok = r?.kind === 'lbrx-peaks' && r.version === RECORD_VERSION && r.library === LIBRARY_VERSION &&
      r.device === dev.fingerprint.id && p && p.bandwidthGBs > 0 && p.f32Gflops > 0;
    return ok ? { ...p, source: 'cached' } : null;
  } catch {
    return null; // unreadable or malformed: measure again
  }
}

/** The table's peaks for this device as DevicePeaks, or null. */
export function tableDevicePeaks(dev: GpuDevice): DevicePeaks | null {
  const t = tablePeaks(dev.fingerprint);
  if (!t) return null;
  return {
    bandwidthGBs: t.bandwidthGBs, f32Gflops: t.f32Gflops, f16Gflops: t.f16Gflops, source: 'table',
    detail: `${t.name}: ${t.source}`, device: dev.fingerprint.id,
  };
}

async function measure(dev: GpuDevice, store: TextStore | null): Promise<DevicePeaks> {
  const c = await calibrate(dev);
  const peaks: DevicePeaks = {
    bandwidthGBs: c.bandwidthGBs, f32Gflops: c.f32Gflops, f16Gflops: c.f16Gflops, source: 'calibrated',
    detail: `calibration in ${(c.ms / 1e3).toFixed(1)} s: ${c.detail.join('; ')}`, device: dev.fingerprint.id,
    measuredAt: new Date().toISOString(),
  };
  measured.set(dev, peaks);
  if (store) {
    const { source: _, ...rest } = peaks;
    const record: PeakRecord = { kind: 'lbrx-peaks', version: RECORD_VERSION, library: LIBRARY_VERSION, device: dev.fingerprint.id, peaks: rest };
    await store.save(peaksRecordKey(dev), `${JSON.stringify(record, null, 1)}\n`).catch(() => {});
  }
  return peaks;
}

/** This device's peaks from `options.source` (see PeaksOptions); null only for 'table' on an unknown GPU. */
export async function devicePeaks(dev: GpuDevice, options: PeaksOptions = {}): Promise<DevicePeaks | null> {
  const source = options.source ?? 'auto';
  if (source === 'table') return tableDevicePeaks(dev);
  const store = openStore(dev, options.cacheDir);
  if (source === 'calibrate') return measure(dev, store);
  const known = measured.get(dev);
  if (known) return known;
  const cached = await loadRecord(dev, store);
  if (cached) {
    measured.set(dev, cached);
    return cached;
  }
  return tableDevicePeaks(dev) ?? measure(dev, store);
}

/**
 * `lb.peaks()`: the current device's memory bandwidth and f32/f16 FLOP rates, and where they
 * come from. The first 'auto' call on a GPU the table does not know runs a short calibration
 * (about a second) and persists it, so later processes read it back.
 */
export async function peaks(options: PeaksOptions = {}): Promise<DevicePeaks | null> {
  return devicePeaks(requireDevice('peaks'), options);
}

/** Forgets this process's measurements (tests: a fresh process on the same device). */
export function forgetPeaks(dev: GpuDevice): void {
  measured.delete(dev);
}
