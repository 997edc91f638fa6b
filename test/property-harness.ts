// The property-test harness (fast-check) over the public API with bad input everywhere: random
// shapes (broadcastable or not), dtypes, views, axes and option objects. Every call must either
// give the CPU reference's result (same dtype, shape and values, on the same bits) or throw a
// typed lbrx error (instanceof lb.LbrxError) at the call, on both devices alike; never a crash,
// a non-lbrx exception, an error at read-back, or a leaked GPU buffer (checked per run).
// Seeds are fixed, so failures reproduce; fast-check shrinks them to a minimal counterexample.
import { expect } from 'vitest';
import fc from 'fast-check';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { expectClose, flushSubnormals, randomData, rng, sizeOf, type CloseOptions, type GenOptions, type RawData } from './helpers.js';

const RUNS = 100;
const params = (seed: number, numRuns = RUNS): fc.Parameters<unknown> => ({ seed, numRuns });

export type Tol = Omit<CloseOptions, 'dtype'>;
export type Shape = number[];
export const DT = lb.DTYPES;
const FLOATS: DType[] = ['f32', 'f16', 'bf16'];

// ---------------------------------------------------------------- generators

export const dimA = fc.integer({ min: 0, max: 5 });
export const shapeA = (maxDims = 3): fc.Arbitrary<Shape> => fc.array(dimA, { maxLength: maxDims });
export const dtypeA = fc.constantFrom<DType>(...DT);
export const floatA = fc.constantFrom<DType>(...FLOATS);
/** Mostly float dtypes, sometimes an integer one (which float-only ops must reject). */
export const mostlyFloatA = fc.oneof({ weight: 4, arbitrary: floatA }, { weight: 1, arbitrary: dtypeA });

/** How an input of a given shape is produced: directly, or as a view of a differently shaped base. */
export type ViewKind = 'none' | 'transpose' | 'step' | 'expand' | 'offset';
export const viewA = fc.constantFrom<ViewKind>('none', 'transpose', 'step', 'expand', 'offset');

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

export interface Input {
  dtype: DType;
  shape: Shape;
  kind: ViewKind;
  mask: number;
}
export const inputA = (shape: fc.Arbitrary<Shape>, dtype: fc.Arbitrary<DType> = dtypeA): fc.Arbitrary<Input> =>
  fc.record({ dtype, shape, kind: viewA, mask: fc.nat(15) });

/** A shape broadcastable with `s`: a suffix of it with some dims set to 1 (and maybe new leading dims). */
function broadcastableTo(s: Shape): fc.Arbitrary<Shape> {
  return fc.record({ keep: fc.integer({ min: 0, max: s.length }), ones: fc.nat(15), lead: fc.array(fc.constantFrom(1, 2), { maxLength: 1 }) }).map(({ keep, ones, lead }) => [
    ...(s.length + lead.length <= 4 ? lead : []),
    ...s.slice(s.length - keep).map((d, i) => (ones & (1 << i) ? 1 : d)),
  ]);
}
/** Two shapes, broadcastable together (mostly) or random (often not). */
export const shapePairA: fc.Arbitrary<[Shape, Shape]> = fc.oneof(
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
export async function differential(
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
export async function check<T>(arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>, seed: number, numRuns = RUNS): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, body), params(seed, numRuns));
}
