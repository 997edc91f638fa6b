// A small Llama-style decoder on lbrx's public API: token embedding; per layer RMSNorm ->
// attention (RoPE, grouped-query heads, a preallocated KV cache) -> residual -> RMSNorm -> SwiGLU
// MLP -> residual; a final RMSNorm; the embedding table reused as the LM head (tied).
//
// Every function takes the library as its first argument (`lb`), so one file serves dist/ (the
// scripts here) and src/ (test/example-llama.test.ts). Weights are what lb.loadSafetensors /
// lb.loadGguf give; a linear layer's weight is a Tensor [out, in] or a QuantizedTensor [out, in].
// Names follow GGUF (token_embd.weight, blk.N.attn_q.weight, ...); see write-weights.mjs.

/** Rotary layout of these weights: GGUF llama files use adjacent pairs (llama.cpp's rope "norm"). */
export const ROPE_LAYOUT = 'interleaved';

/** A config from GGUF metadata or safetensors metadata (the same llama.* keys, as strings there). */
export function configFrom(metadata, tensors) {
  const arch = String(metadata['general.architecture'] ?? 'llama');
  const get = (key, fallback) => {
    const v = metadata[`${arch}.${key}`];
    if (v === undefined) {
      if (fallback === undefined) throw new Error(`llama: metadata has no ${arch}.${key}`);
      return fallback;
    }
    return Number(v);
  };
  const embd = tensors['token_embd.weight'];
  const dim = get('embedding_length');
  const heads = get('attention.head_count');
  return {
    vocabSize: get('vocab_size', embd?.shape[0]),
    dim,
    layers: get('block_count'),
    heads,
    kvHeads: get('attention.head_count_kv', heads),
    headDim: get('rope.dimension_count', dim / heads),
    hidden: get('feed_forward_length'),
    contextLength: get('context_length'),
    ropeBase: get('rope.freq_base', 10000),
    eps: get('attention.layer_norm_rms_epsilon', 1e-5),
  };
}

/** Loads a .gguf or .safetensors file onto `device` ('gpu' or 'cpu') and checks every weight's shape. */
export async function loadLlama(lb, path, { device = 'gpu' } = {}) {
  const gguf = path.endsWith('.gguf');
  const file = gguf ? await lb.loadGguf(path, { device }) : await lb.loadSafetensors(path, { device });
  const config = configFrom(file.metadata, file.tensors);
  const { dim, heads, kvHeads, headDim, hidden, vocabSize } = config;
  const w = (name, shape) => {
    const t = file.tensors[name];
    if (!t) throw new Error(`llama: ${path} has no tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`llama: ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    return t;
  };
  const layers = [];
  for (let i = 0; i < config.layers; i++) {
    const p = `blk.${i}.`;
    layers.push({
      attnNorm: w(`${p}attn_norm.weight`, [dim]),
      wq: w(`${p}attn_q.weight`, [heads * headDim, dim]),
      wk: w(`${p}attn_k.weight`, [kvHeads * headDim, dim]),
      wv: w(`${p}attn_v.weight`, [kvHeads * headDim, dim]),
      wo: w(`${p}attn_output.weight`, [dim, heads * headDim]),
      ffnNorm: w(`${p}ffn_norm.weight`, [dim]),
      gate: w(`${p}ffn_gate.weight`, [hidden, dim]),
      up: w(`${p}ffn_up.weight`, [hidden, dim]),
      down: w(`${p}ffn_down.weight`, [dim, hidden]),
    });
  }
  const tokenEmbd = w('token_embd.weight', [vocabSize, dim]);
  // lb.gather reads plain tensors: a quantized table is dequantized once for the lookup (the
  // LM head still reads the quantized one).
  const embedTable = tokenEmbd instanceof lb.QuantizedTensor ? lb.dequantize(tokenEmbd) : tokenEmbd;
  return {
    config,
    device,
    format: gguf ? `gguf ${weightType(tokenEmbd)}` : `safetensors ${weightType(tokenEmbd)}`,
    layers,
    outputNorm: w('output_norm.weight', [dim]),
    tokenEmbd,
    embedTable,
    /** Linear layers whose quantized weight lb.matmul refused, so it was dequantized first (see linear()). */
    tensors: file.tensors,
    dispose() {
      if (embedTable !== tokenEmbd) embedTable.dispose();
      for (const t of Object.values(file.tensors)) t.dispose();
    },
  };
}

const weightType = (t) => (t.type ?? t.dtype);

/** x [.., K] times the weight [out, K]ᵀ; a QuantizedTensor weight is decoded inside the matmul kernel. */
export function linear(lb, model, x, w) {
  const [rows, k] = [x.size / x.shape[x.ndim - 1], x.shape[x.ndim - 1]];
  const y = lb.matmul(x.reshape([rows, k]), w, { transB: true });
  return y.reshape([...x.shape.slice(0, -1), w.shape[0]]);
}

/** A KV cache for `batch` sequences of up to `maxLen` tokens: per layer k and v [B, Hkv, maxLen, D] (f32). */
export function createCache(lb, model, { batch = 1, maxLen = model.config.contextLength } = {}) {
  const { layers, kvHeads, headDim } = model.config;
  const shape = [batch, kvHeads, maxLen, headDim];
  const opts = { device: model.device };
  const k = [];
  const v = [];
  for (let i = 0; i < layers; i++) {
    k.push(lb.zeros(shape, opts).realize());
    v.push(lb.zeros(shape, opts).realize());
  }
  return {
    batch,
    maxLen,
    length: 0,
    k,
    v,
    dispose() {
      for (const t of [...k, ...v]) t.dispose();
    },
  };
}

/**
 * Runs `ids` ([B][L] token ids: the prompt for prefill, one token each for decode) at positions
 * cache.length .. cache.length + L - 1, appends their keys and values to the cache, and returns
 * the logits [B, L, vocab] (f32). Synchronous: it records GPU work; read the logits to run it.
 */
export function forward(lb, model, cache, ids) {
  const { heads, kvHeads, headDim, ropeBase, eps } = model.config;
  const B = ids.length;
  const L = ids[0].length;
  const pos = cache.length;
  if (B !== cache.batch || ids.some((row) => row.length !== L)) throw new Error(`llama: ids must be ${cache.batch} rows of equal length`);
  if (pos + L > cache.maxLen) throw new Error(`llama: ${pos} + ${L} tokens do not fit the cache of ${cache.maxLen}`);
  const logits = lb.tidy(() => {
    const device = model.device;
    const tokens = lb.tensor(Int32Array.from(ids.flat()), [B, L], { dtype: 'i32', device });
    let x = lb.gather(model.embedTable, tokens).cast('f32'); // [B, L, dim]
    const rope = { offset: pos, base: ropeBase, layout: ROPE_LAYOUT };
    // [B, L, H * D] -> [B, H, L, D] (a view)
    const toHeads = (t, h) => t.reshape([B, L, h, headDim]).permute([0, 2, 1, 3]);
    model.layers.forEach((layer, i) => {
      const h = lb.rmsNorm(x, layer.attnNorm, eps);
      const q = lb.rope(toHeads(linear(lb, model, h, layer.wq), heads), null, rope);
      const k = lb.rope(toHeads(linear(lb, model, h, layer.wk), kvHeads), null, rope);
      const v = toHeads(linear(lb, model, h, layer.wv), kvHeads);
      // New keys/values go into the cache in place; attention reads the valid prefix as a view.
      lb.assign(cache.k[i].slice(null, null, [pos, pos + L]), k);
      lb.assign(cache.v[i].slice(null, null, [pos, pos + L]), v);
      const keys = cache.k[i].slice(null, null, [0, pos + L]);
      const values = cache.v[i].slice(null, null, [0, pos + L]);
      const o = lb.attention(q, keys, values, { causal: true }); // [B, Hq, L, D], GQA
      x = x.add(linear(lb, model, o.permute([0, 2, 1, 3]).reshape([B, L, heads * headDim]), layer.wo));
      const m = lb.rmsNorm(x, layer.ffnNorm, eps);
      const act = lb.silu(linear(lb, model, m, layer.gate)).mul(linear(lb, model, m, layer.up));
      x = x.add(linear(lb, model, act, layer.down));
    });
    return linear(lb, model, lb.rmsNorm(x, model.outputNorm, eps), model.tokenEmbd).realize(); // [B, L, vocab]
  });
  cache.length += L;
  return logits;
}

/** Index of the largest value (the first on ties). */
export function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Greedy decoding of one sequence: prefill `prompt`, then `steps` tokens one at a time through the
 * KV cache. Returns the new tokens, every step's logits (the prefill's for each prompt position,
 * then one row per decode step: row i predicts token i + 1 of prompt + tokens) and times in ms.
 */
export async function generate(lb, model, prompt, steps, { maxLen = prompt.length + steps } = {}) {
  const { vocabSize } = model.config;
  const cache = createCache(lb, model, { batch: 1, maxLen });
  const rows = [];
  const tokens = [];
  const times = { prefillMs: 0, decodeMs: [] };
  try {
    let t0 = performance.now();
    let input = [prompt];
    for (let s = 0; s < steps; s++) {
      const logits = forward(lb, model, cache, input);
      const data = await logits.data();
      logits.dispose();
      const n = data.length / vocabSize;
      for (let r = 0; r < n; r++) rows.push(data.slice(r * vocabSize, (r + 1) * vocabSize));
      const next = argmax(rows[rows.length - 1]);
      tokens.push(next);
      input = [[next]];
      const t1 = performance.now();
      if (s === 0) times.prefillMs = t1 - t0;
      else times.decodeMs.push(t1 - t0);
      t0 = t1;
    }
  } finally {
    cache.dispose();
  }
  return { tokens, logits: rows, times };
}
