// Properties of the core ops (fast-check, harness in property-harness.ts): binary elementwise ops,
// reductions and views on random shapes, dtypes, views and axes give the CPU reference's result or a typed error.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { isInt, sizeOf, useGpu, type GenOptions } from './helpers.js';
import { check, differential, inputA, shapeA, shapePairA, type Shape, type Tol } from './property-harness.js';

const gpu = useGpu();
let ftz = false;
beforeAll(() => {
  ftz = gpu.quirks.ftz;
});

// ---------------------------------------------------------------- 1. binary elementwise

const EXACT: Tol = { exact: true };
const FN: Tol = { rtol: 3e-7, atol: 2 ** -126 };
const SMALL: GenOptions = { ints: 3, intRange: 3 };
const BINARY: Record<string, { fn: (a: Tensor, b: Tensor) => Tensor; tol: Tol; gen?: [GenOptions, GenOptions] }> = {
  add: { fn: (a, b) => a.add(b), tol: EXACT },
  sub: { fn: (a, b) => lb.sub(a, b), tol: EXACT },
  mul: { fn: (a, b) => a.mul(b), tol: EXACT },
  div: { fn: (a, b) => lb.div(a, b), tol: EXACT },
  maximum: { fn: (a, b) => lb.maximum(a, b), tol: EXACT },
  minimum: { fn: (a, b) => a.minimum(b), tol: EXACT },
  pow: { fn: (a, b) => lb.pow(a, b), tol: FN, gen: [{ positive: true, scale: 8, intRange: 9 }, { scale: 12, intRange: 9 }] },
  eq: { fn: (a, b) => lb.eq(a, b), tol: EXACT, gen: [SMALL, SMALL] },
  ne: { fn: (a, b) => a.ne(b), tol: EXACT, gen: [SMALL, SMALL] },
  lt: { fn: (a, b) => lb.lt(a, b), tol: EXACT, gen: [SMALL, SMALL] },
  le: { fn: (a, b) => a.le(b), tol: EXACT },
  gt: { fn: (a, b) => lb.gt(a, b), tol: EXACT },
  ge: { fn: (a, b) => a.ge(b), tol: EXACT, gen: [SMALL, SMALL] },
};
const FLUSHING = new Set(['add', 'sub', 'mul']);

describe('properties', () => {
  it('binary elementwise ops: random shape pairs, dtypes, views, special values', async () => {
    const arb = fc.record({
      op: fc.constantFrom(...Object.keys(BINARY)),
      shapes: shapePairA,
      a: inputA(fc.constant([])),
      b: inputA(fc.constant([])),
      special: fc.constantFrom(0, 0, 0.3),
      seed: fc.nat(),
    });
    await check(arb, async ({ op, shapes, a, b, special, seed }) => {
      const { fn, tol, gen } = BINARY[op];
      const flush = ftz && FLUSHING.has(op);
      await differential(
        [{ ...a, shape: shapes[0] }, { ...b, shape: shapes[1] }],
        seed,
        (d, i) => {
          const g = gen?.[i] ?? {};
          const base = isInt(d) ? (g.intRange !== undefined ? { intRange: g.intRange } : {}) : g;
          return { ...base, special };
        },
        fn,
        () => ({ ...tol, flushSubnormals: flush, flushed: ftz }),
        flush,
      );
    }, 0x1b1);
  });

  // ---------------------------------------------------------------- 2. reductions

  type RedOp = 'sum' | 'mean' | 'max' | 'min' | 'argmax' | 'var';
  const RED: Record<RedOp, (d: DType) => { gen: GenOptions; tol: Tol }> = {
    sum: (d) => ({ gen: isInt(d) ? {} : { ints: 8 }, tol: EXACT }),
    mean: (d) => ({ gen: isInt(d) ? { intRange: 1000 } : { ints: 8 }, tol: { rtol: 1e-6 } }),
    max: () => ({ gen: { special: 0.1 }, tol: EXACT }),
    min: () => ({ gen: { special: 0.1 }, tol: EXACT }),
    argmax: (d) => ({ gen: isInt(d) ? { intRange: 2 } : { ints: 2, special: 0.05 }, tol: EXACT }),
    var: (d) => ({ gen: isInt(d) ? { intRange: 1000 } : { scale: 10 }, tol: { rtol: 2e-5, atol: 1e-6 } }),
  };
  const axisA = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.integer({ min: -5, max: 5 }),
    fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 4 }),
  );

  it('reductions: random axes (negative, out of range, repeated), keepdims, views', async () => {
    const arb = fc.record({
      op: fc.constantFrom<RedOp>('sum', 'mean', 'max', 'min', 'argmax', 'var'),
      x: inputA(shapeA(4)),
      axis: axisA,
      keepdims: fc.boolean(),
      seed: fc.nat(),
    });
    await check(arb, async ({ op, x, axis, keepdims, seed }) => {
      const { gen, tol } = RED[op](x.dtype);
      await differential(
        [x],
        seed,
        () => gen,
        (t) => (op === 'var' ? t.var(axis as number, keepdims) : t[op](axis as number, keepdims)),
        () => tol,
      );
    }, 0x2ed);
  });

  // ---------------------------------------------------------------- 3. views

  /** A reshape target for a tensor of `shape`: the dims shuffled, one of them -1, or random. */
  const reshapeTarget = (shape: Shape): fc.Arbitrary<number[]> => {
    const size = sizeOf(shape);
    return fc.oneof<fc.Arbitrary<number[]>[]>(
      fc.shuffledSubarray(shape, { minLength: shape.length, maxLength: shape.length }),
      fc.shuffledSubarray(shape, { minLength: shape.length, maxLength: shape.length }).chain((s): fc.Arbitrary<number[]> =>
        s.length ? fc.nat(s.length - 1).map((i) => s.map((d, j) => (i === j ? -1 : d))) : fc.constant([-1])),
      fc.constant([size]),
      fc.constant([-1]),
      fc.array(fc.integer({ min: -2, max: 7 }), { maxLength: 4 }),
    );
  };
  const sliceArgA: fc.Arbitrary<lb.SliceArg> = fc.oneof(
    fc.constant(null),
    fc.integer({ min: -7, max: 7 }),
    fc.tuple(
      fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined }),
      fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined }),
      fc.option(fc.integer({ min: -2, max: 3 }), { nil: undefined }),
    ).map(([a, b, c]) => (c !== undefined ? [a, b, c] : b !== undefined ? [a, b] : [a]) as lb.SliceArg),
  );
  type ViewOp = { kind: 'reshape'; target: number[] } | { kind: 'permute'; perm: number[] } | { kind: 'slice'; args: lb.SliceArg[] };
  const viewOpFor = (shape: Shape): fc.Arbitrary<ViewOp> =>
    fc.oneof(
      reshapeTarget(shape).map((target) => ({ kind: 'reshape' as const, target })),
      fc.oneof(
        fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
        fc.array(fc.integer({ min: -4, max: 4 }), { maxLength: 4 }),
      ).map((perm) => ({ kind: 'permute' as const, perm })),
      fc.array(sliceArgA, { maxLength: 5 }).map((args) => ({ kind: 'slice' as const, args })),
    );
  const applyView = (t: Tensor, v: ViewOp): Tensor =>
    v.kind === 'reshape' ? t.reshape(v.target) : v.kind === 'permute' ? t.permute(v.perm) : t.slice(...v.args);

  it('views: reshape (-1, invalid), permute (invalid perms), slice (negative, empty, out of range)', async () => {
    const arb = inputA(shapeA(4)).chain((x) =>
      fc.record({ x: fc.constant(x), ops: fc.array(viewOpFor(x.shape), { minLength: 1, maxLength: 2 }), then: fc.boolean(), seed: fc.nat() }));
    await check(arb, async ({ x, ops, then, seed }) => {
      await differential(
        [x],
        seed,
        () => ({ special: 0.2 }),
        // The second op is drawn for the input's shape: on the first's result it is often invalid.
        // `then` adds an elementwise op on the view so a lazy kernel reads it through its strides.
        // Intermediates are disposed by hand, not by lb.tidy: tidy leaks what it made when fn
        // throws (see the last test).
        (t) => {
          const mid: Tensor[] = [];
          try {
            let y = t;
            for (const v of ops) mid.push((y = applyView(y, v)));
            const out = then ? y.mul(1) : mid.pop() ?? y.reshape(y.shape);
            return out;
          } finally {
            for (const m of mid) m.dispose();
          }
        },
        () => ({ exact: true, flushed: ftz }),
      );
    }, 0x3e1);
  });

  // Regression, found by the views property (shrunk by hand): lb.tidy disposed nothing when fn
  // threw, so every tensor made inside before the throw stayed alive (here a view holding the buffer).
  it('tidy disposes what fn made when fn throws', () => {
    const before = lb.memory().buffers;
    const x = lb.zeros([4]);
    try {
      expect(() => lb.tidy(() => x.slice([1, 3]).reshape([-2]))).toThrow(lb.LbrxError);
    } finally {
      x.dispose();
    }
    expect(lb.memory().buffers).toBe(before);
  });
});
