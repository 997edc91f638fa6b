import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: { '#platform': fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // test/browser runs in Chromium: npm run test:browser (vitest.browser.config.ts).
    exclude: ['test/browser/**', '**/node_modules/**'],
    // One GPU device per worker process; lavapipe is CPU-bound, so two workers at most.
    pool: 'forks',
    maxWorkers: 2,
    // Limits catch hangs, not slowness: lavapipe compiles the larger attention and matmul kernels
    // in LLVM on the CPU, which takes minutes when the machine is shared.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
