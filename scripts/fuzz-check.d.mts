// Types for scripts/fuzz-check.mjs (imported by test/fuzz.test.ts).
export function runCase(
  lb: unknown,
  format: 'safetensors' | 'gguf',
  source: Uint8Array | ArrayBuffer | (() => Response),
  opts: { gpu: boolean; bytes: Uint8Array; tensorTypes: Readonly<Record<number, { name: string; block: number; bytes: number }>> },
): Promise<{ outcome: string; failure: string | null; detail: string }>;
