// Guards the test helpers against silently passing: expectClose must catch differences in value,
// sign of zero, NaN and 16-bit rounding, and random data must be deterministic.
import { describe, expect, it } from 'vitest';
import { FLOATS, INTS, useGpu, expectClose, pair, randomData, rng } from './helpers.js';

useGpu();

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
