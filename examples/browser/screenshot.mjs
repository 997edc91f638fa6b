#!/usr/bin/env node
// Opens the example page in headless Debian Chromium (Playwright; never a downloaded browser),
// waits until it reports done or error, saves examples/browser/screenshot.png and prints the
// results. Exits 1 when the page failed. `npm run example:browser` builds first.
// Env: LBRX_CHROMIUM (default /usr/bin/chromium), LBRX_EXAMPLE_TIMEOUT_MS (default 600000).
import { chromium } from 'playwright';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

const EXECUTABLE = process.env.LBRX_CHROMIUM || '/usr/bin/chromium';
// The same flags as test/browser/chromium.ts (the browser suite's).
const ARGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const OUT = fileURLToPath(new URL('./screenshot.png', import.meta.url));
const TIMEOUT = Number(process.env.LBRX_EXAMPLE_TIMEOUT_MS ?? 600_000);

const server = await serve(0);
const browser = await chromium.launch({ executablePath: EXECUTABLE, args: ARGS });
let failed = true;
try {
  const page = await browser.newPage({ viewport: { width: 1040, height: 900 } });
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && console.log(`page ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  console.log(`opening ${server.url} in ${browser.version()}`);
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.state !== 'running', null, { timeout: TIMEOUT, polling: 500 });
  const state = await page.evaluate(() => document.body.dataset.state);
  await page.locator('details').evaluate((d) => (d.open = true));
  await page.screenshot({ path: OUT, fullPage: true });
  const { results, error, statusText } = await page.evaluate(() => ({ results: window.lbrxResults, error: window.lbrxError, statusText: document.getElementById('status').textContent }));
  console.log(`status: ${statusText}`);
  for (const r of results?.matmul ?? []) console.log(`matmul ${r.n}^3 ${r.dtype}: ${r.ms.toFixed(3)} ms, ${r.gflops.toFixed(2)} GFLOP/s, rel. err ${r.err.toExponential(1)}`);
  for (const r of results?.attention ?? []) console.log(`attention ${r.kind} L=${r.L} S=${r.S} ${r.dtype}: ${r.ms.toFixed(3)} ms, ${r.gflops.toFixed(2)} GFLOP/s, rel. err ${r.err.toExponential(1)}`);
  if (results?.profile) console.log(`profile: ${results.profile.kernels} kernels, ${results.profile.totalGpuMs.toFixed(3)} ms GPU (${results.profile.timing})`);
  if (error) console.log(error);
  console.log(`screenshot: ${OUT}`);
  failed = state !== 'done';
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
