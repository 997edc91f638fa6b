// Differential kernel tests: every GPU op against the CPU reference on the same bits, over
// dtypes, odd sizes, broadcasting, non-contiguous and offset views, special values and size 0.
import { beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import {
  FLOATS, INTS, checkOp, useGpu, decodeRaw, encodeRaw, expectClose, pair, randomData, rng, seedOf, sizeOf, specialValues,
  type GenOptions, type InputSpec,
} from './helpers.js';

const DT = lb.DTYPES;
const isInt = (d: DType) => d === 'i32' || d === 'u32';

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

// ---------------------------------------------------------------- sum

function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << n; m++) out.push([...Array(n).keys()].filter((i) => m & (1 << i)));
  return out;
}

const SUM_SHAPES: (readonly number[])[] = [[], [1], [7], [257], [3, 5], [1, 9], [2, 3, 4], [3, 1, 5]];

describe('sum', () => {
  for (const shape of SUM_SHAPES) {
    const axesList: (number[] | null | number)[] = [null, ...subsets(shape.length), ...(shape.length ? [-1] : [])];
    for (const d of DT) {
      describe(`${d} [${shape}]`, () => {
        const cases = axesList.flatMap((axes) => [false, true].map((k) => [JSON.stringify(axes), axes, k] as const));
        it.each(cases)('axes %s keepdims %s', async (name, axes, keepdims) => {
          // Integer-valued floats keep every sum exact whatever the order; ints use the full range (wrapping).
          const gen: GenOptions = isInt(d) ? {} : { ints: 8 };
          await checkOp((x) => x.sum(axes, keepdims), [{ dtype: d, shape, gen }], {
            exact: true,
            seed: seedOf(`sum${d}${shape}${name}${keepdims}`),
          });
        });
      });
    }
  }

  for (const d of FLOATS) {
    it.each([[[1000]], [[5, 300]], [[3, 4, 70]]] as const)(`${d} random positive floats %j`, async (shape) => {
      const rtol = d === 'f32' ? 1e-5 : 0;
      await checkOp((x) => x.sum(-1), [{ dtype: d, shape: [...shape], gen: { positive: true, scale: 1 } }], {
        rtol,
        seed: seedOf(`sumr${d}${shape}`),
      });
    });
  }

  for (const d of DT) {
    it.each([
      ['transposed', [4, 6], (t: Tensor) => t.transpose(), 1],
      ['offset view', [5, 6], (t: Tensor) => t.slice([2, 5]), 1],
      ['step slice', [40], (t: Tensor) => t.slice([3, 40, 3]), 0],
      ['expanded', [1, 5], (t: Tensor) => t.expand([6, 5]), 0],
      ['permuted 3-D', [3, 4, 5], (t: Tensor) => t.permute([1, 2, 0]), [0, 2]],
    ] as const)(`${d} non-contiguous input: %s`, async (name, shape, view, axis) => {
      const gen: GenOptions = isInt(d) ? {} : { ints: 8 };
      await checkOp((x) => x.sum(axis as number | number[]), [{ dtype: d, shape: [...shape], view, gen }], {
        exact: true,
        seed: seedOf(`sumv${d}${name}`),
      });
    });
  }

  describe('size 0', () => {
    for (const d of DT) {
      it.each([
        [[0], null, false, []],
        [[0], 0, true, [1]],
        [[0, 3], 0, false, [3]],
        [[0, 3], 1, false, [0]],
        [[3, 0], 1, false, [3]],
        [[3, 0], 1, true, [3, 1]],
        [[2, 0, 4], [0, 2], false, [0]],
        [[2, 0, 4], 1, false, [2, 4]],
      ] as const)(`${d} sum of %j over %j keepdims %s`, async (shape, axis, keepdims, outShape) => {
        const x = lb.zeros([...shape], { dtype: d });
        const s = x.sum(axis as number | number[] | null, keepdims);
        expect(s.shape).toEqual(outShape);
        expect(s.dtype).toBe(d);
        const got = await s.data();
        expect(got.length).toBe(sizeOf(outShape));
        expectClose(got, new Array(got.length).fill(0), { dtype: d, exact: true });
        x.dispose();
        s.dispose();
      });
    }
  });

  it('f16/bf16 accumulate in f32: sum of 4096 ones is 4096', async () => {
    for (const d of ['f16', 'bf16'] as const) {
      const x = lb.ones([4096], { dtype: d });
      const s = x.sum();
      const rowsIn = lb.ones([4, 4096], { dtype: d });
      const r = rowsIn.sum(1);
      expectClose(await s.data(), [4096], { dtype: d, exact: true, label: d });
      expectClose(await r.data(), [4096, 4096, 4096, 4096], { dtype: d, exact: true, label: `${d} rows` });
      // 4097 is rounded once, at the end: to 4096 (ties to even).
      const y = lb.ones([4097], { dtype: d });
      const t = y.sum();
      expectClose(await t.data(), [4096], { dtype: d, exact: true, label: `${d} 4097` });
      for (const u of [x, s, rowsIn, r, y, t]) u.dispose();
    }
  });

  it('many rows (grid folded into y) reduce correctly', async () => {
    const rows = 70000;
    await checkOp((x) => x.sum(1), [{ dtype: 'f32', shape: [rows, 2], gen: { ints: 100 } }], { exact: true, seed: 7 });
  });

  it('more than 65535 workgroups (grid folded into y): fill and add over 17.8M elements', async () => {
    const dev = lb.device()!;
    const n = 2 ** 24 + 2 ** 20;
    expect(Math.ceil(n / 256)).toBeGreaterThan(dev.limits.maxComputeWorkgroupsPerDimension);
    const a = lb.full([n], 7, { dtype: 'u32' });
    const b = lb.tidy(() => a.add(a.slice([n - 1]).reshape([])));
    const d = (await b.data()) as Uint32Array;
    expect(d.length).toBe(n);
    let bad = -1;
    for (let i = 0; i < n; i++) if (d[i] !== 14) { bad = i; break; }
    expect(bad, 'first wrong element').toBe(-1);
    a.dispose();
    b.dispose();
    await lb.eval();
    dev.pool.trim(0);
  });

  it('large f32 sum over 1.1M elements (multi-pass)', async () => {
    const n = 1_100_000;
    const ones = lb.ones([n]);
    const s1 = ones.sum();
    expect(Array.from(await s1.data())).toEqual([n]);
    ones.dispose();
    s1.dispose();
    await checkOp((x) => x.sum(), [{ dtype: 'f32', shape: [n], gen: { ints: 50 } }], { exact: true, seed: 11 });
    await checkOp((x) => x.sum(0), [{ dtype: 'i32', shape: [n] }], { exact: true, seed: 12 });
  });

  it('large add over 1.1M elements', async () => {
    await checkOp((a, b) => a.add(b), [{ dtype: 'f32', shape: [1_100_000] }, { dtype: 'f32', shape: [1_100_000] }], { seed: 13 });
    await checkOp((a, b) => a.mul(b), [{ dtype: 'f16', shape: [1_100_001] }, { dtype: 'f16', shape: [1] }], { seed: 14 });
  });

  it('axis errors throw ShapeError at the call', () => {
    const x = lb.zeros([2, 3]);
    expect(() => x.sum(2)).toThrow(lb.ShapeError);
    expect(() => x.sum(-3)).toThrow(lb.ShapeError);
    expect(() => x.sum([0, 0])).toThrow(lb.ShapeError);
    expect(() => x.sum([1, -1])).toThrow(lb.ShapeError);
    expect(() => x.sum(0.5)).toThrow(lb.ShapeError);
    x.dispose();
  });
});

// ---------------------------------------------------------------- fill

describe('fill', () => {
  const SIZES: (readonly number[])[] = [[], [0], [1], [3], [7], [2, 5], [1001]];
  const VALUES = [0, -0, 1, -1.5, 2.75, NaN, Infinity, -Infinity, 65520, 1e-7, 3e9, -3e9, 2 ** 24 + 1];
  for (const d of DT) {
    describe(d, () => {
      it.each(SIZES.map((s) => [JSON.stringify(s), s] as const))('zeros/ones %s', async (_, shape) => {
        for (const [fn, v] of [[lb.zeros, 0], [lb.ones, 1]] as const) {
          const t = fn([...shape], { dtype: d });
          expect(t.shape).toEqual(shape);
          expect(t.dtype).toBe(d);
          expectClose(await t.data(), new Array(sizeOf(shape)).fill(v), { dtype: d, exact: true });
          t.dispose();
        }
      });
      it.each(VALUES.map((v) => [Object.is(v, -0) ? '-0' : String(v), v] as const))('full %s', async (_, v) => {
        for (const shape of [[5], [2, 3, 3]]) {
          const g = lb.full(shape, v, { dtype: d });
          const c = lb.full(shape, v, { dtype: d, device: 'cpu' });
          const [gd, cd] = [await g.data(), await c.data()];
          expectClose(gd, cd, { dtype: d, exact: true });
          // Every element is the stored value, including the last element of an odd 16-bit count.
          expect(new Set(Array.from(gd, (x) => (Object.is(x, -0) ? '-0' : String(x)))).size).toBe(1);
          g.dispose();
          c.dispose();
        }
      });
    });
  }

  it('fill values in storage: rounding and saturation', async () => {
    const cases: [DType, number, number][] = [
      ['f16', 65520, Infinity], ['f16', 65519, 65504], ['bf16', 1 + 2 ** -8, 1], ['i32', -1.5, -1],
      ['u32', -1, 4294967295], ['f32', 16777217, 16777216], ['f16', -0, -0], ['bf16', NaN, NaN],
    ];
    for (const [d, v, want] of cases) {
      const t = lb.full([3], v, { dtype: d });
      expectClose(await t.data(), [want, want, want], { dtype: d, exact: true, label: `${d} ${v}` });
      t.dispose();
    }
  });

  it('a fill into a reused pooled buffer overwrites all of it', async () => {
    const a = lb.full([1001], 7, { dtype: 'f16' });
    await a.data();
    a.dispose();
    await lb.eval();
    const b = lb.full([999], 3, { dtype: 'f16' });
    expectClose(await b.data(), new Array(999).fill(3), { dtype: 'f16', exact: true });
    b.dispose();
  });

  it('shape and value errors throw at the call', () => {
    expect(() => lb.full([-1], 0)).toThrow(lb.ShapeError);
    expect(() => lb.full([1.5], 0)).toThrow(lb.ShapeError);
    expect(() => lb.zeros([2], { dtype: 'f64' as DType })).toThrow(lb.DTypeError);
    expect(() => lb.full([2], 'x' as unknown as number)).toThrow(lb.DTypeError);
  });
});

// ---------------------------------------------------------------- errors at the call

describe('errors are thrown at the call, not at data()', () => {
  it('shape errors', () => {
    const before = lb.memory().buffers;
    const a = lb.zeros([3]);
    const b = lb.zeros([4]);
    const m = lb.zeros([2, 3]);
    expect(() => a.add(b)).toThrow(lb.ShapeError);
    expect(() => a.mul(b)).toThrow(/cannot broadcast/);
    const m2 = lb.zeros([3, 2]);
    expect(() => m.add(m2)).toThrow(lb.ShapeError);
    expect(() => m.reshape([4, 2])).toThrow(lb.ShapeError);
    expect(() => m.reshape([-1, -1])).toThrow(lb.ShapeError);
    expect(() => m.permute([0, 0])).toThrow(lb.ShapeError);
    expect(() => m.permute([0])).toThrow(lb.ShapeError);
    expect(() => m.expand([4, 3])).toThrow(lb.ShapeError);
    expect(() => m.expand([3])).toThrow(lb.ShapeError);
    expect(() => m.slice(2)).toThrow(lb.ShapeError);
    expect(() => m.slice(null, [0, 3, 0])).toThrow(lb.ShapeError);
    expect(() => m.slice(0, 0, 0)).toThrow(lb.ShapeError);
    expect(() => m.sum(5)).toThrow(lb.ShapeError);
    expect(() => lb.tensor([[1, 2], [3]])).toThrow(lb.LbrxError);
    expect(() => lb.tensor([1, 2, 3], [2, 2])).toThrow(lb.LbrxError);
    for (const t of [a, b, m, m2]) t.dispose();
    expect(lb.memory().buffers).toBe(before);
  });

  it('dtype and device errors', () => {
    const i = lb.zeros([2], { dtype: 'i32' });
    const u = lb.zeros([2], { dtype: 'u32' });
    const c = lb.zeros([2], { device: 'cpu' });
    const g = lb.zeros([2]);
    expect(() => i.add(u)).toThrow(lb.DTypeError);
    expect(() => u.mul(i)).toThrow(lb.DTypeError);
    expect(() => lb.tensor([1], [1], { dtype: 'int8' as DType })).toThrow(lb.DTypeError);
    expect(() => g.add(c)).toThrow(lb.GpuValidationError);
    expect(() => g.add(c)).toThrow(/different devices/);
    expect(() => lb.add(1 as unknown as lb.Tensor, 2)).toThrow(lb.DTypeError);
    expect(() => lb.mul(1 as unknown as lb.Tensor, 2)).toThrow(/at least one tensor/);
    for (const t of [i, u, c, g]) t.dispose();
  });

  it('the CPU reference throws the same errors', () => {
    const a = lb.zeros([3], { device: 'cpu' });
    const b = lb.zeros([4], { device: 'cpu' });
    const i = lb.zeros([3], { device: 'cpu', dtype: 'i32' });
    const u = lb.zeros([3], { device: 'cpu', dtype: 'u32' });
    expect(() => a.add(b)).toThrow(lb.ShapeError);
    expect(() => i.mul(u)).toThrow(lb.DTypeError);
    expect(() => a.sum(1)).toThrow(lb.ShapeError);
    for (const t of [a, b, i, u]) t.dispose();
  });
});

// Guard against the helpers silently passing.
describe('helpers', () => {
  it('expectClose catches differences', () => {
    expect(() => expectClose([1], [1.00001], { dtype: 'f32' })).toThrow();
    expect(() => expectClose([0], [-0], { dtype: 'f32' })).toThrow();
    expect(() => expectClose([NaN], [1], { dtype: 'f32' })).toThrow();
    expect(() => expectClose([65504], [Infinity], { dtype: 'f16' })).toThrow();
    expect(() => expectClose([1 + 2 ** -9], [1], { dtype: 'f16' })).toThrow();
    expect(() => expectClose([1 + 2 ** -10], [1], { dtype: 'f16', exact: true })).toThrow();
    expect(() => expectClose([1], [2], { dtype: 'i32' })).toThrow();
    expectClose([NaN, Infinity, -0, 1 + 2 ** -10], [NaN, Infinity, -0, 1], { dtype: 'f16' });
    expectClose([1 + 2 ** -22], [1], { dtype: 'f32' });
  });
  it('random data is deterministic', () => {
    const a = randomData(rng(5), 'f16', 50, { special: 0.5 });
    const b = randomData(rng(5), 'f16', 50, { special: 0.5 });
    expect(Array.from(a)).toEqual(Array.from(b));
    const { gpu, cpu } = pair(a, [50], 'f16');
    gpu.dispose();
    cpu.dispose();
    expect(INTS.length + FLOATS.length).toBe(5);
  });
});
