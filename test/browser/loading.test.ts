// Loading weights over HTTP in Chromium from the fixture server on 127.0.0.1 (fixture-server.ts,
// another origin than the page: a CORS fetch, as from a CDN): safetensors by URL, URL object and
// Response, with and without Content-Length, sharded; GGUF with a Q8_0 weight dequantized on the
// GPU; HTTP and truncation errors as FormatError; saveSafetensors bytes loaded back.
import { describe, expect, inject, it } from 'vitest';
import * as lb from '../../src/index.js';
import { expectClose, useGpu } from '../helpers.js';
import { expectedValues, ggufFixture, METADATA, SHARDS, TENSORS } from './fixtures.js';

useGpu();
const base = inject('fixtureBase');

const dispose = (r: { tensors: Record<string, { dispose(): void }> }) => Object.values(r.tensors).forEach((t) => t.dispose());

async function expectFixture(tensors: Record<string, lb.Tensor>, names = TENSORS.map((t) => t.name)): Promise<void> {
  expect(Object.keys(tensors).sort()).toEqual([...names].sort());
  for (const f of TENSORS.filter((t) => names.includes(t.name))) {
    const t = tensors[f.name];
    expect(t.device, f.name).toBe('gpu');
    expect(t.dtype, f.name).toBe(f.dtype);
    expect(t.shape, f.name).toEqual(f.shape);
    expectClose(await t.data(), expectedValues(f), { dtype: f.dtype, exact: true, label: f.name });
  }
}

describe('safetensors over HTTP', () => {
  it('the server is another origin on 127.0.0.1', () => {
    expect(new URL(base).hostname).toBe('127.0.0.1');
    expect(new URL(base).origin).not.toBe(location.origin);
  });

  it('by URL string, URL object and Response: every file dtype, metadata, 0-d and empty tensors', async () => {
    const url = `${base}model.safetensors`;
    for (const src of [url, new URL(url), await fetch(url)]) {
      const r = await lb.loadSafetensors(src);
      try {
        await expectFixture(r.tensors);
        expect(r.metadata).toEqual(METADATA);
      } finally {
        dispose(r);
      }
    }
  });

  it('streamed without Content-Length (chunked, 37-byte pieces)', async () => {
    const r = await lb.loadSafetensors(`${base}chunked/model.safetensors`);
    try {
      await expectFixture(r.tensors);
    } finally {
      dispose(r);
    }
  });

  it('converts floats on the GPU with { dtype }; integers keep theirs; device cpu', async () => {
    const r = await lb.loadSafetensors(`${base}model.safetensors`, { dtype: 'bf16' });
    const c = await lb.loadSafetensors(`${base}model.safetensors`, { device: 'cpu' });
    try {
      expect(r.tensors['w.f32'].dtype).toBe('bf16');
      expect(r.tensors['w.f16'].dtype).toBe('bf16');
      expect(r.tensors['ids.i32'].dtype).toBe('i32');
      const f = TENSORS.find((t) => t.name === 'w.f32')!;
      const want = lb.tensor(Float32Array.from(f.values), f.shape, { device: 'cpu' });
      const wantBf16 = want.cast('bf16');
      expectClose(await r.tensors['w.f32'].data(), await wantBf16.data(), { dtype: 'bf16', exact: true });
      for (const t of [want, wantBf16]) t.dispose();
      expect(c.tensors['w.f32'].device).toBe('cpu');
      expectClose(await c.tensors['mask'].data(), [1, 0, 0, 1, 1], { dtype: 'u32', exact: true });
    } finally {
      dispose(r);
      dispose(c);
    }
  });

  it('a sharded checkpoint: index JSON, then each shard relative to it', async () => {
    const r = await lb.loadSafetensors(`${base}sharded/model.safetensors.index.json`);
    try {
      await expectFixture(r.tensors, Object.values(SHARDS).flat());
      expect(r.metadata.total_size).toBe('1234');
    } finally {
      dispose(r);
    }
  });

  it('HTTP errors and truncated bodies are FormatErrors that say what was expected', async () => {
    const before = lb.memory().buffers;
    const missing = lb.loadSafetensors(`${base}missing.safetensors`);
    await expect(missing).rejects.toThrow(lb.FormatError);
    await expect(lb.loadSafetensors(`${base}missing.safetensors`)).rejects.toThrow(/HTTP 404 .*expected 200 with safetensors bytes/);
    await expect(lb.loadSafetensors(`${base}missing/model.safetensors.index.json`)).rejects.toThrow(/HTTP 404 .*expected 200 with the index JSON/);
    for (const path of ['truncated.safetensors', 'chunked/truncated.safetensors']) {
      const e = await lb.loadSafetensors(`${base}${path}`).then(() => null, (err: unknown) => err);
      expect(e, path).toBeInstanceOf(lb.FormatError);
      expect((e as lb.FormatError).byteOffset, path).toBeGreaterThan(8);
    }
    // A server that is not there: the fetch fails (a TypeError from fetch, not a hang).
    await expect(lb.loadSafetensors('http://127.0.0.1:9/none.safetensors')).rejects.toThrow();
    expect(lb.memory().buffers).toBe(before); // nothing half-loaded stays allocated
  });

  it('saveSafetensors gives bytes that load back (from bytes and from a Blob URL)', async () => {
    const r = await lb.loadSafetensors(`${base}model.safetensors`);
    const picked = { a: r.tensors['w.f32'], b: r.tensors['w.bf16'], c: r.tensors['ids.u32'], d: r.tensors['w.f16'] };
    const bytes = await lb.saveSafetensors(picked, undefined, { metadata: { k: 'v' } });
    const blobUrl = URL.createObjectURL(new Blob([bytes as BlobPart]));
    try {
      for (const back of [await lb.loadSafetensors(bytes), await lb.loadSafetensors(await fetch(blobUrl))]) {
        expect(back.metadata).toEqual({ k: 'v' });
        for (const [k, t] of Object.entries(picked)) {
          expect(back.tensors[k].dtype).toBe(t.dtype);
          expectClose(await back.tensors[k].data(), await t.data(), { dtype: t.dtype, exact: true, label: k });
        }
        dispose(back);
      }
    } finally {
      URL.revokeObjectURL(blobUrl);
      dispose(r);
    }
  });
});

describe('GGUF over HTTP', () => {
  it('an F32 tensor and a Q8_0 weight that stays quantized and dequantizes on the GPU', async () => {
    const want = ggufFixture();
    const g = await lb.loadGguf(`${base}model.gguf`);
    try {
      expect(g.metadata['general.name']).toBe('fixture');
      const bias = g.tensors['bias'] as lb.Tensor;
      expectClose(await bias.data(), want.f32, { dtype: 'f32', exact: true });
      const q = g.tensors['w.q8'] as lb.QuantizedTensor;
      expect(q).toBeInstanceOf(lb.QuantizedTensor);
      const d = lb.dequantize(q);
      expect(d.shape).toEqual(want.q8Shape);
      expectClose(await d.data(), want.q8Values, { dtype: 'f32', exact: true });
      d.dispose();
    } finally {
      for (const t of Object.values(g.tensors)) t.dispose();
    }
  });
});
