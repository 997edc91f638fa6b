// Differential tests of the binary elementwise kernels (add, mul) against the CPU reference on the
// same bits: every dtype pair, odd sizes, broadcasting, views, special values, size 0, JS numbers.
import { beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { checkOp, useGpu, expectClose, seedOf, type InputSpec } from './helpers.js';

const DT = lb.DTYPES;

// GPUs that flush subnormals in + and * (NVIDIA through Vulkan): the CPU twin gets flushed
// inputs and a zero passes for a subnormal result (see gpuQuirks in helpers.ts).
const gpu = useGpu();
let ftz = false;
beforeAll(() => {
  ftz = gpu.quirks.ftz;
});

type Side = Omit<InputSpec, 'dtype'>;
interface BinCase {
  name: string;
  a: Side;
  b: Side;
}

const BIN_CASES: BinCase[] = [
  { name: 'scalar []', a: { shape: [] }, b: { shape: [] } },
  { name: 'empty [0]', a: { shape: [0] }, b: { shape: [0] } },
  { name: '[1]', a: { shape: [1] }, b: { shape: [1] } },
  { name: '[7]', a: { shape: [7] }, b: { shape: [7] } },
  { name: '[33]', a: { shape: [33] }, b: { shape: [33] } },
  { name: '[257]', a: { shape: [257] }, b: { shape: [257] } },
  { name: '2-D [3,5]', a: { shape: [3, 5] }, b: { shape: [3, 5] } },
  { name: '3-D [2,3,4]', a: { shape: [2, 3, 4] }, b: { shape: [2, 3, 4] } },
  { name: 'broadcast [3,1,5]x[4,1]', a: { shape: [3, 1, 5] }, b: { shape: [4, 1] } },
  { name: 'broadcast [5]x[] (0-d tensor)', a: { shape: [5] }, b: { shape: [] } },
  { name: 'broadcast []x[2,3]', a: { shape: [] }, b: { shape: [2, 3] } },
  { name: 'broadcast [0,3]x[3]', a: { shape: [0, 3] }, b: { shape: [3] } },
  { name: 'transpose [5,3]^T x [3,5]', a: { shape: [5, 3], view: (t) => t.transpose() }, b: { shape: [3, 5] } },
  { name: 'step slice [1:20:3] x [7]', a: { shape: [20], view: (t) => t.slice([1, 20, 3]) }, b: { shape: [7] } },
  {
    name: 'expand [1,5]->[4,5] x column slice',
    a: { shape: [1, 5], view: (t) => t.expand([4, 5]) },
    b: { shape: [4, 7], view: (t) => t.slice(null, [1, 6]) },
  },
  {
    name: 'odd-offset views [3:8] x [1:6]',
    a: { shape: [9], view: (t) => t.slice([3, 8]) },
    b: { shape: [6], view: (t) => t.slice([1]) },
  },
  {
    name: 'offset 2-D step view x offset transposed view',
    a: { shape: [4, 6], view: (t) => t.slice([1, 3], [1, 6, 2]) },
    b: { shape: [3, 3, 2], view: (t) => t.slice(2).transpose() },
  },
  { name: 'permuted 3-D', a: { shape: [4, 2, 3], view: (t) => t.permute([1, 2, 0]) }, b: { shape: [2, 3, 4] } },
  {
    name: 'expanded column x row (outer)',
    a: { shape: [3, 1], view: (t) => t.expand([3, 4]) },
    b: { shape: [4] },
  },
  {
    name: 'moderate values [33] (ints next to 16-bit floats round)',
    a: { shape: [33], gen: { intRange: 5000, scale: 3000 } },
    b: { shape: [33], gen: { intRange: 70000, scale: 70 } },
  },
  {
    name: 'special values [64]',
    a: { shape: [64], gen: { special: 0.6 } },
    b: { shape: [64], gen: { special: 0.6 } },
  },
  {
    name: 'special values 2-D broadcast',
    a: { shape: [6, 1], gen: { special: 1 } },
    b: { shape: [1, 9], gen: { special: 1 } },
  },
];

const OPS = {
  add: (a: Tensor, b: Tensor) => a.add(b),
  mul: (a: Tensor, b: Tensor) => a.mul(b),
} as const;

const promotes = (a: DType, b: DType) => !((a === 'i32' && b === 'u32') || (a === 'u32' && b === 'i32'));

describe.each(Object.keys(OPS) as (keyof typeof OPS)[])('%s', (opName) => {
  const op = OPS[opName];
  for (const da of DT) {
    for (const db of DT) {
      if (!promotes(da, db)) continue;
      describe(`${da} ${opName} ${db}`, () => {
        it.each(BIN_CASES.map((c) => [c.name, c] as const))('%s', async (name, c) => {
          await checkOp(op, [{ ...c.a, dtype: da }, { ...c.b, dtype: db }], { seed: seedOf(`${opName}${da}${db}${name}`), flushSubnormals: ftz, flushed: ftz });
        });
      });
    }
  }

  it.each([
    ['i32', 'u32'],
    ['u32', 'i32'],
  ] as const)(`%s ${opName} %s throws DTypeError at the call`, (da, db) => {
    const a = lb.tensor([1, 2, 3], [3], { dtype: da });
    const b = lb.tensor([1, 2, 3], [3], { dtype: db });
    try {
      expect(() => op(a, b)).toThrow(lb.DTypeError);
      expect(() => op(a, b)).toThrow(/cannot combine/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  // Plain JS numbers next to a tensor take the tensor's dtype, on either side.
  const NUMBERS = [2.5, -3, 0, -0, NaN, Infinity, 1e10, 65520];
  for (const d of DT) {
    describe(`${d} ${opName} number`, () => {
      it.each(NUMBERS.map((n) => [String(Object.is(n, -0) ? '-0' : n), n] as const))('tensor %s', async (_, n) => {
        await checkOp((x) => (opName === 'add' ? x.add(n) : x.mul(n)), [{ dtype: d, shape: [17], gen: { special: 0.3 } }], {
          seed: seedOf(`${opName}${d}${n}`),
          flushSubnormals: ftz,
          flushed: ftz,
        });
      });
      it.each(NUMBERS.map((n) => [String(Object.is(n, -0) ? '-0' : n), n] as const))('%s tensor (number on the left)', async (_, n) => {
        const fn = opName === 'add' ? lb.add : lb.mul;
        await checkOp((x) => fn(n, x), [{ dtype: d, shape: [2, 5], gen: { special: 0.3 } }], {
          seed: seedOf(`${opName}${d}${n}left`),
          flushSubnormals: ftz,
          flushed: ftz,
        });
      });
    });
  }
});

describe('elementwise known values', () => {
  it('integer add and mul wrap around', async () => {
    const a = lb.tensor(new Int32Array([2147483647, -2147483648, 65536]));
    const b = lb.tensor(new Uint32Array([4294967295, 0x80000000, 65536]));
    const s1 = a.add(1);
    const s2 = a.mul(65536);
    const s3 = b.add(1);
    const s4 = b.mul(b);
    expect(Array.from(await s1.data())).toEqual([-2147483648, -2147483647, 65537]);
    expect(Array.from(await s2.data())).toEqual([-65536, 0, 0]);
    expect(Array.from(await s3.data())).toEqual([0, 0x80000001, 65537]);
    expect(Array.from(await s4.data())).toEqual([1, 0, 0]);
    for (const t of [a, b, s1, s2, s3, s4]) t.dispose();
  });

  it('float add keeps the sign of zero and IEEE specials', async () => {
    const a = lb.tensor(new Float32Array([-0, -0, 0, Infinity, Infinity, NaN, 3e38]));
    const b = lb.tensor(new Float32Array([-0, 0, -0, -Infinity, 1, 1, 3e38]));
    const s = a.add(b);
    const m = a.mul(b);
    expectClose(await s.data(), [-0, 0, 0, NaN, Infinity, NaN, Infinity], { dtype: 'f32', exact: true });
    expectClose(await m.data(), [0, -0, -0, -Infinity, Infinity, NaN, Infinity], { dtype: 'f32', exact: true });
    for (const t of [a, b, s, m]) t.dispose();
  });

  it('mixed dtypes: promotion results', () => {
    const t = (d: DType) => lb.zeros([2], { dtype: d });
    const cases: [DType, DType, DType][] = [
      ['f32', 'f16', 'f32'], ['f16', 'bf16', 'f32'], ['bf16', 'f16', 'f32'], ['i32', 'f16', 'f16'],
      ['u32', 'bf16', 'bf16'], ['f32', 'i32', 'f32'], ['i32', 'i32', 'i32'], ['f16', 'f16', 'f16'],
    ];
    for (const [x, y, want] of cases) {
      const a = t(x);
      const b = t(y);
      const s = a.add(b);
      expect(s.dtype, `${x}+${y}`).toBe(want);
      for (const u of [a, b, s]) u.dispose();
    }
  });

  it('int + 16-bit float rounds the integer to the result dtype first (like the CPU reference)', async () => {
    // 2049 is not an f16: as f16 it is 2048, so 2049 + (-2048) in f16 is 0, not 1.
    const a = lb.tensor(new Int32Array([2049, 2049, 257]));
    const b = lb.tensor([-2048, 0.5, -256], [3], { dtype: 'f16' });
    const c = lb.tensor([-256, 0, -256], [3], { dtype: 'bf16' });
    const s = a.add(b);
    const m = a.add(c);
    expectClose(await s.data(), [0, 2048, 1], { dtype: 'f16', exact: true });
    expectClose(await m.data(), [2048 - 256, 2048, 0], { dtype: 'bf16', exact: true });
    for (const t of [a, b, c, s, m]) t.dispose();
  });
});
