// CPU reference for attention: softmax(q kᵀ · scale + mask) v in f64, per (b, h, query row).
// Same semantics as the GPU kernel (src/ops/attention.ts): GQA head h reads kv head
// h / (Hq / Hkv); causal keeps keys j <= i + S - L (end-aligned); a row whose every key is
// masked (-Inf) gives zeros. kvLength (one length, or one per batch) keeps keys j < kvLength only,
// causal then aligned to it (j <= i + kvLength - L); lengths are clamped to [0, S]. Rounded once to
// q's dtype.
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuTensor, readValues, wrapTo } from './access.js';

export interface CpuAttentionArgs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** Broadcastable to [B, Hq, L, S]. */
  mask?: Tensor;
  causal: boolean;
  scale: number;
  out: DType;
  /** Valid keys: one length for every batch, or an i32 tensor of B lengths (or 1, broadcast). */
  kvLength?: number | Tensor;
}

export function attention(args: CpuAttentionArgs): Tensor {
  const [B, Hq, L, D] = args.q.shape;
  const [, Hkv, S] = args.k.shape;
  const group = Hq / Hkv;
  const q = readValues(args.q);
  const k = readValues(args.k);
  const v = readValues(args.v);
  const mask = args.mask ? readValues(args.mask, [B, Hq, L, S]) : null;
  const out = new Float64Array(B * Hq * L * D);
  const s = new Float64Array(S);
  const lens = args.kvLength === undefined ? null : typeof args.kvLength === 'number' ? [args.kvLength] : Array.from(readValues(args.kvLength));
  for (let b = 0; b < B; b++) {
    const n = lens ? Math.min(S, Math.max(0, lens[lens.length === 1 ? 0 : b])) : S;
    for (let h = 0; h < Hq; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * S * D;
      for (let i = 0; i < L; i++) {
        const qBase = ((b * Hq + h) * L + i) * D;
        let m = -Infinity;
        for (let j = 0; j < S; j++) {
          let x = -Infinity;
          if (j < n && (!args.causal || j <= i + n - L)) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qBase + d] * k[kvBase + j * D + d];
            x = dot * args.scale;
            if (mask) x += mask[((b * Hq + h) * L + i) * S + j];
          }
          s[j] = x;
          if (x > m) m = x;
        }
        if (m === -Infinity) continue; // every key masked: zeros
        let sum = 0;
        for (let j = 0; j < S; j++) {
          s[j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - m);
          sum += s[j];
        }
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += s[j] * v[kvBase + j * D + d];
          out[qBase + d] = acc / sum;
        }
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = wrapTo(args.out, out[i]);
  return cpuTensor(out, [B, Hq, L, D], args.out);
}
