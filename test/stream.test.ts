import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';

beforeAll(async () => {
  await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

describe('stream', () => {
  it('several kernels failing to compile in one batch reject the sync point once; the process lives on', async () => {
    const dev = lb.device()!;
    const x = lb.zeros([64]).realize();
    const out = lb.zeros([64]).realize();
    await lb.eval();
    const bad = { file: '_selftest', defines: { BIAS: 'not_declared_anywhere' }, label: 'broken-on-purpose' };
    const params = new ArrayBuffer(16);
    for (let i = 0; i < 3; i++) {
      dev.stream.record({ kind: 'dispatch', spec: bad, buffers: { x: x.storage as never, y: out.storage as never }, params, workgroups: [1, 1, 1] });
    }
    const err = await lb.eval().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(lb.ShaderCompileError);
    // The device still works after the failed batch.
    expect(Array.from(await x.add(2).data()).slice(0, 2)).toEqual([2, 2]);
    x.dispose();
    out.dispose();
  });

  it('one submit per sync point, however many kernels were recorded', async () => {
    const before = lb.streamStats();
    const ts = Array.from({ length: 10 }, (_, i) => lb.full([8], i).mul(2).realize());
    await lb.eval();
    const after = lb.streamStats();
    expect(after.submits - before.submits).toBe(1);
    expect(after.dispatches - before.dispatches).toBe(20); // 10 fills + 10 fused multiplies
    for (const t of ts) t.dispose();
  });
});
