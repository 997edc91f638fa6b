// The browser suite (`npm run test:browser`): test/browser/*.test.ts in Debian's headless Chromium
// through Playwright (never a downloaded browser), plus test/browser/*.node.test.ts in Node, which
// check the built package's browser entry and open examples/browser the way a plain page loads it.
// WebGPU there is SwiftShader: no shader-f16, subgroups of 4.
import { defineConfig, type Plugin } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from './test/browser/chromium.js';

const srcDir = fileURLToPath(new URL('./src/', import.meta.url));
const browserPlatform = fileURLToPath(new URL('./src/platform/browser.ts', import.meta.url));

/**
 * `#platform` imported from src/ means the browser platform's source. Imports from dist/ are left
 * to Vite, which resolves them through package.json `imports` with the browser condition.
 */
function sourcePlatform(): Plugin {
  return {
    name: 'lbrx-source-platform',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id === '#platform' && importer?.split('?')[0].startsWith(srcDir)) return browserPlatform;
      return null;
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [sourcePlatform()],
        test: {
          name: 'chromium',
          include: ['test/browser/**/*.test.ts'],
          exclude: ['test/browser/**/*.node.test.ts'],
          globalSetup: ['test/browser/fixture-server.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            // One page at a time: SwiftShader is CPU-bound, and each file makes its own GPU device.
            fileParallelism: false,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        test: {
          name: 'package',
          include: ['test/browser/**/*.node.test.ts'],
          environment: 'node',
        },
      },
    ],
  },
});
