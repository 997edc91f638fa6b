// Properties of the ops that take option objects (fast-check, harness in property-harness.ts): softmax,
// norms, matmul, gather / indexSelect and cast with random options give the CPU reference's result or a typed error.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { isInt, useGpu } from './helpers.js';
import { check, differential, dimA, DT, dtypeA, floatA, inputA, mostlyFloatA, shapeA, viewA, type Input, type Tol } from './property-harness.js';

useGpu();

const half = (d: DType) => d === 'f16' || d === 'bf16';

describe('properties', () => {
  const halfTol = (d: DType, t: Tol): Tol => (half(d) ? { ...t, ulps: 2 } : t);

  it('softmax / logSoftmax: random axis', async () => {
    const arb = fc.record({ x: inputA(shapeA(3), mostlyFloatA), axis: fc.integer({ min: -4, max: 4 }), log: fc.boolean(), seed: fc.nat() });
    await check(arb, async ({ x, axis, log, seed }) => {
      await differential([x], seed, () => ({ scale: 8, intRange: 5 }), (t) => (log ? t.logSoftmax(axis) : t.softmax(axis)),
        (d) => halfTol(d, { rtol: 2e-5, atol: log ? 1e-4 : 2e-6 }));
    }, 0x4a1, 80);
  });

  const epsA = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<number | undefined>(undefined, 1e-5, 1e-3, 0) },
    { weight: 1, arbitrary: fc.constantFrom<number>(-1e-5, NaN, Infinity, 'x' as unknown as number) },
  );
  it('layerNorm / rmsNorm: eps, weight and bias shapes and dtypes', async () => {
    const arb = fc.record({
      x: inputA(shapeA(3), mostlyFloatA),
      rms: fc.boolean(),
      eps: epsA,
      w: fc.option(fc.record({ len: fc.option(dimA, { nil: undefined, freq: 4 }), dtype: mostlyFloatA, two: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }), { nil: null, freq: 3 }),
      b: fc.option(fc.record({ len: fc.option(dimA, { nil: undefined, freq: 4 }), dtype: mostlyFloatA, two: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }), { nil: null, freq: 3 }),
      seed: fc.nat(),
    });
    await check(arb, async ({ x, rms, eps, w, b, seed }) => {
      const d = x.shape.length ? x.shape[x.shape.length - 1] : 1;
      // Parameter shapes: [d] (valid), another length, or 2-D (invalid).
      const pShape = (p: { len?: number; two: boolean }) => (p.two ? [1, p.len ?? d] : [p.len ?? d]);
      const inputs: Input[] = [x];
      if (w) inputs.push({ dtype: w.dtype, shape: pShape(w), kind: 'none', mask: 0 });
      if (b) inputs.push({ dtype: b.dtype, shape: pShape(b), kind: 'none', mask: 0 });
      await differential(inputs, seed, (dt) => (isInt(dt) ? { intRange: 5 } : { scale: 4 }), (t, ...ps) => {
        const wt = w ? ps[0] : null;
        const bt = b ? ps[w ? 1 : 0] : null;
        return rms ? lb.rmsNorm(t, wt, eps) : lb.layerNorm(t, wt, bt, eps);
      }, (dt) => halfTol(dt, { rtol: 1e-5, atol: 1e-5, zeroSign: false }));
    }, 0x4b2, 80);
  });

  it('matmul: random shapes (1-D, batched, mismatched), transA / transB, dtypes', async () => {
    const small = fc.integer({ min: 0, max: 4 });
    const arb = fc.record({
      m: small, k: small, n: small, k2: fc.option(small, { nil: undefined, freq: 4 }),
      batchA: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 }),
      batchB: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 }),
      oneA: fc.boolean(), oneB: fc.boolean(),
      transA: fc.option(fc.boolean(), { nil: undefined }), transB: fc.option(fc.boolean(), { nil: undefined }),
      da: fc.oneof({ weight: 4, arbitrary: floatA }, { weight: 1, arbitrary: dtypeA }), db: fc.oneof({ weight: 4, arbitrary: floatA }, { weight: 1, arbitrary: dtypeA }),
      ka: viewA, kb: viewA,
      seed: fc.nat(),
    });
    await check(arb, async (p) => {
      const kb = p.k2 ?? p.k;
      const aShape = p.oneA ? [p.k] : [...p.batchA, ...(p.transA ? [p.k, p.m] : [p.m, p.k])];
      const bShape = p.oneB ? [kb] : [...p.batchB, ...(p.transB ? [p.n, kb] : [kb, p.n])];
      await differential(
        [{ dtype: p.da, shape: aShape, kind: p.ka, mask: 1 }, { dtype: p.db, shape: bShape, kind: p.kb, mask: 2 }],
        p.seed,
        () => ({ scale: 2, intRange: 3 }),
        (a, b) => lb.matmul(a, b, { transA: p.transA, transB: p.transB }),
        (d) => (half(d) ? { ulps: 2, atol: 2e-3 } : { rtol: 1e-5, atol: 1e-5 }),
      );
    }, 0x4c3, 50);
  });

  it('gather / indexSelect: random ids, in and out of range, any dtypes', async () => {
    const arb = fc.record({
      table: inputA(shapeA(3)),
      ids: fc.array(fc.integer({ min: -3, max: 8 }), { maxLength: 6 }),
      idsDType: fc.constantFrom<DType>('i32', 'i32', 'u32', 'f32'),
      idsTwoD: fc.boolean(),
      axis: fc.option(fc.integer({ min: -4, max: 4 }), { nil: undefined }),
      seed: fc.nat(),
    });
    await check(arb, async ({ table, ids, idsDType, idsTwoD, axis, seed }) => {
      const idShape = idsTwoD && ids.length % 2 === 0 && ids.length ? [2, ids.length / 2] : [ids.length];
      const before = lb.memory().buffers;
      const made: Tensor[] = [];
      const idsData = idsDType === 'f32' ? Float32Array.from(ids) : idsDType === 'u32' ? Uint32Array.from(ids, (v) => v >>> 0) : Int32Array.from(ids);
      try {
        const ig = lb.tensor(idsData, idShape, { dtype: idsDType, device: 'gpu' });
        const ic = lb.tensor(idsData, idShape, { dtype: idsDType, device: 'cpu' });
        made.push(ig, ic);
        // The ids tensors are closed over; the differential harness makes the table and its twin.
        await differential([table], seed, () => ({ special: 0.1 }), (t) => {
          const id = t.device === 'gpu' ? ig : ic;
          return axis === undefined ? lb.gather(t, id) : lb.indexSelect(t, axis, id);
        }, () => ({ exact: true }));
      } finally {
        for (const t of made) t.dispose();
        expect(lb.memory().buffers).toBe(before);
      }
    }, 0x4d4);
  });

  it('cast: to every dtype and to invalid names, from views with special values', async () => {
    const arb = fc.record({
      x: inputA(shapeA(3)),
      to: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<string>(...DT) }, { weight: 1, arbitrary: fc.constantFrom('f64', 'int8', '', 'F32', 'float32', 'bool') }),
      special: fc.constantFrom(0, 0.3),
      scale: fc.constantFrom(100, 1e6, 1e10),
      seed: fc.nat(),
    });
    await check(arb, async ({ x, to, special, scale, seed }) => {
      await differential([x], seed, () => ({ special, scale }), (t) => t.cast(to as DType), () => ({ exact: true }));
    }, 0x4e5);
  });
});
