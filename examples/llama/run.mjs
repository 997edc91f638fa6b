// The tiny Llama end to end: write its weights (safetensors f32; GGUF f32, f16, Q8_0, Q4_0) to a
// temp dir, load each file, generate greedily on the GPU, and check the logits against the same
// model on lbrx's CPU reference and against a plain-JS float64 forward (reference.mjs).
//
//   npm run build && node examples/llama/run.mjs [steps=8] [prompt='lbrx!']
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, loadLlama } from './model.mjs';
import { referenceLogits } from './reference.mjs';
import { distLib, FORMATS, makeWeights, TINY, writeWeights } from './write-weights.mjs';

const steps = Number(process.argv[2] ?? 8);
const prompt = [...new TextEncoder().encode(process.argv[3] ?? 'lbrx!')];

const lib = await distLib();
const { lb } = lib;
const dev = await lb.init();
console.log(`GPU     ${dev.fingerprint.description || dev.fingerprint.device}`);
const c = TINY;
console.log(`model   vocab ${c.vocabSize}, dim ${c.dim}, ${c.layers} layers, ${c.heads} query / ${c.kvHeads} KV heads of ${c.headDim}, MLP ${c.hidden}`);
console.log(`prompt  ${JSON.stringify(String.fromCharCode(...prompt))} = [${prompt}], ${steps} tokens greedy\n`);

/** max |a - b| / max |b| over all rows. */
function relErr(a, b) {
  let diff = 0;
  let scale = 0;
  a.forEach((row, r) => {
    for (let i = 0; i < row.length; i++) {
      diff = Math.max(diff, Math.abs(row[i] - b[r][i]));
      scale = Math.max(scale, Math.abs(b[r][i]));
    }
  });
  return diff / scale;
}

const show = (tokens) => tokens.map((t) => (t >= 32 && t < 127 ? String.fromCharCode(t) : `\\x${t.toString(16).padStart(2, '0')}`)).join('');
const ms = (x) => `${x.toFixed(1)} ms`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const dir = await mkdtemp(join(tmpdir(), 'lbrx-llama-'));
let failed = false;
try {
  const weights = makeWeights();
  const paths = await writeWeights(lib, dir, weights);
  for (const format of FORMATS) {
    const t0 = performance.now();
    const gpu = await loadLlama(lb, paths[format], { device: 'gpu' });
    const loadMs = performance.now() - t0;
    const cpu = await loadLlama(lb, paths[format], { device: 'cpu' });
    try {
      await generate(lb, gpu, prompt, 2); // warm-up: compiles this format's kernels
      const g = await generate(lb, gpu, prompt, steps);
      const r = await generate(lb, cpu, prompt, steps);
      const seq = [...prompt, ...g.tokens.slice(0, -1)];
      const errCpu = relErr(g.logits, r.logits);
      const errF32 = relErr(g.logits, referenceLogits(weights, TINY, seq));
      const same = g.tokens.every((t, i) => t === r.tokens[i]);
      failed ||= !same || errCpu > 1e-4;
      const size = (await stat(paths[format])).size;
      console.log(`${format.padEnd(16)} ${(size / 1024).toFixed(0).padStart(5)} KiB, load ${ms(loadMs)}`);
      console.log(`  tokens  [${g.tokens}] "${show(g.tokens)}"${same ? ' (CPU: same)' : ` CPU: [${r.tokens}] DIFFERENT`}`);
      console.log(`  logits  max rel. difference vs CPU reference ${errCpu.toExponential(2)}, vs the f32 model (plain JS) ${errF32.toExponential(2)}`);
      console.log(`  GPU     prefill ${ms(g.times.prefillMs)}, decode ${ms(median(g.times.decodeMs))}/token (median, incl. readback); CPU reference ${ms(median(r.times.decodeMs))}/token`);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await lb.shutdown();
}
if (failed) {
  console.error('\nGPU and CPU reference disagree');
  process.exit(1);
}
