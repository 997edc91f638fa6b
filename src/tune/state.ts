// Tuned matmul configs per device: shape classes, the in-memory table, and its persisted record
// (one JSON text per adapter fingerprint, in the platform's TextStore: a cache directory in Node,
// IndexedDB in a browser). A record from another library version or device, or one that does not
// parse, is ignored with a warning.
import { platform } from '#platform';
import type { TextStore } from '../platform/types.js';
import { LIBRARY_VERSION, type GpuDevice } from '../runtime/device.js';
import type { MatvecConfig, SgmatConfig, TileConfig } from './table.js';

export type KernelKind = 'tile' | 'sgmat' | 'dot' | 'axpy';

export interface TunedConfig {
  kind: KernelKind;
  tile?: TileConfig;
  sgmat?: SgmatConfig;
  matvec?: MatvecConfig;
}

export interface TuneEntry {
  config: TunedConfig;
  /** Median ms of the winner and of the family table's config, on the shape that was tuned. */
  ms: number;
  tableMs: number;
  shape: { m: number; k: number; n: number; batch: number; dtypes: string };
  at: string;
}

interface TuneRecord {
  kind: 'lbrx-tune';
  version: number;
  library: string;
  device: string;
  entries: Record<string, TuneEntry>;
}

// 2: tiled and subgroup-matrix classes name transposed operands (:aT, :bT).
const RECORD_VERSION = 2;

function bucket(x: number): string {
  if (x <= 1) return '1';
  for (const b of [16, 64, 256, 1024, 4096]) if (x <= b) return String(b);
  return 'big';
}

/** The shape class a tuned config applies to: kernel kind, dtypes and size buckets. */
export function shapeClass(kind: KernelKind, dtypes: string, m: number, n: number, k: number): string {
  return `${kind}:${dtypes}:m${bucket(m)}:n${bucket(n)}:k${bucket(k)}`;
}

export function recordKey(dev: GpuDevice): string {
  return `tune-${dev.fingerprint.id}.json`;
}

interface State {
  entries: Map<string, TuneEntry>;
  loading: Promise<void> | null;
  store: TextStore | null;
}

const states = new WeakMap<GpuDevice, State>();

function state(dev: GpuDevice): State {
  let s = states.get(dev);
  if (!s) {
    s = { entries: new Map(), loading: null, store: null };
    states.set(dev, s);
  }
  return s;
}

/** Opens the store for `cacheDir` (undefined: the device's own; false: none). */
export function openTuneStore(dev: GpuDevice, cacheDir?: string | false): TextStore | null {
  const dir = cacheDir === undefined ? dev.options.cacheDir : cacheDir;
  if (dir === false) return null;
  try {
    return platform.openStore(dir);
  } catch {
    return null;
  }
}

/** Parses a record text; a reason when it must be ignored. */
export function parseRecord(text: string, dev: GpuDevice): { ok: true; entries: Record<string, TuneEntry> } | { ok: false; why: string } {
  let r: TuneRecord;
  try {
    r = JSON.parse(text) as TuneRecord;
  } catch (e) {
    return { ok: false, why: `it is not valid JSON (${e instanceof Error ? e.message : e})` };
  }
  if (!r || typeof r !== 'object' || r.kind !== 'lbrx-tune' || typeof r.entries !== 'object' || r.entries === null) {
    return { ok: false, why: 'it is not an lbrx tuning record' };
  }
  if (r.version !== RECORD_VERSION || r.library !== LIBRARY_VERSION) {
    return { ok: false, why: `it is stale (written by lbrx ${r.library}, record v${r.version}; this is ${LIBRARY_VERSION}, v${RECORD_VERSION})` };
  }
  if (r.device !== dev.fingerprint.id) return { ok: false, why: `it was tuned on ${r.device}, not ${dev.fingerprint.id}` };
  const entries: Record<string, TuneEntry> = {};
  for (const [k, v] of Object.entries(r.entries)) if (v && typeof v === 'object' && v.config && typeof v.config.kind === 'string') entries[k] = v;
  return { ok: true, entries };
}

/** Loads the persisted record into the device's table (merging; in-memory entries win). */
export async function loadTuned(dev: GpuDevice, store: TextStore | null, warn: (m: string) => void = console.warn): Promise<number> {
  if (!store) return 0;
  let text: string | null;
  try {
    text = await store.load(recordKey(dev));
  } catch (e) {
    warn(`lbrx: ignoring the matmul tuning record: could not read it (${e instanceof Error ? e.message : e})`);
    return 0;
  }
  if (text === null) return 0;
  const parsed = parseRecord(text, dev);
  if (!parsed.ok) {
    warn(`lbrx: ignoring the matmul tuning record ${recordKey(dev)}: ${parsed.why}; the built-in table is used (run lb.tune() to tune again)`);
    return 0;
  }
  const s = state(dev);
  let n = 0;
  for (const [k, v] of Object.entries(parsed.entries)) {
    if (!s.entries.has(k)) {
      s.entries.set(k, v);
      n++;
    }
  }
  return n;
}

export async function saveTuned(dev: GpuDevice, store: TextStore): Promise<void> {
  const record: TuneRecord = {
    kind: 'lbrx-tune',
    version: RECORD_VERSION,
    library: LIBRARY_VERSION,
    device: dev.fingerprint.id,
    entries: Object.fromEntries(state(dev).entries),
  };
  await store.save(recordKey(dev), `${JSON.stringify(record, null, 1)}\n`);
}

/**
 * The tuned config for a shape class, if any. The first call on a device starts loading the
 * persisted record in the background (results apply from then on; `await lb.tune()` waits).
 */
export function tunedConfig(dev: GpuDevice, cls: string): TunedConfig | undefined {
  const s = state(dev);
  if (!s.loading) {
    s.store = openTuneStore(dev);
    s.loading = loadTuned(dev, s.store).then(() => {}, () => {});
  }
  return s.entries.get(cls)?.config;
}

export function tunedEntry(dev: GpuDevice, cls: string): TuneEntry | undefined {
  return state(dev).entries.get(cls);
}

export function setTuned(dev: GpuDevice, cls: string, entry: TuneEntry): void {
  state(dev).entries.set(cls, entry);
}

/** Waits for the background load started by the first matmul (if any). */
export async function tuningLoaded(dev: GpuDevice): Promise<void> {
  await state(dev).loading;
}

/** Forgets in-memory results (tests: simulates a fresh process on the same device). */
export function resetTuning(dev: GpuDevice): void {
  states.delete(dev);
}
