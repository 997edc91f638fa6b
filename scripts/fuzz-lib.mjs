// Format fuzzing, shared by scripts/fuzz-formats.mjs (long form) and test/fuzz.test.ts (short
// form): seed files made with the library's writers, seeded mutations (generic byte edits plus
// rewrites aimed at header fields), and one case = load the mutated bytes on the CPU and on the
// GPU, then check what came back. Takes the library as an argument, so it runs on src or dist.

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG seed of case `i`: every case replays alone from (seed, format, i). */
export function caseSeed(seed, format, i) {
  let h = (seed ^ (format === 'gguf' ? 0x9e3779b1 : 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ i, 0x01000193) >>> 0;
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}

const int = (r, n) => Math.floor(r() * n);
const pick = (r, xs) => xs[int(r, xs.length)];
const randomBytes = (r, n) => Uint8Array.from({ length: n }, () => int(r, 256));

// ---------------------------------------------------------------- seed files

const ST_FILE_DTYPES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

/** A safetensors file from entries laid out in order (any alignment), with a space-padded header. */
export function safetensorsFile(entries, metadata, pad = 8) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [at, at + e.data.byteLength] };
    at += e.data.byteLength;
  }
  return stBuild(header, concat(entries.map((e) => e.data)), pad);
}

function stBuild(header, data, pad = 8) {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const len = pad > 1 ? Math.ceil((8 + json.byteLength) / pad) * pad - 8 : json.byteLength;
  const out = new Uint8Array(8 + len + data.byteLength).fill(0x20, 8, 8 + len);
  new DataView(out.buffer).setBigUint64(0, BigInt(len), true);
  out.set(json, 8);
  out.set(data, 8 + len);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Valid safetensors files: every file dtype, odd and empty shapes, misaligned 8-byte tensors, metadata. */
export async function safetensorsSeeds(lb) {
  const r = rng(7);
  const cpu = (data, shape, dtype) => lb.tensor(data, shape, { device: 'cpu', dtype });
  const saved = await lb.saveSafetensors(
    {
      f32: cpu(new Float32Array([1.5, -0, NaN, Infinity, -3.25e-39, 7]), [2, 3]),
      f16: cpu(new Uint16Array([0x3c00, 0x7e01, 0x8001]), [3], 'f16'),
      bf16: cpu(new Uint16Array([0x3f80, 0xff81, 0x0001, 0x4049]), [2, 2], 'bf16'),
      i32: cpu(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -1]), [4]),
      u32: cpu(new Uint32Array([2 ** 32 - 1, 0, 123]), [3, 1]),
      scalar: cpu(new Float32Array([42.5]), []),
      empty: cpu(new Uint16Array(0), [0, 3], 'f16'),
    },
    undefined,
    { metadata: { format: 'pt', note: 'fuzz seed ✓' } },
  );
  const big = await lb.saveSafetensors({ w: cpu(Float32Array.from({ length: 24 * 40 }, () => r() * 2 - 1), [24, 40]) });
  const mixed = [];
  for (const [dtype, size] of Object.entries(ST_FILE_DTYPES)) {
    const n = 1 + int(r, 7);
    let data = randomBytes(r, n * size);
    if (dtype === 'BOOL') data = data.map((b) => b & 1);
    if (dtype === 'I64' || dtype === 'U64') {
      const d = new DataView(data.buffer);
      for (let i = 0; i < n; i++) d.setBigInt64(8 * i, BigInt(int(r, 2000) - (dtype === 'I64' ? 1000 : 0)), true);
    }
    mixed.push({ name: `t_${dtype.toLowerCase()}`, dtype, shape: [n], data });
  }
  // U8 first: the 8-byte tensors after it start at odd offsets.
  mixed.sort((a, b) => (a.dtype === 'U8' ? -1 : b.dtype === 'U8' ? 1 : 0));
  return [
    saved,
    big,
    safetensorsFile(mixed, { a: 'b' }),
    safetensorsFile(mixed.slice(0, 4), undefined, 1),
    stBuild({}, new Uint8Array(0)),
    stBuild({ __metadata__: { k: 'v' } }, new Uint8Array(0)),
  ];
}

/** Valid GGUF files: every metadata type (arrays, nested), every tensor type the reader knows. */
export function ggufSeeds(writeGguf, tensorTypes) {
  const r = rng(11);
  const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };
  const kvs = [
    { key: 'general.architecture', type: T.STR, value: 'llama' },
    { key: 'u8', type: T.U8, value: 255 }, { key: 'i8', type: T.I8, value: -128 },
    { key: 'u16', type: T.U16, value: 65535 }, { key: 'i16', type: T.I16, value: -32768 },
    { key: 'u32', type: T.U32, value: 4294967295 }, { key: 'i32', type: T.I32, value: -5 },
    { key: 'f32', type: T.F32, value: 1.5 }, { key: 'bool', type: T.BOOL, value: true },
    { key: 'u64', type: T.U64, value: 2n ** 64n - 1n }, { key: 'i64', type: T.I64, value: -7 },
    { key: 'f64', type: T.F64, value: Math.PI },
    { key: 'arr.str', type: T.ARR, value: { itemType: T.STR, items: ['a', '', 'ü'] } },
    { key: 'arr.f32', type: T.ARR, value: { itemType: T.F32, items: [0.5, -2] } },
    { key: 'arr.u8', type: T.ARR, value: { itemType: T.U8, items: [1, 2, 3] } },
    { key: 'arr.bool', type: T.ARR, value: { itemType: T.BOOL, items: [true, false] } },
    { key: 'arr.i64', type: T.ARR, value: { itemType: T.I64, items: [-1, 5] } },
    { key: 'arr.nested', type: T.ARR, value: { itemType: T.ARR, items: [{ itemType: T.STR, items: ['x'] }, { itemType: T.U16, items: [9, 10] }] } },
  ];
  const types = Object.entries(tensorTypes).map(([id, t]) => ({ id: Number(id), ...t }));
  const tensorOf = (t, name, rows) => {
    const row = t.block * (1 + int(r, 2));
    return { name, type: t.id, dims: [row, rows], data: randomBytes(r, (row / t.block) * t.bytes * rows) };
  };
  const seeds = [
    writeGguf({ version: 3, kvs }),
    writeGguf({ version: 2, kvs: kvs.slice(0, 6), tensors: types.filter((t) => t.block === 1).map((t) => tensorOf(t, `plain.${t.name}`, 3)) }),
    writeGguf({ alignment: 64, kvs: kvs.slice(0, 2), tensors: types.map((t) => tensorOf(t, `all.${t.name}`, 1)) }),
    writeGguf({ version: 3 }),
    // Names that are properties of every object.
    writeGguf({ kvs: [{ key: '__proto__', type: T.U32, value: 1 }, { key: 'constructor', type: T.STR, value: 'x' }], tensors: [tensorOf(types[0], '__proto__', 1), tensorOf(types[0], 'toString', 2)] }),
  ];
  for (const t of types) {
    seeds.push(writeGguf({ kvs: [kvs[0], kvs[12]], tensors: [tensorOf(t, `w.${t.name}`, 2), tensorOf(types[0], 'norm', 1)] }));
  }
  return seeds;
}

// ---------------------------------------------------------------- GGUF field map

/**
 * Walks a GGUF file (independently of the library) and lists its header fields: where each is,
 * how wide, what it means; plus the tensor infos and general.alignment, for checking loads.
 */
export function ggufFields(b) {
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields = [];
  const tensors = [];
  let alignment = 32;
  let at = 0;
  const u32 = (role) => { fields.push({ at, width: 4, role, value: d.getUint32(at, true) }); at += 4; return fields.at(-1).value; };
  const u64 = (role) => { fields.push({ at, width: 8, role, value: Number(d.getBigUint64(at, true)) }); at += 8; return fields.at(-1).value; };
  const str = (role) => {
    const n = u64(role);
    at += n;
    need(0);
    return new TextDecoder().decode(b.subarray(at - n, at));
  };
  // Stops the walk at the end of the bytes (a mutated file may claim any count or length).
  const need = (n) => { if (at + n > b.length) throw new RangeError('walked past the end'); };
  const FIXED = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type) => {
    if (type === 8) return str('strlen');
    if (type === 9) {
      const item = u32('arrtype');
      const n = u64('arrlen');
      for (let i = 0; i < n; i++) value(item);
      return;
    }
    if (!(type in FIXED)) throw new RangeError(`value type ${type}`);
    need(FIXED[type]);
    fields.push({ at, width: FIXED[type], role: 'value', value: type });
    at += FIXED[type];
  };
  try {
    u32('magic');
    u32('version');
    const nt = u64('ntensors');
    const nkv = u64('nkv');
    for (let i = 0; i < nkv; i++) {
      const key = str('keylen');
      const type = u32('kvtype');
      if (key === 'general.alignment' && type === 4) {
        need(4);
        alignment = d.getUint32(at, true);
      }
      value(type);
    }
    for (let i = 0; i < nt; i++) {
      const name = str('namelen');
      const nd = u32('ndims');
      const dims = [];
      for (let k = 0; k < nd; k++) dims.push(u64('dim'));
      const type = u32('ttype');
      tensors.push({ name, dims, type, offset: u64('toffset') });
    }
  } catch {
    // A field map of what could be walked is enough to aim mutations.
  }
  return { fields, headerEnd: at, tensors, alignment };
}

// ---------------------------------------------------------------- mutations

const BIG = [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 1];

function interesting(r, v, role) {
  const near = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 255, 256, 65535, 65536, v - 1, v + 1, v * 2, v + 8, v + 32];
  switch (role) {
    case 'version': return pick(r, [0, 1, 2, 3, 4, 0x02000000, 0x03000000, int(r, 2 ** 32)]);
    case 'kvtype': case 'arrtype': return pick(r, [...Array(16).keys(), 255, 2 ** 31, 2 ** 32 - 1]);
    case 'ttype': return pick(r, [...Array(40).keys(), 2 ** 32 - 1, int(r, 2 ** 32)]);
    case 'ndims': return pick(r, [0, 1, 2, 3, 4, 5, 8, 2 ** 32 - 1]);
    case 'value': return pick(r, [0, 1, 2, 3, 31, 64, 255, 2 ** 31, 2 ** 32 - 1]);
    default: return r() < 0.7 ? pick(r, near.filter((x) => x >= 0)) : pick(r, BIG);
  }
}

function writeUint(b, at, width, v) {
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (at + width > b.byteLength) return;
  if (width === 8) d.setBigUint64(at, BigInt.asUintN(64, BigInt(Math.floor(Math.min(v, 2 ** 64 - 1)))), true);
  else if (width === 4) d.setUint32(at, v >>> 0, true);
  else if (width === 2) d.setUint16(at, v & 0xffff, true);
  else b[at] = v & 0xff;
}

/** Generic edits; `hdr` is where the header ends: most edits land before it. */
const GENERIC = {
  flip(r, b, hdr) {
    const out = b.slice();
    for (let k = 1 + int(r, 4); k > 0 && out.length; k--) out[pos(r, out, hdr)] ^= 1 << int(r, 8);
    return out;
  },
  set(r, b, hdr) {
    const out = b.slice();
    for (let k = 1 + int(r, 3); k > 0 && out.length; k--) out[pos(r, out, hdr)] = pick(r, [0, 0xff, 0x7f, 0x80, 1, 0x20, 0x22, 0x7b, int(r, 256)]);
    return out;
  },
  truncate(r, b, hdr) {
    return b.slice(0, r() < 0.6 ? int(r, Math.min(hdr, b.length) + 1) : int(r, b.length + 1));
  },
  extend(r, b) {
    return concat([b, randomBytes(r, 1 + int(r, 64))]);
  },
  insertDelete(r, b, hdr) {
    const at = pos(r, b, hdr);
    const n = 1 + int(r, 8);
    return r() < 0.5 ? concat([b.subarray(0, at), randomBytes(r, n), b.subarray(at)]) : concat([b.subarray(0, at), b.subarray(at + n)]);
  },
  splice(r, b, hdr, other) {
    const out = b.slice();
    const at = pos(r, out, hdr);
    const n = Math.min(1 + int(r, 32), out.length - at);
    const from = int(r, Math.max(1, other.length - n));
    out.set(other.subarray(from, from + n), at);
    return out;
  },
};

function pos(r, b, hdr) {
  if (b.length === 0) return 0;
  return r() < 0.75 ? int(r, Math.min(hdr, b.length)) : int(r, b.length);
}

function stHeaderEnd(b) {
  if (b.length < 8) return b.length;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return Math.min(b.length, 8 + n);
}

/** Header JSON mutations: values, types and structure of entries, metadata, then the text itself. */
function stJson(r, b) {
  const end = stHeaderEnd(b);
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(b.subarray(8, end)));
  } catch {
    return GENERIC.flip(r, b, end);
  }
  if (typeof header !== 'object' || header === null) return GENERIC.flip(r, b, end);
  const data = b.subarray(end);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length ? pick(r, names) : null;
  const e = name && header[name] && typeof header[name] === 'object' ? header[name] : null;
  const odd = [-1, -0, 0.5, 1e300, 2 ** 53, 2 ** 31, 2 ** 32, '3', null, true, [], {}];
  const m = int(r, 14);
  if (e && m === 0) e.dtype = pick(r, [...Object.keys(ST_FILE_DTYPES), 'F8_E4M3', 'I4', 'C64', '', 'f32', 7, null]);
  else if (e && m === 1 && Array.isArray(e.shape)) {
    if (e.shape.length && r() < 0.6) e.shape[int(r, e.shape.length)] = r() < 0.5 ? pick(r, odd) : interesting(r, e.shape[0], 'dim');
    else if (r() < 0.5) e.shape.push(pick(r, [0, 1, 2, 2 ** 20]));
    else e.shape.pop();
  } else if (e && m === 2) e.shape = pick(r, [[], [0], 'x', {}, null, [[2]], [1, 1, 1, 1, 1, 1, 1, 1, 1]]);
  else if (e && m === 3 && Array.isArray(e.data_offsets)) {
    const o = e.data_offsets;
    const k = int(r, 2);
    if (r() < 0.5) o[k] = Math.max(0, (o[k] ?? 0) + pick(r, [-8, -2, -1, 1, 2, 8]));
    else o[k] = r() < 0.5 ? pick(r, odd) : interesting(r, o[k] ?? 0, 'offset');
  } else if (e && m === 4) e.data_offsets = pick(r, [[], [0], [0, 1, 2], 'x', null, [5, 1], header[pick(r, names)]?.data_offsets ?? [0, 0]]);
  else if (e && m === 5) delete e[pick(r, ['dtype', 'shape', 'data_offsets'])];
  else if (name && m === 6) header[name] = pick(r, [null, 5, 'x', [], [1, 2]]);
  else if (name && m === 7) header[`${name}${pick(r, ['_dup', '', '\u0000', 'é'])}2`] = structuredClone(header[name]);
  else if (name && m === 8) delete header[name];
  else if (m === 9) header.__metadata__ = pick(r, [{ a: 1 }, { a: { b: 'c' } }, 'meta', [], null, { '': '' }]);
  else if (name && m === 10) {
    const v = header[name];
    delete header[name];
    Object.defineProperty(header, pick(r, ['', '__metadata__', '__proto__', 'constructor', 'x'.repeat(300), 'ünï', '\\"']), { value: v, enumerable: true });
  } else if (m === 11) header = pick(r, [[], 'x', 5, null, [header]]);
  let text = JSON.stringify(header) ?? 'null';
  if (m >= 12) {
    // Text-level: a stray character, a cut, or a key written twice (JSON.parse keeps the last).
    const at = int(r, text.length + 1);
    const k = int(r, 3);
    if (k === 0) text = text.slice(0, at) + pick(r, ['{', '}', '"', ',', ':', '\\', '\u0000', 'é', ' ', '1', '[', '\ud800']) + text.slice(at);
    else if (k === 1) text = text.slice(0, at) + text.slice(at + 1 + int(r, 4));
    else if (name) text = text.replace('{', `{${JSON.stringify(name)}:${JSON.stringify(header[name] ?? 0)},`);
  }
  return stBuild(text, data, r() < 0.5 ? 8 : 1);
}

/** The u64 header length rewritten (the JSON left as it is). */
function stLength(r, b) {
  const out = b.slice();
  if (out.length < 8) return out;
  const n = Number(new DataView(out.buffer).getBigUint64(0, true));
  const v = r() < 0.5 ? interesting(r, n, 'len') : pick(r, [out.length, out.length - 8, out.length - 7, 100_000_000, 100_000_001, n - 1, n + 1]);
  writeUint(out, 0, 8, Math.max(0, v));
  return out;
}

/** A GGUF header field rewritten with a value chosen for what it means (count, length, type, dim, offset...). */
function ggufField(r, b) {
  const { fields } = ggufFields(b);
  const useful = fields.filter((f) => f.role !== 'magic' || r() < 0.05);
  if (!useful.length) return GENERIC.flip(r, b, b.length);
  const f = pick(r, useful);
  const out = b.slice();
  writeUint(out, f.at, f.width, interesting(r, f.value, f.role));
  return out;
}

/** `n` (1 to 3) mutations of `seed`, aimed at the header most of the time. */
export function mutate(r, format, seed, seeds) {
  let b = seed;
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const hdr = format === 'gguf' ? ggufFields(b).headerEnd : stHeaderEnd(b);
    const targeted = r() < 0.6;
    if (targeted) b = format === 'gguf' ? ggufField(r, b) : r() < 0.75 ? stJson(r, b) : stLength(r, b);
    else {
      const kind = pick(r, Object.keys(GENERIC));
      b = GENERIC[kind](r, b, hdr, pick(r, seeds));
    }
  }
  return b;
}

/** Load options for a case: mostly none; sometimes a float dtype, or (GGUF) dequantizing on load. */
export function optionsOf(r, format) {
  const k = int(r, 10);
  if (k === 0) return { dtype: pick(r, ['f32', 'f16', 'bf16']) };
  if (k === 1 && format === 'gguf') return { dequantize: true };
  return {};
}

/** How a case hands over the bytes: a Uint8Array, one at an odd byte offset, an ArrayBuffer, or a Response. */
export function sourceOf(r, bytes) {
  const k = int(r, 8);
  if (k === 0) return { how: 'arraybuffer', src: bytes.slice().buffer };
  if (k === 1) {
    const host = new Uint8Array(bytes.length + 3);
    host.set(bytes, 3);
    return { how: 'offset-view', src: host.subarray(3) };
  }
  if (k === 2 && typeof Response !== 'undefined') return { how: 'response', src: () => new Response(bytes.slice()) };
  return { how: 'bytes', src: bytes };
}
