// Quantizers that write ggml blocks (for tests, benchmarks and examples): Q4_1, Q5_0, Q5_1 after
// ggml's quantize_row_*_ref, and K-quants that guarantee a range: every scale and min is rounded
// up, so each value lies inside its sub-block's grid and is off by at most half a step. ggml's own
// K-quant quantizers search scales to minimise the squared error instead; any valid block decodes
// the same way, which is what the readers and kernels are checked against.
import { f16BitsToF32, f32ToF16Bits } from '../tensor/half.js';
import { QUANT_LAYOUT, quantizeQ4_0, quantizeQ8_0, type QuantType } from './quant.js';

const fr = Math.fround;

function setHalfBits(out: Uint8Array, i: number, bits: number): void {
  out[i] = bits & 0xff;
  out[i + 1] = bits >> 8;
}

/** The smallest f16 at or above v (v >= 0): its bits and value. */
function f16Up(v: number): [number, number] {
  let bits = f32ToF16Bits(v);
  if (f16BitsToF32(bits) < v) bits++;
  return [bits, f16BitsToF32(bits)];
}

function minMax(x: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** The value of largest magnitude (ggml's `max` in quantize_row_q4_0_ref). */
function signedMax(x: Float32Array): number {
  let amax = 0;
  let max = 0;
  for (const v of x) {
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** Q4_1 and Q5_1 (ggml ref): d = (max - min) / levels, m = min, q = min(levels, trunc((x - min) / d + 0.5)). */
function quantizeAffine(x: Float32Array, five: boolean): Uint8Array {
  const size = five ? 24 : 20;
  const levels = five ? 31 : 15;
  const out = new Uint8Array((x.length / 32) * size);
  for (let b = 0; b < x.length / 32; b++) {
    const xb = x.subarray(b * 32, b * 32 + 32);
    const o = b * size;
    const [min, max] = minMax(xb);
    const d = fr((max - min) / levels);
    const id = d ? fr(1 / d) : 0;
    setHalfBits(out, o, f32ToF16Bits(d));
    setHalfBits(out, o + 2, f32ToF16Bits(min));
    const q = Array.from(xb, (v) => Math.min(levels, Math.trunc(fr(fr(fr(v - min) * id) + 0.5))));
    packLegacy(out, o + 4, q, five);
  }
  return out;
}

/** Q5_0 (ggml ref): d = max / -16, q = min(31, trunc(x / d + 16.5)). */
function quantizeQ5_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 22);
  for (let b = 0; b < x.length / 32; b++) {
    const xb = x.subarray(b * 32, b * 32 + 32);
    const d = fr(signedMax(xb) / -16);
    const id = d ? fr(1 / d) : 0;
    setHalfBits(out, b * 22, f32ToF16Bits(d));
    packLegacy(out, b * 22 + 2, Array.from(xb, (v) => Math.min(31, Math.trunc(fr(fr(v * id) + 16.5)))), true);
  }
  return out;
}

/** qs (element j low nibble of byte j, j + 16 high nibble), after a u32 qh of fifth bits when `five`. */
function packLegacy(out: Uint8Array, at: number, q: number[], five: boolean): void {
  let qh = 0;
  for (let j = 0; j < 32; j++) if (q[j] & 16) qh |= 1 << j;
  if (five) new DataView(out.buffer, out.byteOffset).setUint32(at, qh >>> 0, true);
  const qs = at + (five ? 4 : 0);
  for (let j = 0; j < 16; j++) out[qs + j] = (q[j] & 15) | ((q[j + 16] & 15) << 4);
}

/** Packs 6-bit scales and mins of sub-blocks 0..7 the way get_scale_min_k4 reads them. */
function packScalesK4(out: Uint8Array, at: number, sc: number[], m: number[]): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      out[at + j] |= sc[j];
      out[at + j + 4] |= m[j];
    } else {
      out[at + j + 4] = (sc[j] & 15) | ((m[j] & 15) << 4);
      out[at + j - 4] |= (sc[j] >> 4) << 6;
      out[at + j] |= (m[j] >> 4) << 6;
    }
  }
}

/**
 * Q4_K / Q5_K: per sub-block of 32, min = -min(0, lowest) and scale = (highest + min) / levels,
 * each rounded up to a 6-bit multiple of the super-block's f16 dmin / d (also rounded up).
 */
function quantizeK45(x: Float32Array, five: boolean): Uint8Array {
  const size = five ? 176 : 144;
  const levels = five ? 31 : 15;
  const out = new Uint8Array((x.length / 256) * size);
  for (let b = 0; b < x.length / 256; b++) {
    const xb = x.subarray(b * 256, b * 256 + 256);
    const o = b * size;
    const ranges = Array.from({ length: 8 }, (_, j) => minMax(xb.subarray(32 * j, 32 * j + 32)));
    const mins = ranges.map(([lo]) => -Math.min(0, lo));
    const [dminBits, dmin] = f16Up(Math.max(...mins) / 63);
    const m = mins.map((v) => (dmin > 0 ? Math.min(63, Math.ceil(v / dmin)) : 0));
    const m1 = m.map((v) => fr(dmin * v));
    const need = ranges.map(([, hi], j) => Math.max(0, (hi + m1[j]) / levels));
    const [dBits, d] = f16Up(Math.max(...need) / 63);
    const sc = need.map((v) => (d > 0 ? Math.min(63, Math.ceil(v / d)) : 0));
    setHalfBits(out, o, dBits);
    setHalfBits(out, o + 2, dminBits);
    packScalesK4(out, o + 4, sc, m);
    const qs = o + (five ? 48 : 16);
    for (let e = 0; e < 256; e++) {
      const j = e >> 5;
      const d1 = fr(d * sc[j]);
      const q = d1 > 0 ? Math.max(0, Math.min(levels, Math.round((xb[e] + m1[j]) / d1))) : 0;
      // Element 64c + 32hi + l: nibble hi of qs[32c + l]; Q5_K: bit 2c + hi of qh[l].
      const l = e & 31;
      out[qs + 32 * (e >> 6) + l] |= (q & 15) << (4 * ((e >> 5) & 1));
      if (five) out[o + 16 + l] |= (q >> 4) << j;
    }
  }
  return out;
}

/** Q6_K: per sub-block of 16, scale = max|x| / 31 rounded up to an int8 multiple of the f16 d. */
function quantizeQ6K(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 256) * 210);
  for (let b = 0; b < x.length / 256; b++) {
    const xb = x.subarray(b * 256, b * 256 + 256);
    const o = b * 210;
    const need = Array.from({ length: 16 }, (_, j) => Math.max(...Array.from(xb.subarray(16 * j, 16 * j + 16), Math.abs)) / 31);
    const [dBits, d] = f16Up(Math.max(...need) / 127);
    const sc = need.map((v) => (d > 0 ? Math.min(127, Math.ceil(v / d)) : 0));
    setHalfBits(out, o + 208, dBits);
    for (let e = 0; e < 256; e++) {
      const s = fr(d * sc[e >> 4]);
      const q = (s > 0 ? Math.max(-32, Math.min(31, Math.round(xb[e] / s))) : 0) + 32;
      // Element 128h + 32k + l: nibble k >> 1 of ql[64h + 32(k & 1) + l], bits 2k of qh[32h + l].
      const h = e >> 7;
      const k = (e >> 5) & 3;
      const l = e & 31;
      out[o + 64 * h + 32 * (k & 1) + l] |= (q & 15) << (4 * (k >> 1));
      out[o + 128 + 32 * h + l] |= (q >> 4) << (2 * k);
    }
    for (let j = 0; j < 16; j++) out[o + 192 + j] = sc[j] & 0xff;
  }
  return out;
}

/** Blocks of `type` for `x` (its length a multiple of the block size). */
export function quantize(type: QuantType, x: Float32Array): Uint8Array {
  const { block } = QUANT_LAYOUT[type];
  if (x.length % block !== 0) throw new RangeError(`quantize ${type}: ${x.length} values is not a multiple of the block size ${block}`);
  switch (type) {
    case 'q8_0': return quantizeQ8_0(x);
    case 'q4_0': return quantizeQ4_0(x);
    case 'q4_1': return quantizeAffine(x, false);
    case 'q5_0': return quantizeQ5_0(x);
    case 'q5_1': return quantizeAffine(x, true);
    case 'q4_k': return quantizeK45(x, false);
    case 'q5_k': return quantizeK45(x, true);
    case 'q6_k': return quantizeQ6K(x);
  }
}
