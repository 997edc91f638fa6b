// The decode kernel's split-K paths against the CPU reference: partials merged inside the decode
// dispatch by its last workgroup per block (fused), through the `combine` pass, and with or
// without the next-step prefetch; the fused path's persistent buffers across dispatches of one batch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { attentionPlan, attentionTuning } from '../src/ops/attention.js';
import { decodePlan } from '../src/ops/attention-kernels.js';
import { decodeScratch } from '../src/ops/attention-decode.js';
import { requireDevice } from '../src/runtime/context.js';
import type { AttentionDecodeConfig } from '../src/tune/table.js';
import { gen, run, TOL, type Case } from './attention-helpers.js';
import { expectClose, pair, randomData, rng, sizeOf, useGpu } from './helpers.js';

useGpu();
afterEach(() => {
  for (const k of ['force', 'decode', 'fill', 'minChunk'] as const) delete attentionTuning[k];
});

const T = 240_000;

// The keys split into chunks of 16-64 keys whatever the adapter: many splits per block.
const MODES: [string, Partial<AttentionDecodeConfig>][] = [
  ['fused', { fuse: 4096 }],
  ['combine pass', { fuse: 0 }],
  ['fused, no prefetch', { fuse: 4096, prefetch: false }],
  ['fused, 4 keys per step', { fuse: 4096, ku: 4 }],
  ['combine pass, no prefetch, 1 key per step', { fuse: 0, prefetch: false, ku: 1 }],
];

describe.each(MODES)('split-K decode: %s', (mode, decode) => {
  beforeEach(() => {
    attentionTuning.force = 'decode';
    attentionTuning.decode = decode;
    attentionTuning.fill = 4096;
    attentionTuning.minChunk = 16;
  });
  const holes = (L: number, S: number) => new Float32Array(L * S).map((_, e) => {
    const i = Math.floor(e / S);
    const j = e % S;
    if (i === 0 || (i === 1 && j < 300)) return -Infinity; // row 0 fully masked; row 1 whole chunks
    return j % 5 === 0 ? -Infinity : (j % 7) * 0.25 - 0.5;
  });
  const CASES: Case[] = [
    { name: 'MHA causal', Hq: 3, Hkv: 3, L: 1, S: 1000, D: 64, causal: true },
    { name: 'GQA 8/2 f16 D=128', Hq: 8, Hkv: 2, L: 1, S: 777, D: 128, dtype: 'f16', causal: true },
    { name: 'L=3 GQA 4/2 causal (blocks span heads, rows end apart)', Hq: 4, Hkv: 2, L: 3, S: 333, D: 32, causal: true },
    { name: 'mask: a fully masked row, masked whole chunks', Hq: 2, Hkv: 2, L: 3, S: 600, D: 16, mask: { dtype: 'f32', shape: [3, 600], gen, data: holes(3, 600) } },
    { name: 'kvLength per batch (0, 37, 1000): empty splits and an empty batch', B: 3, Hq: 2, Hkv: 1, L: 1, S: 1000, D: 64, causal: true, kvLength: [0, 37, 1000] },
    { name: 'odd D=5 f16 (atomic output words)', Hq: 3, Hkv: 3, L: 1, S: 300, D: 5, dtype: 'f16' },
    { name: 'D=256 bf16', Hq: 2, Hkv: 1, L: 1, S: 200, D: 256, dtype: 'bf16' },
    { name: 'S=1', Hq: 2, Hkv: 2, L: 1, S: 1, D: 64 },
  ];
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => run({ ...c, name: `${mode} ${c.name}` }), T);
  it('S=32768 f16, one query', async () => run({ name: `${mode} 32k`, Hq: 1, Hkv: 1, L: 1, S: 32768, D: 64, dtype: 'f16' }), T);
});

describe('decode plans', () => {
  it('fewer keys per step when rows x keys passes rowKeys; at most maxSplits splits', () => {
    const dev = requireDevice('test');
    const cfg: AttentionDecodeConfig = { wg: 64, dt: 8, ku: 4, rowKeys: 8, rows: 8, prefetch: false, fuse: 32, maxSplits: 1024, maxL: 4 };
    expect(decodePlan(dev, cfg, 64, 1).ku).toBe(4);
    expect(decodePlan(dev, cfg, 64, 4).ku).toBe(2);
    expect(decodePlan(dev, cfg, 64, 16).ku).toBe(1);
    attentionTuning.force = 'decode';
    attentionTuning.fill = 4096;
    attentionTuning.minChunk = 16;
    const d = { B: 1, Hq: 1, Hkv: 1, L: 1, S: 32768, D: 64 };
    const many = attentionPlan(dev, d, ['f32', 'f32', 'f32']).splits;
    attentionTuning.decode = { maxSplits: 8 };
    const p = attentionPlan(dev, d, ['f32', 'f32', 'f32']);
    expect(many).toBeGreaterThan(8);
    expect(p.splits).toBe(8);
    expect(p.splits * p.chunk).toBeGreaterThanOrEqual(d.S);
  });
});

describe('fused split-K decode: persistent partial buffers', () => {
  it('many fused decodes of growing size in one batch, each exact (buffers grow and stay reset)', async () => {
    attentionTuning.decode = { fuse: 1 << 20 };
    attentionTuning.fill = 4096;
    attentionTuning.minChunk = 16;
    const rand = rng(7);
    const made: Tensor[] = [];
    try {
      const jobs: { got: Tensor; want: Tensor }[] = [];
      // Same shapes twice (the second sees the words the first emptied), then larger ones (growth).
      for (const [Hq, Hkv, S] of [[2, 1, 100], [2, 1, 100], [4, 2, 900], [8, 8, 2000], [4, 2, 900], [16, 4, 3000]]) {
        const make = (shape: number[]) => {
          const p = pair(randomData(rand, 'f32', sizeOf(shape), gen), shape, 'f32');
          made.push(p.gpu, p.cpu);
          return p;
        };
        const q = make([1, Hq, 1, 32]);
        const k = make([1, Hkv, S, 32]);
        const v = make([1, Hkv, S, 32]);
        const got = lb.attention(q.gpu, k.gpu, v.gpu, { causal: true });
        const want = lb.attention(q.cpu, k.cpu, v.cpu, { causal: true });
        made.push(got, want);
        jobs.push({ got, want });
      }
      const before = lb.streamStats().dispatches;
      await lb.eval(...jobs.map((j) => j.got));
      expect(lb.streamStats().dispatches - before, 'one dispatch per decode').toBe(jobs.length);
      for (const j of jobs) expectClose(await j.got.data(), await j.want.data(), { ...TOL.f32, dtype: 'f32' });
      // Every dispatch left the buffers as the next one needs them: partial words EMPTY, counters 0.
      const dev = requireDevice('test');
      const s = decodeScratch(dev, 0, 0)!;
      const [words, counters] = await Promise.all([readWords(s.part, s.bytes), readWords(s.ctr, s.ctrBytes)]);
      expect(words.every((w) => w === 0xffffffff), 'partial words EMPTY').toBe(true);
      expect(counters.every((w) => w === 0), 'counters 0').toBe(true);
    } finally {
      for (const t of made) t.dispose();
    }
  }, T);
});

/** The words of a GPU buffer (copied to a mappable one). */
async function readWords(buffer: GPUBuffer, bytes: number): Promise<Uint32Array> {
  const dev = requireDevice('test');
  const read = dev.device.createBuffer({ size: bytes, usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
  try {
    const enc = dev.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, read, 0, bytes);
    dev.device.queue.submit([enc.finish()]);
    await read.mapAsync(0x01);
    return new Uint32Array(read.getMappedRange().slice(0));
  } finally {
    read.destroy();
  }
}
