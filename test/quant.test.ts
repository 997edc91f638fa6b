// K-quants (Q4_K, Q5_K, Q6_K) and the quantizers: hand-built super-blocks decode to the values the
// ggml layout gives, quantize -> dequantize stays within half a quantization step, the GPU decodes
// every block type bit-exactly like the CPU (several super-blocks, odd row counts, zero, subnormal,
// Inf and NaN scales), loaded through GGUF on both devices.
import { describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import { dequantizeBlocks, QUANT_LAYOUT, QUANT_TYPES, type QuantType } from '../src/cpu/quant.js';
import { quantize } from '../src/cpu/quantize.js';
import { writeGguf } from '../src/formats/gguf-write.js';
import { withDequantConfig } from '../src/formats/quant.js';
import { f16BitsToF32, f32ToF16Bits } from '../src/tensor/half.js';
import { expectClose, rng, useGpu } from './helpers.js';

useGpu();

const half = (b: Uint8Array, i: number) => f16BitsToF32(b[i] | (b[i + 1] << 8));
const setHalf = (b: Uint8Array, i: number, v: number) => {
  const bits = f32ToF16Bits(v);
  b[i] = bits & 0xff;
  b[i + 1] = bits >> 8;
};
const randn = (rand: () => number, n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);

async function gpuDequant(type: QuantType, raw: Uint8Array, shape: number[]): Promise<Float32Array> {
  const file = writeGguf({ tensors: [{ name: 'w', type: QUANT_LAYOUT[type].ggml, dims: [...shape].reverse(), data: raw }] });
  const r = await lb.loadGguf(file);
  const q = r.tensors.w as lb.QuantizedTensor;
  expect([q.type, q.shape, q.byteLength]).toEqual([type, shape, raw.length]);
  const d = q.dequantize();
  try {
    return (await d.data()) as Float32Array;
  } finally {
    d.dispose();
    q.dispose();
  }
}

describe('K-quant layouts', () => {
  it('Q4_K and Q5_K: packed 6-bit scales and mins, nibbles of 32-byte groups, Q5_K high bits', () => {
    for (const five of [false, true]) {
      const b = new Uint8Array(five ? 176 : 144);
      setHalf(b, 0, 1); // d
      setHalf(b, 2, 0.5); // dmin
      // Sub-block 0: sc 2, m 4 (bytes 0 and 4). Sub-block 5: sc 37, m 50 (low bits in byte 9, high in the top of bytes 1 and 5).
      b[4] = 2;
      b[8] = 4;
      b[4 + 9] = (37 & 15) | ((50 & 15) << 4);
      b[4 + 1] |= (37 >> 4) << 6;
      b[4 + 5] |= (50 >> 4) << 6;
      const qs = five ? 48 : 16;
      b[qs + 0] = 7; // element 0: low nibble of qs[0]
      b[qs + 64 + 3] = 9 << 4; // element 163 = 64 * 2 + 32 + 3: high nibble of qs[64 + 3]
      if (five) b[16 + 3] = 1 << 5; // its fifth bit: bit 5 (sub-block) of qh[3]
      const y = dequantizeBlocks(five ? 'q5_k' : 'q4_k', b, 256);
      expect(y[0]).toBe(1 * 2 * 7 - 0.5 * 4);
      expect(y[163]).toBe(1 * 37 * (five ? 25 : 9) - 0.5 * 50);
      expect(y[1]).toBe(-2); // q = 0: -dmin * m
      expect(y[160]).toBe(-25);
      expect(y[32]).toBe(0); // sub-block 1: sc = m = 0
    }
  });

  it('Q6_K: ql nibbles, qh bit pairs, int8 scales per 16, d at the end', () => {
    const b = new Uint8Array(210);
    setHalf(b, 208, 0.5);
    b[192 + 0] = -3 & 0xff;
    b[192 + 12] = 100;
    b[0] = 5; // element 0: low nibble of ql[0]
    b[128] = 2; // bits 0..1 of qh[0]: q = 5 | 2 << 4 = 37
    // Element 200 = 128 + 32 * 2 + 8: high nibble of ql[64 + 8], bits 4..5 of qh[32 + 8].
    b[64 + 8] = 0xa << 4;
    b[128 + 32 + 8] = 1 << 4;
    const y = dequantizeBlocks('q6_k', b, 256);
    expect(y[0]).toBe(0.5 * -3 * (37 - 32));
    expect(y[200]).toBe(0.5 * 100 * (26 - 32));
    expect(y[1]).toBe(0.5 * -3 * -32);
    expect(y[16]).toBe(-0); // scale 0
  });
});

describe('quantize -> dequantize', () => {
  const steps: Record<QuantType, number> = { q8_0: 127, q4_0: 8, q4_1: 15, q5_0: 16, q5_1: 31, q4_k: 15, q5_k: 31, q6_k: 31 };
  for (const type of QUANT_TYPES) {
    it(`${type}: every value within half a step (plus the f16 rounding of the scales)`, () => {
      const { block, bytes } = QUANT_LAYOUT[type];
      const rand = rng(block + bytes);
      const x = randn(rand, block * 5, 4);
      x.subarray(block, 2 * block).fill(0); // an all-zero block: scales 0
      x.subarray(2 * block, 3 * block).forEach((_, i, a) => (a[i] = 1 + rand())); // all positive: min 0 for the K-quants
      const raw = quantize(type, x);
      expect(raw.length).toBe(5 * bytes);
      const y = dequantizeBlocks(type, raw, x.length);
      expect(Array.from(y.subarray(block, 2 * block)).every((v) => v === 0)).toBe(true);
      const sub = type === 'q6_k' ? 16 : 32;
      for (let s = 0; s < x.length / sub; s++) {
        const xs = x.subarray(s * sub, s * sub + sub);
        const lo = Math.min(0, ...xs);
        const hi = Math.max(...xs);
        const amax = Math.max(-lo, hi);
        const b = Math.floor((s * sub) / block) * bytes;
        let bound: number;
        if (type === 'q4_k' || type === 'q5_k') {
          // Half of d * sc, which is at most the sub-block's range / levels plus one step of d and dmin.
          bound = 0.5 * ((hi - lo + half(raw, b + 2)) / steps[type] + half(raw, b)) * 1.0001;
        } else if (type === 'q6_k') {
          bound = 0.5 * (amax / 31 + half(raw, b + 208)) * 1.0001;
        } else if (type === 'q4_1' || type === 'q5_1') {
          // Scale and min are rounded to f16 (2^-11 relative each) after the scale is chosen.
          bound = 0.5 * ((hi - Math.min(...xs)) / steps[type]) * 1.01 + Math.abs(Math.min(...xs)) * 2 ** -11 + 1e-6;
        } else {
          bound = (type === 'q8_0' ? 0.57 : 1.01) * (amax / steps[type]) + 1e-7;
        }
        for (let i = 0; i < sub; i++) {
          const e = s * sub + i;
          expect(Math.abs(y[e] - x[e]), `${type} element ${e}: ${x[e]} -> ${y[e]}`).toBeLessThanOrEqual(bound);
        }
      }
    });
  }
});

describe('GPU dequantization', () => {
  for (const type of ['q4_k', 'q5_k', 'q6_k'] as const) {
    it(`${type}: quantized data, several super-blocks, odd row counts: GPU equals the CPU bit for bit`, async () => {
      const rand = rng(QUANT_LAYOUT[type].ggml);
      for (const shape of [[1, 256], [3, 512], [7, 768]]) {
        const x = randn(rand, shape[0] * shape[1], 20);
        const raw = quantize(type, x);
        expectClose(await gpuDequant(type, raw, shape), dequantizeBlocks(type, raw, x.length), { dtype: 'f32', exact: true, label: `${type} [${shape}]` });
      }
    });
  }

  it('every type: random raw blocks with zero, subnormal, max, Inf and NaN scales decode the same on GPU and CPU', async () => {
    const rand = rng(4242);
    const specials = [0x0000, 0x8000, 0x0001, 0x03ff, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00];
    for (const type of QUANT_TYPES) {
      const { block, bytes } = QUANT_LAYOUT[type];
      const blocks = 11;
      const raw = Uint8Array.from({ length: blocks * bytes }, () => Math.floor(rand() * 256));
      // The f16 fields: d (and m / dmin) at the start, Q6_K's d at 208.
      const at = type === 'q6_k' ? [208] : type === 'q8_0' || type === 'q4_0' || type === 'q5_0' ? [0] : [0, 2];
      for (let b = 0; b < blocks; b++) {
        for (const a of at) {
          const bits = b < specials.length ? specials[(b + a) % specials.length] : f32ToF16Bits((rand() * 2 - 1) * 0.01);
          raw[b * bytes + a] = bits & 0xff;
          raw[b * bytes + a + 1] = bits >> 8;
        }
      }
      const got = await gpuDequant(type, raw, [blocks, block]);
      const want = dequantizeBlocks(type, raw, blocks * block);
      expect(want.some(Number.isNaN), `${type} has NaN cases`).toBe(true);
      expectClose(got, want, { dtype: 'f32', exact: true, label: type });
    }
  });

  it('vec4s per thread: partial last runs of 32 lanes, unaligned blocks, bad settings refused', async () => {
    // 37 Q8_0 blocks: 296 vec4s, not a whole number of 32 * VPT; Q6_K's 210-byte blocks alternate in alignment.
    const rand = rng(99);
    for (const [type, shape] of [['q8_0', [37, 32]], ['q6_k', [5, 256]], ['q4_0', [3, 96]]] as const) {
      const x = randn(rand, shape[0] * shape[1], 3);
      const raw = quantize(type, x);
      const want = dequantizeBlocks(type, raw, x.length);
      const file = writeGguf({ tensors: [{ name: 'w', type: QUANT_LAYOUT[type].ggml, dims: [...shape].reverse(), data: raw }] });
      const q = (await lb.loadGguf(file)).tensors.w as lb.QuantizedTensor;
      for (const vpt of [1, 3, 16]) {
        // The setting applies while the dispatch is recorded (synchronously inside the call).
        const d = withDequantConfig({ vpt }, () => q.dequantize());
        expectClose(await d.data(), want, { dtype: 'f32', exact: true, label: `${type} vpt ${vpt}` });
        d.dispose();
      }
      q.dispose();
    }
    for (const vpt of [0, 1.5, 17]) expect(() => withDequantConfig({ vpt }, () => 0)).toThrow(/vpt must be an integer in 1\.\.16/);
  });

  it('K-quants load on the CPU device too, and through the cpu path of dequantize', async () => {
    const x = randn(rng(3), 512, 2);
    const tensors = (['q4_k', 'q5_k', 'q6_k'] as const).map((type) => ({ name: type, type: QUANT_LAYOUT[type].ggml, dims: [256, 2], data: quantize(type, x) }));
    const r = await lb.loadGguf(writeGguf({ tensors }), { device: 'cpu' });
    for (const t of tensors) {
      const q = r.tensors[t.name] as lb.QuantizedTensor;
      const d = lb.dequantize(q);
      expect([d.device, d.shape]).toEqual(['cpu', [2, 256]]);
      expectClose(await d.data(), dequantizeBlocks(t.name, t.data, 512), { dtype: 'f32', exact: true, label: t.name });
      d.dispose();
      q.dispose();
    }
  });
});
