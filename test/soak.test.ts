// Soak, short form (the long form is scripts/soak.mjs): a pre-norm decoder block (rmsNorm, q/k/v
// matmuls, rope, causal GQA attention, output matmul, residual, SwiGLU MLP, residual) run 300
// times on its own output. After a 50-step warm-up no GPUBuffer may be created, live bytes stay
// flat and every result is finite; a major GC runs every 50 steps (Dawn's GC crash guard).
import { beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gcFunction, useGpu } from './helpers.js';

const C = { B: 1, L: 16, D: 64, Hq: 4, Hkv: 2, Dh: 16, F: 128 };
const STEPS = 300;
const WARMUP = 50;

type Weights = Record<'n1' | 'n2' | 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w3' | 'w2', Tensor>;

function makeWeights(): Weights {
  return lb.tidy(() => {
    let seed = 1;
    const w = (r: number, k: number) => lb.randn([r, k], { seed: seed++ }).mul(1 / Math.sqrt(r));
    return {
      n1: lb.ones([C.D]), n2: lb.ones([C.D]),
      wq: w(C.D, C.Hq * C.Dh), wk: w(C.D, C.Hkv * C.Dh), wv: w(C.D, C.Hkv * C.Dh), wo: w(C.Hq * C.Dh, C.D),
      w1: w(C.D, C.F), w3: w(C.D, C.F), w2: w(C.F, C.D),
    };
  });
}

function block(W: Weights, x: Tensor): Tensor {
  return lb.tidy(() => {
    const { B, L, Hq, Hkv, Dh } = C;
    const heads = (t: Tensor, H: number) => t.reshape([B, L, H, Dh]).transpose([0, 2, 1, 3]);
    const h = lb.rmsNorm(x, W.n1);
    const q = lb.rope(heads(h.matmul(W.wq), Hq));
    const k = lb.rope(heads(h.matmul(W.wk), Hkv));
    const v = heads(h.matmul(W.wv), Hkv);
    const a = lb.attention(q, k, v, { causal: true });
    const x1 = x.add(a.transpose([0, 2, 1, 3]).reshape([B * L, Hq * Dh]).matmul(W.wo));
    const h2 = lb.rmsNorm(x1, W.n2);
    return x1.add(h2.matmul(W.w1).silu().mul(h2.matmul(W.w3)).matmul(W.w2));
  });
}

useGpu();
let gc: () => void;
beforeAll(async () => {
  gc = await gcFunction();
});

describe('soak (short form)', () => {
  it(`${STEPS} decoder-block steps: no new GPUBuffers and flat live bytes after warm-up, finite results`, async () => {
    const W = makeWeights();
    let x = lb.randn([C.B * C.L, C.D], { seed: 99 });
    let warm: ReturnType<typeof lb.memory> | null = null;
    try {
      for (let s = 1; s <= STEPS; s++) {
        const out = block(W, x);
        x.dispose();
        x = out;
        await lb.eval(x);
        if (s % 25 === 0) {
          const t = lb.tidy(() => x.abs().max());
          const [m] = await t.data();
          t.dispose();
          expect(Number.isFinite(m), `max |x| at step ${s} is ${m}`).toBe(true);
        }
        if (s % 50 === 0) gc();
        if (s === WARMUP) warm = lb.memory();
        if (warm && s > WARMUP && s % 50 === 0) {
          const m = lb.memory();
          expect(m.created - warm.created, `GPUBuffers created between step ${WARMUP} and ${s}`).toBe(0);
          expect(m.liveBytes, `live bytes at step ${s}`).toBe(warm.liveBytes);
          expect(m.buffers, `live buffers at step ${s}`).toBe(warm.buffers);
        }
      }
      expect(x.shape).toEqual([C.B * C.L, C.D]);
    } finally {
      x.dispose();
      for (const t of Object.values(W)) t.dispose();
    }
  });
});
