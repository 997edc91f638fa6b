// The built package (dist/, from `npm run build`) in the browser, as an app would load it: its
// `#platform` import resolved through package.json `imports` with the browser condition (by Vite,
// like any bundler), WGSL from the generated module. Runs a fused op, a matmul and attention.
import { describe, expect, it } from 'vitest';

type Lbrx = typeof import('../../src/index.js');
// A runtime path, so typechecking (npm test) does not need dist/ to exist.
const DIST = '../../dist/index.js';

describe('dist/index.js in Chromium', () => {
  it('initializes on navigator.gpu and computes', async () => {
    const lb = (await import(/* @vite-ignore */ DIST)) as Lbrx;
    const dev = await lb.init({ cacheDir: false });
    expect(dev.gpu).toBe(navigator.gpu);
    try {
      const a = lb.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const c = lb.tidy(() => a.add(lb.ones([3])).mul(2));
      expect(await c.toArray()).toEqual([[4, 6, 8], [10, 12, 14]]);
      const m = lb.tidy(() => lb.matmul(a, a.transpose())); // tidy disposes the transposed view
      expect(await m.toArray()).toEqual([[14, 32], [32, 77]]);
      // One query, one key: attention returns v.
      const q = lb.ones([1, 1, 1, 4]);
      const v = lb.tensor([1, -2, 3, -4], [1, 1, 1, 4]);
      const o = lb.attention(q, q, v);
      expect(Array.from(await o.data())).toEqual([1, -2, 3, -4]);
      for (const t of [a, c, m, q, v, o]) t.dispose();
      expect(lb.memory().liveBytes).toBe(0);
      // Node-only paths fail with the browser message, so this is the browser platform.
      await expect(lb.loadSafetensors('model.safetensors')).rejects.toThrow(/in a browser pass a URL/);
    } finally {
      await lb.shutdown();
    }
  });
});
