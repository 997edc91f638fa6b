// gather / indexSelect / concat: GPU kernels vs. the CPU reference over every dtype, ids of both
// integer dtypes and any shape (out-of-range and negative ids give zero rows), odd sizes that
// make 16-bit outputs share words, views and lazy inputs, size 0; errors at the call.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { checkOp, encodeRaw, expectClose, seedOf, type InputSpec, useGpu } from './helpers.js';

useGpu();

const DT = lb.DTYPES;
const EXACT = { exact: true };
const gen = { special: 0.1, intRange: 1000 };

/** ids in [-2, v + 2): some negative and some past the end. */
function ids(dtype: 'i32' | 'u32', n: number, v: number, seed: number): Int32Array | Uint32Array {
  const out = Array.from({ length: n }, (_, i) => ((i * 7 + seed) % (v + 4)) - 2);
  return encodeRaw(out, dtype) as Int32Array | Uint32Array;
}

describe('gather', () => {
  const TABLES: [string, number[]][] = [
    ['[5,1] D=1', [5, 1]],
    ['[7,3] D=3', [7, 3]],
    ['[4,64]', [4, 64]],
    ['[6,80]', [6, 80]],
    ['[3,128]', [3, 128]],
    ['[9] 1-D table', [9]],
  ];
  const IDS: [string, number[]][] = [
    ['[] 0-d', []],
    ['[1]', [1]],
    ['[7]', [7]],
    ['[2,3]', [2, 3]],
    ['[0]', [0]],
  ];
  for (const dtype of DT) {
    for (const idt of ['i32', 'u32'] as const) {
      describe(`${dtype} table, ${idt} ids`, () => {
        it.each(TABLES.flatMap(([tn, ts]) => IDS.map(([iname, ishape]) => [`${tn} x ids ${iname}`, ts, ishape] as const)))('%s', async (label, ts, ishape) => {
          const n = ishape.reduce((a, b) => a * b, 1);
          await checkOp((t, i) => lb.gather(t, i), [
            { dtype, shape: ts, gen },
            { dtype: idt, shape: ishape, data: ids(idt, n, ts[0], seedOf(label) % 5) },
          ], EXACT);
        });
      });
    }
  }

  it.each(['f32', 'f16', 'bf16'] as DType[])('views and lazy tables, non-contiguous and lazy ids (%s)', async (dtype) => {
    const data = ids('i32', 6, 5, 1);
    // Transposed table: rows are strided.
    await checkOp((t, i) => lb.gather(t, i), [
      { dtype, shape: [3, 5], view: (t) => t.transpose() },
      { dtype: 'i32', shape: [6], data },
    ], EXACT);
    // Sliced table with an offset; ids as a transposed 2-D view.
    await checkOp((t, i) => lb.gather(t, i), [
      { dtype, shape: [8, 6], view: (t) => t.slice([2, 7], [1, 6]) },
      { dtype: 'i32', shape: [2, 3], data, view: (t) => t.transpose() },
    ], EXACT);
    // A lazy table (fused: only picked rows are computed) and lazy ids.
    await checkOp((t, i) => lb.tidy(() => lb.gather(t.add(t).mul(2), i.add(1))), [
      { dtype, shape: [5, 7], gen: { scale: 10 } },
      { dtype: 'i32', shape: [6], data },
    ], EXACT);
  });

  it('an empty table gives zeros', async () => {
    await checkOp((t, i) => lb.gather(t, i), [{ dtype: 'f16', shape: [0, 3] }, { dtype: 'i32', shape: [4], data: encodeRaw([0, 1, -1, 5], 'i32') }], EXACT);
  });

  it('out-of-range ids give zero rows; negative i32 ids do not wrap', async () => {
    const table = lb.tensor([[1, 2], [3, 4], [5, 6]]);
    const i = lb.tensor(new Int32Array([2, -1, 3, 0, -2147483648, 2147483647]));
    const u = lb.tensor(new Uint32Array([4294967295, 1, 3]));
    const g1 = lb.gather(table, i);
    const g2 = lb.gather(table, u);
    expect(await g1.toArray()).toEqual([[5, 6], [0, 0], [0, 0], [1, 2], [0, 0], [0, 0]]);
    expect(await g2.toArray()).toEqual([[0, 0], [3, 4], [0, 0]]);
    for (const t of [table, i, u, g1, g2]) t.dispose();
  });
});

describe('indexSelect', () => {
  const AXES: [number, number[]][] = [[0, [4, 3, 5]], [1, [4, 3, 5]], [2, [4, 3, 5]], [-1, [2, 7]], [0, [9]], [1, [3, 1, 3]]];
  for (const dtype of DT) {
    it.each(AXES)(`${dtype} axis %s of %j`, async (axis, shape) => {
      const a = shape[axis < 0 ? axis + shape.length : axis];
      for (const idt of ['i32', 'u32'] as const) {
        await checkOp((x, i) => lb.indexSelect(x, axis, i), [
          { dtype, shape, gen },
          { dtype: idt, shape: [5], data: ids(idt, 5, a, 3) },
        ], EXACT);
      }
    });
  }

  it('a permuted view and a strided ids view', async () => {
    await checkOp((x, i) => lb.indexSelect(x, 1, i), [
      { dtype: 'bf16', shape: [3, 4, 5], view: (t) => t.permute([2, 0, 1]) },
      { dtype: 'i32', shape: [7], data: encodeRaw([2, 0, 1, 1, 0, 2, 2], 'i32'), view: (t) => t.slice([0, 7, 2]) },
    ], EXACT);
  });
});

describe('concat', () => {
  const CASES: [string, number, number[][]][] = [
    ['axis 0, two', 0, [[2, 3], [4, 3]]],
    ['axis 1, odd widths', 1, [[2, 3], [2, 1], [2, 5]]],
    ['axis -1, five inputs', -1, [[3, 1], [3, 2], [3, 3], [3, 1], [3, 7]]],
    ['axis 1 of 3-D', 1, [[2, 1, 3], [2, 2, 3], [2, 1, 3]]],
    ['axis 2 of 3-D, odd', 2, [[3, 2, 1], [3, 2, 1], [3, 2, 3]]],
    ['one input', 0, [[5]]],
    ['a zero-size input', 1, [[2, 3], [2, 0], [2, 2]]],
    ['only one non-empty', 1, [[3, 0], [3, 5], [3, 0]]],
    ['all empty', 0, [[0, 4], [0, 4]]],
    ['1-D odd', 0, [[3], [1], [5], [2]]],
  ];
  for (const dtype of DT) {
    describe(dtype, () => {
      it.each(CASES)('%s', async (label, axis, shapes) => {
        await checkOp((...xs) => lb.concat(xs, axis), shapes.map((shape) => ({ dtype, shape, gen })), { ...EXACT, seed: seedOf(label + dtype) });
      });
    });
  }

  it.each(['f32', 'f16', 'bf16', 'i32'] as DType[])('views and lazy inputs are copied once (%s)', async (dtype) => {
    const inputs: InputSpec[] = [
      { dtype, shape: [5, 3], view: (t) => t.transpose() },
      { dtype, shape: [3, 1], view: (t) => t.expand([3, 2]) },
      { dtype, shape: [3, 9], view: (t) => t.slice(null, [1, 8, 3]) },
      { dtype, shape: [3, 4] },
    ];
    await checkOp((a, b, c, d) => lb.tidy(() => lb.concat([a, b, c, d.add(d)], 1)), inputs.map((s) => ({ ...s, gen: { intRange: 100, ints: 100 } })), EXACT);
    const x = lb.ones([2, 3], { dtype });
    const z = lb.ones([3, 2], { dtype });
    await Promise.all([x.data(), z.data()]);
    const before = lb.streamStats().dispatches;
    const y = lb.tidy(() => lb.concat([x, x.add(x), z.transpose()], 0));
    await y.data();
    // One dispatch per input: the lazy add and the transposed view fuse into theirs.
    expect(lb.streamStats().dispatches - before).toBe(3);
    expectClose(await y.data(), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1], { dtype, exact: true });
    for (const t of [x, z, y]) t.dispose();
  });

  it('mixed dtypes promote; the cast is fused', async () => {
    const cases: [DType, DType, DType][] = [['f16', 'f32', 'f32'], ['i32', 'f16', 'f16'], ['bf16', 'f16', 'f32'], ['u32', 'bf16', 'bf16']];
    for (const [a, b, want] of cases) {
      const got = await checkOp((x, y) => lb.concat([x, y], 0), [{ dtype: a, shape: [3], gen: { intRange: 3000, scale: 3000 } }, { dtype: b, shape: [2], gen }], EXACT);
      expect(got.length).toBe(5);
      const x = lb.zeros([1], { dtype: a });
      const y = lb.zeros([1], { dtype: b });
      const c = lb.concat([x, y]);
      expect(c.dtype).toBe(want);
      for (const t of [x, y, c]) t.dispose();
    }
  });

  it('no shader-f16 path', async () => {
    const features = lb.device()!.features as { f16: boolean };
    const saved = features.f16;
    features.f16 = false;
    try {
      await checkOp((a, b) => lb.concat([a, b], 1), [{ dtype: 'f16', shape: [3, 3] }, { dtype: 'f16', shape: [3, 2] }], EXACT);
      await checkOp((t, i) => lb.gather(t, i), [{ dtype: 'f16', shape: [4, 3] }, { dtype: 'i32', shape: [3], data: encodeRaw([3, -1, 0], 'i32') }], EXACT);
    } finally {
      features.f16 = saved;
    }
  });

  it('errors name the op and shapes', () => {
    const a = lb.zeros([2, 3]);
    const b = lb.zeros([3, 3]);
    const i = lb.zeros([2], { dtype: 'i32' });
    const u = lb.zeros([2], { dtype: 'u32' });
    const f = lb.zeros([2]);
    const s = lb.zeros([]);
    const c = lb.zeros([2, 3], { device: 'cpu' });
    const i2 = lb.zeros([2, 2], { dtype: 'i32' });
    try {
      expect(() => lb.concat([a, b], 1)).toThrow(lb.ShapeError);
      expect(() => lb.concat([a, b], 1)).toThrow(/concat: all inputs must have the same shape except along axis 1.*\[2, 3\], \[3, 3\]/);
      expect(() => lb.concat([a, a], 2)).toThrow(/axis 2 is out of range/);
      expect(() => lb.concat([])).toThrow(lb.ShapeError);
      expect(() => lb.concat([s, s])).toThrow(/0-d/);
      expect(() => lb.concat([i, u])).toThrow(lb.DTypeError);
      expect(() => lb.concat([a, c])).toThrow(/different devices/);
      expect(() => lb.gather(a, f)).toThrow(/gather: ids must be i32 or u32, got f32/);
      expect(() => lb.gather(s, i)).toThrow(lb.ShapeError);
      expect(() => lb.indexSelect(a, 0, i2)).toThrow(/indexSelect: ids must be 1-D/);
      expect(() => lb.indexSelect(a, 3, i)).toThrow(lb.ShapeError);
    } finally {
      for (const t of [a, b, i, u, f, s, c, i2] as Tensor[]) t.dispose();
    }
  });

  it('known values', async () => {
    const a = lb.tensor([[1, 2], [3, 4]], undefined, { dtype: 'f16' });
    const b = lb.tensor([[5], [6]], undefined, { dtype: 'f16' });
    const c = lb.concat([a, b, a], 1);
    expectClose(await c.data(), [1, 2, 5, 1, 2, 3, 4, 6, 3, 4], { dtype: 'f16', exact: true });
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('raw-bit row copies (16, 8 and 4 bytes per thread)', () => {
  // Row lengths that give each unit width per dtype, and ones that do not fit any (value() path).
  const WIDTHS = [1, 2, 3, 4, 6, 8, 12, 16];
  it.each(DT)('gather rows of every width, out-of-range ids, a row-sliced table (%s)', async (dtype) => {
    for (const w of WIDTHS) {
      const data = ids('i32', 9, 6, w);
      await checkOp((t, i) => lb.gather(t, i), [{ dtype, shape: [6, w], gen }, { dtype: 'i32', shape: [9], data }], { ...EXACT, label: `[6, ${w}]` });
      // Rows 1..5 of a table: the offset is one row.
      await checkOp((t, i) => lb.gather(t, i), [{ dtype, shape: [7, w], gen, view: (t) => t.slice([1, 7]) }, { dtype: 'u32', shape: [9], data: encodeRaw(Array.from(data, (v) => v + 2), 'u32') }], { ...EXACT, label: `slice [7, ${w}]` });
    }
    // Columns 4..12 of [5, 16]: rows of 8 at a row stride of 16; indexSelect along axis 1 of [2, 3, 8].
    await checkOp((t, i) => lb.gather(t, i), [{ dtype, shape: [5, 16], gen, view: (t) => t.slice(null, [4, 12]) }, { dtype: 'i32', shape: [4], data: encodeRaw([4, 0, 9, 2], 'i32') }], EXACT);
    await checkOp((t, i) => lb.indexSelect(t, 1, i), [{ dtype, shape: [2, 3, 8], gen }, { dtype: 'i32', shape: [5], data: encodeRaw([2, 2, 0, -1, 1], 'i32') }], EXACT);
  });

  it('rows of more than 1024 units are cut into chunks', async () => {
    await checkOp((t, i) => lb.gather(t, i), [{ dtype: 'f32', shape: [3, 4104], gen }, { dtype: 'i32', shape: [4], data: encodeRaw([2, 0, 5, 1], 'i32') }], EXACT);
    await checkOp((t, i) => lb.indexSelect(t, 1, i), [{ dtype: 'f16', shape: [2, 3, 8200], gen }, { dtype: 'u32', shape: [2], data: encodeRaw([2, 1], 'u32') }], EXACT);
    await checkOp((a, b) => lb.concat([a, b], 0), [{ dtype: 'f32', shape: [8200], gen }, { dtype: 'f32', shape: [4], gen }], EXACT);
    await checkOp((a, b) => lb.concat([a, b], 1), [{ dtype: 'f32', shape: [3, 4100], gen }, { dtype: 'f32', shape: [3, 8], gen }], EXACT);
  });

  it('NaN payloads, -0 and subnormals are copied bit for bit', async () => {
    const f = new Float32Array([NaN, -0, 2 ** -149, -Infinity, 1, 2, 3, 4]);
    new Uint32Array(f.buffer)[0] = 0x7fa00001;
    const t = lb.tensor(f, [2, 4]);
    const i = lb.tensor([1, 0, 1], [3], { dtype: 'i32' });
    const y = lb.gather(t, i);
    const c = lb.tidy(() => lb.concat([t, t.slice([1, 2])], 0));
    const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
    const src = bits(f);
    expect(bits(await y.data())).toEqual([...src.slice(4), ...src.slice(0, 4), ...src.slice(4)]);
    expect(bits(await c.data())).toEqual([...src, ...src.slice(4)]);
    for (const x of [t, i, y, c]) x.dispose();
  });

  it.each(DT)('concat of aligned and unaligned blocks, slices at offsets (%s)', async (dtype) => {
    const cases: [number, number[][]][] = [
      [0, [[3, 8], [5, 8]]], [1, [[2, 4], [2, 8], [2, 4]]], [1, [[3, 2], [3, 6]]], [1, [[2, 8], [2, 3]]], [-1, [[2, 2, 4], [2, 2, 4]]],
    ];
    for (const [axis, shapes] of cases) {
      await checkOp((...xs) => lb.concat(xs, axis), shapes.map((shape) => ({ dtype, shape, gen })), { ...EXACT, label: `axis ${axis} ${JSON.stringify(shapes)}` });
    }
    // Two halves of one tensor (row offsets) and a column slice (block stride 12, offset 4).
    await checkOp((a, b) => lb.tidy(() => lb.concat([a.slice([2, 4]), a.slice([0, 2]), b], 0)), [{ dtype, shape: [4, 8], gen }, { dtype, shape: [3, 12], gen, view: (t) => t.slice(null, [4, 12]) }], EXACT);
  });
});
