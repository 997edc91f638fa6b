// Types for reference.mjs (the test imports it from TypeScript).
import type { LlamaConfig } from './model.mjs';

export function referenceLogits(
  weights: Record<string, { shape: readonly number[]; data: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> } }>,
  config: LlamaConfig,
  tokens: readonly number[],
  opts?: { ropeLayout?: 'interleaved' | 'half' },
): Float64Array[];
