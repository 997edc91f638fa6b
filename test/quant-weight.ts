// A random quantized weight for the quantized-matmul tests: the block words (as the GPU tensor
// holds them) and the values they decode to (the CPU reference's weight).
import * as lb from '../src/index.js';
import { dequantizeBlocks, type QuantType } from '../src/cpu/quant.js';
import { quantize } from '../src/cpu/quantize.js';
import { rng, seedOf } from './helpers.js';

export interface Weight { type: QuantType; n: number; k: number; words: Uint32Array; values: Float32Array }

/** N x K values in [-2, 2) from a seed of `tag` and the shape, quantized to `type`. */
export function quantWeight(tag: string, type: QuantType, n: number, k: number): Weight {
  const rand = rng(seedOf(`${tag}${type}${n}x${k}`));
  const raw = quantize(type, Float32Array.from({ length: n * k }, () => (rand() * 2 - 1) * 2));
  const words = new Uint32Array(Math.ceil(raw.length / 4));
  new Uint8Array(words.buffer).set(raw);
  return { type, n, k, words, values: dequantizeBlocks(type, raw, n * k) };
}

/** The weight as a QuantizedTensor on `device` (the caller disposes it). */
export const quantTensor = (w: Weight, device: 'gpu' | 'cpu' = 'gpu') =>
  new lb.QuantizedTensor(w.type, [w.n, w.k], lb.tensor(w.words, [w.words.length], { dtype: 'u32', device }));
