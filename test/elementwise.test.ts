// Differential tests of the elementwise ops: every op x every dtype x shapes (0-d, empty, odd
// sizes, broadcasting, non-contiguous and odd-offset 16-bit views) x special values, GPU vs the
// CPU reference on the same bits; plus known values, dtype rules and errors at the call.
//
// Tolerances. Exact ops (neg abs relu add sub mul div maximum minimum, comparisons, where, clamp)
// must match bit for bit, zero signs included. Float functions are computed in f32 by
// wgsl/_math.wgsl and compared with the CPU reference in double precision rounded once:
//   exp log sqrt rsqrt sin cos tanh sigmoid silu pow: rtol 3e-7 (2.5 f32 ulps),
//   gelu: rtol 6e-7; gelu_tanh: rtol 4e-6 + atol 1e-12 (computed as x sigmoid(2u): the ~2 ulps
//   of its f32 argument 2u are amplified |2u|-fold for x << 0, e.g. 1e-6 at x = -3.5, where the
//   value is -2.7e-4; PyTorch's 0.5 x (1 + tanh u) in f32 is off by 4e-4 there);
//   all of them also atol 2^-126: a GPU may flush subnormal results to zero.
// 16-bit results: 1 ulp (the f32 result rounds once more). sin/cos hold this for every finite
// argument (Payne-Hanek reduction), so no range restriction.
// On a GPU that flushes subnormals (gpuQuirks().ftz: NVIDIA through Vulkan), + - * see and give
// zeros for them: there the reference's f32/bf16 subnormal inputs are flushed too. There any
// subnormal result may be a zero; every other op reads subnormal operands exactly (on the bits).
import { beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { checkOp, encodeRaw, expectClose, seedOf, useGpu, specialValues, type GenOptions, type InputSpec } from './helpers.js';
import { BINARY, EXACT, FLUSHING, FN, UNARY, type Tol } from './elementwise-ops.js';

const DT = lb.DTYPES;
const isInt = (d: DType) => d === 'i32' || d === 'u32';

let ftz = false;
const gpu = useGpu();
beforeAll(() => {
  ftz = gpu.quirks.ftz;
});



type Side = Omit<InputSpec, 'dtype'>;
/** Shapes and views; `gen` is merged over the op's own generator options. */
const UNARY_CASES: [string, Side][] = [
  ['0-d', { shape: [] }],
  ['empty [0]', { shape: [0] }],
  ['[1]', { shape: [1] }],
  ['[7]', { shape: [7] }],
  ['[33]', { shape: [33] }],
  ['[257]', { shape: [257] }],
  ['3-D [2,3,4]', { shape: [2, 3, 4] }],
  ['transpose [5,3]', { shape: [5, 3], view: (t) => t.transpose() }],
  ['step slice [1:20:3]', { shape: [20], view: (t) => t.slice([1, 20, 3]) }],
  ['expand [1,5]->[3,5]', { shape: [1, 5], view: (t) => t.expand([3, 5]) }],
  ['odd-offset view [3:8]', { shape: [9], view: (t) => t.slice([3, 8]) }],
  ['special values', { shape: [0] }], // data filled in below: every special value of the dtype
  ['special values mixed [65]', { shape: [65], gen: { special: 0.5 } }],
];

function specialSpec(d: DType): Side {
  const v = [...specialValues(d), ...(isInt(d) ? [] : specialValues('f32').filter((x) => Math.abs(x) < 1e6))];
  return { shape: [v.length], data: encodeRaw(v, d) };
}

function spec(d: DType, side: Side, gen: GenOptions | undefined, name: string): InputSpec {
  if (name === 'special values') return { ...specialSpec(d), dtype: d };
  // Integer inputs of float functions: small values, or the full range with specials.
  const g = isInt(d) ? { ...(gen ? { intRange: gen.positive ? 100 : 60 } : {}), ...side.gen } : { ...gen, ...side.gen };
  return { ...side, dtype: d, gen: g };
}

describe.each(Object.keys(UNARY))('%s', (op) => {
  const { fn, tol, gen } = UNARY[op];
  for (const d of DT) {
    it.each(UNARY_CASES)(`${d}: %s`, async (name, side) => {
      await checkOp(fn, [spec(d, side, gen, name)], { ...tol, seed: seedOf(`${op}${d}${name}`) });
    });
  }
});

// ---------------------------------------------------------------- binary


const BIN_CASES: [string, Side, Side][] = [
  ['0-d', { shape: [] }, { shape: [] }],
  ['empty', { shape: [0] }, { shape: [0] }],
  ['[1]', { shape: [1] }, { shape: [1] }],
  ['[7]', { shape: [7] }, { shape: [7] }],
  ['[33]', { shape: [33] }, { shape: [33] }],
  ['[257]', { shape: [257] }, { shape: [257] }],
  ['broadcast [3,1,5]x[4,1]', { shape: [3, 1, 5] }, { shape: [4, 1] }],
  ['broadcast []x[2,3]', { shape: [] }, { shape: [2, 3] }],
  ['broadcast [0,3]x[3]', { shape: [0, 3] }, { shape: [3] }],
  ['transpose x step slice', { shape: [7, 3], view: (t) => t.transpose() }, { shape: [3, 22], view: (t) => t.slice(null, [1, 22, 3]) }],
  ['expand x odd-offset', { shape: [1, 5], view: (t) => t.expand([4, 5]) }, { shape: [23], view: (t) => t.slice([3, 23]).reshape([4, 5]) }],
  ['permuted 3-D x offset row', { shape: [4, 2, 3], view: (t) => t.permute([1, 2, 0]) }, { shape: [3, 4], view: (t) => t.slice(1) }],
  ['special values [64]', { shape: [64], gen: { special: 0.7 } }, { shape: [64], gen: { special: 0.7 } }],
  ['special values outer [9,1]x[1,11]', { shape: [9, 1], gen: { special: 1 } }, { shape: [1, 11], gen: { special: 1 } }],
];
/** Mixed-dtype pairs run a smaller set (promotion itself is the point). */
const MIXED_CASES = BIN_CASES.filter(([n]) => n.startsWith('broadcast [3') || n.startsWith('special values [64]') || n === '0-d');

const promotes = (a: DType, b: DType) => !((a === 'i32' && b === 'u32') || (a === 'u32' && b === 'i32'));

function binSpec(d: DType, side: Side, gen: GenOptions | undefined): InputSpec {
  const g = isInt(d) ? { ...(gen?.intRange !== undefined ? { intRange: gen.intRange } : {}), ...side.gen } : { ...gen, ...side.gen };
  return { ...side, dtype: d, gen: g };
}

describe.each(Object.keys(BINARY))('%s', (op) => {
  const { fn, tol, gen } = BINARY[op];
  for (const da of DT) {
    for (const db of DT) {
      if (!promotes(da, db)) continue;
      const cases = da === db ? BIN_CASES : MIXED_CASES;
      it.each(cases)(`${da} ${op} ${db}: %s`, async (name, a, b) => {
        await checkOp(fn, [binSpec(da, a, gen?.[0]), binSpec(db, b, gen?.[1])], {
          ...tol,
          flushSubnormals: ftz && FLUSHING.has(op),
          flushed: ftz,
          seed: seedOf(`${op}${da}${db}${name}`),
        });
      });
    }
  }

  // Plain numbers take the dtype the op computes in (the tensor's, or f32 for pow on integers).
  const NUMBERS = [2.5, -3, 0, -0, 1, NaN, Infinity, -Infinity, 1e10, 65520, 2 ** -140, 0.5];
  for (const d of DT) {
    it.each([false, true])(`${d}: numbers (number on the left: %s)`, async (left) => {
      const fnOf = (lb as unknown as Record<string, (a: Tensor | number, b: Tensor | number) => Tensor>)[op];
      for (const n of NUMBERS) {
        if (ftz && FLUSHING.has(op) && Math.abs(n) < 2 ** -126 && n !== 0) continue; // flushed in the kernel
        await checkOp((x) => (left ? fnOf(n, x) : fnOf(x, n)), [{ dtype: d, shape: [2, 9], gen: { special: 0.4, ...(isInt(d) ? { intRange: 9 } : { scale: 9 }) } }], {
          ...tol,
          flushSubnormals: ftz && FLUSHING.has(op),
          flushed: ftz,
          label: `${op} ${left ? `${n} x` : `x ${n}`}`,
          seed: seedOf(`${op}${d}${n}${left}`),
        });
      }
    });
  }
});

// ---------------------------------------------------------------- where, clamp

describe('where', () => {
  const CASES: [string, Side, Side, Side][] = [
    ['same shape [33]', { shape: [33] }, { shape: [33] }, { shape: [33] }],
    ['0-d', { shape: [] }, { shape: [] }, { shape: [] }],
    ['empty', { shape: [0] }, { shape: [0] }, { shape: [0] }],
    ['all broadcast [3,1] [1,4] []', { shape: [3, 1] }, { shape: [1, 4] }, { shape: [] }],
    ['cond larger [2,3,4] [4] [3,1]', { shape: [2, 3, 4] }, { shape: [4] }, { shape: [3, 1] }],
    ['views', { shape: [5, 3], view: (t) => t.transpose() }, { shape: [3, 10], view: (t) => t.slice(null, [0, 10, 2]) }, { shape: [1, 5], view: (t) => t.expand([3, 5]) }],
    ['specials (NaN cond is true)', { shape: [40], gen: { special: 0.8 } }, { shape: [40], gen: { special: 0.5 } }, { shape: [40], gen: { special: 0.5 } }],
  ];
  for (const dc of DT) {
    for (const dv of DT) {
      it.each(CASES)(`cond ${dc}, values ${dv}: %s`, async (name, c, a, b) => {
        const cg = { ints: 1, intRange: 1, ...c.gen };
        await checkOp((x, y, z) => lb.where(x, y, z), [{ ...c, dtype: dc, gen: cg }, { ...a, dtype: dv }, { ...b, dtype: dv }], {
          exact: true,
          seed: seedOf(`where${dc}${dv}${name}`),
        });
      });
    }
  }
  it.each([['f32', 'f16'], ['i32', 'bf16'], ['f16', 'bf16'], ['u32', 'f32']] as const)('promotes %s with %s', async (da, db) => {
    await checkOp((c, x, y) => lb.where(c, x, y), [{ dtype: 'u32', shape: [4, 1], gen: { intRange: 1 } }, { dtype: da, shape: [5] }, { dtype: db, shape: [4, 5] }], {
      exact: true,
      seed: seedOf(`wherep${da}${db}`),
    });
  });
  for (const d of DT) {
    it(`${d}: numbers for a and/or b`, async () => {
      const inputs: InputSpec[] = [{ dtype: d, shape: [3, 4], gen: { special: 0.5, ints: 1, intRange: 1 } }, { dtype: d, shape: [4] }];
      for (const [a, b] of [[2.5, -1], [NaN, -0], [Infinity, 7]] as const) {
        await checkOp((c, x) => lb.where(c, x, b), inputs, { exact: true, seed: 3, label: `x ${b}` });
        await checkOp((c, x) => lb.where(c, a, x), inputs, { exact: true, seed: 4, label: `${a} x` });
        await checkOp((c) => lb.where(c, a, b), inputs.slice(0, 1), { exact: true, seed: 5, label: `${a} ${b}` });
      }
    });
  }
});

describe('clamp', () => {
  const BOUNDS: [number | undefined, number | undefined][] = [[-1, 1], [0, undefined], [undefined, 2.5], [3, -3], [-0, 0], [NaN, 1], [-Infinity, Infinity]];
  for (const d of DT) {
    it.each([[[33]], [[4, 5]]] as const)(`${d} %j`, async (shape) => {
      for (const [lo, hi] of BOUNDS) {
        await checkOp((x) => x.clamp(lo, hi), [{ dtype: d, shape: [...shape], gen: { special: 0.4, scale: 4, intRange: 5 } }], {
          exact: true,
          label: `clamp(${lo}, ${hi})`,
          seed: seedOf(`clamp${d}${lo}${hi}`),
        });
      }
    });
    it(`${d} tensor bounds, broadcast, on a view`, async () => {
      await checkOp((x, l, h) => lb.clamp(x, l, h), [
        { dtype: d, shape: [5, 4], view: (t) => t.transpose(), gen: { special: 0.3 } },
        { dtype: d, shape: [5] },
        { dtype: d, shape: [4, 1] },
      ], { exact: true, seed: seedOf(`clampt${d}`) });
    });
  }
});

// ---------------------------------------------------------------- known values (GPU and CPU)

async function known(fn: (...x: Tensor[]) => Tensor, inputs: [number[], DType][], want: number[], outDType: DType, tol: Tol = EXACT) {
  for (const device of ['gpu', 'cpu'] as const) {
    const xs = inputs.map(([v, d]) => lb.tensor(encodeRaw(v, d), [v.length], { dtype: d, device }));
    const y = fn(...xs);
    try {
      expect(y.dtype).toBe(outDType);
      expectClose(await y.data(), want, { ...tol, dtype: outDType, label: device });
    } finally {
      for (const t of [...xs, y]) t.dispose();
    }
  }
}
const f32 = (v: number[]): [number[], DType] => [v, 'f32'];
const fr = Math.fround;

describe('known values', () => {
  it('exp: overflow, underflow into subnormals, specials', async () => {
    const x = [0, -0, 1, 88.72283172607422, 88.72283935546875, 89, -87.5, -100, -103.9, -104, -200, NaN, Infinity, -Infinity];
    await known(lb.exp, [f32(x)], x.map((v) => fr(Math.exp(fr(v)))), 'f32', FN);
    await known(lb.exp, [f32([88.72283935546875, -104, -Infinity, 0])], [Infinity, 0, 0, 1], 'f32');
  });
  it('log, sqrt, rsqrt at the edges', async () => {
    const x = [0, -0, -1, Infinity, -Infinity, NaN, 1, 2 ** -149, 0.9962999820709229, 3.4e38];
    await known(lb.log, [f32(x)], [-Infinity, -Infinity, NaN, Infinity, NaN, NaN, 0, fr(Math.log(2 ** -149)), fr(Math.log(fr(0.9963))), fr(Math.log(fr(3.4e38)))], 'f32', FN);
    await known(lb.sqrt, [f32(x)], [0, -0, NaN, Infinity, NaN, NaN, 1, fr(2 ** -74.5), fr(Math.sqrt(fr(0.9963))), fr(Math.sqrt(fr(3.4e38)))], 'f32', FN);
    await known(lb.rsqrt, [f32([0, -0, Infinity, -1, 4])], [Infinity, -Infinity, 0, NaN, 0.5], 'f32');
  });
  it('tanh, sigmoid, silu, gelu: tiny, huge and infinite arguments', async () => {
    const x = [1e-12, -1e-12, -0, 20, -20, Infinity, -Infinity, NaN, 0.001, -5];
    await known(lb.tanh, [f32(x)], x.map((v) => fr(Math.tanh(fr(v)))), 'f32', FN);
    await known(lb.sigmoid, [f32([-100, 100, -Infinity, Infinity, -0])], [fr(1 / (1 + Math.exp(100))), 1, 0, 1, 0.5], 'f32', FN);
    await known(lb.silu, [f32([-Infinity, Infinity, -0, -200])], [-0, Infinity, -0, -0], 'f32');
    await known((t) => lb.gelu(t), [f32([-Infinity, Infinity, -0, 0, -20, 20])], [-0, Infinity, -0, 0, -0, 20], 'f32');
    await known((t) => lb.gelu(t, { approximate: 'tanh' }), [f32([-Infinity, Infinity, -0, -1e20, 1e20])], [-0, Infinity, -0, -0, fr(1e20)], 'f32');
    // gelu(1) = Φ(1) = 0.841344746...; gelu_tanh(1) = 0.841191990...
    await known((t) => lb.gelu(t), [f32([1, -1, -6])], [0.8413447460685429, -0.15865525393145707, -5.919525870226168e-9], 'f32', { rtol: 1e-6 });
    await known((t) => lb.gelu(t, { approximate: 'tanh' }), [f32([1])], [0.8411919906082768], 'f32', { rtol: 1e-6 });
  });
  it('sin and cos of large arguments are reduced exactly', async () => {
    const x = [1e4, 1e10, 3.4e38, -1e22, 1.6e15, Math.PI, 0.7853981633974483, 1e-20, -0];
    await known(lb.sin, [f32(x)], x.map((v) => fr(Math.sin(fr(v)))), 'f32', FN);
    await known(lb.cos, [f32(x)], x.map((v) => fr(Math.cos(fr(v)))), 'f32', FN);
    await known(lb.sin, [f32([Infinity, -Infinity, NaN, -0])], [NaN, NaN, NaN, -0], 'f32');
  });
  it('pow: the C99 special cases', async () => {
    const rows: [number, number, number][] = [
      [NaN, 0, 1], [1, NaN, 1], [-1, Infinity, 1], [-1, -Infinity, 1], [0.5, Infinity, 0], [2, Infinity, Infinity],
      [0.5, -Infinity, Infinity], [2, -Infinity, 0], [-0, -3, -Infinity], [-0, -2, Infinity], [0, -1, Infinity], [-0, 3, -0],
      [-0, 2, 0], [-Infinity, 3, -Infinity], [-Infinity, -3, -0], [-Infinity, 2, Infinity], [-Infinity, -2, 0], [Infinity, -1, 0],
      [-8, 1 / 3, NaN], [-2, 3, -8], [-2, -2, 0.25], [2, 128, Infinity], [2, -149, 2 ** -149], [2, -150, 0], [NaN, 1, NaN],
      [10, 38, fr(1e38)], [-3, 2 ** 25, Infinity], [1 + 2 ** -23, 2 ** 28, fr(Math.pow(1 + 2 ** -23, 2 ** 28))], [1 - 2 ** -24, -(2 ** 28), fr(Math.pow(1 - 2 ** -24, -(2 ** 28)))],
    ];
    await known(lb.pow, [f32(rows.map((r) => r[0])), f32(rows.map((r) => r[1]))], rows.map((r) => r[2]), 'f32', FN);
  });
  it('signs and zeros: relu(-0) = 0, max(-0, 0) = 0, min(-0, 0) = -0, NaN propagates', async () => {
    await known(lb.relu, [f32([-0, 0, -1, NaN, -Infinity, -(2 ** -149)])], [0, 0, 0, NaN, 0, 0], 'f32');
    await known(lb.neg, [f32([0, -0, NaN, Infinity])], [-0, 0, NaN, -Infinity], 'f32');
    await known(lb.abs, [f32([-0, -Infinity, -(2 ** -149)])], [0, Infinity, 2 ** -149], 'f32');
    const a = [-0, 0, NaN, 1, -0, 2 ** -149, -Infinity];
    const b = [0, -0, 1, NaN, -0, 0, -Infinity];
    await known(lb.maximum, [f32(a), f32(b)], [0, 0, NaN, NaN, -0, 2 ** -149, -Infinity], 'f32');
    await known(lb.minimum, [f32(a), f32(b)], [-0, -0, NaN, NaN, -0, 0, -Infinity], 'f32');
    await known(lb.maximum, [[[-0, 0], 'f16'], [[0, -0], 'bf16']], [0, 0], 'f32');
  });
  it('integers wrap: i32 division truncates, x / 0 = x, MIN / -1 = MIN, u32 neg', async () => {
    const I = 'i32';
    const MIN = -2147483648;
    await known(lb.div, [[[7, -7, 7, -7, 5, MIN, 0], I], [[2, 2, -2, -2, 0, -1, 0], I]], [3, -3, -3, 3, 5, MIN, 0], I);
    await known(lb.div, [[[7, 4294967295, 9], 'u32'], [[2, 0, 4294967295], 'u32']], [3, 4294967295, 0], 'u32');
    await known(lb.neg, [[[1, 0, 4294967295], 'u32']], [4294967295, 0, 1], 'u32');
    await known(lb.neg, [[[MIN, 5], I]], [MIN, -5], I);
    await known(lb.abs, [[[MIN, -5], I]], [MIN, 5], I);
    await known(lb.sub, [[[MIN, 0], I], [[1, MIN], I]], [2147483647, MIN], I);
    await known(lb.sub, [[[0], 'u32'], [[1], 'u32']], [4294967295], 'u32');
    await known(lb.relu, [[[MIN, -1, 0, 3], I]], [0, 0, 0, 3], I);
    await known(lb.maximum, [[[MIN, 4294967295], I], [[2147483647, 0], I]], [2147483647, 0], I);
  });
  it('comparisons: u32 0/1, NaN compares false (ne true), -0 == 0, subnormals ordered', async () => {
    const a = [NaN, NaN, 1, -0, 0, 2 ** -149, -Infinity];
    const b = [NaN, 1, NaN, 0, 2 ** -149, 0, -Infinity];
    await known(lb.eq, [f32(a), f32(b)], [0, 0, 0, 1, 0, 0, 1], 'u32');
    await known(lb.ne, [f32(a), f32(b)], [1, 1, 1, 0, 1, 1, 0], 'u32');
    await known(lb.lt, [f32(a), f32(b)], [0, 0, 0, 0, 1, 0, 0], 'u32');
    await known(lb.le, [f32(a), f32(b)], [0, 0, 0, 1, 1, 0, 1], 'u32');
    await known(lb.gt, [f32(a), f32(b)], [0, 0, 0, 0, 0, 1, 0], 'u32');
    await known(lb.ge, [f32(a), f32(b)], [0, 0, 0, 1, 0, 1, 1], 'u32');
    await known(lb.lt, [[[-1, 4294967295], 'u32'], [[0, 0], 'u32']], [0, 0], 'u32');
    await known(lb.lt, [[[-1, 2147483647], 'i32'], [[0, -2147483648], 'i32']], [1, 0], 'u32');
  });
  it('where: nonzero cond (NaN included) picks a', async () => {
    await known((c, a, b) => lb.where(c, a, b), [f32([NaN, 0, -0, 0.5, -Infinity]), f32([1, 2, 3, 4, 5]), f32([-1, -2, -3, -4, -5])], [1, -2, -3, 4, 5], 'f32');
    await known((c, a, b) => lb.where(c, a, b), [[[0, 7, 0.25], 'f16'], [[1, 2, 3], 'i32'], [[-1, -2, -3], 'i32']], [-1, 2, 3], 'i32');
  });
});

// ---------------------------------------------------------------- dtype rules

describe('dtype rules', () => {
  it('float functions of integers compute and return f32; numbers next to them are f32', async () => {
    for (const d of ['i32', 'u32'] as const) {
      const x = lb.tensor([4, 9, 2], [3], { dtype: d });
      const outs = [x.exp(), x.sqrt(), x.sigmoid(), x.gelu(), x.pow(0.5), lb.pow(2, x), x.pow(x)];
      for (const y of outs) expect(y.dtype).toBe('f32');
      expectClose(await outs[4].data(), [2, 3, Math.SQRT2], { dtype: 'f32', rtol: 3e-7 });
      expectClose(await outs[5].data(), [16, 512, 4], { dtype: 'f32', exact: true });
      for (const t of [x, ...outs]) t.dispose();
    }
  });
  it('exact ops keep the dtype; comparisons give u32; where promotes a and b', () => {
    const t = (d: DType) => lb.zeros([2], { dtype: d });
    const made: Tensor[] = [];
    const m = (x: Tensor) => (made.push(x), x);
    for (const d of DT) {
      const x = m(t(d));
      for (const f of [lb.neg, lb.abs, lb.relu]) expect(m(f(x)).dtype).toBe(d);
      for (const f of [lb.sub, lb.div, lb.maximum, lb.minimum]) expect(m(f(x, 2)).dtype).toBe(d);
      for (const f of [lb.eq, lb.ne, lb.lt, lb.le, lb.gt, lb.ge]) expect(m(f(x, 1)).dtype).toBe('u32');
      expect(m(x.clamp(0, 1)).dtype).toBe(d);
      expect(m(lb.where(x, x, 1)).dtype).toBe(d);
    }
    expect(m(lb.where(m(t('u32')), m(t('f16')), m(t('bf16')))).dtype).toBe('f32');
    expect(m(lb.where(m(t('f32')), m(t('i32')), m(t('f16')))).dtype).toBe('f16');
    expect(m(lb.where(m(t('f32')), 1, 2)).dtype).toBe('f32');
    expect(m(lb.div(m(t('i32')), m(t('f16')))).dtype).toBe('f16');
    for (const x of made) x.dispose();
  });
  it('functions and methods agree', async () => {
    const x = lb.tensor([0.5, -1.5, 2]);
    const pairs = lb.tidy((): [Tensor, Tensor][] => [
      [lb.exp(x), x.exp()], [lb.gelu(x, { approximate: 'tanh' }), x.gelu({ approximate: 'tanh' })], [lb.sub(x, 1), x.sub(1)],
      [lb.clamp(x, 0), x.clamp(0)], [lb.where(x.gt(0), x, 0), x.where(x.gt(0), 0)], [lb.pow(x, 2), x.pow(2)],
    ]);
    for (const [a, b] of pairs) expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    for (const t of [x, ...pairs.flat()]) t.dispose();
  });
});

// ---------------------------------------------------------------- errors at the call

describe('errors are thrown at the call', () => {
  for (const device of ['gpu', 'cpu'] as const) {
    it(`${device}: shapes, dtypes, arguments`, () => {
      const before = lb.memory().buffers;
      const a = lb.zeros([3], { device });
      const b = lb.zeros([4], { device });
      const i = lb.zeros([3], { device, dtype: 'i32' });
      const u = lb.zeros([3], { device, dtype: 'u32' });
      for (const op of ['sub', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
        const f = lb[op] as (x: Tensor | number, y: Tensor | number) => Tensor;
        expect(() => f(a, b), op).toThrow(lb.ShapeError);
        expect(() => f(a, b), op).toThrow(new RegExp(`^${op}: .*\\[3\\].*\\[4\\]`));
        expect(() => f(i, u), op).toThrow(lb.DTypeError);
        expect(() => f(u, i), op).toThrow(new RegExp(`^${op}: cannot combine u32 with i32`));
        expect(() => f(1, 2), op).toThrow(lb.DTypeError);
        expect(() => f(a, 'x' as unknown as number), op).toThrow(/second operand must be a Tensor or a number, got string/);
        expect(() => f([1] as unknown as Tensor, a), op).toThrow(lb.DTypeError);
      }
      expect(() => lb.where(a, b, a)).toThrow(/^where: operands cannot be broadcast together \(shapes \[3\], \[4\], \[3\]\)/);
      expect(() => lb.where(a, i, u)).toThrow(lb.DTypeError);
      expect(() => lb.where(1 as unknown as Tensor, a, a)).toThrow(/cond must be a Tensor/);
      expect(() => lb.clamp(a)).toThrow(lb.DTypeError);
      expect(() => lb.clamp(a, b)).toThrow(lb.ShapeError);
      expect(() => lb.clamp(i, u, 1)).toThrow(lb.DTypeError);
      expect(() => lb.clamp(a, 'x' as unknown as number)).toThrow(/min must be/);
      expect(() => lb.gelu(a, { approximate: 'fast' as 'tanh' })).toThrow(lb.LbrxError);
      for (const f of [lb.exp, lb.neg, lb.relu, lb.sigmoid, lb.log]) expect(() => f(undefined as unknown as Tensor)).toThrow(lb.DTypeError);
      for (const t of [a, b, i, u]) t.dispose();
      expect(lb.memory().buffers).toBe(before);
    });
  }
  it('operands on different devices', () => {
    const g = lb.zeros([2]);
    const c = lb.zeros([2], { device: 'cpu' });
    for (const f of [lb.sub, lb.div, lb.maximum, lb.pow, lb.lt]) expect(() => f(g, c)).toThrow(lb.GpuValidationError);
    expect(() => lb.where(g, c, 1)).toThrow(/different devices/);
    expect(() => lb.where(c, g, g)).toThrow(lb.GpuValidationError);
    expect(() => lb.clamp(g, c)).toThrow(lb.GpuValidationError);
    g.dispose();
    c.dispose();
  });
});
