// Attention family: lbrx's fused attention (prefill, causal) against the same attention composed of
// lbrx ops (matmul + additive causal mask + softmax + matmul) in the same run and PyTorch SDPA;
// decode (L = 1) bandwidth against the device copy bandwidth measured in the same run.
// Issue 5 targets (B=1, H=32, D=128, S=L=4096, causal f16): >= 40% of PyTorch, >= 4x composed;
// decode L=1, S=8192: >= 60% of the copy bandwidth.
// LBRX_ATT_SWEEP=1 also times the other kernel configurations (tuning-table candidates) on the
// same shapes, one row each.
import { deviceCopy, timeBatches, WARM_MS } from './gpu-timing.mjs';
import { gbps, progress, row } from './lib.mjs';

export const title = 'Attention: fused vs composed lbrx ops vs PyTorch SDPA; decode vs device copy bandwidth';
export const baselines =
  'Prefill rows: TFLOP/s with causal flops = 2·2·B·H·L·S·D / 2; baseline = the same attention composed of lbrx ops in the same run ' +
  '(`matmul(q, k, {transB, alpha: scale})` + additive causal mask tensor + `softmax` + `matmul(p, v)`), ratio = composed time / fused time. ' +
  'Decode rows (L = 1): GB/s counting K and V read once; baseline = the device copy bandwidth (read + write; the better of ' +
  '`copyBufferToBuffer` and a WGSL vec4 copy kernel) over the same byte size, measured in the same run. ' +
  'GPU time = submit to done of K evaluations recorded into one batch, divided by K, after 1 s of the same work untimed. ' +
  'PyTorch: `torch.nn.functional.scaled_dot_product_attention` (CUDA, same dtype, is_causal; GQA with enable_gqa) by CUDA events, `dst.copy_(src)` for the copy.';

const FAMILY = 'attention';

let internals = null;

/** Which kernel lb.attention runs for these shapes, with its configuration and splits. */
function describePlan(dev, d, dtype) {
  const p = internals.attentionPlan(dev, d, [dtype, dtype, dtype]);
  const cfg = Object.entries(p.cfg).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${p.variant} kernel (${cfg}), ${p.splits} split(s)`;
}

/** Runs fn with attentionTuning overrides set, then restores them. */
async function withTuning(over, fn) {
  const t = internals.attentionTuning;
  const saved = { ...t };
  Object.assign(t, over);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(t)) delete t[k];
    Object.assign(t, saved);
  }
}

export async function run(ctx) {
  const { lb, dev, software } = ctx;
  internals ??= await import(new URL('../dist/ops/attention.js', import.meta.url).href);
  // LBRX_ATT_TUNING: JSON overrides of attentionTuning for the whole run (e.g. '{"sgmat":{"sgs":8}}').
  if (process.env.LBRX_ATT_TUNING) Object.assign(internals.attentionTuning, JSON.parse(process.env.LBRX_ATT_TUNING));
  const f16 = dev.device.features.has('shader-f16');
  const dtype = f16 ? 'f16' : 'f32';
  const esize = f16 ? 2 : 4;
  const sweep = process.env.LBRX_ATT_SWEEP === '1';
  const B = 1;
  const H = software ? 2 : 32;
  const D = software ? 64 : 128;
  const L = software ? 256 : 4096;
  const Sdec = software ? 1024 : 8192;
  const rounds = software ? 3 : 5;
  const warmMs = software ? 0 : WARM_MS;
  const rows = [];
  const scale = 1 / Math.sqrt(D);

  // ---- prefill, causal ----
  const size = `B=${B} H=${H} L=${L} S=${L} D=${D} ${dtype}`;
  const dims = { B, Hq: H, Hkv: H, L, S: L, D };
  progress(`  ${size}: inputs`);
  const q = lb.randn([B, H, L, D], { dtype, seed: 1 });
  const k = lb.randn([B, H, L, D], { dtype, seed: 2 });
  const v = lb.randn([B, H, L, D], { dtype, seed: 3 });
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -Infinity;
  const mask = lb.tensor(m, [L, L], { dtype });
  await lb.eval();
  const fused = () => lb.attention(q, k, v, { causal: true, scale }).realize();
  const composed = () => lb.tidy(() =>
    lb.matmul(lb.softmax(lb.matmul(q, k, { transB: true, alpha: scale }).add(mask), -1), v).realize());
  const flops = (2 * 2 * B * H * L * L * D) / 2;
  const tflops = (ms) => flops / (ms * 1e-3) / 1e12;
  try {
    progress(`  ${size}: check fused vs composed`);
    const plan = describePlan(dev, dims, dtype);
    const bad = await check(lb, fused, composed, [B, H, L, D], dtype).then(() => '', (e) => `; CHECK FAILED: ${e.message}`);
    progress(`  ${size}: fused`);
    const tf = await timeBatches(lb, () => [fused()], software ? 2 : 8, rounds, warmMs);
    progress(`  ${size}: composed`);
    const tc = await timeBatches(lb, () => [composed()], 2, rounds, warmMs);
    rows.push(row(FAMILY, {
      name: 'fused lb.attention, causal', key: 'causal', size, metric: 'throughput', value: tflops(tf.ms), unit: 'TFLOP/s',
      baseline: { name: 'composed lbrx ops (matmul + mask + softmax + matmul), same run', value: tflops(tc.ms) }, stats: tf,
      note: `${plan}${bad}; ${tf.ms.toFixed(3)} ms per attention, ${tf.dispatchesPerEval} dispatch(es); composed ${tc.ms.toFixed(3)} ms, ` +
        `${tc.dispatchesPerEval} dispatch(es); targets: ≥ 4× composed, ≥ 40% of PyTorch SDPA (the PyTorch ratio ≥ 0.4)`,
      detail: { fusedMs: tf.ms, composedMs: tc.ms, flops, plan },
    }));
    rows.push(row(FAMILY, {
      name: 'composed lbrx ops: matmul(q,kᵀ)·scale + causal mask + softmax + matmul(p,v)', key: 'causal-composed', torchKey: 'causal',
      size, metric: 'throughput', value: tflops(tc.ms), unit: 'TFLOP/s', stats: tc,
      note: `${tc.ms.toFixed(3)} ms; materialises the ${L}×${L} scores per head`,
    }));
    rows.push(row(FAMILY, {
      name: 'target: fused / composed speedup', key: 'target-composed', size, metric: 'ratio', value: tc.ms / tf.ms, unit: '×',
      note: `target ≥ 4×: ${tc.ms / tf.ms >= 4 ? 'met' : 'NOT met'}${software ? ' (software adapter, reduced shape)' : ''}`,
    }));
    // The register-tiled kernel on the same problem (what adapters without subgroup matrices run).
    if (!plan.startsWith('tile')) {
      await withTuning({ force: 'tile' }, async () => {
        progress(`  ${size}: fused, register-tiled kernel`);
        const tplan = describePlan(dev, dims, dtype);
        const tbad = await check(lb, fused, composed, [B, H, L, D], dtype).then(() => '', (e) => `; CHECK FAILED: ${e.message}`);
        const tt = await timeBatches(lb, () => [fused()], software ? 2 : 4, rounds, warmMs);
        rows.push(row(FAMILY, {
          name: 'fused lb.attention, causal, register-tiled kernel (forced)', key: 'causal-tile', torchKey: 'causal', size, metric: 'throughput',
          value: tflops(tt.ms), unit: 'TFLOP/s', baseline: { name: 'composed lbrx ops, same run', value: tflops(tc.ms) }, stats: tt,
          note: `${tplan}${tbad}; ${tt.ms.toFixed(3)} ms`,
        }));
      });
    }
    if (sweep) {
      for (const over of sweepPrefill(software)) {
        await withTuning(over, async () => {
          const name = JSON.stringify(over);
          progress(`  ${size}: sweep ${name}`);
          const cfg = describePlan(dev, dims, dtype);
          const sbad = await check(lb, fused, composed, [B, H, L, D], dtype).then(() => '', (e) => `; CHECK FAILED: ${e.message}`);
          const ts = await timeBatches(lb, () => [fused()], 4, 3, software ? 0 : 300);
          rows.push(row(FAMILY, {
            name: `sweep prefill ${name}`, key: `sweep-prefill-${name}`, size, metric: 'throughput', value: tflops(ts.ms), unit: 'TFLOP/s',
            stats: ts, note: `${cfg}${sbad}; ${ts.ms.toFixed(3)} ms`,
          }));
        }).catch((e) => progress(`    failed: ${e.message.split('\n')[0]}`));
      }
    }
  } finally {
    for (const t of [q, k, v, mask]) t.dispose();
  }

  // ---- decode: L = 1 over S keys ----
  const kvBytes = 2 * B * H * Sdec * D * esize;
  progress(`  device copy of ${(kvBytes / 2 ** 20).toFixed(0)} MiB`);
  const copy = await deviceCopy(dev, kvBytes, software ? 3 : 8, warmMs);
  const copySize = `${(kvBytes / 2 ** 20).toFixed(0)} MiB`;
  rows.push(row(FAMILY, {
    name: `device copy (${copy.name}; read + write)`, key: 'hbm-copy', size: copySize, metric: 'bandwidth', value: copy.gbs, unit: 'GB/s',
    stats: copy.stats, note: Object.entries(copy.all).map(([n, t]) => `${n}: ${gbps(2 * kvBytes, t.ms).toFixed(1)} GB/s`).join('; '),
  }));
  const decodes = [
    { key: 'decode', Hq: H, Hkv: H, S: Sdec, composed: true },
    { key: 'decode-gqa', Hq: H, Hkv: Math.max(1, H / 4), S: Sdec },
    { key: 'decode-32k', Hq: 1, Hkv: 1, S: software ? 4096 : 32768 },
  ];
  for (const c of decodes) {
    const heads = c.Hq === c.Hkv ? `H=${c.Hq}` : `Hq=${c.Hq} Hkv=${c.Hkv}`;
    const dsize = `B=${B} ${heads} L=1 S=${c.S} D=${D} ${dtype}`;
    const bytes = 2 * B * c.Hkv * c.S * D * esize;
    const dq = lb.randn([B, c.Hq, 1, D], { dtype, seed: 4 });
    const dk = lb.randn([B, c.Hkv, c.S, D], { dtype, seed: 5 });
    const dv = lb.randn([B, c.Hkv, c.S, D], { dtype, seed: 6 });
    await lb.eval();
    const ddims = { B, Hq: c.Hq, Hkv: c.Hkv, L: 1, S: c.S, D };
    try {
      const dfused = () => lb.attention(dq, dk, dv, { causal: true, scale }).realize();
      const dcomposed = () => lb.tidy(() => lb.matmul(lb.softmax(lb.matmul(dq, dk, { transB: true, alpha: scale }), -1), dv).realize());
      if (c.composed) {
        progress(`  ${dsize}: check fused vs composed`);
        await check(lb, dfused, dcomposed, [B, c.Hq, 1, D], dtype);
      }
      progress(`  ${dsize}: fused`);
      const plan = describePlan(dev, ddims, dtype);
      const td = await timeBatches(lb, () => [dfused()], software ? 4 : 32, rounds, warmMs);
      const value = gbps(bytes, td.ms);
      rows.push(row(FAMILY, {
        name: `decode: fused lb.attention, L = 1 (K and V read once)${c.Hq !== c.Hkv ? `, GQA ${c.Hq / c.Hkv}:1` : ''}`, key: c.key, size: dsize,
        metric: 'bandwidth', value, unit: 'GB/s', baseline: { name: `device copy (${copy.name}), ${copySize}, same run`, value: copy.gbs }, stats: td,
        note: `${plan}; ${(td.ms * 1000).toFixed(1)} µs per decode, ${td.dispatchesPerEval} dispatch(es); target ≥ 60% of copy: ` +
          `${value / copy.gbs >= 0.6 ? 'met' : 'NOT met'} (${((value / copy.gbs) * 100).toFixed(0)}%)`,
        detail: { ms: td.ms, bytes, plan },
      }));
      if (c.composed) {
        progress(`  ${dsize}: composed`);
        const tdc = await timeBatches(lb, () => [dcomposed()], software ? 4 : 32, rounds, warmMs);
        rows.push(row(FAMILY, {
          name: 'decode: composed lbrx ops (matmul + softmax + matmul)', key: 'decode-composed', torchKey: 'decode', size: dsize,
          metric: 'bandwidth', value: gbps(bytes, tdc.ms), unit: 'GB/s',
          baseline: { name: `device copy (${copy.name}), ${copySize}, same run`, value: copy.gbs }, stats: tdc,
          note: `${(tdc.ms * 1000).toFixed(1)} µs, ${tdc.dispatchesPerEval} dispatch(es)`,
        }));
      }
      if (sweep && c.key === 'decode') {
        for (const over of sweepDecode(software)) {
          await withTuning(over, async () => {
            const name = JSON.stringify(over);
            progress(`  ${dsize}: sweep ${name}`);
            const cfg = describePlan(dev, ddims, dtype);
            const ts = await timeBatches(lb, () => [dfused()], 32, 3, software ? 0 : 300);
            rows.push(row(FAMILY, {
              name: `sweep decode ${name}`, key: `sweep-decode-${name}`, size: dsize, metric: 'bandwidth', value: gbps(bytes, ts.ms), unit: 'GB/s',
              stats: ts, note: `${cfg}; ${(ts.ms * 1000).toFixed(1)} µs`,
            }));
          }).catch((e) => progress(`    failed: ${e.message.split('\n')[0]}`));
        }
      }
    } finally {
      for (const t of [dq, dk, dv]) t.dispose();
    }
  }
  return rows;
}

function sweepPrefill(software) {
  const tiles = software
    ? [{ bq: 16, tk: 16, tq: 2, nj: 8 }]
    : [{ bq: 64, tk: 32, tq: 4, nj: 16 }, { bq: 64, tk: 32, tq: 8, nj: 8 }, { bq: 32, tk: 32, tq: 4, nj: 8 }, { bq: 128, tk: 16, tq: 8, nj: 16 }];
  // Options not named are off (the table's default is merged under each entry otherwise).
  const off = { pf: false, ka: false, cf: false };
  const ka = { ka: true, cf: true }; // the nvidia default's options
  const sg = software ? [] : [{ sgs: 8, tk: 32, pf: true }, { sgs: 8, tk: 32, pf: true, cf: true }, { sgs: 8, tk: 32, ka: true },
    { sgs: 8, tk: 32, ...ka, or: 2 }, { sgs: 8, tk: 32, ...ka, sr: 2, or: 2 }, { sgs: 8, tk: 32, ...ka, sr: 2, or: 2, cl: true },
    { sgs: 16, tk: 32, rf: 0.5, ...ka, or: 2 }, { sgs: 8, tk: 32 }, { sgs: 4, tk: 32 }, { sgs: 8, tk: 16 }, { sgs: 4, tk: 64 },
    { sgs: 4, tk: 32, rf: 2 }, { sgs: 4, tk: 32, db: true }].map((s) => ({ ...off, ...s }));
  return [...sg.map((s) => ({ force: 'sgmat', sgmat: s })), ...tiles.map((t) => ({ force: 'tile', tile: t }))];
}

function sweepDecode(software) {
  if (software) return [{ decode: { wg: 64, ku: 1 } }, { decode: { fuse: 0 } }];
  // Around the H100 table entry (ku 4, no prefetch, fused merge up to 32 rows x splits).
  return [
    { decode: { ku: 2 } }, { decode: { ku: 2, prefetch: true } }, { decode: { prefetch: true } }, { decode: { fuse: 0 } },
    { decode: { wg: 256 } }, { decode: { dt: 8 } }, { minChunk: 512 }, { fill: 1056 }, { fill: 264 },
  ];
}

/** Fused vs composed on a strided sample of elements (f16 tolerance). */
async function check(lb, fused, composed, shape, dtype) {
  const a = fused();
  const b = composed();
  try {
    const [x, y] = await Promise.all([a.cast('f32').data(), b.cast('f32').data()]);
    const n = x.length;
    const step = Math.max(1, Math.floor(n / 4099));
    const tol = dtype === 'f16' ? 2e-2 : 1e-4;
    let worst = 0;
    for (let i = 0; i < n; i += step) {
      const d = Math.abs(x[i] - y[i]);
      if (!(d <= tol * Math.max(1, Math.abs(y[i])))) throw new Error(`attention [${shape}] ${dtype}: element ${i} fused ${x[i]} vs composed ${y[i]}`);
      worst = Math.max(worst, d);
    }
    progress(`    ok: ${Math.ceil(n / step)} elements, max |diff| ${worst.toExponential(2)}`);
  } finally {
    a.dispose();
    b.dispose();
  }
}
