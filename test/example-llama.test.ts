// The example Llama (examples/llama): weights written to safetensors and GGUF (f32, f16, Q8_0,
// Q4_0), loaded by lbrx, greedy generation on the GPU with the KV cache, checked against
// (1) the same model on lbrx's CPU reference (same weights, same tokens, tight logits),
// (2) a plain-JS float64 forward over the whole sequence without a cache (reference.mjs), on the
//     file's own (dequantized) weights: tight, and on the original f32 weights: within the
//     format's rounding / quantization error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../src/cpu/quant.js';
import { writeGguf } from '../src/formats/gguf-write.js';
import { f32ToF16Bits } from '../src/tensor/half.js';
import { argmax, createCache, forward, generate, loadLlama, type Llama } from '../examples/llama/model.mjs';
import { referenceLogits } from '../examples/llama/reference.mjs';
import { FORMATS, TINY, makeWeights, writeWeights, type Format, type Weights } from '../examples/llama/write-weights.mjs';
import { useGpu } from './helpers.js';

useGpu();

const PROMPT = [...new TextEncoder().encode('lbrx!')];
const STEPS = 8;
/**
 * Relative rms error of the file's weights against the original f32 ones: above the lower bound
 * (the format really rounds), below the upper one (the writer quantized as ggml does).
 * Logits then stay within LOGIT_GAIN times that error of the f32 model's (measured: 3-4.6x over
 * seeds for f16, Q8_0 and Q4_0 alike, the error of ~7 weight matrices on each path adding up).
 */
const WEIGHT_ERR: Record<Format, [number, number]> = {
  'safetensors-f32': [0, 0], 'gguf-f32': [0, 0], 'gguf-f16': [1e-4, 3e-4], 'gguf-q8_0': [4e-3, 7e-3], 'gguf-q4_0': [7e-2, 0.1],
};
const LOGIT_GAIN = 6;

let dir = '';
let weights: Weights;
let paths: Record<Format, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lbrx-llama-'));
  weights = makeWeights();
  paths = await writeWeights({ lb, writeGguf, quantizeQ8_0, quantizeQ4_0, f32ToF16Bits }, dir, weights);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** sqrt(sum (a - b)^2 / sum b^2) over all rows (weights or logits). */
function relRms(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let num = 0;
  let den = 0;
  a.forEach((row, r) => {
    for (let i = 0; i < row.length; i++) {
      num += (row[i] - b[r][i]) ** 2;
      den += b[r][i] ** 2;
    }
  });
  return Math.sqrt(num / den);
}

/** max |a - b| / max |b| over all rows. */
function relErr(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  a.forEach((row, r) => {
    expect(row.length).toBe(b[r].length);
    for (let i = 0; i < row.length; i++) {
      const d = Math.abs(row[i] - b[r][i]);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
      scale = Math.max(scale, Math.abs(b[r][i]));
    }
  });
  return diff / scale;
}

/** The model's weights as f32 values (quantized ones dequantized), read from the CPU copy. */
async function valuesOf(model: Llama): Promise<Weights> {
  const out: Weights = {};
  for (const [name, t] of Object.entries(model.tensors)) {
    const f = t instanceof lb.QuantizedTensor ? lb.dequantize(t) : t;
    out[name] = { shape: [...t.shape], data: Float32Array.from(await f.data()) };
    if (f !== t) f.dispose();
  }
  return out;
}

/** Smallest gap between the chosen logit and the runner-up over rows that picked a token. */
function margin(rows: readonly ArrayLike<number>[]): number {
  return Math.min(...rows.map((row) => {
    const best = argmax(row);
    let second = -Infinity;
    for (let i = 0; i < row.length; i++) if (i !== best) second = Math.max(second, row[i]);
    return row[best] - second;
  }));
}

describe('example llama', () => {
  it('weights are sensible: logits spread, not one-hot; greedy choices are not near-ties', () => {
    // Greedy decoding with the plain-JS forward alone (no lbrx): the margins the GPU runs must keep.
    const seq = [...PROMPT];
    let rows: Float64Array[] = [];
    for (let s = 0; s < STEPS; s++) {
      rows = referenceLogits(weights, TINY, seq);
      seq.push(argmax(rows[rows.length - 1]));
    }
    const last = rows[rows.length - 1];
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    const std = Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / last.length);
    expect(std).toBeGreaterThan(1);
    expect(std).toBeLessThan(10);
    expect(margin(rows.slice(PROMPT.length - 1))).toBeGreaterThan(1e-3);
    expect(new Set(seq.slice(PROMPT.length)).size, 'greedy output that is not one token repeated').toBeGreaterThan(STEPS / 2);
  });

  for (const format of FORMATS) {
    it(`${format}: GPU greedy generation = CPU reference; logits vs plain-JS forward`, async () => {
      const gpu = await loadLlama(lb, paths[format], { device: 'gpu' });
      const cpu = await loadLlama(lb, paths[format], { device: 'cpu' });
      try {
        expect(gpu.config).toEqual(cpu.config);
        expect({ ...gpu.config, eps: 0, ropeBase: 0 }).toEqual({ ...TINY, eps: 0, ropeBase: 0 });
        const quant = format.endsWith('q8_0') ? 'q8_0' : format.endsWith('q4_0') ? 'q4_0' : null;
        expect(gpu.layers[0].wq instanceof lb.QuantizedTensor ? (gpu.layers[0].wq as lb.QuantizedTensor).type : null).toBe(quant);
        const g = await generate(lb, gpu, PROMPT, STEPS);
        const c = await generate(lb, cpu, PROMPT, STEPS);
        expect(g.tokens).toEqual(c.tokens);
        expect(g.logits.length).toBe(PROMPT.length + STEPS - 1);
        const seq = [...PROMPT, ...g.tokens.slice(0, -1)];
        // Same weights: only the f32 evaluation order differs.
        const mine = await valuesOf(cpu);
        const errCpu = relErr(g.logits, c.logits);
        const errOwn = relErr(g.logits, referenceLogits(mine, gpu.config, seq));
        expect(errCpu, 'GPU vs lbrx CPU reference').toBeLessThan(1e-4);
        expect(errOwn, 'GPU vs plain-JS forward on the same weights').toBeLessThan(1e-4);
        // Against the f32 model: the error the format's rounding of the weights explains.
        const names = Object.keys(weights);
        const errW = relRms(names.map((n) => mine[n].data), names.map((n) => weights[n].data));
        const [lo, hi] = WEIGHT_ERR[format];
        expect(errW, 'weight rounding error').toBeGreaterThanOrEqual(lo);
        expect(errW, 'weight rounding error').toBeLessThanOrEqual(hi);
        const errF32 = relRms(g.logits, referenceLogits(weights, TINY, seq));
        expect(errF32, 'GPU vs the f32 model').toBeLessThan(Math.max(LOGIT_GAIN * errW, 1e-5));
        if (format.endsWith('f32')) {
          // f32 formats: the greedy tokens are the f32 model's (rows from the last prompt position on).
          const ref = referenceLogits(weights, TINY, [...PROMPT, ...g.tokens]).slice(PROMPT.length - 1, -1);
          expect(g.tokens).toEqual(ref.map(argmax));
        }
        console.log(`${format}: tokens [${g.tokens}], rel. logit error vs CPU ${errCpu.toExponential(2)}, vs plain JS ${errOwn.toExponential(2)}, vs f32 model ${errF32.toExponential(2)} (rms; weights ${errW.toExponential(2)})`);
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
    });
  }

  it('a batch of two prompts, prefilled together, matches each prompt alone', async () => {
    const gpu = await loadLlama(lb, paths['safetensors-f32']);
    try {
      const prompts = [[1, 200, 3, 44], [250, 9, 9, 0]];
      const cache = createCache(lb, gpu, { batch: 2, maxLen: 5 });
      const both = forward(lb, gpu, cache, prompts);
      const next = forward(lb, gpu, cache, [[7], [8]]);
      const [a, b] = [await both.data(), await next.data()];
      expect(both.shape).toEqual([2, 4, TINY.vocabSize]);
      expect(cache.length).toBe(5);
      expect(() => forward(lb, gpu, cache, [[1], [2]])).toThrow(/do not fit/);
      for (const x of [both, next]) x.dispose();
      cache.dispose();
      const V = TINY.vocabSize;
      for (let s = 0; s < 2; s++) {
        const rows = referenceLogits(weights, TINY, [...prompts[s], 7 + s]);
        const got = [...Array.from({ length: 4 }, (_, r) => a.subarray((s * 4 + r) * V, (s * 4 + r + 1) * V)), b.subarray(s * V, (s + 1) * V)];
        expect(relErr(got, rows)).toBeLessThan(1e-4);
      }
    } finally {
      gpu.dispose();
    }
  });
});
