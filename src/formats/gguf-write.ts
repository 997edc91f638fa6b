// A small GGUF writer (used by the tests and examples to make files): metadata of every value
// type, tensors as raw bytes of any ggml type, tensors aligned to `alignment`.
import { GGUF_MAGIC, GGUF_TYPE } from './gguf-header.js';

/** An array value: its item type and items (nested arrays as GgufArray again). */
export interface GgufArray {
  itemType: number;
  items: readonly unknown[];
}

export interface GgufWriteKv {
  key: string;
  /** GGUF_TYPE; ARRAY takes a GgufArray value. */
  type: number;
  value: unknown;
}

export interface GgufWriteTensor {
  name: string;
  /** ggml type id (0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 30 BF16...). */
  type: number;
  /** Innermost first, as GGUF stores them. */
  dims: readonly number[];
  data: Uint8Array;
}

export interface GgufWriteOptions {
  version?: number;
  /** Data alignment; a general.alignment KV is added when it is not 32 and none is given. */
  alignment?: number;
  kvs?: readonly GgufWriteKv[];
  tensors?: readonly GgufWriteTensor[];
}

class Out {
  parts: number[] = [];
  u8(v: number) { this.parts.push(v & 0xff); }
  bytes(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.parts.push(b[i]); }
  le(n: number, set: (d: DataView) => void) {
    const d = new DataView(new ArrayBuffer(n));
    set(d);
    this.bytes(new Uint8Array(d.buffer));
  }
  u32(v: number) { this.le(4, (d) => d.setUint32(0, v, true)); }
  u64(v: number | bigint) { this.le(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
}

function value(o: Out, type: number, v: unknown): void {
  const n = v as number;
  switch (type) {
    case GGUF_TYPE.UINT8: case GGUF_TYPE.INT8: return o.u8(n);
    case GGUF_TYPE.UINT16: case GGUF_TYPE.INT16: return o.le(2, (d) => d.setUint16(0, n & 0xffff, true));
    case GGUF_TYPE.UINT32: case GGUF_TYPE.INT32: return o.u32(n >>> 0);
    case GGUF_TYPE.FLOAT32: return o.le(4, (d) => d.setFloat32(0, n, true));
    case GGUF_TYPE.BOOL: return o.u8(v ? 1 : 0);
    case GGUF_TYPE.STRING: return o.str(v as string);
    case GGUF_TYPE.UINT64: return o.le(8, (d) => d.setBigUint64(0, BigInt(v as number | bigint), true));
    case GGUF_TYPE.INT64: return o.le(8, (d) => d.setBigInt64(0, BigInt(v as number | bigint), true));
    case GGUF_TYPE.FLOAT64: return o.le(8, (d) => d.setFloat64(0, n, true));
    case GGUF_TYPE.ARRAY: {
      const a = v as GgufArray;
      o.u32(a.itemType);
      o.u64(a.items.length);
      for (const item of a.items) value(o, a.itemType, item);
      return;
    }
    default: throw new Error(`unknown GGUF value type ${type}`);
  }
}

/** The bytes of a GGUF file. */
export function writeGguf(opts: GgufWriteOptions): Uint8Array {
  const alignment = opts.alignment ?? 32;
  const kvs = [...(opts.kvs ?? [])];
  if (alignment !== 32 && !kvs.some((k) => k.key === 'general.alignment')) kvs.push({ key: 'general.alignment', type: GGUF_TYPE.UINT32, value: alignment });
  const tensors = opts.tensors ?? [];
  const o = new Out();
  o.u32(GGUF_MAGIC);
  o.u32(opts.version ?? 3);
  o.u64(tensors.length);
  o.u64(kvs.length);
  for (const kv of kvs) {
    o.str(kv.key);
    o.u32(kv.type);
    value(o, kv.type, kv.value);
  }
  const pad = (x: number) => Math.ceil(x / alignment) * alignment;
  let at = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    o.str(t.name);
    o.u32(t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(t.type);
    o.u64(at);
    offsets.push(at);
    at = pad(at + t.data.byteLength);
  }
  const dataStart = pad(o.parts.length);
  const out = new Uint8Array(dataStart + (tensors.length ? offsets[offsets.length - 1] + tensors[tensors.length - 1].data.byteLength : 0));
  out.set(o.parts);
  tensors.forEach((t, i) => out.set(t.data, dataStart + offsets[i]));
  return out;
}
