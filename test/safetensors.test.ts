// safetensors: round trips (bit-exact) through bytes, files and HTTP; file dtypes that narrow or
// widen; sharded checkpoints; the dtype option; malformed input as FormatError at the right offset.
import { createServer, type Server } from 'node:http';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as lb from '../src/index.js';
import { platform } from '../src/platform/node.js';

let dir = '';
beforeAll(async () => {
  await lb.init({ cacheDir: false });
  dir = await mkdtemp(join(tmpdir(), 'lbrx-st-'));
});
afterAll(async () => {
  await lb.shutdown();
  await rm(dir, { recursive: true, force: true });
});
let liveBefore = 0;
beforeEach(() => {
  liveBefore = lb.memory().buffers;
});
afterEach(() => {
  expect(lb.memory().buffers, 'live buffers after the case').toBe(liveBefore);
});

const disposeAll = (r: { tensors: Record<string, lb.Tensor> }) => Object.values(r.tensors).forEach((t) => t.dispose());

/** A safetensors file from a header (object or raw text) and data bytes. */
function build(header: unknown, data: Uint8Array | number[] = [], headerLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function sample(): Record<string, lb.Tensor> {
  return {
    f32: lb.tensor(new Float32Array([1.5, -0, NaN, Infinity, -3.25e-39, 7]), [2, 3]),
    f16: lb.tensor(new Uint16Array([0x3c00, 0x7e01, 0x8001]), [3], { dtype: 'f16' }), // odd length, NaN payload, subnormal
    bf16: lb.tensor(new Uint16Array([0x3f80, 0xff81, 0x0001, 0x4049]), [2, 2], { dtype: 'bf16' }),
    i32: lb.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -1])),
    u32: lb.tensor(new Uint32Array([2 ** 32 - 1, 0, 123]), [3, 1]),
    scalar: lb.tensor(42.5),
    empty: lb.zeros([0, 3], { dtype: 'f16' }),
  };
}

async function expectFormatError(p: Promise<unknown>, byteOffset: number, pattern: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(lb.FormatError);
  expect((e as lb.FormatError).byteOffset, (e as Error).message).toBe(byteOffset);
  expect((e as Error).message).toMatch(pattern);
}

describe('round trips', () => {
  it('every dtype, scalar, size 0 and odd-length f16 through bytes, bit-exact', async () => {
    const src = sample();
    const bytes = await lb.saveSafetensors(src, undefined, { metadata: { format: 'pt', note: 'ü' } });
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const loaded = await lb.loadSafetensors(bytes);
    expect(loaded.metadata).toEqual({ format: 'pt', note: 'ü' });
    for (const [k, t] of Object.entries(src)) {
      const u = loaded.tensors[k];
      expect([u.dtype, u.shape, u.device]).toEqual([t.dtype, t.shape, 'gpu']);
    }
    expect(Array.from(await loaded.tensors.i32.data())).toEqual([-(2 ** 31), 2 ** 31 - 1, 0, -1]);
    expect(Array.from(await loaded.tensors.scalar.data())).toEqual([42.5]);
    // Saving what was loaded gives the same bytes: every bit (NaN payloads, -0, subnormals) survived.
    expect(await lb.saveSafetensors(loaded.tensors, undefined, { metadata: loaded.metadata })).toEqual(bytes);
    disposeAll(loaded);
    Object.values(src).forEach((t) => t.dispose());
  });

  it('a file path, with a non-contiguous view and cpu tensors', async () => {
    const base = lb.arange(12, { dtype: 'f32' });
    const a = base.reshape([3, 4]);
    const at = a.transpose();
    const path = join(dir, 'one.safetensors');
    await lb.saveSafetensors({ at, c: lb.tensor(new Int32Array([5, 6]), undefined, { device: 'cpu' }) }, path);
    const r = await lb.loadSafetensors(path, { device: 'cpu' });
    expect(r.tensors.at.device).toBe('cpu');
    expect(await r.tensors.at.toArray()).toEqual(await at.toArray());
    expect(Array.from(await r.tensors.c.data())).toEqual([5, 6]);
    disposeAll(r);
    [base, a, at].forEach((t) => t.dispose());
  });

  it('http URL and Response from a local server (streamed, with and without Content-Length)', async () => {
    const src = { w: lb.tensor(new Float32Array(1000).map((_, i) => i / 7), [10, 100]), b: lb.tensor(new Uint32Array([9])) };
    const bytes = await lb.saveSafetensors(src);
    const server: Server = createServer((req, res) => {
      if (req.url === '/chunked') {
        res.write(bytes.subarray(0, 13)); // no Content-Length: size unknown, checked as it streams
        res.end(bytes.subarray(13));
      } else if (req.url === '/m.safetensors') res.end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      for (const src2 of [`${base}/m.safetensors`, new URL(`${base}/chunked`), await fetch(`${base}/m.safetensors`)]) {
        const r = await lb.loadSafetensors(src2);
        expect(Array.from(await r.tensors.w.data())).toEqual(Array.from(await src.w.data()));
        expect(Array.from(await r.tensors.b.data())).toEqual([9]);
        disposeAll(r);
      }
      await expectFormatError(lb.loadSafetensors(`${base}/missing`), 0, /HTTP 404/);
    } finally {
      await new Promise((ok) => server.close(ok));
      src.w.dispose();
      src.b.dispose();
    }
  });

  it('sharded checkpoint through model.safetensors.index.json', async () => {
    const a = lb.tensor(new Float32Array([1, 2]));
    const b = lb.tensor(new Int32Array([3]));
    await lb.saveSafetensors({ a }, join(dir, 'model-00001-of-00002.safetensors'));
    await lb.saveSafetensors({ b }, join(dir, 'model-00002-of-00002.safetensors'), { metadata: { format: 'pt' } });
    const index = join(dir, 'model.safetensors.index.json');
    const weight_map = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };
    await writeFile(index, JSON.stringify({ metadata: { total_size: 12 }, weight_map }));
    const r = await lb.loadSafetensors(index);
    expect(Object.keys(r.tensors).sort()).toEqual(['a', 'b']);
    expect(r.metadata).toEqual({ total_size: '12', format: 'pt' });
    expect(Array.from(await r.tensors.b.data())).toEqual([3]);
    disposeAll(r);
    const bad = join(dir, 'bad.safetensors.index.json');
    await writeFile(bad, JSON.stringify({ weight_map: { ...weight_map, c: 'model-00002-of-00002.safetensors' } }));
    await expectFormatError(lb.loadSafetensors(bad), 8, /'c' is listed/);
    await writeFile(bad, JSON.stringify({ weight_map: { a: '../x.safetensors' } }));
    await expectFormatError(lb.loadSafetensors(bad), 0, /shard file name/);
    a.dispose();
    b.dispose();
  });
});

describe('file dtypes and conversion', () => {
  it('F64, I64, U64, I16, I8, U16, U8, BOOL narrow or widen', async () => {
    const parts: [string, string, number[], ArrayBufferView][] = [
      ['f64', 'F64', [3], new Float64Array([0.1, -1e300, 2])],
      ['i64', 'I64', [2], new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n])],
      ['u64', 'U64', [1], new BigUint64Array([2n ** 32n - 1n])],
      ['i16', 'I16', [2], new Int16Array([-32768, 5])],
      ['i8', 'I8', [3], new Int8Array([-128, 127, 0])],
      ['u16', 'U16', [1], new Uint16Array([65535])],
      ['u8', 'U8', [2], new Uint8Array([255, 1])],
      ['bool', 'BOOL', [3], new Uint8Array([1, 0, 1])],
    ];
    const header: Record<string, unknown> = {};
    const chunks: number[] = [];
    for (const [name, dtype, shape, arr] of parts) {
      const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      header[name] = { dtype, shape, data_offsets: [chunks.length, chunks.length + bytes.length] };
      chunks.push(...bytes);
    }
    const r = await lb.loadSafetensors(build(header, chunks));
    const got = Object.fromEntries(await Promise.all(Object.entries(r.tensors).map(async ([k, t]) => [k, [t.dtype, Array.from(await t.data())]])));
    expect(got).toEqual({
      f64: ['f32', [Math.fround(0.1), -Infinity, 2]],
      i64: ['i32', [-(2 ** 31), 2 ** 31 - 1]],
      u64: ['u32', [2 ** 32 - 1]],
      i16: ['i32', [-32768, 5]],
      i8: ['i32', [-128, 127, 0]],
      u16: ['u32', [65535]],
      u8: ['u32', [255, 1]],
      bool: ['u32', [1, 0, 1]],
    });
    disposeAll(r);
  });

  it('I64 out of i32 range names the tensor and the element offset', async () => {
    const data = new Uint8Array(new BigInt64Array([1n, 2n ** 31n]).buffer);
    const file = build({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data);
    const dataStart = file.length - 16;
    await expectFormatError(lb.loadSafetensors(file), dataStart + 8, /'ids' element 1 is 2147483648/);
  });

  it('dtype option converts float tensors on the GPU and leaves integers alone', async () => {
    const src = {
      h: lb.tensor(new Uint16Array([0x3fc0, 0xc000]), [2], { dtype: 'bf16' }),
      i: lb.tensor(new Int32Array([7])),
    };
    const bytes = await lb.saveSafetensors(src);
    src.h.dispose();
    src.i.dispose();
    const r = await lb.loadSafetensors(bytes, { dtype: 'f16' });
    expect([r.tensors.h.dtype, r.tensors.i.dtype]).toEqual(['f16', 'i32']);
    expect(Array.from(await r.tensors.h.data())).toEqual([1.5, -2]);
    disposeAll(r);
    await expect(lb.loadSafetensors(bytes, { dtype: 'i32' as 'f32' })).rejects.toBeInstanceOf(lb.DTypeError);
  });

  it('a 64 MiB file is read one tensor at a time, never whole', async () => {
    const n = 8;
    const each = 8 << 20;
    const header: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) header[`t${i}`] = { dtype: 'F32', shape: [each / 4], data_offsets: [i * each, (i + 1) * each] };
    const head = build(header);
    const path = join(dir, 'big.safetensors');
    const fh = await open(path, 'w');
    await fh.write(head);
    await fh.truncate(head.length + n * each); // sparse: zeros
    await fh.close();
    const reads: number[] = [];
    const real = platform.files!.openRead;
    const spy = vi.spyOn(platform.files!, 'openRead').mockImplementation(async (p) => {
      const f = await real(p);
      return { ...f, size: f.size, read: (into: Uint8Array, pos: number) => (reads.push(into.byteLength), f.read(into, pos)) };
    });
    try {
      const r = await lb.loadSafetensors(path);
      expect(Object.keys(r.tensors)).toHaveLength(n);
      disposeAll(r);
    } finally {
      spy.mockRestore();
    }
    expect(Math.max(...reads)).toBe(each);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(head.length + n * each);
  });
});

describe('malformed input throws FormatError before allocating', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const d8 = new Array(8).fill(0);
  const hdrLen = (h: unknown) => JSON.stringify(h).length;
  const cases: [string, Uint8Array, number, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), 0, /expected at least 8/],
    ['header length past the end', build(ok, d8, 1000n), 0, /runs past the end/],
    ['absurd header length', build(ok, d8, 2n ** 62n), 0, /over the 100000000-byte limit/],
    ['header not JSON', build('{"a": [1, 2'), 8 + 11, /not valid JSON/],
    ['header not starting with {', build('[1]'), 8, /expected a JSON object/],
    ['header not an object', build('null'), 8, /expected a JSON object/],
    ['tensor entry not an object', build({ a: 3 }), 9, /'a': expected an object/],
    ['unknown dtype', build({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, [0]), 9, /dtype "F8_E4M3"/],
    ['shape not an array', build({ a: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, d8), 9, /non-negative integers/],
    ['negative dim', build({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d8), 9, /non-negative integers/],
    ['fractional dim', build({ a: { dtype: 'F32', shape: [2.5], data_offsets: [0, 10] } }, [...d8, 0, 0]), 9, /non-negative integers/],
    ['huge shape', build({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, d8), 9, /too large/],
    ['data_offsets not a pair', build({ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, d8), 9, /\[begin, end\]/],
    ['data_offsets reversed', build({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, d8), 9, /\[begin, end\]/],
    ['byte length ≠ shape · size', build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d8), 9, /expected 12 for F32/],
    ['data past the end', build({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, d8), 9, /run past the 8-byte data section/],
    ['__metadata__ with a number', build({ __metadata__: { n: 1 }, ...ok }, d8), 9, /expected a string/],
    ['trailing garbage', build(ok, [...d8, 1, 2, 3]), 8 + hdrLen(ok) + 8, /3 trailing bytes/],
  ];
  it.each(cases)('%s', async (_name, bytes, offset, pattern) => {
    await expectFormatError(lb.loadSafetensors(bytes), offset, pattern);
  });

  it('overlapping and gapped tensors name the second one', async () => {
    const overlap = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    const at = 8 + JSON.stringify(overlap).indexOf('"b"');
    await expectFormatError(lb.loadSafetensors(build(overlap, d8)), at, /'b'.*overlaps/);
    const gap = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    await expectFormatError(lb.loadSafetensors(build(gap, [...d8, 0, 0, 0, 0])), 8 + JSON.stringify(gap).indexOf('"b"'), /'b'.*hole/);
  });

  it('truncated files and streams fail where the data runs out, and leak nothing', async () => {
    const full = build(ok, d8);
    const path = join(dir, 'trunc.safetensors');
    await writeFile(path, full.subarray(0, full.length - 3));
    await expectFormatError(lb.loadSafetensors(path), 9, /run past the 5-byte data section/);
    // A stream without a length finds out while reading the tensor.
    const stream = new Response(new Blob([full.subarray(0, full.length - 3) as Uint8Array<ArrayBuffer>]).stream());
    await expectFormatError(lb.loadSafetensors(stream), 8 + hdrLen(ok), /expected 8 bytes \(the bytes of tensor 'a'\)/);
    const two = { a: ok.a, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    const partial = new Response(new Blob([build(two, [...d8, 0]) as Uint8Array<ArrayBuffer>]).stream());
    await expectFormatError(lb.loadSafetensors(partial), 8 + hdrLen(two) + 8, /tensor 'b'/);
    await expect(lb.loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(/ENOENT/);
  });

  it('a stream whose header claims a tensor over maxBufferSize fails before reading or allocating it', async () => {
    const huge = { a: { dtype: 'F64', shape: [2 ** 40], data_offsets: [0, 2 ** 43] } };
    const res = new Response(new Blob([build(huge) as Uint8Array<ArrayBuffer>]).stream());
    await expect(lb.loadSafetensors(res)).rejects.toBeInstanceOf(lb.GpuOutOfMemoryError);
  });
});
