// The persisted record of pipeline variants used by earlier runs, so warmup can compile
// them early. Format: { format: 1, version, variants: [{ file, defines, entryPoint, constants, hash }] }.
import type { DefineValue } from './preprocess.js';

export const RECORD_FORMAT = 1;
/** Most variants a record keeps; the oldest fall off first. */
export const MAX_VARIANTS = 512;

export interface VariantEntry {
  readonly file: string;
  readonly defines: Readonly<Record<string, DefineValue>>;
  readonly entryPoint: string;
  readonly constants: Readonly<Record<string, number>>;
  /** hashString of the cache key (final source, entry point, constants) when recorded. */
  readonly hash: string;
}

export interface VariantRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly version: string;
  readonly variants: readonly VariantEntry[];
}

export type ParseResult = { ok: true; record: VariantRecord } | { ok: false; why: string };

/** Parses and validates a stored record; `why` says what is wrong with it otherwise. */
export function parseRecord(text: string, version: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `not valid JSON (${(e as Error).message})` };
  }
  if (!isObject(data)) return { ok: false, why: 'not a JSON object' };
  if (data.format !== RECORD_FORMAT) return { ok: false, why: `format ${JSON.stringify(data.format)}, expected ${RECORD_FORMAT}` };
  if (data.version !== version) return { ok: false, why: `written by version ${JSON.stringify(data.version)}, this is ${version}` };
  if (!Array.isArray(data.variants)) return { ok: false, why: "'variants' is not an array" };
  const variants: VariantEntry[] = [];
  for (let i = 0; i < data.variants.length; i++) {
    const v = toEntry(data.variants[i]);
    if (!v) return { ok: false, why: `variant ${i} is malformed` };
    variants.push(v);
  }
  return { ok: true, record: { format: RECORD_FORMAT, version, variants } };
}

export function serializeRecord(version: string, variants: readonly VariantEntry[]): string {
  return JSON.stringify({ format: RECORD_FORMAT, version, variants });
}

/** Older entries first, then newer; one entry per hash (the newest wins); capped to the newest `cap`. */
export function mergeVariants(older: readonly VariantEntry[], newer: readonly VariantEntry[], cap = MAX_VARIANTS): VariantEntry[] {
  const byHash = new Map<string, VariantEntry>();
  for (const v of [...older, ...newer]) {
    byHash.delete(v.hash); // re-insert so Map order puts the newest use last
    byHash.set(v.hash, v);
  }
  const all = [...byHash.values()];
  return all.slice(Math.max(0, all.length - cap));
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function toEntry(x: unknown): VariantEntry | null {
  if (!isObject(x)) return null;
  const { file, defines, entryPoint, constants, hash } = x;
  if (typeof file !== 'string' || typeof entryPoint !== 'string' || typeof hash !== 'string') return null;
  if (!isObject(defines) || !isObject(constants)) return null;
  const defOk = Object.values(defines).every((v) => ['string', 'number', 'boolean'].includes(typeof v));
  const constOk = Object.values(constants).every((v) => typeof v === 'number');
  if (!defOk || !constOk) return null;
  return {
    file,
    entryPoint,
    hash,
    defines: defines as Record<string, DefineValue>,
    constants: constants as Record<string, number>,
  };
}
