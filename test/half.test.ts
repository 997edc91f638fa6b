// f16 and bf16 conversions: the CPU functions in src/tensor/half.ts, exhaustively over all
// 65536 bit patterns and every rounding midpoint, and the GPU kernels against them bit for bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, roundTo } from '../src/tensor/half.js';
import { expectClose, flushSubnormals, gpuQuirks } from './helpers.js';

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
const bitsToF32 = (b: number) => ((u32buf[0] = b >>> 0), f32buf[0]);
const f32ToBits = (x: number) => ((f32buf[0] = x), u32buf[0]);

const isF16NaN = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
const isBf16NaN = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
const ALL = Uint16Array.from({ length: 65536 }, (_, i) => i);

/** Independent f16 decoder: from the bit fields with integer arithmetic only. */
function f16Reference(b: number): number {
  const s = b & 0x8000 ? -1 : 1;
  const e = (b >> 10) & 0x1f;
  const m = b & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  const mag = e === 0 ? m / 16777216 : ((1024 + m) * 2 ** e) / 33554432; // m*2^-24, (1024+m)*2^(e-25)
  return s * mag;
}

describe('CPU f16', () => {
  it('decodes every bit pattern to the value its fields say', () => {
    for (const b of ALL) {
      const v = f16BitsToF32(b);
      const r = f16Reference(b);
      if (Number.isNaN(r)) expect(Number.isNaN(v), `0x${b.toString(16)}`).toBe(true);
      else if (!Object.is(v, r)) expect.fail(`0x${b.toString(16)}: ${v} != ${r}`);
    }
  });

  it('known bit patterns', () => {
    const known: [number, number][] = [
      [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xbc00, -1], [0x4000, 2], [0x3800, 0.5], [0x7bff, 65504],
      [0xfbff, -65504], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x3555, 0.333251953125],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x3c01, 1 + 2 ** -10], [0x57d0, 125], [0x6400, 1024],
    ];
    for (const [bits, value] of known) {
      expect(Object.is(f16BitsToF32(bits), value), `decode 0x${bits.toString(16)}`).toBe(true);
      expect(f32ToF16Bits(value), `encode ${value}`).toBe(bits);
    }
    expect(f32ToF16Bits(NaN)).toBe(0x7e00);
  });

  it('f16 -> f32 -> f16 round-trips all 65536 patterns (NaNs stay NaN, quieted)', () => {
    let nans = 0;
    for (const b of ALL) {
      const back = f32ToF16Bits(f16BitsToF32(b));
      if (isF16NaN(b)) {
        nans++;
        expect(isF16NaN(back), `NaN 0x${b.toString(16)}`).toBe(true);
        expect(back & 0x200, 'quiet bit').toBe(0x200);
      } else if (back !== b) {
        expect.fail(`0x${b.toString(16)} -> ${f16BitsToF32(b)} -> 0x${back.toString(16)}`);
      }
    }
    expect(nans).toBe(2 * 1023);
  });

  it('rounds to nearest, ties to even, at every midpoint between adjacent f16 values', () => {
    // Positive and negative: b and b+1 are adjacent for 0 <= b < 0x7c00 (the last pair is 65504 | Inf).
    for (const sign of [0, 0x8000]) {
      for (let b = 0; b < 0x7c00; b++) {
        const lo = f16BitsToF32(sign | b);
        const hi = b + 1 === 0x7c00 ? (sign ? -65536 : 65536) : f16BitsToF32(sign | (b + 1));
        const mid = (lo + hi) / 2; // exact in f32: 12 significant bits
        expect(Math.fround(mid)).toBe(mid);
        const even = sign | (b % 2 === 0 ? b : b + 1);
        const got = f32ToF16Bits(mid);
        if (got !== even) expect.fail(`midpoint ${mid} of 0x${(sign | b).toString(16)}: got 0x${got.toString(16)}, want 0x${even.toString(16)}`);
        // One f32 ulp either side of the midpoint rounds to the nearer neighbour.
        // Bits - 1 / + 1: a smaller / larger magnitude, whatever the sign.
        const toLo = bitsToF32(f32ToBits(mid) - 1);
        const toHi = bitsToF32(f32ToBits(mid) + 1);
        if (mid !== 0 && f32ToF16Bits(toLo) !== (sign | b)) expect.fail(`just inside ${mid}: 0x${f32ToF16Bits(toLo).toString(16)}`);
        if (f32ToF16Bits(toHi) !== (sign | (b + 1))) expect.fail(`just past ${mid}: 0x${f32ToF16Bits(toHi).toString(16)}`);
      }
    }
  });

  it('overflow, underflow and f32 specials', () => {
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the midpoint to "65536" rounds to even: Inf
    expect(f32ToF16Bits(Math.fround(65519.99))).toBe(0x7bff);
    expect(f32ToF16Bits(-65520)).toBe(0xfc00);
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(3.4028234663852886e38)).toBe(0x7c00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: ties to even (0)
    expect(f32ToF16Bits(-(2 ** -25))).toBe(0x8000);
    expect(f32ToF16Bits(bitsToF32(f32ToBits(2 ** -25) + 1))).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002);
    expect(f32ToF16Bits(2 ** -30)).toBe(0x0000);
    expect(f32ToF16Bits(-(2 ** -149))).toBe(0x8000);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal + half ulp: up to the smallest normal
    expect(isF16NaN(f32ToF16Bits(bitsToF32(0x7f800001)))).toBe(true); // signalling f32 NaN stays NaN
    expect(isF16NaN(f32ToF16Bits(bitsToF32(0xffc00000)))).toBe(true);
    expect(f32ToF16Bits(bitsToF32(0xffc00000)) & 0x8000).toBe(0x8000); // NaN sign kept
  });
});

describe('CPU bf16', () => {
  it('decodes by widening the bits', () => {
    for (const b of ALL) {
      const v = bf16BitsToF32(b);
      if (isBf16NaN(b)) expect(Number.isNaN(v)).toBe(true);
      else if (!Object.is(v, bitsToF32(b << 16))) expect.fail(`0x${b.toString(16)}`);
    }
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0x7f7f)).toBe(3.3895313892515355e38);
    expect(bf16BitsToF32(0x0001)).toBe(2 ** -133);
    expect(Object.is(bf16BitsToF32(0x8000), -0)).toBe(true);
  });

  it('bf16 -> f32 -> bf16 round-trips all 65536 patterns (NaNs stay NaN)', () => {
    for (const b of ALL) {
      const back = f32ToBf16Bits(bf16BitsToF32(b));
      if (isBf16NaN(b)) expect(isBf16NaN(back), `NaN 0x${b.toString(16)}`).toBe(true);
      else if (back !== b) expect.fail(`0x${b.toString(16)} -> 0x${back.toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, at every midpoint (and overflows to Inf)', () => {
    for (const sign of [0, 0x8000]) {
      for (let b = 0; b < 0x7f80; b++) {
        const midBits = (((sign | b) << 16) + 0x8000) >>> 0;
        const even = sign | (b % 2 === 0 ? b : b + 1);
        const got = f32ToBf16Bits(bitsToF32(midBits));
        if (got !== even) expect.fail(`midpoint of 0x${(sign | b).toString(16)}: 0x${got.toString(16)}`);
        if (f32ToBf16Bits(bitsToF32(midBits - 1)) !== (sign | b)) expect.fail(`below midpoint of 0x${b.toString(16)}`);
        if (f32ToBf16Bits(bitsToF32(midBits + 1)) !== (sign | (b + 1))) expect.fail(`above midpoint of 0x${b.toString(16)}`);
      }
    }
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80);
    expect(f32ToBf16Bits(NaN) & 0x7f80).toBe(0x7f80);
    expect(isBf16NaN(f32ToBf16Bits(bitsToF32(0x7f800001)))).toBe(true); // a NaN whose top bits look like Inf
    expect(isBf16NaN(f32ToBf16Bits(bitsToF32(0xff800001)))).toBe(true);
  });

  it('roundTo is encode then decode', () => {
    for (const v of [1 / 3, -1e-40, 65520, 1e39, -0, 2 ** -24, 123456.789]) {
      expect(Object.is(roundTo('f16', v), f16BitsToF32(f32ToF16Bits(v)))).toBe(true);
      expect(Object.is(roundTo('bf16', v), bf16BitsToF32(f32ToBf16Bits(v)))).toBe(true);
    }
  });
});

// ---------------------------------------------------------------- GPU against the CPU functions

/** The 16-bit patterns a tensor stores. */
async function bits16(t: Tensor): Promise<Uint16Array> {
  const bytes = await t.storage.read(t.offset * 2, t.size * 2);
  return new Uint16Array(bytes.buffer, bytes.byteOffset, t.size);
}

async function bits32(t: Tensor): Promise<Uint32Array> {
  const bytes = await t.storage.read(t.offset * 4, t.size * 4);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, t.size);
}

/** Tricky f32 inputs for a 16-bit format: every midpoint, one f32 ulp either side, and specials. */
function trickyF32(format: 'f16' | 'bf16'): Float32Array {
  const out: number[] = [];
  const top = format === 'f16' ? 0x7c00 : 0x7f80;
  const dec = format === 'f16' ? f16BitsToF32 : bf16BitsToF32;
  for (const sign of [0, 0x8000]) {
    for (let b = 0; b < top; b += 1) {
      const lo = dec(sign | b);
      const hi = b + 1 === top ? (sign ? -1 : 1) * (format === 'f16' ? 65536 : 2 ** 128) : dec(sign | (b + 1));
      const mid = Math.fround((lo + hi) / 2);
      if (!Number.isFinite(mid)) continue;
      const mb = f32ToBits(mid);
      out.push(mid, bitsToF32(mb + 1));
      if (mid !== 0) out.push(bitsToF32(mb - 1));
    }
  }
  out.push(NaN, Infinity, -Infinity, 0, -0, 2 ** -149, -(2 ** -149), 2 ** -126, 3.4028234663852886e38, -3.4028234663852886e38, 1e-30, 1e30);
  const arr = Float32Array.from(out);
  // Signalling and negative NaNs, by bits.
  const extra = new Uint32Array([0x7f800001, 0xff800001, 0x7fc00000, 0xffc00000, 0x7fbfffff, 0x7f812345]);
  const all = new Float32Array(arr.length + extra.length);
  all.set(arr);
  new Uint32Array(all.buffer, arr.length * 4).set(extra);
  return all;
}

describe('GPU conversions match the CPU functions', () => {
  // GPUs that flush subnormals in arithmetic (NVIDIA through Vulkan) see them as ±0.
  let ftz = false;
  beforeAll(async () => {
    await lb.init({ cacheDir: false });
    ({ ftz } = await gpuQuirks());
  });
  afterAll(async () => {
    await lb.shutdown();
  });

  for (const format of ['f16', 'bf16'] as const) {
    const enc = format === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
    const dec = format === 'f16' ? f16BitsToF32 : bf16BitsToF32;
    const isNaN16 = format === 'f16' ? isF16NaN : isBf16NaN;

    it(`cast f32 -> ${format}: every rounding midpoint and its neighbours, bit for bit`, async () => {
      const src = trickyF32(format);
      const x = lb.tensor(src);
      const y = x.cast(format);
      const got = await bits16(y);
      const srcBits = new Uint32Array(src.buffer);
      let bad = 0;
      const msgs: string[] = [];
      for (let i = 0; i < src.length; i++) {
        const want = enc(src[i]);
        const ok = isNaN16(want) ? isNaN16(got[i]) && (got[i] & 0x8000) === ((srcBits[i] >>> 16) & 0x8000) : got[i] === want;
        if (!ok && bad++ < 8) msgs.push(`f32 0x${srcBits[i].toString(16)} (${src[i]}): gpu 0x${got[i].toString(16)} cpu 0x${want.toString(16)}`);
      }
      expect(bad, msgs.join('\n')).toBe(0);
      // data() widens: the values agree with the CPU's too.
      expectClose(await y.data(), Array.from(src, (v) => dec(enc(v))), { dtype: format, exact: true });
      x.dispose();
      y.dispose();
    });

    it(`all 65536 ${format} patterns: ${format} -> f32 exact, f32 -> ${format} back bit-identical (NaNs stay NaN)`, async () => {
      const x = lb.tensor(ALL, [65536], { dtype: format });
      const w = x.cast('f32');
      const wide = await bits32(w);
      const back = w.cast(format);
      const round = await bits16(back);
      for (let b = 0; b < 65536; b++) {
        const v = bitsToF32(wide[b]);
        if (isNaN16(b)) {
          if (!Number.isNaN(v) || !isNaN16(round[b])) expect.fail(`NaN 0x${b.toString(16)}: f32 0x${wide[b].toString(16)}, back 0x${round[b].toString(16)}`);
          continue;
        }
        if (!Object.is(v, dec(b))) expect.fail(`0x${b.toString(16)}: gpu ${v}, cpu ${dec(b)}`);
        if (round[b] !== b) expect.fail(`0x${b.toString(16)} round trip gave 0x${round[b].toString(16)}`);
      }
      for (const t of [x, w, back]) t.dispose();
    });

    it(`all 65536 ${format} patterns: a copy at an odd offset keeps the bits`, async () => {
      const x = lb.tensor(ALL, [65536], { dtype: format });
      const v = x.slice([1]);
      const c = v.contiguous();
      const got = await bits16(c);
      for (let b = 1; b < 65536; b++) {
        const g = got[b - 1];
        if (isNaN16(b) ? !isNaN16(g) : g !== b) expect.fail(`0x${b.toString(16)} copied as 0x${g.toString(16)}`);
      }
      for (const t of [x, v, c]) t.dispose();
    });

    it(`all 65536 ${format} patterns: x + 0, x * 1 and x + x agree with the CPU reference`, async () => {
      const g = lb.tensor(ALL, [65536], { dtype: format });
      const c = lb.tensor(ftz ? flushSubnormals(ALL, format) : ALL, [65536], { dtype: format, device: 'cpu' });
      for (const op of [(t: Tensor) => t.add(0), (t: Tensor) => t.mul(1), (t: Tensor) => t.add(t), (t: Tensor) => t.mul(t)]) {
        const gy = op(g);
        const cy = op(c);
        expectClose(await gy.data(), await cy.data(), { dtype: format, exact: true, flushed: ftz });
        gy.dispose();
        cy.dispose();
      }
      g.dispose();
      c.dispose();
    });
  }

  it('integers to f16/bf16 round through f32 like the CPU reference', async () => {
    const ints = new Int32Array(4000);
    for (let i = 0; i < ints.length; i++) ints[i] = (i - 2000) * 37 + (i % 2 ? 2049 : -65519) * (i % 3);
    ints.set([2147483647, -2147483648, 65504, 65519, 65520, -65520, 16777217, 257, 2049, 2051], 0);
    for (const to of ['f16', 'bf16'] as const) {
      const x = lb.tensor(ints);
      const y = x.cast(to);
      const got = await bits16(y);
      const enc = to === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < ints.length; i++) {
        if (got[i] !== enc(Math.fround(ints[i]))) expect.fail(`${ints[i]} -> ${to}: gpu 0x${got[i].toString(16)}`);
      }
      x.dispose();
      y.dispose();
    }
  });
});
