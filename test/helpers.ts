// Test helpers: a seeded RNG, random data per dtype (with special values), an element-wise
// comparison with per-dtype tolerances, and a differential runner (GPU op vs. its CPU twin).
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../src/tensor/half.js';

export const FLOATS: readonly DType[] = ['f32', 'f16', 'bf16'];
export const INTS: readonly DType[] = ['i32', 'u32'];
export const HALVES = ['f16', 'bf16'] as const;
export const isInt = (d: DType): boolean => d === 'i32' || d === 'u32';

/** mulberry32: a small, fast, seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from a string (FNV-1a), so every named case gets its own stable stream. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Special values per dtype: NaN, ±Inf, ±0, subnormals, extremes, rounding edges. */
export function specialValues(dtype: DType): number[] {
  switch (dtype) {
    case 'f32':
      return [
        NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5,
        2 ** -149, -(2 ** -149), 2 ** -126 - 2 ** -149, 2 ** -126, // subnormals, smallest normal
        3.4028234663852886e38, -3.4028234663852886e38, 16777217, 2 ** 31, -(2 ** 31) - 256, 2 ** 32,
        65504, 65520, 65519, 2 ** -24, 2 ** -25, 1e-8,
      ];
    case 'f16':
      return [
        NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 65504, -65504,
        2 ** -24, -(2 ** -24), 2 ** -14 - 2 ** -24, 2 ** -14, 2049, 1 + 2 ** -10,
      ];
    case 'bf16':
      return [
        NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3.3895313892515355e38, -3.3895313892515355e38,
        2 ** -133, -(2 ** -133), 2 ** -126, 257, 2 ** 31, 2 ** 32,
      ];
    case 'i32':
      return [0, 1, -1, 2147483647, -2147483648, 2147483646, -2147483647, 65536, -65536, 16777217, 123456789];
    case 'u32':
      return [0, 1, 2, 4294967295, 4294967294, 2147483648, 2147483647, 65536, 16777217, 3000000000];
  }
}

export interface GenOptions {
  /** Fraction of elements drawn from specialValues(dtype). Default 0. */
  special?: number;
  /** Floats: integer values in [-range, range] (sums then stay exact). */
  ints?: number;
  /** Floats: magnitude range of normal random values; default 100. */
  scale?: number;
  /** Integers: draw from the full 32-bit range (default) or from [-range, range]. */
  intRange?: number;
  /** Floats: only positive values. */
  positive?: boolean;
}

/** Storage-ready values: f32/i32/u32 typed arrays, f16/bf16 as raw bits in a Uint16Array. */
export type RawData = Float32Array | Int32Array | Uint32Array | Uint16Array;

/** n random elements of `dtype`, deterministic for a given `rand`. */
export function randomData(rand: () => number, dtype: DType, n: number, opts: GenOptions = {}): RawData {
  const specials = specialValues(dtype);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (opts.special && rand() < opts.special) {
      values[i] = specials[Math.floor(rand() * specials.length)];
      continue;
    }
    if (dtype === 'i32' || dtype === 'u32') {
      const r = opts.intRange;
      if (r !== undefined) values[i] = Math.floor(rand() * (2 * r + 1)) - (dtype === 'u32' ? 0 : r);
      else values[i] = Math.floor(rand() * 2 ** 32) - (dtype === 'i32' ? 2 ** 31 : 0);
      if (dtype === 'u32') values[i] = Math.abs(values[i]);
    } else if (opts.ints !== undefined) {
      values[i] = Math.floor(rand() * (2 * opts.ints + 1)) - (opts.positive ? 0 : opts.ints);
      if (opts.positive) values[i] = Math.abs(values[i]);
    } else {
      const scale = opts.scale ?? 100;
      const v = (rand() * 2 - 1) * scale;
      values[i] = opts.positive ? Math.abs(v) + scale / 2 : v;
    }
  }
  return encodeRaw(values, dtype);
}

/** Encodes JS numbers as `dtype` storage (16-bit floats round to nearest even). */
export function encodeRaw(values: ArrayLike<number>, dtype: DType): RawData {
  switch (dtype) {
    case 'f32':
      return Float32Array.from(values);
    case 'i32':
      return Int32Array.from(values, (x) => x | 0);
    case 'u32':
      return Uint32Array.from(values, (x) => x >>> 0);
    case 'f16':
      return Uint16Array.from(values, (x) => f32ToF16Bits(x));
    case 'bf16':
      return Uint16Array.from(values, (x) => f32ToBf16Bits(x));
  }
}

/** The values `raw` holds, as JS numbers. */
export function decodeRaw(raw: RawData, dtype: DType): Float64Array {
  if (dtype === 'f16') return Float64Array.from(raw, f16BitsToF32);
  if (dtype === 'bf16') return Float64Array.from(raw, bf16BitsToF32);
  return Float64Array.from(raw);
}

export interface CloseOptions {
  dtype: DType;
  /** Relative tolerance (floats); default 1e-6 for f32, 0 for 16-bit (which use ulps). */
  rtol?: number;
  /** Absolute tolerance (floats); default 0. */
  atol?: number;
  /** Allowed distance in units in the last place (f16/bf16 default 1; f32 default 0 = use rtol). */
  ulps?: number;
  /** Demand identical values (and zero signs); overrides rtol/atol/ulps. */
  exact?: boolean;
  /** Check the sign of zero when expected is ±0. Default: true. */
  zeroSign?: boolean;
  /** A zero where a subnormal (|expected| < 2^-126) is expected passes: the GPU flushes them. */
  flushed?: boolean;
  /** Prefix for failure messages. */
  label?: string;
}

/** Ordinal of a 16/32-bit float pattern: adjacent representable values differ by 1, ±0 both map to 0. */
function ordinal(dtype: DType, x: number): number {
  if (dtype === 'f32') {
    const b = new Uint32Array(new Float32Array([x]).buffer)[0];
    return b & 0x80000000 ? -(b & 0x7fffffff) : b;
  }
  const b = dtype === 'f16' ? f32ToF16Bits(x) : f32ToBf16Bits(x);
  return b & 0x8000 ? -(b & 0x7fff) : b;
}

/** Why actual[i] is not close to expected[i], or null when it is. */
function mismatch(a: number, e: number, o: Required<Omit<CloseOptions, 'label'>>): string | null {
  const float = o.dtype === 'f32' || o.dtype === 'f16' || o.dtype === 'bf16';
  if (Number.isNaN(e) || Number.isNaN(a)) return Number.isNaN(e) && Number.isNaN(a) ? null : 'NaN mismatch';
  if (!Number.isFinite(e) || !Number.isFinite(a)) return a === e ? null : 'Inf mismatch';
  if (o.flushed && a === 0 && Math.abs(e) < 2 ** -126) return null;
  if (e === 0 && a === 0) return o.zeroSign && float && Object.is(a, -0) !== Object.is(e, -0) ? 'zero sign' : null;
  if (o.exact || !float) return a === e ? null : 'not equal';
  const diff = Math.abs(a - e);
  if (diff <= o.atol + o.rtol * Math.abs(e)) return null;
  if (o.ulps > 0 && Math.abs(ordinal(o.dtype, a) - ordinal(o.dtype, e)) <= o.ulps) return null;
  return `off by ${diff}`;
}

/** Element-wise comparison: NaN == NaN, ±Inf exact, zero signs checked, tolerance per dtype. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions): void {
  const half = opts.dtype === 'f16' || opts.dtype === 'bf16';
  const o = {
    dtype: opts.dtype,
    rtol: opts.rtol ?? (opts.dtype === 'f32' ? 1e-6 : 0),
    atol: opts.atol ?? 0,
    ulps: opts.ulps ?? (half ? 1 : 0),
    exact: opts.exact ?? false,
    zeroSign: opts.zeroSign ?? true,
    flushed: opts.flushed ?? false,
  };
  const where = opts.label ? `${opts.label}: ` : '';
  expect(actual.length, `${where}length`).toBe(expected.length);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const why = mismatch(actual[i], expected[i], o);
    if (why === null) continue;
    count++;
    if (bad.length < 8) bad.push(`[${i}] actual ${fmt(actual[i])} expected ${fmt(expected[i])} (${why})`);
  }
  if (count > 0) {
    expect.fail(`${where}${count} of ${expected.length} elements differ (${opts.dtype}):\n  ${bad.join('\n  ')}`);
  }
}

function fmt(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** An input of a differential case: its storage data, base shape and dtype, and a view taken on both devices. */
export interface InputSpec {
  dtype: DType;
  shape: readonly number[];
  /** Storage values (as raw data); random when omitted. */
  data?: RawData;
  gen?: GenOptions;
  /** A view of the base tensor the op sees (transpose, slice, expand...). */
  view?: (t: Tensor) => Tensor;
}

/** A GPU tensor and its CPU twin holding the same bits (`flush`: the twin's subnormals are ±0). */
export function pair(data: RawData, shape: readonly number[], dtype: DType, flush = false): { gpu: Tensor; cpu: Tensor } {
  return {
    gpu: lb.tensor(data, shape, { dtype, device: 'gpu' }),
    cpu: lb.tensor(flush ? flushSubnormals(data, dtype) : data, shape, { dtype, device: 'cpu' }),
  };
}

/** f32 and bf16 subnormals replaced by zeros of the same sign (what a flushing GPU computes with). */
export function flushSubnormals(data: RawData, dtype: DType): RawData {
  if (dtype === 'f32') return Float32Array.from(data as Float32Array, (x) => (Math.abs(x) < 2 ** -126 ? x * 0 : x));
  if (dtype === 'bf16') return Uint16Array.from(data as Uint16Array, (b) => ((b & 0x7f80) === 0 ? b & 0x8000 : b));
  return data;
}

/**
 * How the GPU departs from IEEE f32 arithmetic, for the tests that must allow it. `ftz`: + - *
 * flush subnormal operands and results to zero (NVIDIA through Vulkan). `contracts`: a*b+c in one
 * fused kernel becomes a fused multiply-add, rounded once (NVIDIA).
 */
export async function gpuQuirks(): Promise<{ ftz: boolean; contracts: boolean }> {
  const tiny = lb.tensor(new Float32Array([2 ** -149]));
  const a = lb.tensor(new Float32Array([1 + 2 ** -12]));
  const twice = tiny.add(tiny);
  const fused = lb.tidy(() => a.mul(a).add(-(1 + 2 ** -11)));
  const [t, f] = [(await twice.data())[0], (await fused.data())[0]];
  for (const x of [tiny, a, twice, fused]) x.dispose();
  return { ftz: t === 0, contracts: f !== 0 };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Runs `op` on GPU tensors and on their CPU twins (same bits, same views) and compares dtype,
 * shape and values. Returns the GPU result's values. Everything created is disposed.
 */
export async function checkOp(
  op: (...xs: Tensor[]) => Tensor,
  inputs: readonly InputSpec[],
  opts: Omit<CloseOptions, 'dtype'> & { seed?: number; flushSubnormals?: boolean } = {},
): Promise<ArrayLike<number>> {
  const rand = rng(opts.seed ?? 1);
  const made: Tensor[] = [];
  try {
    const gpuIn: Tensor[] = [];
    const cpuIn: Tensor[] = [];
    for (const s of inputs) {
      const data = s.data ?? randomData(rand, s.dtype, sizeOf(s.shape), s.gen);
      const { gpu, cpu } = pair(data, s.shape, s.dtype, opts.flushSubnormals);
      made.push(gpu, cpu);
      // tidy: intermediate views are disposed, the final one is kept.
      const gv = s.view ? lb.tidy(() => s.view!(gpu)) : gpu;
      const cv = s.view ? lb.tidy(() => s.view!(cpu)) : cpu;
      if (gv !== gpu) made.push(gv, cv);
      gpuIn.push(gv);
      cpuIn.push(cv);
    }
    const want = op(...cpuIn);
    made.push(want);
    const got = op(...gpuIn);
    made.push(got);
    expect(got.device).toBe('gpu');
    expect(want.device).toBe('cpu');
    expect(got.dtype).toBe(want.dtype);
    expect(got.shape).toEqual(want.shape);
    const [g, w] = await Promise.all([got.data(), want.data()]);
    expectClose(g, w, { ...opts, flushed: opts.flushed ?? opts.flushSubnormals, dtype: got.dtype });
    return g;
  } finally {
    for (const t of made) t.dispose();
  }
}

/** A function that calls `gc()` (major GC) in a vitest fork. */
export async function gcFunction(): Promise<() => void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/**
 * One GPU device for the test file (init before, shutdown after) and, per case, a check that
 * the case disposed everything it made: no buffer may stay live. `quirks` is filled after init.
 */
export function useGpu(): { quirks: { ftz: boolean; contracts: boolean } } {
  const state = { quirks: { ftz: false, contracts: false } };
  let liveBefore = 0;
  beforeAll(async () => {
    await lb.init({ cacheDir: false });
    state.quirks = await gpuQuirks();
  });
  afterAll(async () => {
    await lb.shutdown();
  });
  beforeEach(() => {
    liveBefore = lb.memory().buffers;
  });
  afterEach(() => {
    expect(lb.memory().buffers, 'live buffers after the case').toBe(liveBefore);
  });
  return state;
}
