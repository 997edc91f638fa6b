// CPU reference for random numbers: the same Threefry-2x32 stream as wgsl/random.wgsl, and the
// same mapping to uniform / normal values (normal: Box-Muller with f32 steps).
import type { DType } from '../tensor/dtype.js';
import { cpuTensor } from './access.js';

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

function rounds4(x: [number, number], rs: readonly number[]): void {
  for (const r of rs) {
    x[0] = (x[0] + x[1]) >>> 0;
    x[1] = (rotl(x[1], r) ^ x[0]) >>> 0;
  }
}

const ROT_A = [13, 15, 26, 6];
const ROT_B = [17, 29, 16, 24];

/** Threefry-2x32 with 20 rounds (Random123): two u32 words for counter (c0, c1) under key (k0, k1). */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  const x: [number, number] = [(c0 + ks[0]) >>> 0, (c1 + ks[1]) >>> 0];
  for (let s = 1; s <= 5; s++) {
    rounds4(x, s % 2 === 1 ? ROT_A : ROT_B);
    x[0] = (x[0] + ks[s % 3]) >>> 0;
    x[1] = (x[1] + ks[(s + 1) % 3] + s) >>> 0;
  }
  return x;
}

/** Significand bits of a uniform sample per float dtype: every value is exact in the dtype. */
export const UNIFORM_BITS: Readonly<Record<string, number>> = { f32: 24, f16: 11, bf16: 8 };

const f = Math.fround;
const TWO_PI = f(2 * Math.PI);
const PI = f(Math.PI);

/** Element e of the stream for (k0, k1): uniform in [0, 1) or standard normal, as an f32 value. */
export function sample(k0: number, k1: number, e: number, normal: boolean, dtype: DType): number {
  if (!normal) {
    const bits = UNIFORM_BITS[dtype];
    return (threefry2x32(k0, k1, e, 0)[0] >>> (32 - bits)) * 2 ** -bits;
  }
  const [w0, w1] = threefry2x32(k0, k1, e, 1);
  const u1 = ((w0 >>> 8) + 1) * 2 ** -24;
  const u2 = (w1 >>> 8) * 2 ** -24;
  const r = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
  return f(r * -f(Math.cos(f(f(u2 * TWO_PI) - PI))));
}

export function random(shape: readonly number[], dtype: DType, k0: number, k1: number, normal: boolean): ReturnType<typeof cpuTensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let e = 0; e < n; e++) out[e] = sample(k0, k1, e, normal, dtype);
  return cpuTensor(out, shape, dtype);
}
