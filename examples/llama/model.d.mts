// Types for model.mjs (the test imports it from TypeScript).
import type * as Lb from '../../src/index.js';

type Lbrx = typeof Lb;
type Weight = Lb.Tensor | Lb.QuantizedTensor;

export interface LlamaConfig {
  vocabSize: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  contextLength: number;
  ropeBase: number;
  eps: number;
}

export interface LlamaLayer {
  attnNorm: Lb.Tensor;
  wq: Weight;
  wk: Weight;
  wv: Weight;
  wo: Weight;
  ffnNorm: Lb.Tensor;
  gate: Weight;
  up: Weight;
  down: Weight;
}

export interface Llama {
  config: LlamaConfig;
  device: 'gpu' | 'cpu';
  format: string;
  layers: LlamaLayer[];
  outputNorm: Lb.Tensor;
  tokenEmbd: Weight;
  embedTable: Lb.Tensor;
  tensors: Record<string, Weight>;
  dispose(): void;
}

export interface KvCache {
  batch: number;
  maxLen: number;
  length: number;
  k: Lb.Tensor[];
  v: Lb.Tensor[];
  dispose(): void;
}

export interface Generation {
  tokens: number[];
  logits: Float32Array[];
  times: { prefillMs: number; decodeMs: number[] };
}

export const ROPE_LAYOUT: 'interleaved' | 'half';
export function configFrom(metadata: Record<string, unknown>, tensors: Record<string, { shape: readonly number[] }>): LlamaConfig;
export function loadLlama(lb: Lbrx, path: string, opts?: { device?: 'gpu' | 'cpu' }): Promise<Llama>;
export function linear(lb: Lbrx, model: Llama, x: Lb.Tensor, w: Weight): Lb.Tensor;
export function createCache(lb: Lbrx, model: Llama, opts?: { batch?: number; maxLen?: number }): KvCache;
export function forward(lb: Lbrx, model: Llama, cache: KvCache, ids: number[][]): Lb.Tensor;
export function argmax(row: ArrayLike<number>): number;
export function generate(lb: Lbrx, model: Llama, prompt: number[], steps: number, opts?: { maxLen?: number }): Promise<Generation>;
