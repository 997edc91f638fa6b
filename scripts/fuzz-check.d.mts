// Types for scripts/fuzz-check.mjs (imported by test/fuzz.test.ts).
export function runCase(
  lb: unknown,
  format: 'safetensors' | 'gguf',
  source: Uint8Array | ArrayBuffer | (() => Response),
  opts: { gpu: boolean; bytes: Uint8Array; options?: { dtype?: 'f32' | 'f16' | 'bf16'; dequantize?: boolean }; tensorTypes: Readonly<Record<number, { name: string; block: number; bytes: number }>> },
): Promise<{ outcome: string; failure: string | null; detail: string }>;
