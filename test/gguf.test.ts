// GGUF: metadata of every value type (v2, v3), alignment, F32/F16/BF16/I32 tensors, the dtype and
// dequantize load options, Q8_0 and Q4_0 from the ggml reference quantizers, every block type
// dequantized on the GPU bit-exactly equal to the CPU reference, file/Response sources, and
// malformed input as FormatError at its offset. K-quants: test/quant.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { dequantizeBlocks, quantizeQ4_0, quantizeQ8_0, type QuantType } from '../src/cpu/quant.js';
import { writeGguf, type GgufWriteKv, type GgufWriteTensor } from '../src/formats/gguf-write.js';
import { quantize } from '../src/cpu/quantize.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../src/tensor/half.js';
import { expectClose, rng, useGpu } from './helpers.js';

useGpu();
const T = lb.GGUF_TYPE;
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lbrx-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const disposeAll = (r: lb.Gguf) => Object.values(r.tensors).forEach((t) => t.dispose());
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const randn = (rand: () => number, n: number, scale = 3) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);

async function expectFormatError(p: Promise<unknown>, byteOffset: number, pattern: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'expected a FormatError').toBeInstanceOf(lb.FormatError);
  expect((e as lb.FormatError).byteOffset, (e as Error).message).toBe(byteOffset);
  expect((e as Error).message).toMatch(pattern);
}

const KVS: GgufWriteKv[] = [
  { key: 'u8', type: T.UINT8, value: 255 },
  { key: 'i8', type: T.INT8, value: -128 },
  { key: 'u16', type: T.UINT16, value: 65535 },
  { key: 'i16', type: T.INT16, value: -32768 },
  { key: 'u32', type: T.UINT32, value: 4294967295 },
  { key: 'i32', type: T.INT32, value: -2147483648 },
  { key: 'f32', type: T.FLOAT32, value: 1.5 },
  { key: 'bool', type: T.BOOL, value: true },
  { key: 'str', type: T.STRING, value: 'héllo ✓' },
  { key: 'empty', type: T.STRING, value: '' },
  { key: 'u64', type: T.UINT64, value: 2n ** 64n - 1n },
  { key: 'u64small', type: T.UINT64, value: 2 ** 53 - 1 },
  { key: 'i64', type: T.INT64, value: -(2n ** 63n) },
  { key: 'i64small', type: T.INT64, value: -42 },
  { key: 'f64', type: T.FLOAT64, value: Math.PI },
  { key: 'arr.str', type: T.ARRAY, value: { itemType: T.STRING, items: ['a', '', 'ü'] } },
  { key: 'arr.f32', type: T.ARRAY, value: { itemType: T.FLOAT32, items: [0.5, -2] } },
  { key: 'arr.i32', type: T.ARRAY, value: { itemType: T.INT32, items: [1, -1, 7] } },
  { key: 'arr.u8', type: T.ARRAY, value: { itemType: T.UINT8, items: [1, 2, 3] } },
  { key: 'arr.i16', type: T.ARRAY, value: { itemType: T.INT16, items: [-5] } },
  { key: 'arr.f64', type: T.ARRAY, value: { itemType: T.FLOAT64, items: [1e300] } },
  { key: 'arr.bool', type: T.ARRAY, value: { itemType: T.BOOL, items: [true, false] } },
  { key: 'arr.i64', type: T.ARRAY, value: { itemType: T.INT64, items: [-1, -(2n ** 60n)] } },
  { key: 'arr.empty', type: T.ARRAY, value: { itemType: T.UINT32, items: [] } },
  { key: 'arr.nested', type: T.ARRAY, value: { itemType: T.ARRAY, items: [{ itemType: T.STRING, items: ['x'] }, { itemType: T.UINT16, items: [9, 10] }] } },
];
const EXPECTED: Record<string, unknown> = {
  u8: 255, i8: -128, u16: 65535, i16: -32768, u32: 4294967295, i32: -2147483648, f32: 1.5, bool: true,
  str: 'héllo ✓', empty: '', u64: 2n ** 64n - 1n, u64small: 2 ** 53 - 1, i64: -(2n ** 63n), i64small: -42, f64: Math.PI,
  'arr.str': ['a', '', 'ü'], 'arr.f32': new Float32Array([0.5, -2]), 'arr.i32': new Int32Array([1, -1, 7]),
  'arr.u8': new Uint8Array([1, 2, 3]), 'arr.i16': new Int16Array([-5]), 'arr.f64': new Float64Array([1e300]),
  'arr.bool': [true, false], 'arr.i64': [-1, -(2n ** 60n)], 'arr.empty': new Uint32Array(0),
  'arr.nested': [['x'], new Uint16Array([9, 10])],
};

describe('metadata', () => {
  for (const version of [2, 3]) {
    it(`every value type and arrays round trip (v${version})`, async () => {
      const r = await lb.loadGguf(writeGguf({ version, kvs: KVS }));
      expect(r.metadata).toEqual(EXPECTED);
      expect(r.info.version).toBe(version);
      expect(r.info.types.u64).toBe(T.UINT64);
      expect(r.info.types['arr.str']).toBe(T.ARRAY);
      expect(r.tensors).toEqual({});
    });
  }

  it('general.alignment places the data section and tensors', async () => {
    for (const alignment of [32, 64, 8, 1]) {
      const x = new Float32Array([1, 2, 3]);
      const bytes = writeGguf({ alignment, kvs: [{ key: 'a', type: T.STRING, value: 'xyz' }], tensors: [
        { name: 'a', type: 0, dims: [3], data: bytesOf(x) },
        { name: 'b', type: 0, dims: [1], data: bytesOf(new Float32Array([9])) },
      ] });
      const r = await lb.loadGguf(bytes);
      expect(r.info.alignment).toBe(alignment);
      expect(r.info.dataStart % alignment).toBe(0);
      expect(Array.from(await (r.tensors.b as lb.Tensor).data())).toEqual([9]);
      expect(Array.from(await (r.tensors.a as lb.Tensor).data())).toEqual([1, 2, 3]);
      disposeAll(r);
    }
  });
});

describe('tensors', () => {
  it('F32, F16, BF16, I32: dtype, shape = dims reversed, bits exact; gpu and cpu', async () => {
    const f32 = new Float32Array([1.5, -0, NaN, Infinity, 2 ** -149, 7]);
    const f16 = Uint16Array.from([1, -2.5, 65504, 2 ** -24, -0], f32ToF16Bits); // odd length
    const bf16 = Uint16Array.from([1, -3, 1e38, 0.1], f32ToBf16Bits);
    const i32 = new Int32Array([-(2 ** 31), 5]);
    const bytes = writeGguf({ tensors: [
      { name: 'f32', type: 0, dims: [3, 2], data: bytesOf(f32) },
      { name: 'f16', type: 1, dims: [5], data: bytesOf(f16) },
      { name: 'bf16', type: 30, dims: [2, 1, 2], data: bytesOf(bf16) },
      { name: 'i32', type: 26, dims: [2], data: bytesOf(i32) },
      { name: 'scalar', type: 0, dims: [], data: bytesOf(new Float32Array([4])) },
      { name: 'empty', type: 0, dims: [0, 4], data: new Uint8Array(0) },
    ] });
    for (const device of ['gpu', 'cpu'] as const) {
      const r = await lb.loadGguf(bytes, { device });
      const t = r.tensors as Record<string, lb.Tensor>;
      expect([t.f32.dtype, t.f32.shape, t.f32.device]).toEqual(['f32', [2, 3], device]);
      expect([t.f16.dtype, t.f16.shape]).toEqual(['f16', [5]]);
      expect([t.bf16.dtype, t.bf16.shape]).toEqual(['bf16', [2, 1, 2]]);
      expect([t.i32.dtype, t.scalar.shape, t.empty.shape]).toEqual(['i32', [], [4, 0]]);
      expect(bytesOf(await t.f32.storage.read())).toEqual(bytesOf(f32));
      expect(bytesOf(await t.f16.storage.read(0, 10))).toEqual(bytesOf(f16));
      expect(bytesOf(await t.bf16.storage.read(0, 8))).toEqual(bytesOf(bf16));
      expect(Array.from(await t.i32.data())).toEqual([-(2 ** 31), 5]);
      expect(Array.from(await t.scalar.data())).toEqual([4]);
      disposeAll(r);
    }
  });

  it('from a file path and a streamed Response (size unknown)', async () => {
    const x = randn(rng(3), 64);
    const bytes = writeGguf({ kvs: KVS, tensors: [{ name: 'w', type: 0, dims: [64], data: bytesOf(x) }, { name: 'q', type: 8, dims: [32, 2], data: quantizeQ8_0(x) }] });
    const path = join(dir, 'm.gguf');
    await writeFile(path, bytes);
    for (const src of [path, new Response(bytes as unknown as BodyInit), bytes.slice().buffer]) {
      const r = await lb.loadGguf(src);
      expect(r.metadata).toEqual(EXPECTED);
      expect(Array.from(await (r.tensors.w as lb.Tensor).data())).toEqual(Array.from(x));
      const q = r.tensors.q as lb.QuantizedTensor;
      const d = q.dequantize();
      expect(Array.from(await d.data())).toEqual(Array.from(dequantizeBlocks('q8_0', quantizeQ8_0(x), 64)));
      d.dispose();
      disposeAll(r);
    }
    await expectFormatError(lb.loadGguf(new Response(bytes.subarray(0, bytes.length - 1) as unknown as BodyInit)), bytes.length - 68, /expected 68 bytes \(the bytes of tensor 'q'\)/);
  });
});

describe('load options', () => {
  it('dtype converts float tensors on their device; integers stay; dequantize gives float tensors', async () => {
    const f32 = new Float32Array([1.5, -2.25, 1e-3, 70000]);
    const f16 = Uint16Array.from([0.5, -3], f32ToF16Bits);
    const bf16 = Uint16Array.from([7, 1e30], f32ToBf16Bits);
    const x = randn(rng(21), 512, 2);
    const q4k = quantize('q4_k', x);
    const bytes = writeGguf({ tensors: [
      { name: 'f32', type: 0, dims: [4], data: bytesOf(f32) },
      { name: 'f16', type: 1, dims: [2], data: bytesOf(f16) },
      { name: 'bf16', type: 30, dims: [2], data: bytesOf(bf16) },
      { name: 'i32', type: 26, dims: [1], data: bytesOf(new Int32Array([-7])) },
      { name: 'q8', type: 8, dims: [32, 2], data: quantizeQ8_0(x.subarray(0, 64)) },
      { name: 'q4k', type: 12, dims: [256, 2], data: q4k },
    ] });
    const cast = async (v: ArrayLike<number>, from: lb.DType, to: lb.DType) => {
      const t = lb.tensor(from === 'f32' ? Float32Array.from(v) : Uint16Array.from(v), [v.length], { dtype: from, device: 'cpu' });
      const c = t.cast(to);
      const out = Array.from(await c.data());
      t.dispose();
      c.dispose();
      return out;
    };
    for (const device of ['gpu', 'cpu'] as const) {
      for (const dtype of ['f16', 'bf16', 'f32'] as const) {
        const r = await lb.loadGguf(bytes, { device, dtype, dequantize: dtype !== 'f32' });
        const t = r.tensors as Record<string, lb.Tensor>;
        for (const [name, raw, from] of [['f32', f32, 'f32'], ['f16', f16, 'f16'], ['bf16', bf16, 'bf16']] as const) {
          expect([t[name].dtype, t[name].device], name).toEqual([dtype, device]);
          expect(Array.from(await t[name].data()), `${name} -> ${dtype} on ${device}`).toEqual(await cast(raw, from, dtype));
        }
        expect(t.i32.dtype).toBe('i32');
        if (dtype === 'f32') {
          expect(r.tensors.q4k).toBeInstanceOf(lb.QuantizedTensor); // dequantize not asked
        } else {
          expect([t.q4k.dtype, t.q4k.shape, t.q8.shape]).toEqual([dtype, [2, 256], [2, 32]]);
          expect(Array.from(await t.q4k.data())).toEqual(await cast(dequantizeBlocks('q4_k', q4k, 512), 'f32', dtype));
        }
        disposeAll(r);
      }
    }
    const r = await lb.loadGguf(bytes, { dequantize: true });
    expect((r.tensors.q8 as lb.Tensor).dtype).toBe('f32');
    expect(Array.from(await (r.tensors.q8 as lb.Tensor).data())).toEqual(Array.from(dequantizeBlocks('q8_0', quantizeQ8_0(x.subarray(0, 64)), 64)));
    disposeAll(r);
    await expect(lb.loadGguf(bytes, { dtype: 'i32' as 'f32' })).rejects.toThrow(lb.DTypeError);
  });
});

describe('quantized', () => {
  it('known blocks decode as ggml specifies', () => {
    const q8 = new Uint8Array(34);
    q8.set([0x00, 0x38, 0x80, 0x7f, 0x00, 0x01, 0xff]); // d = 0.5; qs = -128, 127, 0, 1, -1
    expect(Array.from(dequantizeBlocks('q8_0', q8, 32).subarray(0, 5))).toEqual([-64, 63.5, 0, 0.5, -0.5]);
    const q4 = new Uint8Array(18);
    q4.set([0x00, 0x3c, 0x1f]); // d = 1; qs[0] = 0x1f: element 0 = 15 - 8, element 16 = 1 - 8
    const y4 = dequantizeBlocks('q4_0', q4, 32);
    expect([y4[0], y4[16], y4[1]]).toEqual([7, -7, -8]);
    const q41 = new Uint8Array(20);
    q41.set([0x00, 0x40, 0x00, 0xbc, 0x21]); // d = 2, m = -1; qs[0] = 0x21
    const y41 = dequantizeBlocks('q4_1', q41, 32);
    expect([y41[0], y41[16], y41[1]]).toEqual([1, 3, -1]);
    const q5 = new Uint8Array(22);
    q5.set([0x00, 0x3c, 0x01, 0x00, 0x01, 0x00, 0x03]); // d = 1; qh bits 0 and 16; qs[0] = 0x03
    const y5 = dequantizeBlocks('q5_0', q5, 32);
    expect([y5[0], y5[16], y5[1]]).toEqual([3, 0, -16]);
    const q51 = new Uint8Array(24);
    q51.set([0x00, 0x3c, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x80, 0xf0]); // d = 1, m = 1; qh bit 31; qs[0] = 0xf0
    const y51 = dequantizeBlocks('q5_1', q51, 32);
    expect([y51[0], y51[16], y51[31]]).toEqual([1, 16, 17]);
  });

  for (const [type, id, quantize] of [['q8_0', 8, quantizeQ8_0], ['q4_0', 2, quantizeQ4_0]] as const) {
    it(`${type}: GPU dequantization equals the CPU bit for bit, within the quantization error (odd block counts)`, async () => {
      const rand = rng(id);
      const shapes = [[32], [96, 3], [160, 7]]; // dims: 1, 9 and 35 blocks
      const xs = shapes.map((dims) => randn(rand, dims[0] * (dims[1] ?? 1), 10));
      xs[1].subarray(32, 64).fill(0); // an all-zero block: d = 0
      const tensors: GgufWriteTensor[] = shapes.map((dims, i) => ({ name: `t${i}`, type: id, dims, data: quantize(xs[i]) }));
      const r = await lb.loadGguf(writeGguf({ tensors }));
      for (let i = 0; i < shapes.length; i++) {
        const q = r.tensors[`t${i}`] as lb.QuantizedTensor;
        expect(q).toBeInstanceOf(lb.QuantizedTensor);
        expect([q.type, q.shape, q.device, q.storage.dtype]).toEqual([type, [...shapes[i]].reverse(), 'gpu', 'u32']);
        const d = lb.dequantize(q);
        expect([d.dtype, d.shape]).toEqual(['f32', q.shape]);
        const got = await d.data();
        d.dispose();
        const want = dequantizeBlocks(type, tensors[i].data, xs[i].length);
        expectClose(got, want, { dtype: 'f32', exact: true, label: `${type} t${i}` });
        for (let b = 0; b < xs[i].length / 32; b++) {
          const block = xs[i].subarray(b * 32, b * 32 + 32);
          const amax = Math.max(...Array.from(block, Math.abs));
          // The f16 scale is off by up to 2^-11 relative, times |q| <= 127 (q8_0) or 8 (q4_0).
          const step = type === 'q8_0' ? amax / 127 : amax / 8;
          for (let j = 0; j < 32; j++) {
            const err = Math.abs(got[b * 32 + j] - block[j]);
            expect(err, `${type} block ${b} element ${j}`).toBeLessThanOrEqual((type === 'q8_0' ? 0.57 : 1.01) * step + 1e-7);
          }
        }
      }
      disposeAll(r);
    });
  }

  it('every block type: random raw blocks (with subnormal, zero, Inf and NaN scales) decode the same on GPU and CPU', async () => {
    const rand = rng(77);
    const layouts: [QuantType, number, number][] = [['q8_0', 8, 34], ['q4_0', 2, 18], ['q4_1', 3, 20], ['q5_0', 6, 22], ['q5_1', 7, 24]];
    const specials = [0x0001, 0x8000, 0x7c00, 0x7e00, 0x03ff, 0x7bff];
    const tensors: GgufWriteTensor[] = layouts.map(([, id, size]) => {
      const blocks = 13;
      const raw = Uint8Array.from({ length: blocks * size }, () => Math.floor(rand() * 256));
      for (let b = 0; b < blocks; b++) {
        const hasM = size === 20 || size === 24;
        for (const at of hasM ? [0, 2] : [0]) {
          const bits = b < specials.length ? specials[(b + at) % specials.length] : f32ToF16Bits((rand() * 2 - 1) * 0.1);
          raw[b * size + at] = bits & 0xff;
          raw[b * size + at + 1] = bits >> 8;
        }
      }
      return { name: String(id), type: id, dims: [32 * blocks], data: raw };
    });
    const r = await lb.loadGguf(writeGguf({ tensors }));
    for (const [type, id] of layouts) {
      const q = r.tensors[String(id)] as lb.QuantizedTensor;
      expect(q.type).toBe(type);
      const d = q.dequantize();
      const got = await d.data();
      d.dispose();
      expectClose(got, dequantizeBlocks(type, tensors.find((t) => t.type === id)!.data, q.size), { dtype: 'f32', exact: true, label: type });
    }
    disposeAll(r);
  });

  it('cpu device dequantizes on the CPU; disposed tensors are refused', async () => {
    const x = randn(rng(5), 64);
    const r = await lb.loadGguf(writeGguf({ tensors: [{ name: 'q', type: 2, dims: [64], data: quantizeQ4_0(x) }] }), { device: 'cpu' });
    const q = r.tensors.q as lb.QuantizedTensor;
    const d = q.dequantize();
    expect(d.device).toBe('cpu');
    expect(Array.from(await d.data())).toEqual(Array.from(dequantizeBlocks('q4_0', quantizeQ4_0(x), 64)));
    d.dispose();
    q.dispose();
    expect(() => lb.dequantize(q)).toThrow(lb.DTypeError);
  });
});

// Layout helpers for the malformed cases: a file with no KVs has tensor infos from byte 24.
const u32le = (v: number) => Array.from(new Uint8Array(new Uint32Array([v]).buffer));
const u64le = (v: bigint) => Array.from(new Uint8Array(new BigUint64Array([v]).buffer));
const str = (s: string) => [...u64le(BigInt(s.length)), ...new TextEncoder().encode(s)];
function file(...parts: (number[] | Uint8Array)[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}
const head = (tensors: number | bigint, kvs: number | bigint, version = 3) => [...u32le(0x46554747), ...u32le(version), ...u64le(BigInt(tensors)), ...u64le(BigInt(kvs))];
const info = (name: string, dims: (number | bigint)[], type: number, offset: number | bigint) =>
  [...str(name), ...u32le(dims.length), ...dims.flatMap((d) => u64le(BigInt(d))), ...u32le(type), ...u64le(BigInt(offset))];

describe('malformed input', () => {
  const load = (b: Uint8Array) => lb.loadGguf(b);
  it('header: empty, wrong magic, versions, counts', async () => {
    await expectFormatError(load(new Uint8Array(0)), 0, /expected 4 bytes \(the magic/);
    await expectFormatError(load(file(new TextEncoder().encode('PK\x03\x04'), u32le(3))), 0, /magic is "PK.*expected "GGUF"/);
    await expectFormatError(load(file(head(0, 0, 1))), 4, /version 1; expected 2 or 3/);
    await expectFormatError(load(file(head(0, 0, 0x03000000))), 4, /big-endian/);
    await expectFormatError(load(file(head(2n ** 40n, 0))), 8, /tensor count 1099511627776 is more than the file can hold/);
    await expectFormatError(load(file(head(2n ** 63n, 0))), 8, /tensor count is 9223372036854775808; expected at most 2\^53/);
    await expectFormatError(load(file(head(0, 1000))), 16, /metadata count 1000/);
    await expectFormatError(load(file(head(0, 0).slice(0, 20))), 16, /expected 8 bytes/);
  });

  it('metadata: lengths past the end, bad types, bools, duplicates, nesting, alignment, UTF-8', async () => {
    const kv = (key: string, type: number, value: number[]) => [...str(key), ...u32le(type), ...value];
    await expectFormatError(load(file(head(0, 1), u64le(2n ** 50n), [0, 0, 0, 0, 0])), 24, /metadata key 0 length 1125899906842624 runs past the end/);
    await expectFormatError(load(file(head(0, 1), kv('k', 13, [0]))), 33, /value type 13; expected 0..12/);
    await expectFormatError(load(file(head(0, 1), kv('k', T.BOOL, [2]))), 37, /bool holding 2/);
    await expectFormatError(load(file(head(0, 1), kv('k', T.STRING, u64le(100n)))), 37, /string value of 'k' length 100 runs past/);
    await expectFormatError(load(file(head(0, 1), kv('k', T.ARRAY, [...u32le(T.UINT32), ...u64le(2n ** 40n)]))), 41, /array length 1099511627776 needs at least 4398046511104 bytes/);
    await expectFormatError(load(file(head(0, 1), kv('k', T.ARRAY, [...u32le(77), ...u64le(0n)]))), 37, /array of value type 77/);
    await expectFormatError(load(file(head(0, 2), kv('k', T.UINT8, [1]), kv('k', T.UINT8, [2]))), 38, /'k' appears twice/);
    await expectFormatError(load(file(head(0, 1), [...u64le(1n), 0xff], u32le(T.UINT8), [0])), 32, /not valid UTF-8/);
    const deep = Array.from({ length: 9 }, () => [...u32le(T.ARRAY), ...u64le(1n)]).flat();
    await expectFormatError(load(file(head(0, 1), kv('k', T.ARRAY, [...deep, ...u32le(T.UINT8), ...u64le(0n)]))), 37 + 8 * 12, /nests arrays 8 deep/);
    await expectFormatError(load(file(head(0, 1), kv('general.alignment', T.UINT32, u32le(48)))), 53, /general.alignment is 48.*power of two/);
    await expectFormatError(load(file(head(0, 1), kv('general.alignment', T.UINT64, u64le(32n)))), 53, /general.alignment is 32 \(type 10\)/);
  });

  it('tensor infos: dims, types, blocks, offsets, overlaps, ranges, duplicates', async () => {
    const data = (n: number) => new Uint8Array(n);
    const one = (i: number[], n = 64) => {
      const h = file(head(1, 0), i);
      return file(h, data(Math.ceil(h.length / 32) * 32 - h.length + n));
    };
    // info('w', ...) starts at 24: name to 33, ndims at 33, dims from 37.
    await expectFormatError(load(one(info('w', [1, 2, 3, 4, 5], 0, 0))), 33, /5 dimensions; expected at most 4/);
    await expectFormatError(load(one(info('w', [2 ** 30, 2 ** 30], 0, 0))), 45, /dims \[1073741824,1073741824\.\.\.\] overflow/);
    await expectFormatError(load(one(info('w', [2n ** 60n], 0, 0))), 37, /dimension 0 of 'w' is 1152921504606846976/);
    await expectFormatError(load(one(info('w', [4], 99, 0))), 45, /unknown type 99; expected one of F32, F16/);
    await expectFormatError(load(one(info('w', [256], 10, 0))), 45, /type Q2_K \(10\), not supported yet/);
    await expectFormatError(load(one(info('w', [128], 12, 0))), 37, /type Q4_K has a row of 128 elements; expected a multiple of the block size 256/);
    await expectFormatError(load(one(info('w', [16], 8, 0))), 37, /row of 16 elements; expected a multiple of the block size 32/);
    await expectFormatError(load(one(info('w', [1], 0, 4))), 49, /data offset 4 is not a multiple of the alignment 32/);
    await expectFormatError(load(one(info('w', [32], 0, 0))), 24, /bytes \[0, 128\) .* run past the end of the file; expected at most 64/);
    await expectFormatError(load(one(info('w', [1], 0, 2n ** 60n))), 49, /data offset of 'w' is 1152921504606846976/);
    const two = (a: number[], b: number[]) => {
      const h = file(head(2, 0), a, b);
      return file(h, data(Math.ceil(h.length / 32) * 32 - h.length + 128));
    };
    const first = info('a', [16], 0, 0);
    await expectFormatError(load(two(first, info('b', [4], 0, 32))), 24 + first.length, /tensor 'b' bytes \[32, 48\) overlap the tensor before it; expected offset >= 64/);
    await expectFormatError(load(two(first, info('a', [4], 0, 64))), 24 + first.length, /tensor 'a' appears twice/);
    await expectFormatError(load(two(first, [...str('b'), 0xff])), 24 + first.length + 9, /'b' has 255 dimensions/);
  });

  it('every truncation of a valid file is a FormatError, nothing is allocated', async () => {
    const x = randn(rng(9), 64);
    const bytes = writeGguf({ kvs: KVS.slice(8, 18), tensors: [{ name: 'q', type: 8, dims: [64], data: quantizeQ8_0(x) }, { name: 'w', type: 1, dims: [3], data: new Uint8Array(6) }] });
    const before = lb.memory().buffers;
    for (let n = 0; n < bytes.length; n++) {
      const e = await lb.loadGguf(bytes.subarray(0, n)).then(() => null, (err: unknown) => err);
      expect(e, `truncated to ${n}`).toBeInstanceOf(lb.FormatError);
      expect((e as lb.FormatError).byteOffset).toBeLessThanOrEqual(n);
    }
    expect(lb.memory().buffers).toBe(before);
  });

  it('random byte flips never crash or hang: a FormatError or a valid load', async () => {
    const rand = rng(11);
    const bytes = writeGguf({ kvs: KVS, tensors: [{ name: 'w', type: 0, dims: [8], data: new Uint8Array(32) }] });
    for (let i = 0; i < 300; i++) {
      const b = bytes.slice();
      for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const r = await lb.loadGguf(b).then((v) => v, (err: unknown) => err);
      if (r instanceof Error) expect(r, r.message).toBeInstanceOf(lb.FormatError);
      else disposeAll(r as lb.Gguf);
    }
  });
});
