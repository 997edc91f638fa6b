// Bad shapes, dtypes and devices throw typed errors at the call, not at data(), on the GPU and in
// the CPU reference alike, and leave no GPU buffer behind.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType } from '../src/index.js';
import { useGpu } from './helpers.js';

useGpu();

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
