// Format fuzzing, short form (the long form is scripts/fuzz-formats.mjs, 10,000 cases per format):
// a few hundred seeded mutations of valid safetensors and GGUF files (bit flips, byte sets,
// truncations, header-length, JSON, count, length, type, dim and offset rewrites), each loaded on
// the CPU and on the GPU from bytes. Every case must load consistently (then its data is read and
// the devices agree) or throw a typed error, and leave no GPU buffer behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { writeGguf } from '../src/formats/gguf-write.js';
import { TENSOR_TYPES } from '../src/formats/gguf-header.js';
import { caseSeed, ggufFields, ggufSeeds, mutate, optionsOf, rng, safetensorsSeeds, sourceOf } from '../scripts/fuzz-lib.mjs';
import { runCase } from '../scripts/fuzz-check.mjs';

const CASES = 300;
const SEED = 20261126;

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

type Format = 'safetensors' | 'gguf';

async function fuzz(format: Format, seeds: Uint8Array[]) {
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const r = rng(caseSeed(SEED, format, i));
    const bytes = mutate(r, format, seeds[Math.floor(r() * seeds.length)], seeds);
    const { how, src } = sourceOf(r, bytes);
    const options = optionsOf(r, format);
    const res = await runCase(lb, format, src, { gpu: true, bytes, tensorTypes: TENSOR_TYPES, options });
    counts[res.outcome] = (counts[res.outcome] ?? 0) + 1;
    if (res.failure) failures.push(`case ${i} (${how} ${JSON.stringify(options)}, ${bytes.length} bytes): ${res.failure}: ${res.detail}`);
  }
  return { counts, failures };
}

describe('fuzzing the readers (short form)', () => {
  it('the seed files load, on both devices', async () => {
    const load = (format: Format, bytes: Uint8Array) => runCase(lb, format, bytes, { gpu: true, bytes, tensorTypes: TENSOR_TYPES });
    for (const seed of await safetensorsSeeds(lb)) expect(await load('safetensors', seed)).toMatchObject({ outcome: 'loaded', failure: null });
    for (const seed of ggufSeeds(writeGguf, TENSOR_TYPES)) expect(await load('gguf', seed)).toMatchObject({ outcome: 'loaded', failure: null });
  });

  it('the GGUF field map walks a whole seed file', () => {
    const seed = ggufSeeds(writeGguf, TENSOR_TYPES)[2];
    const { fields, headerEnd } = ggufFields(seed);
    const roles = new Set(fields.map((f) => f.role));
    for (const role of ['version', 'ntensors', 'nkv', 'keylen', 'kvtype', 'namelen', 'ndims', 'dim', 'ttype', 'toffset']) expect(roles, role).toContain(role);
    expect(headerEnd).toBeGreaterThan(24);
    expect(headerEnd).toBeLessThanOrEqual(seed.length);
  });

  it('mutations are reproducible from (seed, format, case)', async () => {
    const seeds = await safetensorsSeeds(lb);
    const a = mutate(rng(caseSeed(1, 'safetensors', 5)), 'safetensors', seeds[0], seeds);
    const b = mutate(rng(caseSeed(1, 'safetensors', 5)), 'safetensors', seeds[0], seeds);
    expect(a).toEqual(b);
  });

  // Found by the fuzzer: a name like '__proto__' set the record's prototype instead of a key (the
  // tensor was lost and its GPU buffer leaked), and 'constructor' read as a duplicate tensor.
  it('regression: tensors and keys named __proto__, constructor, toString load like any other name', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const before = lb.memory().buffers;
    const src: Record<string, lb.Tensor> = {};
    names.forEach((n, i) => Object.defineProperty(src, n, { value: lb.tensor([i, i + 0.5], [2], { device: 'cpu' }), enumerable: true }));
    const st = await lb.saveSafetensors(src, undefined, { metadata: { __proto__x: 'a', constructor: 'b' } });
    const r = await lb.loadSafetensors(st);
    expect(Object.keys(r.tensors).sort()).toEqual([...names].sort());
    expect(Object.getPrototypeOf(r.tensors)).toBe(Object.prototype);
    expect(r.metadata.constructor).toBe('b');
    for (const [i, n] of names.entries()) expect(Array.from(await r.tensors[n].data())).toEqual([i, i + 0.5]);
    for (const t of Object.values(r.tensors)) t.dispose();

    const g = writeGguf({
      kvs: names.map((key, i) => ({ key, type: 4, value: i })),
      tensors: names.map((name, i) => ({ name, type: 0, dims: [2], data: new Uint8Array(new Float32Array([i, -i]).buffer) })),
    });
    const q = await lb.loadGguf(g);
    expect(Object.keys(q.tensors).sort()).toEqual([...names].sort());
    expect(Object.keys(q.metadata).sort()).toEqual([...names].sort());
    expect(Object.hasOwn(q.metadata, '__proto__') && q.metadata.__proto__).toBe(0);
    expect(q.info.types.constructor).toBe(4);
    for (const [i, n] of names.entries()) expect(Array.from(await (q.tensors[n] as lb.Tensor).data())).toEqual([i, -i]);
    for (const t of Object.values(q.tensors)) t.dispose();
    await lb.eval();
    expect(lb.memory().buffers).toBe(before);
  });

  // Found by the fuzzer: an empty GGUF tensor of a block type with a row that is not whole blocks
  // passed the header check, then QuantizedTensor refused it with a ShapeError after its blocks
  // were uploaded, and that GPU buffer leaked.
  it('regression: an empty block-type tensor whose row is not whole blocks is a FormatError; nothing leaks', async () => {
    const bytes = writeGguf({ tensors: [{ name: 'q', type: 8, dims: [31, 0], data: new Uint8Array(0) }] });
    const ndAt = ggufFields(bytes).fields.find((f) => f.role === 'ndims')!.at;
    for (const device of ['cpu', 'gpu'] as const) {
      const before = lb.memory().buffers;
      const e = await lb.loadGguf(bytes, { device }).then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(lb.FormatError);
      expect((e as lb.FormatError).byteOffset).toBe(ndAt + 4);
      expect((e as Error).message).toMatch(/row of 31 elements; expected a multiple of the block size 32/);
      await lb.eval();
      expect(lb.memory().buffers).toBe(before);
    }
  });

  for (const format of ['safetensors', 'gguf'] as const) {
    it(`${CASES} mutated ${format} files: a consistent load or a typed error, never anything else`, async () => {
      const seeds = format === 'gguf' ? ggufSeeds(writeGguf, TENSOR_TYPES) : await safetensorsSeeds(lb);
      const { counts, failures } = await fuzz(format, seeds);
      expect(failures).toEqual([]);
      // The mutations reach both outcomes: some files still load, most are rejected as malformed.
      expect(counts.format ?? 0).toBeGreaterThan(CASES / 3);
      expect(counts.loaded ?? 0).toBeGreaterThan(5);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(CASES);
    });
  }
});
