// ggml block quantization on the CPU: the reference dequantization (the test oracle of
// wgsl/_quant.wgsl, bit-exact: scales are f16 widened to f32, q * d is exact in f32, and
// + m rounds once either way, so a fused multiply-add on the GPU gives the same bits) and the
// reference quantizers for Q8_0 and Q4_0 (ggml's quantize_row_*_ref, in f32 arithmetic). The
// K-quant quantizers are in src/cpu/quantize.ts.
import { f16BitsToF32, f32ToF16Bits } from '../tensor/half.js';

export type QuantType = 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0' | 'q4_k' | 'q5_k' | 'q6_k';

/** Elements per block and bytes per block of each type (ggml's block_q* structs), and its ggml type id. */
export const QUANT_LAYOUT: Readonly<Record<QuantType, { block: number; bytes: number; ggml: number }>> = {
  q8_0: { block: 32, bytes: 34, ggml: 8 }, // f16 d, i8 qs[32]
  q4_0: { block: 32, bytes: 18, ggml: 2 }, // f16 d, u8 qs[16] (low nibbles: elements 0..15)
  q4_1: { block: 32, bytes: 20, ggml: 3 }, // f16 d, f16 m, u8 qs[16]
  q5_0: { block: 32, bytes: 22, ggml: 6 }, // f16 d, u8 qh[4] (bit j: high bit of element j), u8 qs[16]
  q5_1: { block: 32, bytes: 24, ggml: 7 }, // f16 d, f16 m, u8 qh[4], u8 qs[16]
  // Super-blocks of 256: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32,
  // (Q5_K: u8 qh[32], bit c of qh[l]: high bit of element 32c + l), u8 qs[128] (64 elements per 32 bytes).
  q4_k: { block: 256, bytes: 144, ggml: 12 },
  q5_k: { block: 256, bytes: 176, ggml: 13 },
  // u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), i8 scales[16] (one per 16 elements), f16 d.
  q6_k: { block: 256, bytes: 210, ggml: 14 },
};

export const QUANT_TYPES = Object.keys(QUANT_LAYOUT) as QuantType[];

const fr = Math.fround;
const half = (b: Uint8Array, i: number) => f16BitsToF32(b[i] | (b[i + 1] << 8));

/** `n` f32 values from raw blocks (n a multiple of the block size). */
export function dequantizeBlocks(type: QuantType, raw: Uint8Array, n: number): Float32Array {
  const { bytes, block } = QUANT_LAYOUT[type];
  const out = new Float32Array(n);
  if (block === 256) {
    for (let b = 0; b < n / 256; b++) (type === 'q6_k' ? dequantQ6K : dequantQ45K)(raw, b * bytes, out.subarray(b * 256, b * 256 + 256), type === 'q5_k');
    return out;
  }
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

/** ggml get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes at `s`. */
export function scaleMinK4(raw: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [raw[s + j] & 63, raw[s + j + 4] & 63];
  return [(raw[s + j + 4] & 15) | ((raw[s + j - 4] >> 6) << 4), (raw[s + j + 4] >> 4) | ((raw[s + j] >> 6) << 4)];
}

/** One Q4_K or Q5_K super-block at byte `o`: sub-block j = d * sc_j * q - dmin * m_j. */
function dequantQ45K(raw: Uint8Array, o: number, y: Float32Array, five: boolean): void {
  const d = half(raw, o);
  const dmin = half(raw, o + 2);
  const qs = o + (five ? 48 : 16);
  for (let c = 0; c < 4; c++) {
    // 32 bytes of qs hold sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles).
    for (const hi of [0, 1]) {
      const [sc, m] = scaleMinK4(raw, o + 4, 2 * c + hi);
      const d1 = fr(d * sc);
      const m1 = fr(dmin * m);
      for (let l = 0; l < 32; l++) {
        let q = hi ? raw[qs + 32 * c + l] >> 4 : raw[qs + 32 * c + l] & 15;
        if (five) q |= ((raw[o + 16 + l] >> (2 * c + hi)) & 1) << 4;
        y[64 * c + 32 * hi + l] = fr(fr(d1 * q) - m1);
      }
    }
  }
}

/** One Q6_K super-block at byte `o`: two halves of 128, each 64 ql bytes, 32 qh bytes, 8 scales. */
function dequantQ6K(raw: Uint8Array, o: number, y: Float32Array): void {
  const d = half(raw, o + 208);
  for (let h = 0; h < 2; h++) {
    const ql = o + 64 * h;
    const qh = o + 128 + 32 * h;
    for (let l = 0; l < 32; l++) {
      // Element 32k + l of the half: nibble k >> 1 of ql[l + 32 (k & 1)], bits 2k of qh[l].
      for (let k = 0; k < 4; k++) {
        const lo = (raw[ql + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 15;
        const q = (lo | (((raw[qh + l] >> (2 * k)) & 3) << 4)) - 32;
        const sc = (raw[o + 192 + 8 * h + 2 * k + (l >> 4)] << 24) >> 24;
        y[128 * h + 32 * k + l] = fr(fr(d * sc) * q);
      }
    }
  }
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
