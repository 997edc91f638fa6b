// One fuzz case: load the bytes on the CPU and (when there is a device) on the GPU through the
// public API, then check the outcome. Loaded: shapes consistent, data readable, the two devices
// agree, nothing leaked. Rejected: a FormatError (or another typed lbrx error) and no buffer left
// behind. Anything else (an untyped exception, a disagreement, a leak) is a failure. A loaded
// tensor is also compared with what the file holds where its header says, read by this script.
import { ggufFields } from './fuzz-lib.mjs';

/**
 * @returns {Promise<{ outcome: 'loaded' | 'format' | string, failure: string | null, detail: string }>}
 * outcome: 'loaded', 'format' (FormatError), 'typed:<Name>' (another LbrxError) or 'failure'.
 */
export async function runCase(lb, format, source, { gpu, bytes, tensorTypes, options = {} }) {
  const devices = gpu ? ['cpu', 'gpu'] : ['cpu'];
  const results = [];
  const oracle = () => expectedFrom(format, bytes, tensorTypes);
  for (const device of devices) {
    const before = gpu ? lb.memory().buffers : 0;
    results.push(await loadOnce(lb, format, source, { ...options, device }, oracle));
    if (gpu) {
      await lb.eval();
      await new Promise((r) => setImmediate(r)); // orphans of a failed op are released by now
      const after = lb.memory().buffers;
      if (after !== before) {
        return { outcome: 'failure', failure: 'leak', detail: `${device} load left ${after - before} GPU buffer(s) live (${results.at(-1).kind})` };
      }
    }
  }
  const bad = results.find((x) => x.kind === 'untyped');
  if (bad) return { outcome: 'failure', failure: 'untyped', detail: bad.detail };
  const [a, b] = results;
  // A streamed file of unknown length may declare a tensor this device can never hold: the GPU
  // load refuses it before reading, the CPU load reads on and finds the stream short. Both typed.
  if (b?.kind === 'typed:GpuOutOfMemoryError' && /maxBufferSize/.test(b.detail) && a.kind !== 'loaded') {
    return { outcome: b.kind, failure: null, detail: `gpu: ${b.detail} | cpu: ${a.kind} ${a.detail}` };
  }
  if (b && (a.kind !== b.kind || a.detail !== b.detail)) {
    return { outcome: 'failure', failure: 'disagree', detail: `cpu: ${a.kind} ${a.detail.slice(0, 300)} | gpu: ${b.kind} ${b.detail.slice(0, 300)}` };
  }
  if (a.kind === 'loaded' && b && !sameValues(a.values, b.values)) {
    return { outcome: 'failure', failure: 'disagree', detail: `cpu and gpu loads differ in their values: ${a.detail}` };
  }
  return { outcome: a.kind, failure: null, detail: a.detail };
}

async function loadOnce(lb, format, source, options, oracle) {
  const { device } = options;
  let loaded = null;
  try {
    const src = typeof source === 'function' ? source() : source;
    loaded = format === 'gguf' ? await lb.loadGguf(src, options) : await lb.loadSafetensors(src, options);
    const { summary, values } = await inspect(lb, loaded, options, oracle());
    return { kind: 'loaded', detail: summary, values };
  } catch (e) {
    if (e instanceof lb.FormatError) return { kind: 'format', detail: `at ${e.byteOffset}: ${e.message.slice(0, 200)}` };
    if (e instanceof lb.LbrxError) return { kind: `typed:${e.name}`, detail: e.message.slice(0, 200) };
    return { kind: 'untyped', detail: `${device}: ${e?.stack ?? String(e)}`.slice(0, 2000) };
  } finally {
    for (const t of Object.values(loaded?.tensors ?? {})) t.dispose();
  }
}

const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

/** Shapes and sizes agree, the data reads back whole; a summary and the values to compare. */
async function inspect(lb, loaded, { device, dtype, dequantize }, expected) {
  const parts = [];
  const values = [];
  const problem = (name, what) => {
    throw new Error(`loaded tensor '${name}' is inconsistent: ${what}`);
  };
  for (const name of Object.keys(loaded.tensors).sort()) {
    const t = loaded.tensors[name];
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) problem(name, `shape ${JSON.stringify(t.shape)}`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.size !== size) problem(name, `size ${t.size} for shape [${t.shape}]`);
    if (t.device !== device) problem(name, `on ${t.device}, asked for ${device}`);
    const want = expected.get(name);
    if (!want) problem(name, 'the file has no such tensor');
    if (want.shape.join() !== t.shape.join()) problem(name, `shape [${t.shape}], the file says [${want.shape}]`);
    if (t instanceof lb.QuantizedTensor) {
      const raw = await t.storage.data();
      if (raw.length * 4 < t.byteLength) problem(name, `${raw.length * 4} block bytes for ${t.byteLength}`);
      const blocks = new Uint8Array(raw.buffer, raw.byteOffset, t.byteLength);
      if (t.byteLength !== want.raw.byteLength || !blocks.every((x, k) => x === want.raw[k])) problem(name, 'its blocks are not the file\'s bytes');
      const d = t.dequantize();
      try {
        const v = await d.data();
        if (v.length !== size || d.dtype !== 'f32') problem(name, `dequantized to ${v.length} ${d.dtype} values for ${size}`);
        values.push(v);
      } finally {
        d.dispose();
      }
      parts.push(`${name}:${t.type}[${t.shape}]`);
      continue;
    }
    if (!lb.DTYPES.includes(t.dtype)) problem(name, `dtype ${t.dtype}`);
    const v = await t.data();
    if (v.length !== size) problem(name, `${v.length} values for shape [${t.shape}]`);
    // Converted on load (a dtype option, dequantized blocks): the devices must agree; the bytes are not the file's.
    const converted = (dtype && t.dtype === dtype && FLOAT_FILE_DTYPES.includes(want.dtype)) || (dequantize && !(want.dtype in DECODERS));
    if (!converted && !sameValues([v], [decode(want.dtype, want.raw)], false)) problem(name, `its values are not the file's ${want.dtype} bytes`);
    values.push(v);
    parts.push(`${name}:${t.dtype}[${t.shape}]`);
  }
  const meta = Object.keys(loaded.metadata).length;
  return { summary: `${parts.length} tensors, ${meta} metadata keys: ${parts.join(' ').slice(0, 300)}`, values };
}

/** Bit-equal, except that NaNs match NaNs and (`flush`) a GPU may flush f32 subnormals to zero. */
function sameValues(a, b, flush = true) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) {
      const p = x[k];
      const q = y[k];
      if (Object.is(p, q) || (Number.isNaN(p) && Number.isNaN(q))) continue;
      if (flush && x instanceof Float32Array && Math.abs(p) < 2 ** -126 && Math.abs(q) < 2 ** -126) continue;
      if (flush && p === q) continue; // 0 and -0 after a flush
      return false;
    }
  }
  return true;
}

/** Each tensor the file declares: dtype, row-major shape and its raw bytes, by this script's own reading. */
function expectedFrom(format, bytes, tensorTypes) {
  const out = new Map();
  if (format === 'safetensors') {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const [begin, end] = e.data_offsets;
      out.set(name, { dtype: e.dtype, shape: e.shape, raw: bytes.subarray(8 + n + begin, 8 + n + end) });
    }
    return out;
  }
  const { headerEnd, tensors, alignment } = ggufFields(bytes);
  const dataStart = Math.ceil(headerEnd / alignment) * alignment;
  for (const t of tensors) {
    const tt = tensorTypes[t.type];
    const len = (t.dims.reduce((a, b) => a * b, 1) / tt.block) * tt.bytes;
    out.set(t.name, { dtype: tt.name, shape: [...t.dims].reverse(), raw: bytes.subarray(dataStart + t.offset, dataStart + t.offset + len) });
  }
  return out;
}

const f16 = (h) => {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
};

/** The values each file dtype's bytes hold, as the loader should give them (wider or narrower lbrx dtypes). */
const DECODERS = {
  F32: (b) => new Float32Array(b),
  F64: (b) => Float32Array.from(new Float64Array(b)),
  F16: (b) => Float32Array.from(new Uint16Array(b), f16),
  BF16: (b) => new Float32Array(Uint32Array.from(new Uint16Array(b), (h) => h << 16).buffer),
  I32: (b) => new Int32Array(b),
  I16: (b) => Int32Array.from(new Int16Array(b)),
  I8: (b) => Int32Array.from(new Int8Array(b)),
  I64: (b) => Int32Array.from(new BigInt64Array(b), Number),
  U32: (b) => new Uint32Array(b),
  U16: (b) => Uint32Array.from(new Uint16Array(b)),
  U8: (b) => Uint32Array.from(new Uint8Array(b)),
  U64: (b) => Uint32Array.from(new BigUint64Array(b), Number),
  BOOL: (b) => Uint32Array.from(new Uint8Array(b), (x) => (x ? 1 : 0)),
};
const FLOAT_FILE_DTYPES = ['F32', 'F64', 'F16', 'BF16'];

function decode(dtype, raw) {
  if (!(dtype in DECODERS)) throw new Error(`no decoder for file dtype ${dtype}`);
  return DECODERS[dtype](raw.slice().buffer);
}
