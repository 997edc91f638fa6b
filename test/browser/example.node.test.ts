// examples/browser in Debian Chromium, loaded the way the README describes for a plain
// <script type="module">: dist/ through an import map, no bundler. Its `?quick` problems run;
// every result must match the CPU reference and the profile must list the kernels.
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';

interface Server { url: string; close(): Promise<void> }
// A runtime path: the server is plain JavaScript without type declarations.
const SERVE = '../../examples/browser/serve.mjs';

let browser: Browser;
let server: Server;
beforeAll(async () => {
  const { serve } = (await import(/* @vite-ignore */ SERVE)) as { serve(port: number): Promise<Server> };
  server = await serve(0);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('examples/browser', () => {
  it('runs to done: matmul and attention match the CPU reference, the profile lists the kernels', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${server.url}?quick`);
    await page.waitForFunction(() => document.body.dataset.state !== 'running', null, { timeout: 120_000, polling: 200 });
    const { state, status, results, error } = await page.evaluate(() => ({
      state: document.body.dataset.state,
      status: document.getElementById('status')!.textContent,
      results: (window as unknown as { lbrxResults: { matmul: { ok: boolean }[]; attention: { ok: boolean }[]; profile: { kernels: number; summary: string[]; timing: string } } }).lbrxResults,
      error: (window as unknown as { lbrxError?: string }).lbrxError,
    }));
    expect(error ?? '', status ?? '').toBe('');
    expect(state).toBe('done');
    expect(errors).toEqual([]);
    expect(results.matmul.length).toBe(2);
    expect(results.attention.length).toBe(2);
    expect([...results.matmul, ...results.attention].every((r) => r.ok)).toBe(true);
    expect(results.profile.summary).toEqual(expect.arrayContaining(['matmul', 'rmsNorm', 'softmax']));
    expect(results.profile.summary.some((n) => n.startsWith('attention'))).toBe(true);
    expect(results.profile.timing).toBe('gpu-timestamps'); // SwiftShader has timestamp-query
    expect(status).toMatch(/every result matches the CPU reference\. 0 bytes still live/);
    const rows = await page.locator('#profile tbody tr').count();
    expect(rows).toBe(results.profile.summary.length + 1);
    await page.close();
  }, 180_000);
});
