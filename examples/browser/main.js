// The example page: initializes lbrx on navigator.gpu, benchmarks matmul and attention (each
// result checked against lbrx's CPU reference), and shows lb.profile()'s report of one step.
// Sets <body data-state> to "done" or "error" and window.lbrxResults for scripts (screenshot.mjs).
import * as lb from 'lbrx';

const $ = (id) => document.getElementById(id);
const status = (text) => ($('status').textContent = text);
/** About four significant digits, no exponent: 0.1234, 12.34, 123.4, 12345. */
const fmt = (x) => (x === undefined || !Number.isFinite(x) ? '–' : x >= 1000 ? x.toFixed(0) : x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(x >= 1 ? 3 : 4));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

function row(table, cells, checkOk) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (i === cells.length - 1 && checkOk !== undefined) td.className = checkOk ? 'ok' : 'bad';
    tr.append(td);
  });
  $(table).querySelector('tbody').append(tr);
}

function fact(name, value) {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value;
  $('device').append(dt, dd);
}

/** Seeded values in [-1, 1), the same on every run (a small LCG: no dependency). */
function values(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Median ms per op: `record()` makes one output; k of them are evaluated per batch, after a warm-up batch. */
async function timeOp(record, k, rounds) {
  const batch = async () => {
    const outs = Array.from({ length: k }, record);
    const t0 = performance.now();
    await lb.eval(...outs);
    const ms = (performance.now() - t0) / k;
    for (const o of outs) o.dispose();
    return ms;
  };
  await batch(); // compiles the pipeline and touches the buffers
  const per = [];
  for (let r = 0; r < rounds; r++) per.push(await batch());
  return median(per);
}

/** Largest |gpu - cpu| relative to the largest |cpu|. */
async function relErr(gpu, cpu) {
  const [g, c] = await Promise.all([gpu.data(), cpu.data()]);
  let err = 0;
  let mag = 0;
  for (let i = 0; i < c.length; i++) {
    err = Math.max(err, Math.abs(g[i] - c[i]));
    mag = Math.max(mag, Math.abs(c[i]));
  }
  return err / (mag || 1);
}

const TOL = { f32: 1e-4, f16: 4e-3 };

async function matmulBench(cfg, results) {
  for (const [n, dtype] of cfg.matmul) {
    status(`Matmul ${n}×${n}×${n} ${dtype}…`);
    await nextFrame();
    const av = values(n * n, n);
    const bv = values(n * n, n + 1);
    const a = lb.tensor(av, [n, n], { dtype });
    const b = lb.tensor(bv, [n, n], { dtype });
    // At most ~256 MiB of outputs in flight per batch.
    const k = Math.max(2, Math.min(cfg.k, Math.floor(2 ** 28 / (n * n * 4))));
    const ms = await timeOp(() => lb.matmul(a, b), k, cfg.rounds);
    // Check the first rows against the CPU reference (all of C is too slow in JS for big n).
    const rows = Math.min(n, 8);
    const ac = lb.tensor(av.subarray(0, rows * n), [rows, n], { dtype, device: 'cpu' });
    const bc = lb.tensor(bv, [n, n], { dtype, device: 'cpu' });
    const want = lb.matmul(ac, bc);
    const got = lb.tidy(() => lb.matmul(a, b).slice([0, rows]));
    const err = await relErr(got, want);
    for (const t of [a, b, ac, bc, want, got]) t.dispose();
    const gflops = (2 * n ** 3) / (ms * 1e6);
    const ok = err <= TOL[dtype];
    results.matmul.push({ n, dtype, ms, gflops, err, ok });
    row('matmul', [`${n}×${n}×${n}`, dtype, fmt(ms), fmt(gflops), `${ok ? '✓' : '✗'} rel. err ${err.toExponential(1)}`], ok);
  }
}

async function attentionBench(cfg, results) {
  const H = 8;
  const D = 64;
  for (const [kind, L, S, dtype] of cfg.attention) {
    status(`Attention ${kind} L=${L} S=${S} ${dtype}…`);
    await nextFrame();
    const causal = kind === 'prefill';
    const mk = (shape, seed) => lb.tensor(values(shape.reduce((x, y) => x * y, 1), seed), shape, { dtype });
    const [q, k, v] = [mk([1, H, L, D], 1), mk([1, H, S, D], 2), mk([1, H, S, D], 3)];
    const ms = await timeOp(() => lb.attention(q, k, v, { causal }), cfg.k, cfg.rounds);
    // The CPU reference on the first head (the kernel treats every head alike).
    const head0 = async (t) => {
      const view = t.slice(null, [0, 1]);
      const copy = await view.to('cpu');
      view.dispose();
      return copy;
    };
    const [qc, kc, vc] = [await head0(q), await head0(k), await head0(v)];
    const want = lb.attention(qc, kc, vc, { causal });
    const got = lb.tidy(() => lb.attention(q, k, v, { causal }).slice(null, [0, 1]));
    const err = await relErr(got, want);
    for (const t of [q, k, v, qc, kc, vc, want, got]) t.dispose();
    // QK^T and PV: 4 L S D per head; a causal square half of that.
    const flops = 4 * H * L * S * D * (causal && L === S ? 0.5 : 1);
    const gflops = flops / (ms * 1e6);
    const ok = err <= TOL[dtype] * 5;
    results.attention.push({ kind, L, S, dtype, ms, gflops, err, ok });
    row('attention', [`${kind} L=${L} S=${S}`, dtype, fmt(ms), fmt(gflops), `${ok ? '✓' : '✗'} rel. err ${err.toExponential(1)}`], ok);
  }
}

async function profileStep(cfg, results) {
  status('Profiling one step…');
  await nextFrame();
  const { T, d } = cfg.step;
  $('step-shape').textContent = `${T} tokens, width ${d}, 8 heads`;
  const H = 8;
  const dh = d / H;
  const scaled = (n, seed) => values(n, seed).map((v) => v / Math.sqrt(d));
  const x = lb.tensor(values(T * d, 7), [T, d]);
  const [wq, wk, wv, wo] = [11, 12, 13, 14].map((seed) => lb.tensor(scaled(d * d, seed), [d, d]));
  const w1 = lb.tensor(scaled(d * 4 * d, 15), [d, 4 * d]);
  const b1 = lb.tensor(values(4 * d, 16), [4 * d]);
  const w2 = lb.tensor(scaled(4 * d * d, 17).map((v) => v / 2), [4 * d, d]);
  const g = lb.ones([d]);
  // One pre-norm transformer block: attention (heads as strided views, no copies in), then an MLP.
  const step = () =>
    lb.tidy(() => {
      const xn = lb.rmsNorm(x, g);
      const heads = (w) => lb.matmul(xn, w).reshape([1, T, H, dh]).permute([0, 2, 1, 3]); // [1, H, T, dh] view
      const o = lb.attention(heads(wq), heads(wk), heads(wv), { causal: true });
      const h = lb.matmul(o.permute([0, 2, 1, 3]).reshape([T, d]), wo, { residual: x });
      const m = lb.matmul(lb.rmsNorm(h, g), w1, { bias: b1, activation: 'gelu' });
      return lb.softmax(lb.matmul(m, w2, { residual: h }), -1);
    });
  const warm = step(); // compiles the kernels outside the profile
  await lb.eval(warm);
  warm.dispose();
  let out;
  const report = await lb.profile(async () => {
    out = step();
    await lb.eval(out);
  });
  out.dispose();
  for (const t of [x, wq, wk, wv, wo, w1, b1, w2, g]) t.dispose();
  for (const e of report.summary) row('profile', [e.name, String(e.count), fmt(e.totalMs), fmt(e.meanMs), fmt(e.gbps), fmt(e.gflops), fmt(e.bandwidthPct), fmt(e.flopsPct)]);
  row('profile', ['total', String(report.kernels.length), fmt(report.totalGpuMs), '', '', '', '', '']);
  $('profile-text').textContent = report.toTable();
  results.profile = { timing: report.timing, kernels: report.kernels.length, totalGpuMs: report.totalGpuMs, summary: report.summary.map((e) => e.name) };
}

async function main() {
  const results = { matmul: [], attention: [], profile: null };
  window.lbrxResults = results;
  status('Initializing WebGPU…');
  const dev = await lb.init();
  const info = dev.adapter.info ?? {};
  fact('adapter', [info.vendor, info.architecture, info.description].filter(Boolean).join(' · ') || 'unknown');
  fact('family', dev.fingerprint.family);
  fact('f16', dev.features.f16 ? 'shader-f16: computed in f16' : 'no shader-f16: stored packed, computed in f32');
  fact('subgroups', dev.features.subgroups ? `yes (size ${info.subgroupMinSize ?? '?'}–${info.subgroupMaxSize ?? '?'})` : 'no');
  fact('timestamps', dev.features.timestamps ? 'timestamp-query: per-kernel GPU times' : 'none: wall time per submit');
  fact('browser', navigator.userAgent.replace(/^Mozilla\/5\.0 /, ''));
  results.device = { ...dev.fingerprint, f16: dev.features.f16, subgroups: dev.features.subgroups };

  // CPU drivers (SwiftShader, lavapipe) are ~1000x slower than a GPU: small problems there.
  const software = dev.fingerprint.family === 'software';
  // ?quick: the smallest problems (the test suite opens the page this way).
  const quick = new URLSearchParams(location.search).has('quick');
  const cfg = quick
    ? { k: 2, rounds: 1, matmul: [[64, 'f32'], [64, 'f16']], attention: [['prefill', 32, 32, 'f32'], ['decode', 1, 64, 'f16']], step: { T: 16, d: 64 } }
    : software
    ? { k: 2, rounds: 3, matmul: [[128, 'f32'], [256, 'f32'], [256, 'f16']], attention: [['prefill', 128, 128, 'f32'], ['prefill', 128, 128, 'f16'], ['decode', 1, 1024, 'f32']], step: { T: 64, d: 256 } }
    : { k: 10, rounds: 5, matmul: [[1024, 'f32'], [2048, 'f32'], [4096, 'f32'], [2048, 'f16'], [4096, 'f16']], attention: [['prefill', 1024, 1024, 'f32'], ['prefill', 2048, 2048, 'f16'], ['decode', 1, 4096, 'f32'], ['decode', 1, 8192, 'f16']], step: { T: 512, d: 1024 } };

  await matmulBench(cfg, results);
  await attentionBench(cfg, results);
  await profileStep(cfg, results);
  const bad = [...results.matmul, ...results.attention].filter((r) => !r.ok).length;
  if (bad) throw new Error(`${bad} result(s) differ from the CPU reference`);
  status(`Done: every result matches the CPU reference. ${lb.memory().liveBytes} bytes still live.`);
  document.body.dataset.state = 'done';
}

main().catch((e) => {
  console.error(e);
  status(`Error: ${e?.name ?? ''} ${e?.message ?? e}`);
  document.body.dataset.state = 'error';
  window.lbrxError = String(e?.stack ?? e);
});
