// Deterministic random weights for the tiny Llama of model.mjs, written as safetensors (f32) and
// GGUF (f32, f16, Q8_0, Q4_0: 2-D weights in that type, norm weights f32, as llama.cpp does).
//
//   npm run build && node examples/llama/write-weights.mjs [dir]
//
// GGUF writing and the Q8_0/Q4_0 quantizers are not part of lbrx's public API; they are imported
// from the build (dist/formats/gguf-write.js, dist/cpu/quant.js, dist/tensor/half.js; see
// distLib()) or, in the tests, from src/. Token ids are bytes (vocab 256); there is no tokenizer.
import { mkdir } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** vocab 256, dim 128, 2 layers, 8 query heads and 2 KV heads of 16, MLP 352 (a multiple of the 32-element quant block). */
export const TINY = {
  vocabSize: 256,
  dim: 128,
  layers: 2,
  heads: 8,
  kvHeads: 2,
  headDim: 16,
  hidden: 352,
  contextLength: 64,
  ropeBase: 10000,
  eps: 1e-5,
};

export const FORMATS = ['safetensors-f32', 'gguf-f32', 'gguf-f16', 'gguf-q8_0', 'gguf-q4_0'];

/** lbrx plus the writer internals, from dist/ (run `npm run build` first). */
export async function distLib() {
  const dist = new URL('../../dist/', import.meta.url);
  const load = (p) => import(new URL(p, dist).href);
  const [lb, gguf, quant, half] = await Promise.all([load('index.js'), load('formats/gguf-write.js'), load('cpu/quant.js'), load('tensor/half.js')]);
  return { lb, writeGguf: gguf.writeGguf, quantizeQ8_0: quant.quantizeQ8_0, quantizeQ4_0: quant.quantizeQ4_0, f32ToF16Bits: half.f32ToF16Bits };
}

/** mulberry32 with Box-Muller: standard normal values, the same for a seed on every machine. */
function normals(seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Weights by GGUF name: { shape (row-major, [out, in] for linear layers), data (f32) }. Scales keep
 * activations near unit size: projections N(0, 1/in), so q·k/sqrt(D) and the MLP stay O(1); the
 * embedding N(0, 0.25²), so the tied LM head gives logits of spread ~3 (not one-hot, not flat);
 * norm weights 1 ± 0.1. The output projections (attn_output, ffn_down) are 4x that, so the layers
 * outweigh the token's own embedding in the residual stream: with tied embeddings a weaker stack
 * makes greedy decoding repeat the last token. Seed 4 gives 8 distinct tokens after 'lbrx!'.
 */
export function makeWeights(config = TINY, seed = 4) {
  const { vocabSize, dim, layers, heads, kvHeads, headDim, hidden } = config;
  const next = normals(seed);
  const out = {};
  const add = (name, shape, std) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next() * std;
    out[name] = { shape, data };
  };
  const norm = (name) => {
    const data = new Float32Array(dim);
    for (let i = 0; i < dim; i++) data[i] = 1 + 0.1 * Math.tanh(next());
    out[name] = { shape: [dim], data };
  };
  add('token_embd.weight', [vocabSize, dim], 0.25);
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    norm(`${p}attn_norm.weight`);
    add(`${p}attn_q.weight`, [heads * headDim, dim], 1 / Math.sqrt(dim));
    add(`${p}attn_k.weight`, [kvHeads * headDim, dim], 1 / Math.sqrt(dim));
    add(`${p}attn_v.weight`, [kvHeads * headDim, dim], 1 / Math.sqrt(dim));
    add(`${p}attn_output.weight`, [dim, heads * headDim], 4 / Math.sqrt(heads * headDim));
    norm(`${p}ffn_norm.weight`);
    add(`${p}ffn_gate.weight`, [hidden, dim], 1 / Math.sqrt(dim));
    add(`${p}ffn_up.weight`, [hidden, dim], 1 / Math.sqrt(dim));
    add(`${p}ffn_down.weight`, [dim, hidden], 4 / Math.sqrt(hidden));
  }
  norm('output_norm.weight');
  return out;
}

/** The llama.* keys, as GGUF metadata values (type ids from lb.GGUF_TYPE). */
function ggufKvs(T, config, fileType) {
  const u32 = (key, value) => ({ key: `llama.${key}`, type: T.UINT32, value });
  const f32 = (key, value) => ({ key: `llama.${key}`, type: T.FLOAT32, value });
  return [
    { key: 'general.architecture', type: T.STRING, value: 'llama' },
    { key: 'general.name', type: T.STRING, value: 'lbrx tiny llama (random weights)' },
    { key: 'general.file_type', type: T.UINT32, value: fileType },
    u32('vocab_size', config.vocabSize),
    u32('context_length', config.contextLength),
    u32('embedding_length', config.dim),
    u32('block_count', config.layers),
    u32('feed_forward_length', config.hidden),
    u32('attention.head_count', config.heads),
    u32('attention.head_count_kv', config.kvHeads),
    u32('rope.dimension_count', config.headDim),
    f32('rope.freq_base', config.ropeBase),
    f32('attention.layer_norm_rms_epsilon', config.eps),
  ];
}

const bytesOf = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** ggml type id and bytes of one weight in a GGUF of `kind` (1-D weights stay f32). */
function encode(lib, kind, { shape, data }) {
  if (shape.length === 1 || kind === 'f32') return { type: 0, data: bytesOf(data) };
  if (kind === 'f16') return { type: 1, data: bytesOf(Uint16Array.from(data, lib.f32ToF16Bits)) };
  if (kind === 'q8_0') return { type: 8, data: lib.quantizeQ8_0(data) };
  if (kind === 'q4_0') return { type: 2, data: lib.quantizeQ4_0(data) };
  throw new Error(`unknown GGUF kind ${kind}`);
}

/** ggml's general.file_type: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7. */
const FILE_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

/**
 * Writes every format of FORMATS into `dir` (llama-<format>.<ext>) and returns the paths by format.
 * `lib`: { lb, writeGguf, quantizeQ8_0, quantizeQ4_0, f32ToF16Bits } (distLib() or the sources).
 */
export async function writeWeights(lib, dir, weights = makeWeights(), config = TINY) {
  const { lb } = lib;
  await mkdir(dir, { recursive: true });
  const paths = {};
  const names = Object.keys(weights);
  const record = {};
  for (const name of names) record[name] = lb.tensor(weights[name].data, weights[name].shape, { device: 'cpu' });
  const metadata = {};
  for (const kv of ggufKvs(lb.GGUF_TYPE, config, 0)) metadata[kv.key] = String(kv.value);
  paths['safetensors-f32'] = join(dir, 'llama-f32.safetensors');
  try {
    await lb.saveSafetensors(record, paths['safetensors-f32'], { metadata });
  } finally {
    for (const t of Object.values(record)) t.dispose();
  }
  for (const kind of ['f32', 'f16', 'q8_0', 'q4_0']) {
    const tensors = names.map((name) => ({ name, dims: [...weights[name].shape].reverse(), ...encode(lib, kind, weights[name]) }));
    const path = join(dir, `llama-${kind}.gguf`);
    await writeFile(path, lib.writeGguf({ kvs: ggufKvs(lb.GGUF_TYPE, config, FILE_TYPE[kind]), tensors }));
    paths[`gguf-${kind}`] = path;
  }
  return paths;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? 'llama-weights';
  const paths = await writeWeights(await distLib(), dir);
  for (const [format, path] of Object.entries(paths)) console.log(`${format.padEnd(16)} ${path}`);
}
