// safetensors headers: the dtype table, and a strict parser that checks every number before use.
// Layout: u64 LE header length N, N bytes of UTF-8 JSON, then the data section. Tensor byte ranges
// must tile the data section exactly (sorted, no holes, no overlaps, ending at the end of the file),
// as the reference implementation requires; that also defuses duplicate-key aliasing.
import { FormatError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { setOwn } from './own.js';

/** The reference implementation's header cap. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Each supported file dtype: bytes per element and the lbrx dtype it loads as. */
export const FILE_DTYPES: Readonly<Record<string, { size: number; out: DType }>> = {
  F64: { size: 8, out: 'f32' }, // narrowed
  F32: { size: 4, out: 'f32' },
  F16: { size: 2, out: 'f16' },
  BF16: { size: 2, out: 'bf16' },
  I64: { size: 8, out: 'i32' }, // narrowed, range-checked
  I32: { size: 4, out: 'i32' },
  I16: { size: 2, out: 'i32' }, // widened
  I8: { size: 1, out: 'i32' }, // widened
  U64: { size: 8, out: 'u32' }, // narrowed, range-checked
  U32: { size: 4, out: 'u32' },
  U16: { size: 2, out: 'u32' }, // widened
  U8: { size: 1, out: 'u32' }, // widened
  BOOL: { size: 1, out: 'u32' }, // 0 or 1
};

/** The file dtype each lbrx dtype is saved as. */
export const SAVE_DTYPES: Readonly<Record<DType, string>> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', u32: 'U32' };

export interface HeaderEntry {
  name: string;
  fileDType: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** Entries sorted by their byte range. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  /** Bytes the tensors cover, from the start of the data section. */
  dataBytes: number;
}

const utf8 = new TextEncoder();

/** The file byte offset of `name`'s key in the header text (or the header start when not found). */
function keyOffset(text: string, name: string): number {
  const at = text.indexOf(JSON.stringify(name));
  return 8 + (at < 0 ? 0 : utf8.encode(text.slice(0, at)).byteLength);
}

/** Reads the u64 header length at the start of a file; checks it against the cap and the file size. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number | undefined): number {
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(file, 0, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit; expected a u64 LE JSON header length (is this a safetensors file?)`);
  }
  const len = Number(n);
  if (fileSize !== undefined && 8 + len > fileSize) {
    throw new FormatError(file, 0, `header length ${len} runs past the end of the ${fileSize}-byte file; expected at most ${fileSize - 8}`);
  }
  return len;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and checks the JSON header (`bytes`, which start at file byte 8). */
export function parseHeader(file: string, bytes: Uint8Array, dataSize: number | undefined): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(file, 8, 'header is not valid UTF-8; expected a UTF-8 JSON object');
  }
  if (!text.startsWith('{')) throw new FormatError(file, 8, `header starts with ${JSON.stringify(text.slice(0, 8))}; expected a JSON object starting with '{'`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec(String((e as Error).message));
    const at = pos ? 8 + utf8.encode(text.slice(0, Number(pos[1]))).byteLength : 8;
    throw new FormatError(file, at, `header is not valid JSON (${(e as Error).message}); expected a JSON object`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(file, 8, 'header is not a JSON object; expected {"name": {"dtype", "shape", "data_offsets"}, ...}');
  }
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    const at = keyOffset(text, name);
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new FormatError(file, at, '__metadata__ is not an object; expected string keys and string values');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new FormatError(file, at, `__metadata__.${k} is ${JSON.stringify(v)}; expected a string`);
        setOwn(metadata, k, v);
      }
      continue;
    }
    const bad = (what: string) => new FormatError(file, at, `tensor '${name}': ${what}`);
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw bad('expected an object {"dtype", "shape", "data_offsets"}');
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in FILE_DTYPES)) {
      throw bad(`dtype ${JSON.stringify(dtype)} is not supported; expected one of ${Object.keys(FILE_DTYPES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount) || offs[0] > offs[1]) {
      throw bad(`data_offsets ${JSON.stringify(offs)}; expected [begin, end] with 0 <= begin <= end`);
    }
    const count = shape.includes(0) ? 0 : shape.reduce((a: number, b: number) => a * b, 1);
    const want = count * FILE_DTYPES[dtype].size;
    if (!Number.isSafeInteger(want)) throw bad(`shape [${shape}] is too large`);
    const [begin, end] = offs as number[];
    if (end - begin !== want) throw bad(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes; expected ${want} for ${dtype} [${shape}]`);
    if (dataSize !== undefined && end > dataSize) throw bad(`data_offsets [${begin}, ${end}] run past the ${dataSize}-byte data section`);
    entries.push({ name, fileDType: dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin !== covered) {
      const what = e.begin < covered ? 'overlaps the tensor before it' : `leaves a hole: bytes [${covered}, ${e.begin}) belong to no tensor`;
      throw new FormatError(file, keyOffset(text, e.name), `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] ${what}; expected begin ${covered}`);
    }
    covered = e.end;
  }
  if (dataSize !== undefined && covered !== dataSize) {
    throw new FormatError(file, 8 + bytes.byteLength + covered, `${dataSize - covered} trailing bytes after the last tensor; expected the tensors to cover the data section exactly`);
  }
  return { entries, metadata, dataBytes: covered };
}

/** The header for `entries` (in order), padded with spaces so the data starts 8-byte aligned. */
export function buildHeader(entries: readonly HeaderEntry[], metadata: Record<string, string> | undefined): Uint8Array {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) obj.__metadata__ = metadata;
  for (const e of entries) setOwn(obj, e.name, { dtype: e.fileDType, shape: e.shape, data_offsets: [e.begin, e.end] });
  const json = utf8.encode(JSON.stringify(obj));
  const len = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  const out = new Uint8Array(8 + len).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(len), true);
  out.set(json, 8);
  return out;
}
