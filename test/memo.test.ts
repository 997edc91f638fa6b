// memoCode: generated kernel code is built once per distinct arguments (it cost 6-55 µs per call).
import { describe, expect, it } from 'vitest';
import { keptByKey, memoCode } from '../src/kernels/memo.js';
import { tileCode } from '../src/ops/matmul-tile.js';

describe('memoCode', () => {
  it('builds once per distinct arguments and drops the oldest past its limit', () => {
    let calls = 0;
    const gen = memoCode((n: number, o: { k: string }) => ({ code: `${o.k}${n}`, call: ++calls }), 2);
    const a = gen(1, { k: 'x' });
    expect(gen(1, { k: 'x' })).toBe(a); // equal arguments, not the same objects
    expect(calls).toBe(1);
    expect(gen(2, { k: 'x' }).code).toBe('x2');
    expect(gen(1, { k: 'y' }).code).toBe('y1');
    expect(calls).toBe(3);
    expect(gen(1, { k: 'x' })).not.toBe(a); // evicted (limit 2), built again
    expect(gen(1, { k: 'x' }).code).toBe('x1');
    expect(calls).toBe(4);
  });

  it('the kernel generators return the same code for the same config', () => {
    const c = { bm: 128, bn: 64, bk: 16, tm: 8, tn: 4 };
    expect(tileCode({ ...c }, true)).toBe(tileCode({ ...c }, true));
    expect(tileCode({ ...c }, true).MAC_LOOP).not.toBe(tileCode({ ...c, ck: true }, true).MAC_LOOP);
  });

  it('keptByKey keeps the first object built for a key', () => {
    let builds = 0;
    const make = () => ({ n: ++builds });
    const a = keptByKey(['memo.test', 'a'], make);
    expect(keptByKey(['memo.test', 'a'], make)).toBe(a);
    expect(keptByKey(['memo.test', 'b'], make)).not.toBe(a);
    expect(builds).toBe(2);
  });
});
