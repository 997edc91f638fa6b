// Progress lines for long runs: lb.tune() rewrites one status line when stderr is a terminal,
// writes nothing when it is not, and reports to onProgress when given one.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as lb from '../src/index.js';
import { ttyProgressLine } from '../src/runtime/progress-line.js';

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

/** Runs `fn` with process.stderr.isTTY set to `tty`, returning what was written to stderr. */
async function capture(tty: boolean, fn: () => Promise<unknown>): Promise<string> {
  const was = process.stderr.isTTY;
  const out: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  process.stderr.isTTY = tty;
  try {
    await fn();
  } finally {
    process.stderr.isTTY = was;
    spy.mockRestore();
  }
  return out.join('');
}

const SHAPES = [{ m: 32, k: 32, n: 32 }, { m: 1, k: 64, n: 64, transB: true }];

describe('progress line', () => {
  it('ttyProgressLine rewrites one line in place and clears it, only on a TTY', async () => {
    const tty = await capture(true, async () => {
      const line = ttyProgressLine()!;
      line.update('one');
      line.update('two');
      line.done();
      line.done(); // a second done() writes nothing more
    });
    expect(tty).toBe('\r\x1b[2Kone\r\x1b[2Ktwo\r\x1b[2K');
    expect(await capture(false, async () => expect(ttyProgressLine()).toBeNull())).toBe('');
  });

  it('lb.tune() shows a status line on a TTY (cleared at the end) and nothing in a log', async () => {
    const opts = { shapes: SHAPES, cacheDir: false as const, force: true, warn: () => {} };
    const tty = await capture(true, () => lb.tune(opts));
    const updates = tty.split('\r\x1b[2K').filter(Boolean);
    expect(updates[0]).toMatch(/^lb\.tune\(\): shape 1\/2 32x32x32 f32$/);
    expect(updates.some((u) => /shape 2\/2 1x64x64 f32 transB, candidate \d+\/\d+, best \d/.test(u))).toBe(true);
    expect(tty.endsWith('\r\x1b[2K')).toBe(true); // cleared: nothing left on the line
    expect(tty).not.toContain('\n');
    expect(await capture(false, () => lb.tune(opts))).toBe('');
  });

  it('lb.tune({ onProgress }) reports every shape and timed candidate; onProgress: false is silent on a TTY', async () => {
    const seen: lb.TuneProgress[] = [];
    const r = await lb.tune({ shapes: SHAPES, cacheDir: false, force: true, warn: () => {}, onProgress: (p) => seen.push(p) });
    const starts = seen.filter((p) => p.candidates === 0);
    expect(starts.map((p) => [p.shape, p.shapes])).toEqual([[1, 2], [2, 2]]);
    for (const e of r.entries) {
      const shape = r.entries.indexOf(e) + 1;
      const timed = seen.filter((p) => p.shape === shape && p.candidates > 0);
      // One more report when the sweep's fastest was not the table's config (timings[0]) and was re-timed against it.
      const fastest = e.timings.reduce((x, y) => (y.ms < x.ms ? y : x));
      expect(timed.length).toBe(e.timings.length + (fastest !== e.timings[0] ? 1 : 0));
      expect(timed.at(-1)!.bestMs).toBe(e.ms);
      expect(timed.every((p) => p.candidate >= 1 && p.candidate <= p.candidates)).toBe(true);
    }
    expect(await capture(true, () => lb.tune({ shapes: SHAPES, cacheDir: false, force: true, warn: () => {}, onProgress: false }))).toBe('');
  });
});
