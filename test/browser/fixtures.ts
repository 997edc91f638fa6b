// Files the fixture server (fixture-server.ts, Node) serves on 127.0.0.1 and the browser tests
// load over HTTP. Built here by hand, byte by byte, not with lbrx's writer, so the loader is
// checked against an independent encoder. No Node imports: both sides import this module.
import { dequantizeBlocks, quantizeQ8_0 } from '../../src/cpu/quant.js';
import { GGUF_TYPE } from '../../src/formats/gguf-header.js';
import { writeGguf } from '../../src/formats/gguf-write.js';
import type { DType } from '../../src/index.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../src/tensor/half.js';

export type FileDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I32' | 'U32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface FixtureTensor {
  name: string;
  fileDType: FileDType;
  shape: number[];
  /** The values as stored (already representable in fileDType). */
  values: number[];
  /** What lbrx loads it as. */
  dtype: DType;
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

/** One tensor per file dtype, odd sizes, special values where the dtype has them. */
export const TENSORS: readonly FixtureTensor[] = [
  { name: 'w.f32', fileDType: 'F32', shape: [3, 5], values: [NaN, Infinity, -Infinity, -0, ...range(11, (i) => i * 0.375 - 2)], dtype: 'f32' },
  { name: 'w.f16', fileDType: 'F16', shape: [7], values: [65504, -0, 2 ** -24, 0.5, -1.25, Infinity, 3], dtype: 'f16' },
  { name: 'w.bf16', fileDType: 'BF16', shape: [2, 3], values: [1, -2, 0.5, 3.3895313892515355e38, -0, 2 ** -133], dtype: 'bf16' },
  { name: 'ids.i32', fileDType: 'I32', shape: [5], values: [0, -1, 2147483647, -2147483648, 7], dtype: 'i32' },
  { name: 'ids.u32', fileDType: 'U32', shape: [3], values: [0, 4294967295, 65536], dtype: 'u32' },
  { name: 'f64', fileDType: 'F64', shape: [3], values: [0.1, -1e300, 2.5], dtype: 'f32' },
  { name: 'i16', fileDType: 'I16', shape: [3], values: [-32768, 32767, -5], dtype: 'i32' },
  { name: 'i8', fileDType: 'I8', shape: [4], values: [-128, 127, 0, -1], dtype: 'i32' },
  { name: 'u8', fileDType: 'U8', shape: [2], values: [255, 1], dtype: 'u32' },
  { name: 'mask', fileDType: 'BOOL', shape: [5], values: [1, 0, 0, 1, 1], dtype: 'u32' },
  { name: 'scalar', fileDType: 'F32', shape: [], values: [42.5], dtype: 'f32' },
  { name: 'empty', fileDType: 'F32', shape: [0, 4], values: [], dtype: 'f32' },
];

/** What lbrx's data() gives for a fixture tensor (F64 narrows to f32). */
export function expectedValues(t: FixtureTensor): number[] {
  return t.fileDType === 'F64' ? t.values.map(Math.fround) : t.values;
}

const SIZE: Record<FileDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I32: 4, U32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function encode(t: FixtureTensor): Uint8Array {
  const out = new Uint8Array(t.values.length * SIZE[t.fileDType]);
  const d = new DataView(out.buffer);
  t.values.forEach((v, i) => {
    const at = i * SIZE[t.fileDType];
    switch (t.fileDType) {
      case 'F64': return d.setFloat64(at, v, true);
      case 'F32': return d.setFloat32(at, v, true);
      case 'F16': return d.setUint16(at, f32ToF16Bits(v), true);
      case 'BF16': return d.setUint16(at, f32ToBf16Bits(v), true);
      case 'I32': return d.setInt32(at, v, true);
      case 'U32': return d.setUint32(at, v, true);
      case 'I16': return d.setInt16(at, v, true);
      case 'I8': return d.setInt8(at, v);
      case 'U8': case 'BOOL': return d.setUint8(at, v);
    }
  });
  return out;
}

/** A safetensors file: u64 header length, JSON header padded with spaces to 8 bytes, then the data. */
export function safetensorsFile(tensors: readonly FixtureTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const datas = tensors.map(encode);
  let at = 0;
  tensors.forEach((t, i) => {
    header[t.name] = { dtype: t.fileDType, shape: t.shape, data_offsets: [at, at + datas[i].byteLength] };
    at += datas[i].byteLength;
  });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.byteLength + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  out.set(jsonBytes, 8);
  let p = 8 + jsonBytes.byteLength;
  for (const b of datas) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}

export const METADATA = { format: 'pt', origin: 'lbrx browser fixture' };

/** Shards of the sharded checkpoint: which fixture tensors each holds. */
export const SHARDS: Record<string, string[]> = {
  'model-00001-of-00002.safetensors': ['w.f32', 'w.f16', 'ids.i32'],
  'model-00002-of-00002.safetensors': ['w.bf16', 'mask', 'scalar'],
};

const GGML_F32 = 0; // ggml_type ids
const GGML_Q8_0 = 8;

/** A GGUF v3 file with an F32 tensor and a Q8_0 weight; `q8Values` is its exact dequantization. */
export function ggufFixture(): { bytes: Uint8Array; f32: number[]; q8Values: Float32Array; q8Shape: number[] } {
  const f32 = range(10, (i) => i * 0.5 - 2);
  const src = Float32Array.from(range(3 * 64, (i) => Math.sin(i * 0.37) * 4));
  const q8 = quantizeQ8_0(src);
  const bytes = writeGguf({
    kvs: [{ key: 'general.name', type: GGUF_TYPE.STRING, value: 'fixture' }],
    tensors: [
      { name: 'bias', type: GGML_F32, dims: [10], data: new Uint8Array(Float32Array.from(f32).buffer) },
      { name: 'w.q8', type: GGML_Q8_0, dims: [64, 3], data: q8 },
    ],
  });
  return { bytes, f32, q8Values: dequantizeBlocks('q8_0', q8, 3 * 64), q8Shape: [3, 64] };
}

/** Every file the fixture server serves, by path. */
export function fixtureFiles(): Record<string, Uint8Array> {
  const byName = new Map(TENSORS.map((t) => [t.name, t]));
  const files: Record<string, Uint8Array> = {
    'model.safetensors': safetensorsFile(TENSORS, METADATA),
    'model.gguf': ggufFixture().bytes,
  };
  const weightMap: Record<string, string> = {};
  for (const [shard, names] of Object.entries(SHARDS)) {
    files[`sharded/${shard}`] = safetensorsFile(names.map((n) => byName.get(n)!));
    for (const n of names) weightMap[n] = shard;
  }
  files['sharded/model.safetensors.index.json'] = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 1234 }, weight_map: weightMap }));
  const whole = files['model.safetensors'];
  files['truncated.safetensors'] = whole.subarray(0, whole.byteLength - 10);
  return files;
}
