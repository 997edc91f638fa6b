// Differential tests of the copy kernels against the CPU reference, bit-exact: cast between every
// dtype pair (rounding, saturation, specials) and contiguous over every kind of view.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { checkOp, useGpu, decodeRaw, encodeRaw, expectClose, seedOf, sizeOf, specialValues, type GenOptions, type InputSpec } from './helpers.js';

const DT = lb.DTYPES;

useGpu();

// ---------------------------------------------------------------- cast

const CAST_INPUTS = (from: DType): { name: string; spec: Omit<InputSpec, 'dtype'> }[] => [
  { name: 'random [33]', spec: { shape: [33], gen: { scale: 1e5, special: 0.3 } as GenOptions } },
  {
    name: 'special values',
    spec: {
      shape: [specialValues('f32').length + specialValues(from).length],
      data: encodeRaw([...specialValues('f32'), ...specialValues(from)], from),
    },
  },
  { name: 'transposed [4,5]', spec: { shape: [5, 4], view: (t: Tensor) => t.transpose(), gen: { special: 0.2 } } },
  { name: 'odd-offset slice', spec: { shape: [12], view: (t: Tensor) => t.slice([3, 12, 2]) } },
  { name: 'empty [2,0]', spec: { shape: [2, 0] } },
];

describe('cast', () => {
  for (const from of DT) {
    for (const to of DT) {
      describe(`${from} -> ${to}`, () => {
        it.each(CAST_INPUTS(from).map((c) => [c.name, c.spec] as const))('%s', async (name, spec) => {
          await checkOp((x) => x.cast(to), [{ ...spec, dtype: from }], { exact: true, seed: seedOf(`cast${from}${to}${name}`) });
        });
      });
    }
  }

  const KNOWN: [string, DType, DType, number[], number[]][] = [
    ['f32->f16 overflow, rounding, subnormals', 'f32', 'f16',
      [65520, 65519, -65520, 65504, 1e9, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0, 1e-8, 2 ** -14],
      [Infinity, 65504, -Infinity, 65504, Infinity, 2 ** -24, 0, 2 ** -24, 0, 1, 1 + 2 ** -9, -0, 0, 2 ** -14]],
    ['f32->bf16 rounding, NaN, Inf', 'f32', 'bf16',
      [1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN, -Infinity, 3.4028234663852886e38, -0, 2 ** -130, 2 ** -149, -(2 ** -134), 3 * 2 ** -134],
      [1, 1 + 2 ** -6, NaN, -Infinity, Infinity, -0, 2 ** -130, 0, -0, 2 ** -132]],
    ['f32->i32 truncates and saturates, NaN -> 0', 'f32', 'i32',
      [1.9, -1.9, 2 ** 31, -(2 ** 31), -(2 ** 32), 3e9, Infinity, -Infinity, NaN, -0, 0.5],
      [1, -1, 2147483647, -2147483648, -2147483648, 2147483647, 2147483647, -2147483648, 0, 0, 0]],
    ['f32->u32 truncates and saturates, negatives -> 0', 'f32', 'u32',
      [1.9, -1.9, 2 ** 32, 4294967040, -1e30, Infinity, -Infinity, NaN, 3e9],
      [1, 0, 4294967295, 4294967040, 0, 4294967295, 0, 0, 3e9]],
    ['f16->i32', 'f16', 'i32', [65504, -65504, Infinity, NaN, -2.5], [65504, -65504, 2147483647, 0, -2]],
    ['bf16->u32', 'bf16', 'u32', [Infinity, -Infinity, 2 ** 40, 300, -0], [4294967295, 0, 4294967295, 300, 0]],
    ['i32->u32 wraps', 'i32', 'u32', [-1, -2147483648, 5], [4294967295, 2147483648, 5]],
    ['u32->i32 wraps', 'u32', 'i32', [4294967295, 2147483648, 5], [-1, -2147483648, 5]],
    ['i32->f16 rounds (and overflows to Inf)', 'i32', 'f16', [2049, 2051, 65519, 65520, -70000], [2048, 2052, 65504, Infinity, -Infinity]],
    ['u32->bf16', 'u32', 'bf16', [257, 259, 4294967295], [256, 260, 4294967296]],
    ['i32->f32 rounds to nearest even', 'i32', 'f32', [16777217, 16777219, 2147483647, -2147483648], [16777216, 16777220, 2147483648, -2147483648]],
    ['f16->f32 subnormals and -0 exact', 'f16', 'f32', [2 ** -24, -(2 ** -24), 2 ** -14 - 2 ** -24, -0], [2 ** -24, -(2 ** -24), 2 ** -14 - 2 ** -24, -0]],
    ['f16->bf16', 'f16', 'bf16', [65504, 2 ** -24, 1 + 2 ** -10, -0, NaN], [65536, 2 ** -24, 1, -0, NaN]],
    ['bf16->f16 overflow and underflow', 'bf16', 'f16', [65536, 2 ** -30, -(2 ** -30), 1 + 2 ** -7], [Infinity, 0, -0, 1 + 2 ** -7]],
  ];
  it.each(KNOWN)('known values: %s', async (_, from, to, input, want) => {
    const x = lb.tensor(encodeRaw(input, from), [input.length], { dtype: from });
    const y = x.cast(to);
    const xc = lb.tensor(encodeRaw(input, from), [input.length], { dtype: from, device: 'cpu' });
    const yc = xc.cast(to);
    expectClose(await y.data(), want, { dtype: to, exact: true, label: 'gpu' });
    expectClose(await yc.data(), want, { dtype: to, exact: true, label: 'cpu' });
    for (const t of [x, y, xc, yc]) t.dispose();
  });

  it('unknown dtype throws DTypeError at the call', () => {
    const x = lb.zeros([2]);
    expect(() => x.cast('f64' as DType)).toThrow(lb.DTypeError);
    x.dispose();
  });
});

// ---------------------------------------------------------------- contiguous

const VIEWS: [string, readonly number[], (t: Tensor) => Tensor][] = [
  ['transpose [4,7]', [4, 7], (t) => t.transpose()],
  ['permute [2,3,5] -> [5,2,3]', [2, 3, 5], (t) => t.permute([2, 0, 1])],
  ['step slice', [31], (t) => t.slice([1, 30, 4])],
  ['odd-offset slice', [9], (t) => t.slice([1, 8])],
  ['2-D odd offset, step', [5, 7], (t) => t.slice([1, 4], [3, 7, 3])],
  ['expand [3,1] -> [3,5]', [3, 1], (t) => t.expand([2, 3, 5])],
  ['slice then transpose', [6, 5], (t) => t.slice([1, 6, 2], [1, 4]).transpose()],
  ['index drop axis', [3, 4, 5], (t) => t.slice(null, 2)],
  ['empty slice', [6], (t) => t.slice([3, 3])],
  ['contiguous offset view', [4, 3], (t) => t.slice(1)],
  ['reshape of a transpose (copies)', [3, 4], (t) => t.transpose().reshape([2, 6])],
  ['0-d view', [2, 3], (t) => t.slice(1, 2)],
];

describe('contiguous', () => {
  for (const d of DT) {
    it.each(VIEWS)(`${d}: %s`, async (name, shape, view) => {
      const got = await checkOp((x) => x.contiguous(), [{ dtype: d, shape, view, gen: { special: 0.3 } }], {
        exact: true,
        seed: seedOf(`contig${d}${name}`),
      });
      const base = lb.zeros(shape, { device: 'cpu' });
      const v = lb.tidy(() => view(base));
      expect(got.length).toBe(sizeOf(v.shape));
      v.dispose();
      base.dispose();
    });
  }

  it('f16 subnormals and -0 survive a copy bit-exactly', async () => {
    const bits = new Uint16Array([0x0001, 0x8001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x0400, 0x7bff, 0x3c01]);
    for (const d of ['f16', 'bf16'] as const) {
      const x = lb.tensor(bits, [9], { dtype: d });
      const v = x.slice([1, 9]);
      const c = v.contiguous();
      expectClose(await c.data(), decodeRaw(bits.slice(1), d), { dtype: d, exact: true, label: d });
      for (const t of [x, v, c]) t.dispose();
    }
  });

  it('result is row-major and a contiguous tensor shares storage', async () => {
    const x = lb.tensor([[1, 2, 3], [4, 5, 6]]);
    const t = x.transpose();
    const c = t.contiguous();
    expect(c.isContiguous).toBe(true);
    expect(c.strides).toEqual([2, 1]);
    expect(await c.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const same = x.contiguous();
    expect(same.storage).toBe(x.storage);
    for (const u of [x, t, c, same]) u.dispose();
  });
});
