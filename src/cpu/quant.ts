// ggml block quantization on the CPU: the reference dequantization (the test oracle of
// wgsl/dequant.wgsl, bit-exact: scales are f16 widened to f32, q * d is exact in f32, and
// + m rounds once either way, so a fused multiply-add on the GPU gives the same bits) and the
// reference quantizers for Q8_0 and Q4_0 (ggml's quantize_row_*_ref, in f32 arithmetic).
import { f16BitsToF32, f32ToF16Bits } from '../tensor/half.js';

export type QuantType = 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0';

/** Elements per block and bytes per block of each type (ggml's block_q* structs). */
export const QUANT_LAYOUT: Readonly<Record<QuantType, { block: number; bytes: number; kind: number }>> = {
  q8_0: { block: 32, bytes: 34, kind: 0 }, // f16 d, i8 qs[32]
  q4_0: { block: 32, bytes: 18, kind: 1 }, // f16 d, u8 qs[16] (low nibbles: elements 0..15)
  q4_1: { block: 32, bytes: 20, kind: 2 }, // f16 d, f16 m, u8 qs[16]
  q5_0: { block: 32, bytes: 22, kind: 3 }, // f16 d, u8 qh[4] (bit j: high bit of element j), u8 qs[16]
  q5_1: { block: 32, bytes: 24, kind: 4 }, // f16 d, f16 m, u8 qh[4], u8 qs[16]
};

const fr = Math.fround;
const half = (b: Uint8Array, i: number) => f16BitsToF32(b[i] | (b[i + 1] << 8));

/** `n` f32 values from raw blocks (n a multiple of 32). */
export function dequantizeBlocks(type: QuantType, raw: Uint8Array, n: number): Float32Array {
  const { bytes } = QUANT_LAYOUT[type];
  const out = new Float32Array(n);
  for (let b = 0; b < n / 32; b++) {
    const o = b * bytes;
    const d = half(raw, o);
    const y = b * 32;
    switch (type) {
      case 'q8_0':
        for (let j = 0; j < 32; j++) out[y + j] = fr(((raw[o + 2 + j] << 24) >> 24) * d);
        break;
      case 'q4_0':
        for (let j = 0; j < 16; j++) {
          out[y + j] = fr(((raw[o + 2 + j] & 15) - 8) * d);
          out[y + j + 16] = fr(((raw[o + 2 + j] >> 4) - 8) * d);
        }
        break;
      case 'q4_1': {
        const m = half(raw, o + 2);
        for (let j = 0; j < 16; j++) {
          out[y + j] = fr(fr((raw[o + 4 + j] & 15) * d) + m);
          out[y + j + 16] = fr(fr((raw[o + 4 + j] >> 4) * d) + m);
        }
        break;
      }
      case 'q5_0':
      case 'q5_1': {
        const one = type === 'q5_1';
        const m = one ? half(raw, o + 2) : 0;
        const h = one ? o + 4 : o + 2;
        const qh = (raw[h] | (raw[h + 1] << 8) | (raw[h + 2] << 16) | (raw[h + 3] << 24)) >>> 0;
        for (let j = 0; j < 16; j++) {
          const q0 = (raw[h + 4 + j] & 15) | (((qh >>> j) & 1) << 4);
          const q1 = (raw[h + 4 + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          out[y + j] = one ? fr(fr(q0 * d) + m) : fr((q0 - 16) * d);
          out[y + j + 16] = one ? fr(fr(q1 * d) + m) : fr((q1 - 16) * d);
        }
        break;
      }
    }
  }
  return out;
}

/** C's roundf: halves away from zero. */
const roundf = (x: number) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

function setHalf(out: Uint8Array, i: number, v: number): void {
  const bits = f32ToF16Bits(v);
  out[i] = bits & 0xff;
  out[i + 1] = bits >> 8;
}

/** ggml quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d). `x.length` a multiple of 32. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    setHalf(out, b * 34, d);
    for (let j = 0; j < 32; j++) out[b * 34 + 2 + j] = roundf(fr(x[b * 32 + j] * id)) & 0xff;
  }
  return out;
}

/** ggml quantize_row_q4_0_ref: d = max / -8 (max: the value of largest magnitude), q = min(15, trunc(x / d + 8.5)). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    setHalf(out, b * 18, d);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(fr(fr(x[b * 32 + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(x[b * 32 + 16 + j] * id) + 8.5)));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}
