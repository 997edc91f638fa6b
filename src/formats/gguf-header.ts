// GGUF headers (v2 and v3, little-endian): magic "GGUF", u32 version, u64 tensor count, u64 KV
// count, the metadata KVs, the tensor infos, then the data section at the next multiple of
// `general.alignment` (default 32). Every count and length is checked against the bytes left
// before anything is allocated for it; every tensor range is checked before any tensor is read.
import { FormatError } from '../errors.js';
import type { ByteReader } from './safetensors-source.js';
import { setOwn } from './own.js';

/** Metadata value type ids of the GGUF specification. */
export const GGUF_TYPE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7,
  STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

/**
 * A metadata value. UINT8..INT32, FLOAT32, FLOAT64: number; UINT64/INT64: number when it is a safe
 * integer, else bigint; BOOL: boolean; STRING: string. Arrays: a typed array for 8/16/32-bit
 * integers and floats (Uint8Array ... Float64Array), else a plain array (bool, string, 64-bit
 * integers by the same rule, nested arrays).
 */
export type GgufValue =
  | number | bigint | boolean | string
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array
  | GgufValue[];

/** Tensor types this loader reads (ggml_type ids): element block size and bytes per block. */
export const TENSOR_TYPES: Readonly<Record<number, { name: string; block: number; bytes: number }>> = {
  0: { name: 'F32', block: 1, bytes: 4 },
  1: { name: 'F16', block: 1, bytes: 2 },
  2: { name: 'Q4_0', block: 32, bytes: 18 },
  3: { name: 'Q4_1', block: 32, bytes: 20 },
  6: { name: 'Q5_0', block: 32, bytes: 22 },
  7: { name: 'Q5_1', block: 32, bytes: 24 },
  8: { name: 'Q8_0', block: 32, bytes: 34 },
  12: { name: 'Q4_K', block: 256, bytes: 144 },
  13: { name: 'Q5_K', block: 256, bytes: 176 },
  14: { name: 'Q6_K', block: 256, bytes: 210 },
  26: { name: 'I32', block: 1, bytes: 4 },
  30: { name: 'BF16', block: 1, bytes: 2 },
};
/** ggml types that exist but are not read yet (Q2_K, Q3_K, IQ types, I8/I16/I64/F64...). */
const KNOWN_UNSUPPORTED: Readonly<Record<number, string>> = {
  9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS',
  18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 27: 'I64',
  28: 'F64', 29: 'IQ1_M', 34: 'TQ1_0', 35: 'TQ2_0',
};

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as u32 LE
export const DEFAULT_ALIGNMENT = 32;
/** Caps far above real files (llama.cpp models have < 100k tensors and keys). */
const MAX_COUNT = 1 << 24;
const MAX_DEPTH = 8;
const MAX_DIMS = 4; // GGML_MAX_DIMS

export interface GgufTensorInfo {
  name: string;
  /** As stored: innermost (fastest-varying) first. */
  dims: number[];
  /** Row-major shape: dims reversed. */
  shape: number[];
  type: number;
  typeName: string;
  /** Relative to the data section. */
  offset: number;
  byteLength: number;
  /** File offset of this tensor's info record. */
  infoAt: number;
}

export interface GgufHeader {
  version: number;
  metadata: Record<string, GgufValue>;
  /** Each key's value type (GGUF_TYPE), arrays as ARRAY. */
  types: Record<string, number>;
  alignment: number;
  tensors: GgufTensorInfo[];
  /** File offset of the data section. */
  dataStart: number;
  /** Bytes from dataStart to the end of the last tensor. */
  dataBytes: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** Forward-only reads of the header through a ByteReader; `chunk` > 0 reads ahead (files). */
export class Cursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private bufStart = 0;
  constructor(
    private readonly reader: ByteReader,
    private readonly chunk: number,
  ) {}

  get name(): string {
    return this.reader.name;
  }

  /** Bytes known to remain after `pos` (Infinity for a stream of unknown length). */
  get left(): number {
    return this.reader.size === undefined ? Infinity : this.reader.size - this.pos;
  }

  /** The next `n` bytes (valid until the next call). */
  async take(n: number, what: string): Promise<Uint8Array> {
    const at = this.pos;
    if (n > this.left) {
      throw new FormatError(this.name, at, `expected ${n} bytes (${what}), but the file ends after ${Math.max(0, this.left)}`);
    }
    this.pos += n;
    const end = this.bufStart + this.buf.byteLength;
    if (at >= this.bufStart && at + n <= end) return this.buf.subarray(at - this.bufStart, at - this.bufStart + n);
    if (this.chunk > 0 && this.reader.size !== undefined && n < this.chunk) {
      const len = Math.min(this.chunk, this.reader.size - at);
      this.buf = (await this.reader.read(at, len, what)).slice();
      this.bufStart = at;
      return this.buf.subarray(0, n);
    }
    return this.reader.read(at, n, what);
  }

  async view(n: number, what: string): Promise<DataView> {
    const b = await this.take(n, what);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  async u32(what: string): Promise<number> {
    return (await this.view(4, what)).getUint32(0, true);
  }

  /** A u64 as a number; over 2^53 - 1 is a FormatError (no real count or offset is that large). */
  async u64(what: string): Promise<number> {
    const at = this.pos;
    const v = (await this.view(8, what)).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(this.name, at, `${what} is ${v}; expected at most 2^53 - 1`);
    return Number(v);
  }

  /** A length-prefixed string; the length is checked against the bytes left first. */
  async str(what: string, strict: boolean): Promise<string> {
    const at = this.pos;
    const n = await this.u64(`${what} length`);
    if (n > this.left) throw new FormatError(this.name, at, `${what} length ${n} runs past the end of the file; expected at most ${this.left}`);
    const bytes = await this.take(n, what);
    if (!strict) return lenient.decode(bytes);
    try {
      return decoder.decode(bytes);
    } catch {
      throw new FormatError(this.name, at + 8, `${what} is not valid UTF-8`);
    }
  }
}

const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const TYPED: Record<number, (b: ArrayBuffer, n: number) => GgufValue> = {
  0: (b) => new Uint8Array(b), 1: (b) => new Int8Array(b), 2: (b, n) => new Uint16Array(b, 0, n), 3: (b, n) => new Int16Array(b, 0, n),
  4: (b, n) => new Uint32Array(b, 0, n), 5: (b, n) => new Int32Array(b, 0, n), 6: (b, n) => new Float32Array(b, 0, n), 12: (b, n) => new Float64Array(b, 0, n),
};
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function int64(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function scalar(d: DataView, type: number): GgufValue {
  switch (type) {
    case 0: return d.getUint8(0);
    case 1: return d.getInt8(0);
    case 2: return d.getUint16(0, true);
    case 3: return d.getInt16(0, true);
    case 4: return d.getUint32(0, true);
    case 5: return d.getInt32(0, true);
    case 6: return d.getFloat32(0, true);
    case 7: return d.getUint8(0) !== 0;
    case 10: return int64(d.getBigUint64(0, true));
    case 11: return int64(d.getBigInt64(0, true));
    default: return d.getFloat64(0, true);
  }
}

async function readValue(c: Cursor, type: number, key: string, depth: number): Promise<GgufValue> {
  const at = c.pos;
  if (type === GGUF_TYPE.STRING) return c.str(`the string value of '${key}'`, false);
  if (type in FIXED) {
    const d = await c.view(FIXED[type], `the value of '${key}'`);
    if (type === GGUF_TYPE.BOOL && d.getUint8(0) > 1) throw new FormatError(c.name, at, `'${key}' is a bool holding ${d.getUint8(0)}; expected 0 or 1`);
    return scalar(d, type);
  }
  if (type !== GGUF_TYPE.ARRAY) throw new FormatError(c.name, at - 4, `'${key}' has value type ${type}; expected 0..12`);
  if (depth >= MAX_DEPTH) throw new FormatError(c.name, at, `'${key}' nests arrays ${depth} deep; expected at most ${MAX_DEPTH}`);
  const item = await c.u32(`the array item type of '${key}'`);
  const nAt = c.pos;
  const n = await c.u64(`the array length of '${key}'`);
  const min = item in FIXED ? FIXED[item] : item === GGUF_TYPE.STRING ? 8 : item === GGUF_TYPE.ARRAY ? 12 : 0;
  if (min === 0) throw new FormatError(c.name, at, `'${key}' is an array of value type ${item}; expected 0..12`);
  if (n * min > c.left || n > 2 ** 32) {
    throw new FormatError(c.name, nAt, `'${key}' array length ${n} needs at least ${n * min} bytes, but ${c.left} are left`);
  }
  if (item in TYPED) {
    const raw = await c.take(n * min, `the array '${key}'`);
    const buf = raw.slice().buffer as ArrayBuffer;
    if (!LITTLE_ENDIAN && min > 1) throw new FormatError(c.name, nAt, 'numeric arrays need a little-endian host');
    return TYPED[item](buf, n);
  }
  const out: GgufValue[] = [];
  if (item in FIXED) {
    const raw = await c.take(n * min, `the array '${key}'`);
    for (let i = 0; i < n; i++) {
      if (item === GGUF_TYPE.BOOL && raw[i] > 1) throw new FormatError(c.name, nAt + 8 + i, `'${key}'[${i}] is a bool holding ${raw[i]}; expected 0 or 1`);
      out.push(scalar(new DataView(raw.buffer, raw.byteOffset + i * min, min), item));
    }
    return out;
  }
  for (let i = 0; i < n; i++) out.push(await readValue(c, item, `${key}[${i}]`, depth + 1));
  return out;
}

/** Reads and checks the whole header; `size` (when known) bounds every count and tensor range. */
export async function parseGgufHeader(c: Cursor): Promise<GgufHeader> {
  const name = c.name;
  const magic = (await c.view(4, 'the magic "GGUF"')).getUint32(0, true);
  if (magic !== GGUF_MAGIC) {
    const text = JSON.stringify(String.fromCharCode(magic & 0xff, (magic >>> 8) & 0xff, (magic >>> 16) & 0xff, magic >>> 24));
    throw new FormatError(name, 0, `magic is ${text}; expected "GGUF" (is this a GGUF file?)`);
  }
  const version = await c.u32('the version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version >>> 8) & 0xff) << 16 | ((version >>> 16) & 0xff) << 8 | (version >>> 24);
    const why = swapped === 2 || swapped === 3 ? ' (a big-endian file; only little-endian GGUF is read)' : '';
    throw new FormatError(name, 4, `version ${version}${why}; expected 2 or 3`);
  }
  const nTensors = await c.u64('the tensor count');
  if (nTensors > MAX_COUNT || nTensors * 24 > c.left) {
    throw new FormatError(name, 8, `tensor count ${nTensors} is more than the file can hold; expected at most ${Math.min(MAX_COUNT, Math.floor(c.left / 24))}`);
  }
  const nKv = await c.u64('the metadata count');
  if (nKv > MAX_COUNT || nKv * 13 > c.left) {
    throw new FormatError(name, 16, `metadata count ${nKv} is more than the file can hold; expected at most ${Math.min(MAX_COUNT, Math.floor(c.left / 13))}`);
  }
  const metadata: Record<string, GgufValue> = {};
  const types: Record<string, number> = {};
  let alignment = DEFAULT_ALIGNMENT;
  for (let i = 0; i < nKv; i++) {
    const at = c.pos;
    const key = await c.str(`metadata key ${i}`, true);
    if (Object.hasOwn(metadata, key)) throw new FormatError(name, at, `metadata key '${key}' appears twice; expected each key once`);
    const type = await c.u32(`the value type of '${key}'`);
    const valueAt = c.pos;
    const value = await readValue(c, type, key, 0);
    if (key === 'general.alignment') {
      if (type !== GGUF_TYPE.UINT32 || typeof value !== 'number' || value === 0 || (value & (value - 1)) !== 0) {
        throw new FormatError(name, valueAt, `general.alignment is ${String(value)} (type ${type}); expected a u32 power of two`);
      }
      alignment = value;
    }
    setOwn(metadata, key, value);
    setOwn(types, key, type);
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const infoAt = c.pos;
    const tname = await c.str(`the name of tensor ${i}`, true);
    if (names.has(tname)) throw new FormatError(name, infoAt, `tensor '${tname}' appears twice; expected each name once`);
    names.add(tname);
    const ndAt = c.pos;
    const nd = await c.u32(`the dimension count of '${tname}'`);
    if (nd > MAX_DIMS) throw new FormatError(name, ndAt, `tensor '${tname}' has ${nd} dimensions; expected at most ${MAX_DIMS}`);
    const dims: number[] = [];
    let count = 1;
    for (let d = 0; d < nd; d++) {
      const dAt = c.pos;
      const v = await c.u64(`dimension ${d} of '${tname}'`);
      count *= v;
      if (!Number.isSafeInteger(count)) throw new FormatError(name, dAt, `tensor '${tname}' dims [${[...dims, v]}...] overflow; expected at most 2^53 - 1 elements`);
      dims.push(v);
    }
    const typeAt = c.pos;
    const type = await c.u32(`the type of '${tname}'`);
    const t = TENSOR_TYPES[type];
    if (!t) {
      const known = KNOWN_UNSUPPORTED[type];
      const list = Object.values(TENSOR_TYPES).map((x) => x.name).join(', ');
      throw new FormatError(name, typeAt, `tensor '${tname}' has ${known ? `type ${known} (${type}), not supported yet` : `unknown type ${type}`}; expected one of ${list}`);
    }
    // Empty tensors too: ggml (and QuantizedTensor) need whole blocks per row whatever the row count.
    if ((dims[0] ?? 1) % t.block !== 0) {
      throw new FormatError(name, ndAt + 4, `tensor '${tname}' of type ${t.name} has a row of ${dims[0] ?? 1} elements; expected a multiple of the block size ${t.block}`);
    }
    const byteLength = (count / t.block) * t.bytes;
    const offAt = c.pos;
    const offset = await c.u64(`the data offset of '${tname}'`);
    if (offset % alignment !== 0) throw new FormatError(name, offAt, `tensor '${tname}' data offset ${offset} is not a multiple of the alignment ${alignment}`);
    if (!Number.isSafeInteger(offset + byteLength)) throw new FormatError(name, offAt, `tensor '${tname}' data range is too large`);
    tensors.push({ name: tname, dims, shape: [...dims].reverse(), type, typeName: t.name, offset, byteLength, infoAt });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const room = c.left === Infinity ? Infinity : c.left - (dataStart - c.pos);
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let end = 0;
  for (const t of sorted) {
    if (t.offset < end) throw new FormatError(name, t.infoAt, `tensor '${t.name}' bytes [${t.offset}, ${t.offset + t.byteLength}) overlap the tensor before it; expected offset >= ${end}`);
    end = t.offset + t.byteLength;
    if (end > room) {
      throw new FormatError(name, t.infoAt, `tensor '${t.name}' bytes [${t.offset}, ${end}) of the data section at ${dataStart} run past the end of the file; expected at most ${Math.max(0, room)}`);
    }
  }
  return { version, metadata, types, alignment, tensors: sorted, dataStart, dataBytes: end };
}
