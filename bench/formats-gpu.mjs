// Shared by the formats family (bench/formats.bench.mjs, bench/formats-quant.mjs): GPU timing with
// the clocks kept up, and random GGUF blocks.
import { timeBatches } from './gpu-timing.mjs';

export const FAMILY = 'formats';

/**
 * GPU time per call of `record()` (returns what to dispose): `timeBatches` (K calls per batch
 * recorded while a heater keeps the GPU at its clocks, warmed until steady, the median of `rounds`),
 * plus the per-dispatch GPU time from timestamp queries, summed per call, and the GPU buffers
 * created during the timed rounds (0: the pool served every output).
 */
export async function timeHot(lb, record, k, rounds, { software = false, warmMs = 1000 } = {}) {
  const t = await timeBatches(lb, record, k, rounds, software ? 0 : warmMs);
  const rep = await lb.profile(async () => {
    const outs = Array.from({ length: k }, () => record());
    await lb.eval();
    for (const o of outs.flat()) o.dispose();
  }, { peaks: false });
  const profMs = rep.timing === 'gpu-timestamps' ? rep.kernels.reduce((x, c) => x + c.gpuMs, 0) / k : null;
  return { ms: t.ms, min: t.min, max: t.max, samples: t.samples, k, profMs, dispatchesPerCall: rep.kernels.length / k, created: t.createdTimed };
}

export const us = (ms) => `${(ms * 1e3).toFixed(1)} us`;

/** ggml type id, elements and bytes per block, byte offsets of the f16 scale fields. */
export const QUANT = {
  q8_0: { ggml: 8, block: 32, bytes: 34, scales: [0] },
  q4_0: { ggml: 2, block: 32, bytes: 18, scales: [0] },
  q4_1: { ggml: 3, block: 32, bytes: 20, scales: [0, 2] },
  q5_0: { ggml: 6, block: 32, bytes: 22, scales: [0] },
  q5_1: { ggml: 7, block: 32, bytes: 24, scales: [0, 2] },
  q4_k: { ggml: 12, block: 256, bytes: 144, scales: [0, 2] },
  q5_k: { ggml: 13, block: 256, bytes: 176, scales: [0, 2] },
  q6_k: { ggml: 14, block: 256, bytes: 210, scales: [208] },
};

/** Blocks for `n` values: random bytes, with small finite f16 scales. */
export function randomBlocks(type, n) {
  const { block, bytes, scales } = QUANT[type];
  const blocks = n / block;
  const data = new Uint8Array(blocks * bytes);
  let s = 12345;
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = s >>> 24; }
  for (let b = 0; b < blocks; b++) {
    for (const at of scales) {
      const d = f16Bits(((b % 97) + 1) / 1024 / (block / 32));
      data[b * bytes + at] = d & 0xff;
      data[b * bytes + at + 1] = d >> 8;
    }
  }
  return data;
}

function f16Bits(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const e = ((u >>> 23) & 0xff) - 127 + 15;
  return ((u >>> 16) & 0x8000) | (e << 10) | ((u >>> 13) & 0x3ff); // normal range only
}

/** Quantized weights [N, K] as QuantizedTensors on the GPU (uploaded from the same blocks). */
export function quantizedWeights(lb, type, n, k, copies) {
  const raw = randomBlocks(type, n * k);
  const words = new Uint32Array(Math.ceil(raw.length / 4));
  new Uint8Array(words.buffer).set(raw);
  return Array.from({ length: copies }, () => new lb.QuantizedTensor(type, [n, k], lb.tensor(words, [words.length], { dtype: 'u32' })));
}
