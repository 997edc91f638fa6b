// Property-based tests (fast-check) over the public API with bad input everywhere: random
// shapes (broadcastable or not), dtypes, views, axes and option objects. Every call must either
// give the CPU reference's result (same dtype, shape and values, on the same bits) or throw a
// typed lbrx error (instanceof lb.LbrxError) at the call, on both devices alike; never a crash,
// a non-lbrx exception, an error at read-back, or a leaked GPU buffer (checked per run).
// Seeds are fixed, so failures reproduce; fast-check shrinks them to a minimal counterexample.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { expectClose, flushSubnormals, randomData, rng, sizeOf, useGpu, type CloseOptions, type GenOptions, type RawData } from './helpers.js';

const gpu = useGpu();
let ftz = false;
beforeAll(() => {
  ftz = gpu.quirks.ftz;
});

const RUNS = 100;
const params = (seed: number, numRuns = RUNS): fc.Parameters<unknown> => ({ seed, numRuns });

type Tol = Omit<CloseOptions, 'dtype'>;
type Shape = number[];
const DT = lb.DTYPES;
const FLOATS: DType[] = ['f32', 'f16', 'bf16'];
const isInt = (d: DType) => d === 'i32' || d === 'u32';
const half = (d: DType) => d === 'f16' || d === 'bf16';

// ---------------------------------------------------------------- generators

const dimA = fc.integer({ min: 0, max: 5 });
const shapeA = (maxDims = 3): fc.Arbitrary<Shape> => fc.array(dimA, { maxLength: maxDims });
const dtypeA = fc.constantFrom<DType>(...DT);
const floatA = fc.constantFrom<DType>(...FLOATS);
/** Mostly float dtypes, sometimes an integer one (which float-only ops must reject). */
const mostlyFloatA = fc.oneof({ weight: 4, arbitrary: floatA }, { weight: 1, arbitrary: dtypeA });

/** How an input of a given shape is produced: directly, or as a view of a differently shaped base. */
type ViewKind = 'none' | 'transpose' | 'step' | 'expand' | 'offset';
const viewA = fc.constantFrom<ViewKind>('none', 'transpose', 'step', 'expand', 'offset');

/** Base shape and view that give a tensor of `shape` (the view kind may be impossible: then none). */
function viewPlan(shape: Shape, kind: ViewKind, mask: number): { base: Shape; view?: (t: Tensor) => Tensor } {
  const n = shape.length;
  switch (kind) {
    case 'transpose':
      if (n < 2) break;
      return { base: [...shape].reverse(), view: (t) => t.transpose() };
    case 'step':
      if (n < 1) break;
      return { base: [2 * shape[0] + 1, ...shape.slice(1)], view: (t) => t.slice([1, 2 * shape[0] + 1, 2]) };
    case 'expand': {
      const base = shape.map((d, i) => (mask & (1 << i) ? 1 : d));
      return { base, view: (t) => t.expand(shape) };
    }
    case 'offset': {
      const size = sizeOf(shape);
      return { base: [size + 3], view: (t) => t.slice([3, size + 3]).reshape(shape) };
    }
  }
  return { base: shape };
}

interface Input {
  dtype: DType;
  shape: Shape;
  kind: ViewKind;
  mask: number;
}
const inputA = (shape: fc.Arbitrary<Shape>, dtype: fc.Arbitrary<DType> = dtypeA): fc.Arbitrary<Input> =>
  fc.record({ dtype, shape, kind: viewA, mask: fc.nat(15) });

/** A shape broadcastable with `s`: a suffix of it with some dims set to 1 (and maybe new leading dims). */
function broadcastableTo(s: Shape): fc.Arbitrary<Shape> {
  return fc.record({ keep: fc.integer({ min: 0, max: s.length }), ones: fc.nat(15), lead: fc.array(fc.constantFrom(1, 2), { maxLength: 1 }) }).map(({ keep, ones, lead }) => [
    ...(s.length + lead.length <= 4 ? lead : []),
    ...s.slice(s.length - keep).map((d, i) => (ones & (1 << i) ? 1 : d)),
  ]);
}
/** Two shapes, broadcastable together (mostly) or random (often not). */
const shapePairA: fc.Arbitrary<[Shape, Shape]> = fc.oneof(
  { weight: 3, arbitrary: shapeA().chain((a) => fc.tuple(fc.constant(a), broadcastableTo(a)).map(([x, y]) => (a.length % 2 ? [x, y] : [y, x]) as [Shape, Shape])) },
  { weight: 1, arbitrary: fc.tuple(shapeA(), shapeA()) },
);

// ---------------------------------------------------------------- harness

interface Made {
  gpu: Tensor;
  cpu: Tensor;
}

/** A GPU tensor and its CPU twin: same bits, same view. The twin's subnormals flushed when `flush`. */
function twin(inp: Input, rand: () => number, gen: GenOptions, flush: boolean, made: Tensor[]): Made {
  const { base, view } = viewPlan(inp.shape, inp.kind, inp.mask);
  const data: RawData = randomData(rand, inp.dtype, sizeOf(base), gen);
  const g = lb.tensor(data, base, { dtype: inp.dtype, device: 'gpu' });
  const c = lb.tensor(flush ? flushSubnormals(data, inp.dtype) : data, base, { dtype: inp.dtype, device: 'cpu' });
  made.push(g, c);
  if (!view) return { gpu: g, cpu: c };
  const gv = lb.tidy(() => view(g));
  const cv = lb.tidy(() => view(c));
  made.push(gv, cv);
  return { gpu: gv, cpu: cv };
}

/** Calls `f`, returning its result or the error it threw; a thrown non-lbrx error fails the run. */
function attempt(f: () => Tensor, label: string): { ok: Tensor } | { err: Error } {
  try {
    return { ok: f() };
  } catch (e) {
    if (!(e instanceof lb.LbrxError)) {
      throw new Error(`${label}: threw a non-lbrx error: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
    }
    return { err: e };
  }
}

/**
 * The property body: makes the inputs (GPU + CPU twins), runs `op` on both, and demands either
 * the same typed error class on both or equal results; disposes everything and checks that the
 * number of live GPU buffers is back where it started.
 */
async function differential(
  inputs: Input[],
  seed: number,
  gen: (d: DType, i: number) => GenOptions,
  op: (...xs: Tensor[]) => Tensor,
  tol: (outDType: DType) => Tol,
  flush = false,
): Promise<void> {
  const before = lb.memory().buffers;
  const made: Tensor[] = [];
  try {
    const rand = rng(seed);
    let xs: Made[];
    const views = attempt(() => {
      xs = inputs.map((inp, i) => twin(inp, rand, gen(inp.dtype, i), flush, made));
      return made[0];
    }, 'making the inputs');
    if ('err' in views) throw new Error(`making the inputs threw: ${views.err.message}`);
    const want = attempt(() => op(...xs!.map((x) => x.cpu)), 'cpu');
    if ('ok' in want) made.push(want.ok);
    const got = attempt(() => op(...xs!.map((x) => x.gpu)), 'gpu');
    if ('ok' in got) made.push(got.ok);
    if ('err' in want || 'err' in got) {
      const w = 'err' in want ? want.err.constructor.name : `a [${want.ok.shape}] ${want.ok.dtype} result`;
      const g = 'err' in got ? got.err.constructor.name : `a [${got.ok.shape}] ${got.ok.dtype} result`;
      expect(g, `gpu gave ${g} (${'err' in got ? got.err.message : ''}), cpu gave ${w} (${'err' in want ? want.err.message : ''})`).toBe(w);
      return;
    }
    expect(got.ok.device).toBe('gpu');
    expect(want.ok.device).toBe('cpu');
    expect(got.ok.dtype).toBe(want.ok.dtype);
    expect(got.ok.shape).toEqual(want.ok.shape);
    const [g, w] = await Promise.all([got.ok.data(), want.ok.data()]);
    expectClose(g, w, { ...tol(got.ok.dtype), dtype: got.ok.dtype });
  } finally {
    for (const t of made) t.dispose();
    expect(lb.memory().buffers, 'live GPU buffers after the run').toBe(before);
  }
}

/** Runs an async property; fast-check's report (seed, path, shrunk counterexample) is the failure. */
async function check<T>(arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>, seed: number, numRuns = RUNS): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, body), params(seed, numRuns));
}

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

  // ---------------------------------------------------------------- 4. option objects

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
