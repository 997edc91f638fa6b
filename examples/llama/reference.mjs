// An independent check of model.mjs: the same Llama forward in plain JavaScript, float64, over the
// whole sequence at once (no KV cache, no lbrx). Slow but obviously right for the tiny config.

const dot = (a, ao, b, bo, n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
};

/** w [out, in] (row-major) times x [in]. */
function matvec(w, out, inDim, x) {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) y[o] = dot(w, o * inDim, x, 0, inDim);
  return y;
}

function rmsNorm(x, w, eps) {
  const r = 1 / Math.sqrt(dot(x, 0, x, 0, x.length) / x.length + eps);
  return x.map((v, i) => v * r * w[i]);
}

/** Rotates each head of x ([heads * D]) by position p; pairs (2i, 2i+1) or (i, i + D/2). */
function rope(x, heads, D, p, base, layout) {
  const out = Float64Array.from(x);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < D / 2; i++) {
      const [a, b] = layout === 'interleaved' ? [h * D + 2 * i, h * D + 2 * i + 1] : [h * D + i, h * D + i + D / 2];
      const t = p * Math.pow(base, (-2 * i) / D);
      out[a] = x[a] * Math.cos(t) - x[b] * Math.sin(t);
      out[b] = x[b] * Math.cos(t) + x[a] * Math.sin(t);
    }
  }
  return out;
}

const silu = (v) => v / (1 + Math.exp(-v));

/**
 * Logits (one Float64Array of vocab values per position) of `tokens` under causal attention.
 * `weights`: { name: { shape, data } } with GGUF names and [out, in] linear weights (f32 or
 * dequantized values); `config` as model.mjs's configFrom() gives.
 */
export function referenceLogits(weights, config, tokens, { ropeLayout = 'interleaved' } = {}) {
  const { vocabSize, dim, layers, heads, kvHeads, headDim: D, hidden, ropeBase, eps } = config;
  const W = (name) => weights[name].data;
  const embd = W('token_embd.weight');
  let x = tokens.map((t) => Float64Array.from(embd.subarray(t * dim, (t + 1) * dim)));
  const group = heads / kvHeads;
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    const hs = x.map((v) => rmsNorm(v, W(`${p}attn_norm.weight`), eps));
    const q = hs.map((h, t) => rope(matvec(W(`${p}attn_q.weight`), heads * D, dim, h), heads, D, t, ropeBase, ropeLayout));
    const k = hs.map((h, t) => rope(matvec(W(`${p}attn_k.weight`), kvHeads * D, dim, h), kvHeads, D, t, ropeBase, ropeLayout));
    const v = hs.map((h) => matvec(W(`${p}attn_v.weight`), kvHeads * D, dim, h));
    x = x.map((xt, t) => {
      const o = new Float64Array(heads * D);
      for (let h = 0; h < heads; h++) {
        const kvo = Math.floor(h / group) * D;
        const s = Array.from({ length: t + 1 }, (_, j) => dot(q[t], h * D, k[j], kvo, D) / Math.sqrt(D));
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) for (let d = 0; d < D; d++) o[h * D + d] += (e[j] / sum) * v[j][kvo + d];
      }
      const y = matvec(W(`${p}attn_output.weight`), dim, heads * D, o).map((z, i) => z + xt[i]);
      const m = rmsNorm(y, W(`${p}ffn_norm.weight`), eps);
      const g = matvec(W(`${p}ffn_gate.weight`), hidden, dim, m);
      const u = matvec(W(`${p}ffn_up.weight`), hidden, dim, m);
      const a = g.map((z, i) => silu(z) * u[i]);
      return matvec(W(`${p}ffn_down.weight`), dim, hidden, a).map((z, i) => z + y[i]);
    });
  }
  return x.map((xt) => matvec(embd, vocabSize, dim, rmsNorm(xt, W('output_norm.weight'), eps)));
}
