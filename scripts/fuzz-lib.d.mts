// Types for scripts/fuzz-lib.mjs (imported by test/fuzz.test.ts).
export function rng(seed: number): () => number;
export function caseSeed(seed: number, format: 'safetensors' | 'gguf', i: number): number;
export function safetensorsFile(
  entries: { name: string; dtype: string; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>,
  pad?: number,
): Uint8Array;
export function safetensorsSeeds(lb: unknown): Promise<Uint8Array[]>;
export function ggufSeeds(
  writeGguf: (opts: never) => Uint8Array,
  tensorTypes: Readonly<Record<number, { name: string; block: number; bytes: number }>>,
): Uint8Array[];
export function ggufFields(b: Uint8Array): {
  fields: { at: number; width: number; role: string; value: number }[];
  headerEnd: number;
  tensors: { name: string; dims: number[]; type: number; offset: number }[];
  alignment: number;
};
export function mutate(r: () => number, format: 'safetensors' | 'gguf', seed: Uint8Array, seeds: Uint8Array[]): Uint8Array;
export function optionsOf(r: () => number, format: 'safetensors' | 'gguf'): { dtype?: 'f32' | 'f16' | 'bf16'; dequantize?: boolean };
export function sourceOf(r: () => number, bytes: Uint8Array): { how: string; src: Uint8Array | ArrayBuffer | (() => Response) };
