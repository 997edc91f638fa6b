// Types for write-weights.mjs (the test imports it from TypeScript).
import type * as Lb from '../../src/index.js';
import type { LlamaConfig } from './model.mjs';

export interface WriterLib {
  lb: typeof Lb;
  writeGguf: (opts: { kvs?: readonly { key: string; type: number; value: unknown }[]; tensors?: readonly { name: string; type: number; dims: readonly number[]; data: Uint8Array }[] }) => Uint8Array;
  quantizeQ8_0: (x: Float32Array) => Uint8Array;
  quantizeQ4_0: (x: Float32Array) => Uint8Array;
  f32ToF16Bits: (x: number) => number;
}

export type Weights = Record<string, { shape: number[]; data: Float32Array }>;
export type Format = 'safetensors-f32' | 'gguf-f32' | 'gguf-f16' | 'gguf-q8_0' | 'gguf-q4_0';

export const TINY: LlamaConfig;
export const FORMATS: readonly Format[];
export function distLib(): Promise<WriterLib>;
export function makeWeights(config?: LlamaConfig, seed?: number): Weights;
export function writeWeights(lib: WriterLib, dir: string, weights?: Weights, config?: LlamaConfig): Promise<Record<Format, string>>;
