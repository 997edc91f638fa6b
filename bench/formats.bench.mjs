// Formats family: safetensors load throughput from disk to GPU against fs.readFile of the same
// file in the same run, GPU dequantization bandwidth of GGUF blocks (Q8_0, Q4_0, K-quants) and the
// quantized M = 1 matmul (decode) in GB/s of quantized weight bytes, both against the device copy
// bandwidth measured in the same run.
import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyBandwidth, deviceCopy } from './gpu-timing.mjs';
import { gbps, median, MiB, progress, row } from './lib.mjs';

export const title = 'Formats: safetensors disk → GPU load vs fs.readFile; GGUF dequantization and quantized M = 1 matmul vs device copy';
export const baselines =
  'Load rows: `lb.loadSafetensors(path)` then `lb.eval(...tensors)` (wall, file in the OS page cache: it was just written) against ' +
  '`fs.readFile` of the same file in the same run (ratio > 1: loading to the GPU is faster than reading into JS memory). ' +
  'GPU timing (dequantization and matmul rows): the GPU is kept busy for 1 s before each measurement and between its rounds (a ' +
  'burst of large f32 matmuls: an H100 drops its clocks within a second of light load, which made kernel times vary 1.5x), then ' +
  'K calls are recorded and submitted as one batch, timed from submit to done (CPU recording and encoding, about 60 us per ' +
  'dispatch in Dawn, excluded, as in the matmul family), median of the rounds; notes also give the per-dispatch GPU time from ' +
  'timestamp queries (lb.profile: one pass per dispatch, so it includes a pass boundary each). ' +
  'Dequantization rows: `lb.dequantize(q)` on GPU-resident GGUF blocks, bytes = quantized bytes read + f32 written, K = 3 outputs per ' +
  'batch (so the buffer pool serves them: a fresh 256 MiB buffer costs a zero-fill); baseline = device copy bandwidth (read + write) ' +
  'over the f32 output size, same run. ' +
  'Quantized matmul rows: `lb.matmul(x, q, { transB: true })`, x f32 [1, K], q a QuantizedTensor [N, K] (size N x K), ' +
  'bytes = quantized weight bytes + x + output, the calls cycling through > 160 MB of weight copies ' +
  '(so L2 cannot serve them); baseline = device copy bandwidth (read + write, 1 GiB), same run: the ratio is the fraction ' +
  'of it reached (the issue asks >= 0.7). `config` rows force the matvec kernel config (threads per row group, groups, rows per ' +
  'group, units loaded together). "8-bit activations" rows pass `quantizeActivations: true` (x rounded to 8 bits per run, ' +
  'integer dot products; checked against the dense product within that rounding\'s bound). `read-only` rows: a WGSL kernel that only ' +
  'reads the same bytes, the ceiling at that size. M > 1 rows: a [M, K] f32 against a 4096 x 4096 quantized weight (the fused kernels: the matvec ' +
  'once per row up to 16 rows, tiles with split-K beyond) in GFLOP/s against lb.matmul on the dequantized weight (f32, and cast to ' +
  'f16 with a f16 a), same run. LBRX_BENCH_QMV=NxK,... sets the matmul sizes.';

const FAMILY = 'formats';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function run(ctx) {
  const rows = [];
  rows.push(...(await load(ctx)));
  rows.push(...(await dequant(ctx)));
  rows.push(...(await quantMatvec(ctx)));
  rows.push(...(await quantMatmul(ctx)));
  for (const t of heat ?? []) t.dispose();
  heat = null;
  return rows;
}

let heat = null;
/**
 * Records `n` f32 matmuls (not awaited): work that keeps the GPU at its clocks. Long K, tiny
 * outputs (16 KiB, and split-K partials of 32 x that): 2048 x 2048 outputs churned the buffer
 * pool next to 256 MiB dequantizations, so their outputs were created (and zero-filled) anew
 * inside the timed interval.
 */
function heater(lb, software, n) {
  heat ??= software ? [lb.randn([4, 256]), lb.randn([256, 4])] : [lb.randn([64, 65536]), lb.randn([65536, 64])];
  for (let i = 0; i < n; i++) lb.matmul(heat[0], heat[1]).dispose();
}

/**
 * GPU time per call of `record()` (returns what to dispose): the GPU kept busy (heater bursts with
 * the calls) for `warmMs`, then `rounds` batches of K calls, each after a heater burst, timed from
 * submit to done; the median. Also the per-dispatch GPU time from timestamp queries, summed per
 * call, and the GPU buffers created during the timed rounds (0: the pool served every output).
 */
async function timeHot(lb, dev, record, k, rounds, { software = false, warmMs = 1000 } = {}) {
  const burst = software ? 1 : 40;
  const w0 = performance.now();
  do {
    heater(lb, software, burst);
    const outs = [];
    for (let i = 0; i < k; i++) outs.push(record());
    await lb.eval();
    for (const o of outs.flat()) o.dispose();
  } while (performance.now() - w0 < warmMs);
  const per = [];
  const m0 = lb.memory();
  for (let r = 0; r < rounds; r++) {
    heater(lb, software, burst);
    await lb.eval();
    const outs = [];
    for (let i = 0; i < k; i++) outs.push(record());
    await dev.stream.submit();
    const a = performance.now();
    await dev.device.queue.onSubmittedWorkDone();
    per.push((performance.now() - a) / k);
    for (const o of outs.flat()) o.dispose();
  }
  const created = lb.memory().created - m0.created;
  // Timestamps: the heater's dispatches come first in the report, then the calls'.
  const h = await lb.profile(async () => { heater(lb, software, 1); await lb.eval(); }, { peaks: false });
  const rep = await lb.profile(async () => {
    heater(lb, software, burst);
    const outs = [];
    for (let i = 0; i < k; i++) outs.push(record());
    await lb.eval();
    for (const o of outs.flat()) o.dispose();
  }, { peaks: false });
  const calls = rep.kernels.slice(burst * h.kernels.length);
  const profMs = rep.timing === 'gpu-timestamps' ? calls.reduce((x, c) => x + c.gpuMs, 0) / k : null;
  return { ms: median(per), min: Math.min(...per), max: Math.max(...per), samples: per.length, k, profMs, dispatchesPerCall: calls.length / k, created };
}

const us = (ms) => `${(ms * 1e3).toFixed(1)} us`;

/** A safetensors file of `count` f32 tensors, `total` bytes of data, written chunk by chunk. */
async function writeSafetensors(path, total, count) {
  const per = Math.floor(total / count / 4) * 4;
  const header = {};
  for (let i = 0; i < count; i++) header[`layer.${i}.weight`] = { dtype: 'F32', shape: [per / 4], data_offsets: [i * per, (i + 1) * per] };
  header.__metadata__ = { format: 'pt' };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const h = Buffer.alloc(8);
  h.writeBigUInt64LE(BigInt(json.length));
  const chunk = new Float32Array(Math.min(per / 4, 4 * MiB));
  for (let i = 0; i < chunk.length; i++) chunk[i] = ((i * 7919) % 2048) / 1024 - 1;
  const bytes = new Uint8Array(chunk.buffer);
  const fh = await open(path, 'w');
  try {
    await fh.write(h);
    await fh.write(json);
    for (let i = 0; i < count; i++) {
      for (let o = 0; o < per; o += bytes.length) await fh.write(bytes, 0, Math.min(bytes.length, per - o));
    }
  } finally {
    await fh.close();
  }
  return { fileBytes: 8 + json.length + per * count, dataBytes: per * count, per };
}

async function load(ctx) {
  const { lb, software } = ctx;
  const mb = Number(process.env.LBRX_BENCH_FORMATS_MB ?? (software ? 64 : 1024));
  if (!(mb >= 1)) throw new Error(`LBRX_BENCH_FORMATS_MB=${process.env.LBRX_BENCH_FORMATS_MB}: want a size in MiB ≥ 1`);
  const count = mb >= 64 ? 16 : 1;
  const path = join(tmpdir(), `lbrx-bench-${process.pid}.safetensors`);
  const out = [];
  try {
    progress(`  writing ${mb} MiB safetensors to ${path}`);
    const { fileBytes, per } = await writeSafetensors(path, mb * MiB, count);
    const size = `${mb} MiB, ${count} f32 tensors`;
    const rounds = software ? 3 : 4;
    const readMs = [];
    const loadMs = [];
    let checked = false;
    for (let r = 0; r <= rounds; r++) {
      let a = performance.now();
      let buf = await readFile(path);
      const tr = performance.now() - a;
      if (buf.length !== fileBytes) throw new Error(`readFile: ${buf.length} bytes, expected ${fileBytes}`);
      buf = null;
      a = performance.now();
      const st = await lb.loadSafetensors(path);
      const ts = Object.values(st.tensors);
      await lb.eval(...ts);
      const tl = performance.now() - a;
      if (!checked) {
        if (ts.length !== count || ts[0].shape[0] !== per / 4) throw new Error(`loadSafetensors: ${ts.length} tensors of [${ts[0]?.shape}]`);
        const s = ts[count - 1].slice([1000, 1004]);
        const got = await s.data();
        s.dispose();
        got.forEach((v, j) => {
          const want = Math.fround((((1000 + j) * 7919) % 2048) / 1024 - 1);
          if (v !== want) throw new Error(`loadSafetensors: element ${1000 + j} is ${v}, expected ${want}`);
        });
        checked = true;
      }
      for (const t of ts) t.dispose();
      if (r > 0) { // round 0: warm-up (page cache, pipelines)
        readMs.push(tr);
        loadMs.push(tl);
      }
    }
    const tl = median(loadMs);
    const tr = median(readMs);
    out.push(row(FAMILY, {
      name: 'lb.loadSafetensors(path) + lb.eval: disk → GPU', key: 'safetensors-load', size, metric: 'bandwidth',
      value: gbps(fileBytes, tl), unit: 'GB/s', baseline: { name: 'fs.readFile of the same file (into JS memory), same run', value: gbps(fileBytes, tr) },
      stats: { median: tl, min: Math.min(...loadMs), max: Math.max(...loadMs), samples: loadMs.length, rme: 0 },
      note: `${tl.toFixed(1)} ms per load, readFile ${tr.toFixed(1)} ms; file in the page cache (just written)`,
    }));
    out.push(row(FAMILY, {
      name: 'fs.readFile (baseline)', key: 'readfile', size, metric: 'bandwidth', value: gbps(fileBytes, tr), unit: 'GB/s',
      stats: { median: tr, min: Math.min(...readMs), max: Math.max(...readMs), samples: readMs.length, rme: 0 },
    }));
  } finally {
    await rm(path, { force: true });
  }
  return out;
}

/** ggml type id, elements and bytes per block, byte offsets of the f16 scale fields. */
const QUANT = {
  q8_0: { ggml: 8, block: 32, bytes: 34, scales: [0] },
  q4_0: { ggml: 2, block: 32, bytes: 18, scales: [0] },
  q4_1: { ggml: 3, block: 32, bytes: 20, scales: [0, 2] },
  q5_0: { ggml: 6, block: 32, bytes: 22, scales: [0] },
  q5_1: { ggml: 7, block: 32, bytes: 24, scales: [0, 2] },
  q4_k: { ggml: 12, block: 256, bytes: 144, scales: [0, 2] },
  q5_k: { ggml: 13, block: 256, bytes: 176, scales: [0, 2] },
  q6_k: { ggml: 14, block: 256, bytes: 210, scales: [208] },
};

/** Blocks for `n` values: random bytes, with small finite f16 scales. */
function randomBlocks(type, n) {
  const { block, bytes, scales } = QUANT[type];
  const blocks = n / block;
  const data = new Uint8Array(blocks * bytes);
  let s = 12345;
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = s >>> 24; }
  for (let b = 0; b < blocks; b++) {
    for (const at of scales) {
      const d = f16Bits(((b % 97) + 1) / 1024 / (block / 32));
      data[b * bytes + at] = d & 0xff;
      data[b * bytes + at + 1] = d >> 8;
    }
  }
  return data;
}

function f16Bits(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const e = ((u >>> 23) & 0xff) - 127 + 15;
  return ((u >>> 16) & 0x8000) | (e << 10) | ((u >>> 13) & 0x3ff); // normal range only
}

async function dequant(ctx) {
  const { lb, dev, software } = ctx;
  const { writeGguf } = await import(pathToFileURL(join(root, 'dist', 'formats', 'gguf-write.js')).href);
  const log2 = software ? 20 : 26;
  const n = 2 ** log2;
  const warmMs = software ? 0 : 1000;
  const rounds = software ? 3 : 8;
  const out = [];
  progress(`  device copy of ${n * 4 / MiB} MiB`);
  const copy = await deviceCopy(dev, n * 4, rounds, warmMs);
  const size = `2^${log2} values`;
  out.push(row(FAMILY, {
    name: `device copy (${copy.name}; read + write)`, key: 'copy', size, metric: 'bandwidth', value: copy.gbs, unit: 'GB/s', stats: copy.stats,
  }));
  for (const type of ['q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k']) {
    const { ggml, bytes } = QUANT[type];
    const data = randomBlocks(type, n);
    const file = writeGguf({ tensors: [{ name: 'w', type: ggml, dims: [4096, n / 4096], data }] });
    progress(`  ${type}: ${(data.length / MiB).toFixed(1)} MiB of blocks`);
    const g = await lb.loadGguf(file);
    const q = g.tensors.w;
    const c = await lb.loadGguf(file, { device: 'cpu' });
    try {
      if (q.type !== type) throw new Error(`loadGguf: type ${q.type}, expected ${type}`);
      // Spot check against the CPU reference dequantization (bit-exact twins).
      const gpu = lb.dequantize(q);
      const cpu = lb.dequantize(c.tensors.w);
      try {
        for (const r of [0, n / 4096 / 2, n / 4096 - 1]) {
          const a = gpu.slice([r, r + 1]);
          const b = cpu.slice([r, r + 1]);
          const [x, y] = [await a.data(), await b.data()];
          a.dispose();
          b.dispose();
          for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) throw new Error(`${type} dequantize row ${r} element ${i}: GPU ${x[i]}, CPU ${y[i]}`);
        }
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
      const moved = q.byteLength + n * 4;
      const t = await timeHot(lb, dev, () => [lb.dequantize(q).realize()], 3, rounds, { software, warmMs });
      out.push(row(FAMILY, {
        name: `lb.dequantize ${type} → f32 (blocks read + f32 written)`, key: `dequant-${type}`, size, metric: 'bandwidth',
        value: gbps(moved, t.ms), unit: 'GB/s', baseline: { name: `device copy (${copy.name}), ${n * 4 / MiB} MiB, same run`, value: copy.gbs },
        stats: t, note: `${us(t.ms)} per dequantize (timestamps: ${t.profMs === null ? 'n/a' : us(t.profMs)}), ${(q.byteLength / MiB).toFixed(1)} MiB blocks + ${n * 4 / MiB} MiB f32, ${t.created} buffers created while timed`,
      }));
    } finally {
      q.dispose();
      c.tensors.w.dispose();
    }
  }
  return out;
}

/** Quantized weights [N, K] as QuantizedTensors on the GPU (uploaded from the same blocks). */
function quantizedWeights(lb, type, n, k, copies) {
  const raw = randomBlocks(type, n * k);
  const words = new Uint32Array(Math.ceil(raw.length / 4));
  new Uint8Array(words.buffer).set(raw);
  return Array.from({ length: copies }, () => new lb.QuantizedTensor(type, [n, k], lb.tensor(words, [words.length], { dtype: 'u32' })));
}

async function quantMatvec(ctx) {
  const { lb, dev, software } = ctx;
  const { withQuantConfig } = await import(pathToFileURL(join(root, 'dist', 'ops', 'matmul-quant.js')).href);
  const sizes = (process.env.LBRX_BENCH_QMV ?? (software ? '256x512,384x768' : '4096x4096,11008x4096,4096x11008,32000x4096'))
    .split(',').map((s) => s.trim().split('x').map(Number));
  for (const [n, k] of sizes) if (!(n > 0 && k % 256 === 0)) throw new Error(`LBRX_BENCH_QMV: ${n}x${k}: want N x K with K a multiple of 256`);
  const warmMs = software ? 0 : 1000;
  const rounds = software ? 3 : 8;
  const out = [];
  progress('  device copy of 1 GiB');
  const copyBytes = software ? 64 * MiB : 1024 * MiB;
  const copy = await deviceCopy(dev, copyBytes, rounds, warmMs);
  const copyRow = { name: `device copy (${copy.name}), ${copyBytes / MiB} MiB, same run`, value: copy.gbs };
  out.push(row(FAMILY, { name: `device copy (${copy.name}; read + write)`, key: 'qmv-copy', size: `${copyBytes / MiB} MiB`, metric: 'bandwidth', value: copy.gbs, unit: 'GB/s', stats: copy.stats }));
  const [bigN, bigK] = sizes[Math.min(1, sizes.length - 1)];
  // Every type at one size; Q8_0, Q4_0, Q4_K at all; config sweeps for Q4_0 and Q4_K at the second size.
  const cases = [];
  for (const [n, k] of sizes) for (const type of ['q8_0', 'q4_0', 'q4_k']) cases.push({ type, n, k }, { type, n, k, q8x: true });
  for (const type of ['q4_1', 'q5_0', 'q5_1', 'q5_k', 'q6_k']) cases.push({ type, n: bigN, k: bigK });
  const sweep = [
    { tpr: 32, groups: 8, rows: 2, unroll: 1 }, { tpr: 32, groups: 8, rows: 2, unroll: 2 }, { tpr: 32, groups: 8, rows: 2, unroll: 4 },
    { tpr: 32, groups: 4, rows: 4, unroll: 2 }, { tpr: 64, groups: 4, rows: 2, unroll: 2 }, { tpr: 16, groups: 16, rows: 2, unroll: 4 },
  ];
  for (const type of ['q4_0', 'q4_k']) for (const config of sweep) cases.push({ type, n: bigN, k: bigK, config });
  // Per size and type, a kernel that only reads the weight's bytes: at tens of MiB the launch and the
  // ramp of one dispatch are a visible share, so this is the ceiling a matvec can reach there.
  const ceilings = new Map();
  for (const { type, n, k } of cases) {
    const qBytes = Math.ceil((n * k) / QUANT[type].block) * QUANT[type].bytes;
    if (ceilings.has(qBytes)) continue;
    progress(`  read-only kernel over ${(qBytes / MiB).toFixed(1)} MiB (${type} ${n}x${k})`);
    const t = await copyBandwidth(dev, qBytes, rounds, 'read', warmMs);
    ceilings.set(qBytes, gbps(qBytes, t.ms));
    out.push(row(FAMILY, {
      name: `read-only WGSL kernel over the bytes of ${type} ${n} x ${k} (the ceiling of a kernel reading them)`, key: `qmv-read-${type}-${n}x${k}`,
      size: `${(qBytes / MiB).toFixed(1)} MiB`, metric: 'bandwidth', value: gbps(qBytes, t.ms), unit: 'GB/s', baseline: copyRow, stats: t,
      note: `${us(t.ms)} per read`,
    }));
  }
  for (const c of cases) {
    const { type, n, k, config, q8x = false } = c;
    const label = (config ? ` config ${JSON.stringify(config)}` : '') + (q8x ? ', 8-bit activations (quantizeActivations)' : '');
    const mm = (xx, qq) => lb.matmul(xx, qq, { transB: true, quantizeActivations: q8x });
    progress(`  ${type} ${n}x${k}${label}`);
    const qBytes = Math.ceil((n * k) / QUANT[type].block) * QUANT[type].bytes;
    const copies = software ? 1 : Math.max(1, Math.ceil(160e6 / qBytes));
    const qs = quantizedWeights(lb, type, n, k, copies);
    const x = lb.tensor(Float32Array.from({ length: k }, (_, i) => Math.sin(i) * 0.5), [1, k]);
    const run = (fn) => (config ? withQuantConfig(config, fn) : fn());
    try {
      // Check against the dense path on the dequantized weight (GPU dequantization is bit-exact).
      const got = run(() => mm(x, qs[0]));
      const w = lb.dequantize(qs[0]);
      const want = lb.matmul(x, w, { transB: true });
      // 8-bit activations: each x (|x| <= 0.5) is off by at most half a step of 0.5 / 127.
      const wabs = lb.abs(w);
      const ones = lb.ones([1, k]);
      const bound = lb.matmul(ones, wabs, { transB: true });
      const [g, r, b] = [await got.data(), await want.data(), await bound.data()];
      for (const t of [got, w, want, wabs, ones, bound]) t.dispose();
      for (let i = 0; i < n; i++) {
        const tol = 1e-3 * (1 + Math.abs(r[i])) + (q8x ? (0.5 / 127) * b[i] : 0);
        if (!(Math.abs(g[i] - r[i]) <= tol)) throw new Error(`${type} ${n}x${k}${label}: output ${i} is ${g[i]}, dense matmul on the dequantized weight gives ${r[i]}`);
      }
      let turn = 0;
      const t = await timeHot(lb, dev, () => [run(() => mm(x, qs[turn++ % copies]))], software ? 4 : 256, rounds, { software, warmMs });
      const moved = qBytes + k * 4 + n * 4;
      out.push(row(FAMILY, {
        name: `lb.matmul(x, q, { transB: true }) ${type} M = 1${label}`, key: `qmv-${type}-${n}x${k}${config ? `-${Object.values(config).join('-')}` : ''}${q8x ? '-q8x' : ''}`,
        size: `${n} x ${k}`, metric: 'bandwidth', value: gbps(moved, t.ms), unit: 'GB/s', baseline: copyRow, stats: t,
        note: `${us(t.ms)} per call (timestamps: ${t.profMs === null ? 'n/a' : us(t.profMs)}), ${(qBytes / MiB).toFixed(1)} MiB of blocks, ${copies} weight copies, ${t.dispatchesPerCall} dispatches per call` +
          (ceilings.has(qBytes) ? `; ${((gbps(moved, t.ms) / ceilings.get(qBytes)) * 100).toFixed(0)}% of a read-only kernel over the same bytes` : ''),
      }));
    } finally {
      x.dispose();
      for (const q of qs) q.dispose();
    }
  }
  return out;
}

/** M > 1: the fused quantized kernels against lb.matmul on the dequantized weight (f32, and f16). */
async function quantMatmul(ctx) {
  const { lb, dev, software } = ctx;
  const [n, k] = software ? [256, 512] : [4096, 4096];
  const warmMs = software ? 0 : 300; // the heater bursts between rounds keep the clocks up
  const rounds = software ? 3 : 5;
  const out = [];
  for (const type of ['q4_0', 'q8_0', 'q4_k']) {
    const [q] = quantizedWeights(lb, type, n, k, 1);
    const w = lb.dequantize(q);
    const w16 = w.cast('f16');
    try {
      for (const m of software ? [4, 32] : type === 'q4_0' ? [4, 16, 64, 512] : [16, 512]) {
        progress(`  ${type} M = ${m}, ${n}x${k}`);
        const a = lb.tensor(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37) * 0.5), [m, k]);
        const a16 = a.cast('f16');
        try {
          const got = await lb.matmul(a, q, { transB: true }).data();
          const want = await lb.matmul(a, w, { transB: true }).data();
          for (let i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= 1e-3 * (1 + Math.abs(want[i])))) throw new Error(`${type} M ${m}: output ${i} is ${got[i]}, dense matmul on the dequantized weight gives ${want[i]}`);
          }
          const reps = software ? 2 : Math.max(8, Math.ceil(2048 / m));
          const flops = 2 * m * n * k;
          const time = (fn) => timeHot(lb, dev, () => [fn()], reps, rounds, { software, warmMs });
          const tq = await time(() => lb.matmul(a, q, { transB: true }));
          const t32 = await time(() => lb.matmul(a, w, { transB: true }));
          const t16 = await time(() => lb.matmul(a16, w16, { transB: true }));
          const gf = (t) => flops / t.ms / 1e6;
          const size = `M = ${m}, ${n} x ${k}`;
          out.push(row(FAMILY, {
            name: `lb.matmul(a, q, { transB: true }) ${type} M > 1 (fused; vs dense f32 on the dequantized weight)`, key: `qmm-${type}-${m}`, size,
            metric: 'throughput', value: gf(tq), unit: 'GFLOP/s', baseline: { name: 'lb.matmul(a, dequantize(q)^T) f32, same run', value: gf(t32) }, stats: tq,
            note: `${us(tq.ms)} per call (f32 dense ${us(t32.ms)}, f16 dense ${us(t16.ms)}), ${tq.dispatchesPerCall} dispatches per call`,
          }));
          out.push(row(FAMILY, {
            name: 'lb.matmul(a16, dequantize(q).cast(f16)^T) f16 dense (reference)', key: `qmm-dense16-${type}-${m}`, size,
            metric: 'throughput', value: gf(t16), unit: 'GFLOP/s', stats: t16,
          }));
        } finally {
          a.dispose();
          a16.dispose();
        }
      }
    } finally {
      q.dispose();
      w.dispose();
      w16.dispose();
    }
  }
  return out;
}
