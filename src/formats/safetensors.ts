// safetensors: load into tensors (GPU by default) and save. The header is checked in full before
// any tensor is allocated; tensor bytes are then read one tensor at a time (positioned file reads
// into one reusable buffer, or a streamed HTTP body) and uploaded, so the whole file is never in
// JS memory at once: the peak is about the largest tensor (twice that for F64/I64/U64 files).
import { DTypeError, FormatError, GpuOutOfMemoryError } from '../errors.js';
import { fromBytes } from '../ops/create.js';
import { currentDevice } from '../runtime/context.js';
import type { DeviceKind } from '../runtime/storage.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { platform } from '#platform';
import { buildHeader, FILE_DTYPES, headerLength, parseHeader, SAVE_DTYPES, type HeaderEntry } from './safetensors-header.js';
import { bytesReader, fileReader, streamReader, type ByteReader } from './safetensors-source.js';
import { setOwn } from './own.js';

export interface SafetensorsLoadOptions {
  /** Float tensors are converted to this float dtype on the device after upload. Integer tensors keep theirs. */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Where the tensors go: 'gpu' (default once lb.init() ran) or 'cpu'. */
  device?: DeviceKind;
}

export interface Safetensors {
  /** Tensors by name. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings (sharded: the index's `metadata`, stringified, then every shard's). */
  metadata: Record<string, string>;
}

export type SafetensorsSource = string | URL | Response | ArrayBuffer | Uint8Array;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * Loads a safetensors file: a path (Node), an http(s) URL or Response (streamed), or its bytes.
 * A path or URL ending in `.safetensors.index.json` loads every shard of its `weight_map` as one record.
 * Dtypes: F32, F16, BF16, I32, U32 as they are; F64 narrows to f32; I64 and U64 narrow to i32 and u32
 * (a value out of range is a FormatError); I16, I8 widen to i32; U16, U8 and BOOL (0/1) widen to u32.
 * Malformed input throws FormatError(file, byteOffset, what was expected) before anything large is allocated.
 */
export async function loadSafetensors(src: SafetensorsSource, opts: SafetensorsLoadOptions = {}): Promise<Safetensors> {
  if (opts.dtype !== undefined && !(['f32', 'f16', 'bf16'] as unknown[]).includes(opts.dtype)) {
    throw new DTypeError('loadSafetensors', `dtype ${JSON.stringify(opts.dtype)}: expected a float dtype (f32, f16, bf16)`);
  }
  const device = opts.device ?? (currentDevice() ? 'gpu' : 'cpu');
  const out: Safetensors = { tensors: {}, metadata: {} };
  try {
    const where = src instanceof URL ? src.href : src;
    if (typeof where === 'string' && /\.safetensors\.index\.json$/i.test(where.split(/[?#]/)[0])) {
      await loadSharded(where, opts.dtype, device, out);
    } else {
      await loadOne(await open(src), opts.dtype, device, out);
    }
  } catch (e) {
    for (const t of Object.values(out.tensors)) t.dispose();
    throw e;
  }
  return out;
}

async function open(src: SafetensorsSource): Promise<ByteReader> {
  if (src instanceof Uint8Array) return bytesReader('<bytes>', src);
  if (src instanceof ArrayBuffer) return bytesReader('<bytes>', new Uint8Array(src));
  if (typeof Response !== 'undefined' && src instanceof Response) return streamReader(src.url || '<response>', src);
  const s = src instanceof URL ? src.href : src;
  if (typeof s !== 'string') throw new DTypeError('loadSafetensors', 'src must be a path, a URL, a Response, an ArrayBuffer or a Uint8Array');
  if (isUrl(s)) return streamReader(s, await fetch(s));
  return fileReader(s);
}

async function loadOne(reader: ByteReader, dtype: DType | undefined, device: DeviceKind, out: Safetensors): Promise<string[]> {
  const { name, size } = reader;
  try {
    if (size !== undefined && size < 8) throw new FormatError(name, 0, `the file is ${size} bytes; expected at least 8 (the u64 header length)`);
    const len = headerLength(name, await reader.read(0, 8, 'the u64 header length'), size);
    const dataStart = 8 + len;
    const header = parseHeader(name, await reader.read(8, len, 'the JSON header'), size === undefined ? undefined : size - dataStart);
    for (const e of header.entries) {
      if (Object.hasOwn(out.tensors, e.name)) throw new FormatError(name, 8, `tensor '${e.name}' appears in two files; expected each name once`);
    }
    const dev = device === 'gpu' ? currentDevice() : null;
    for (const e of dev ? header.entries : []) {
      // A tensor the device can never hold fails before any of the file is read.
      const bytes = ((e.end - e.begin) / FILE_DTYPES[e.fileDType].size) * byteSize(FILE_DTYPES[e.fileDType].out);
      if (bytes > dev!.limits.maxBufferSize) {
        const s = dev!.pool.stats();
        throw new GpuOutOfMemoryError(bytes, s.liveBytes, s.pooledBytes, `tensor '${e.name}' of ${name} is over this device's maxBufferSize of ${dev!.limits.maxBufferSize} bytes`);
      }
    }
    for (const [k, v] of Object.entries(header.metadata)) setOwn(out.metadata, k, v);
    for (const e of header.entries) {
      const raw = await reader.read(dataStart + e.begin, e.end - e.begin, `the bytes of tensor '${e.name}'`);
      const { out: outType } = FILE_DTYPES[e.fileDType];
      let t = fromBytes(convert(raw, e, name, dataStart), e.shape, outType, device);
      if (dtype && isFloat(outType) && dtype !== outType) {
        const c = t.cast(dtype).realize();
        t.dispose();
        t = c;
      }
      setOwn(out.tensors, e.name, t);
    }
    if (size === undefined && (await reader.hasBytesAt(dataStart + header.dataBytes))) {
      throw new FormatError(name, dataStart + header.dataBytes, 'trailing bytes after the last tensor; expected the tensors to cover the data section exactly');
    }
    return header.entries.map((e) => e.name);
  } finally {
    await reader.close();
  }
}

/** A copy of `raw` when its offset does not suit a typed-array view of `width`-byte elements. */
function aligned(raw: Uint8Array, width: number): ArrayBuffer {
  const r = raw.byteOffset % width === 0 ? raw : raw.slice();
  return r.buffer as ArrayBuffer;
}

let scratch = new ArrayBuffer(0);
function scratchBytes(n: number): ArrayBuffer {
  if (scratch.byteLength < n) scratch = new ArrayBuffer(n);
  return scratch;
}

/** The tensor's bytes in its lbrx dtype (the view it was given when no conversion is needed). */
function convert(raw: Uint8Array, e: HeaderEntry, file: string, dataStart: number): Uint8Array {
  const { size } = FILE_DTYPES[e.fileDType];
  const n = raw.byteLength / size;
  const off = raw.byteOffset % size === 0 ? raw.byteOffset : 0;
  const buf = aligned(raw, size);
  const dst = scratchBytes(4 * n);
  const out4 = new Uint8Array(dst, 0, 4 * n);
  switch (e.fileDType) {
    case 'F64':
      new Float32Array(dst, 0, n).set(new Float64Array(buf, off, n));
      return out4;
    case 'I64':
    case 'U64': {
      const words = new Int32Array(buf, off, 2 * n);
      const o = new Int32Array(dst, 0, n);
      const signed = e.fileDType === 'I64';
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i];
        const hi = words[2 * i + 1];
        if (hi !== (signed ? lo >> 31 : 0)) {
          const v = signed ? new BigInt64Array(buf, off + 8 * i, 1)[0] : new BigUint64Array(buf, off + 8 * i, 1)[0];
          throw new FormatError(file, dataStart + e.begin + 8 * i, `tensor '${e.name}' element ${i} is ${v}; expected a value that fits ${signed ? 'i32' : 'u32'}`);
        }
        o[i] = lo;
      }
      return out4;
    }
    case 'I16':
      new Int32Array(dst, 0, n).set(new Int16Array(buf, off, n));
      return out4;
    case 'I8':
      new Int32Array(dst, 0, n).set(new Int8Array(buf, off, n));
      return out4;
    case 'U16':
      new Uint32Array(dst, 0, n).set(new Uint16Array(buf, off, n));
      return out4;
    case 'U8':
      new Uint32Array(dst, 0, n).set(raw);
      return out4;
    case 'BOOL': {
      const o = new Uint32Array(dst, 0, n);
      for (let i = 0; i < n; i++) o[i] = raw[i] ? 1 : 0;
      return out4;
    }
    default:
      return raw; // F32, F16, BF16, I32, U32: the file's bytes are the tensor's
  }
}

/** Resolves a shard name against the index's location, refusing names that climb out of it. */
function shardPath(index: string, shard: string): string {
  if (isUrl(index)) return new URL(shard, index).href;
  const cut = Math.max(index.lastIndexOf('/'), index.lastIndexOf('\\'));
  return index.slice(0, cut + 1) + shard;
}

async function loadSharded(index: string, dtype: DType | undefined, device: DeviceKind, out: Safetensors): Promise<void> {
  let text: string;
  if (isUrl(index)) {
    const res = await fetch(index);
    if (!res.ok) throw new FormatError(index, 0, `HTTP ${res.status} ${res.statusText}; expected 200 with the index JSON`);
    text = await res.text();
  } else {
    if (!platform.files) throw new FormatError(index, 0, 'file paths need Node; in a browser pass a URL');
    text = await platform.files.readText(index);
  }
  let json: { weight_map?: unknown; metadata?: unknown };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(index, 0, `not valid JSON (${(e as Error).message}); expected {"weight_map": {...}}`);
  }
  const map = json?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FormatError(index, 0, 'expected an object with a "weight_map" object');
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || !shard || /^([\\/]|[a-z]+:)/i.test(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new FormatError(index, 0, `weight_map['${name}'] is ${JSON.stringify(shard)}; expected a shard file name next to the index`);
    }
    shards.set(shard, [...(shards.get(shard) ?? []), name]);
  }
  if (json.metadata && typeof json.metadata === 'object') {
    for (const [k, v] of Object.entries(json.metadata)) setOwn(out.metadata, k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  for (const [shard, names] of shards) {
    const path = shardPath(index, shard);
    await loadOne(await open(path), dtype, device, out);
    const missing = names.find((n) => !Object.hasOwn(out.tensors, n));
    if (missing !== undefined) throw new FormatError(path, 8, `tensor '${missing}' is listed for this shard in ${index} but missing from it`);
  }
}

export interface SafetensorsSaveOptions {
  /** Written as `__metadata__`. */
  metadata?: Record<string, string>;
}

/**
 * Writes tensors (f32, f16, bf16, i32, u32) as safetensors: to `path` (Node), or returns the bytes
 * when no path is given. Tensors are laid out 4-byte dtypes first, so every tensor is aligned.
 */
export function saveSafetensors(tensors: Record<string, Tensor>, path: string, opts?: SafetensorsSaveOptions): Promise<void>;
export function saveSafetensors(tensors: Record<string, Tensor>, path?: undefined, opts?: SafetensorsSaveOptions): Promise<Uint8Array>;
export async function saveSafetensors(tensors: Record<string, Tensor>, path?: string, opts: SafetensorsSaveOptions = {}): Promise<Uint8Array | void> {
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (typeof v !== 'string') throw new DTypeError('saveSafetensors', `metadata '${k}' is ${typeof v}; expected a string`);
  }
  const list = Object.entries(tensors);
  for (const [name, t] of list) {
    if (!name || name === '__metadata__') throw new DTypeError('saveSafetensors', `tensor name ${JSON.stringify(name)} is not allowed`);
    if (t.disposed) throw new DTypeError('saveSafetensors', `tensor '${name}' was disposed`);
  }
  list.sort((a, b) => byteSize(b[1].dtype) - byteSize(a[1].dtype));
  const entries: HeaderEntry[] = [];
  let at = 0;
  for (const [name, t] of list) {
    const n = t.size * byteSize(t.dtype);
    entries.push({ name, fileDType: SAVE_DTYPES[t.dtype], shape: [...t.shape], begin: at, end: at + n });
    at += n;
  }
  const header = buildHeader(entries, opts.metadata);
  if (path === undefined) {
    const out = new Uint8Array(header.byteLength + at);
    out.set(header);
    for (let i = 0; i < list.length; i++) out.set(await rawBytes(list[i][1]), header.byteLength + entries[i].begin);
    return out;
  }
  if (!platform.files) throw new DTypeError('saveSafetensors', 'writing to a path needs Node; call without a path to get the bytes');
  const file = await platform.files.openWrite(path);
  try {
    await file.write(header);
    for (const [, t] of list) await file.write(await rawBytes(t));
  } finally {
    await file.close();
  }
}

/** A tensor's elements in row-major order, as stored bytes. */
async function rawBytes(t: Tensor): Promise<Uint8Array> {
  if (t.size === 0) return new Uint8Array(0);
  const c = t.contiguous();
  try {
    const width = byteSize(t.dtype);
    return await c.storage.read(c.offset * width, c.size * width);
  } finally {
    c.dispose();
  }
}
