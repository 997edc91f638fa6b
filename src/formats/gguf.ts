// GGUF: load metadata and tensors (GPU by default). The header is checked in full (src/formats/
// gguf-header.ts) before any tensor is allocated; tensor bytes are then read one tensor at a time
// in file order and uploaded. F32, F16, BF16 and I32 load as tensors of those dtypes (floats
// converted on the device with `dtype`); Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K stay as
// raw blocks (QuantizedTensor) unless `dequantize` asks for float tensors. Shapes are row-major:
// GGUF lists dims innermost first, so shape = dims reversed (a [out, in] weight has dims [in, out]).
import { DTypeError, FormatError, GpuOutOfMemoryError } from '../errors.js';
import { fromBytes } from '../ops/create.js';
import { currentDevice } from '../runtime/context.js';
import type { DeviceKind } from '../runtime/storage.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { QuantType } from '../cpu/quant.js';
import { Cursor, parseGgufHeader, type GgufHeader, type GgufValue } from './gguf-header.js';
import { QuantizedTensor } from './quant.js';
import { setOwn } from './own.js';
import { bytesReader, fileReader, streamReader, type ByteReader } from './safetensors-source.js';

export { GGUF_TYPE, type GgufValue, type GgufTensorInfo } from './gguf-header.js';

export type GgufSource = string | URL | Response | ArrayBuffer | Uint8Array;

export interface GgufLoadOptions {
  /** Where the tensors go: 'gpu' (default once lb.init() ran) or 'cpu'. */
  device?: DeviceKind;
  /** Float tensors (F32, F16, BF16) are converted to this dtype on their device after upload. */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Dequantize block-quantized tensors on load (to `dtype`, default f32) instead of keeping the blocks. */
  dequantize?: boolean;
}

export interface Gguf {
  /** Metadata values by key (see GgufValue for how each type reads). */
  metadata: Record<string, GgufValue>;
  /** Tensors by name: float/int types as Tensor, block-quantized types as QuantizedTensor. */
  tensors: Record<string, Tensor | QuantizedTensor>;
  /** File facts: version, alignment, each key's value type (GGUF_TYPE), the data section offset. */
  info: Pick<GgufHeader, 'version' | 'alignment' | 'types' | 'dataStart'>;
}

const PLAIN: Readonly<Record<string, DType>> = { F32: 'f32', F16: 'f16', BF16: 'bf16', I32: 'i32' };

async function open(src: GgufSource): Promise<{ reader: ByteReader; chunk: number }> {
  if (src instanceof Uint8Array) return { reader: bytesReader('<bytes>', src), chunk: 0 };
  if (src instanceof ArrayBuffer) return { reader: bytesReader('<bytes>', new Uint8Array(src)), chunk: 0 };
  const res = typeof Response !== 'undefined' && src instanceof Response ? src : null;
  const s = src instanceof URL ? src.href : src;
  if (!res && typeof s !== 'string') throw new DTypeError('loadGguf', 'src must be a path, a URL, a Response, an ArrayBuffer or a Uint8Array');
  if (res || /^https?:\/\//i.test(s as string)) {
    const r = res ?? (await fetch(s as string));
    const name = res ? res.url || '<response>' : (s as string);
    if (!r.ok) throw new FormatError(name, 0, `HTTP ${r.status} ${r.statusText}; expected 200 with GGUF bytes`);
    // Streams read forward only and exactly: no read-ahead past the header.
    return { reader: streamReader(name, r), chunk: 0 };
  }
  return { reader: await fileReader(s as string), chunk: 1 << 16 };
}

/**
 * Loads a GGUF file (v2 or v3, little-endian): a path (Node), an http(s) URL or Response
 * (streamed), or its bytes. Malformed input throws FormatError(file, byteOffset, what was
 * expected) before any tensor is allocated.
 */
export async function loadGguf(src: GgufSource, opts: GgufLoadOptions = {}): Promise<Gguf> {
  const device = opts.device ?? (currentDevice() ? 'gpu' : 'cpu');
  if (device !== 'gpu' && device !== 'cpu') throw new DTypeError('loadGguf', `unknown device '${String(device)}'; use 'gpu' or 'cpu'`);
  const dtype = opts.dtype;
  if (dtype !== undefined && !(['f32', 'f16', 'bf16'] as unknown[]).includes(dtype)) {
    throw new DTypeError('loadGguf', `dtype ${JSON.stringify(dtype)}: expected a float dtype (f32, f16, bf16)`);
  }
  const { reader, chunk } = await open(src);
  const tensors: Gguf['tensors'] = {};
  try {
    const header = await parseGgufHeader(new Cursor(reader, chunk));
    const dev = device === 'gpu' ? currentDevice() : null;
    for (const t of dev ? header.tensors : []) {
      // Blocks padded to a word; dequantized ones as f32.
      const bytes = opts.dequantize && !PLAIN[t.typeName] ? t.shape.reduce((x, y) => x * y, 1) * 4 : t.byteLength + 4;
      if (bytes > dev!.limits.maxBufferSize) {
        const s = dev!.pool.stats();
        throw new GpuOutOfMemoryError(bytes, s.liveBytes, s.pooledBytes, `tensor '${t.name}' of ${reader.name} is over this device's maxBufferSize of ${dev!.limits.maxBufferSize} bytes`);
      }
    }
    for (const t of header.tensors) {
      const raw = await reader.read(header.dataStart + t.offset, t.byteLength, `the bytes of tensor '${t.name}'`);
      const plain = PLAIN[t.typeName];
      if (plain) {
        setOwn(tensors, t.name, convert(fromBytes(raw, t.shape, plain, device), dtype));
        continue;
      }
      const words = Math.ceil(raw.byteLength / 4);
      let padded = raw;
      if (raw.byteLength % 4 !== 0) {
        padded = new Uint8Array(words * 4);
        padded.set(raw);
      }
      const blocks = fromBytes(padded, [words], 'u32', device);
      let q: QuantizedTensor;
      try {
        q = new QuantizedTensor(t.typeName.toLowerCase() as QuantType, t.shape, blocks);
      } catch (e) {
        blocks.dispose(); // not yet in `tensors`: the cleanup below would miss it
        throw e;
      }
      if (!opts.dequantize) {
        setOwn(tensors, t.name, q);
        continue;
      }
      try {
        setOwn(tensors, t.name, convert(q.dequantize().realize(), dtype));
      } finally {
        q.dispose();
      }
    }
    return {
      metadata: header.metadata,
      tensors,
      info: { version: header.version, alignment: header.alignment, types: header.types, dataStart: header.dataStart },
    };
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  } finally {
    await reader.close();
  }
}

/** `t` as `dtype` when it is a float tensor of another dtype (converted on its device; `t` is consumed). */
function convert(t: Tensor, dtype: DType | undefined): Tensor {
  if (!dtype || !isFloat(t.dtype) || t.dtype === dtype) return t;
  try {
    return t.cast(dtype).realize();
  } finally {
    t.dispose();
  }
}
