// The formats family's quantized matmul rows: M = 1 (exact and 8-bit activations) against the
// device copy and a read-only kernel over the same bytes, and M > 1 against dense matmuls.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyBandwidth, deviceCopy, WARM_MS } from './gpu-timing.mjs';
import { gbps, MiB, progress, row } from './lib.mjs';
import { FAMILY, QUANT, quantizedWeights, timeHot, us } from './formats-gpu.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function quantMatvec(ctx) {
  const { lb, dev, software } = ctx;
  const { withQuantConfig } = await import(pathToFileURL(join(root, 'dist', 'ops', 'matmul-quant.js')).href);
  const { integerPreferred } = await import(pathToFileURL(join(root, 'dist', 'ops', 'matmul-quant-i8.js')).href);
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
  // Every type at one size; Q8_0, Q4_0, Q4_K at all, with the exact default (the integer matvec
  // where its config is persistent or the weight large, else the f32 decoder: integerPreferred),
  // the other exact kernel (forced 'int' is the two-pass integer matvec where the default is the
  // f32 decoder), and 8-bit activations.
  const cases = [];
  for (const [n, k] of sizes) {
    for (const type of ['q8_0', 'q4_0', 'q4_k']) {
      cases.push({ type, n, k }, { type, n, k, config: { matvec: integerPreferred(dev, n, k, type) ? 'float' : 'int' } }, { type, n, k, q8x: true });
    }
  }
  for (const type of ['q4_1', 'q5_0', 'q5_1', 'q5_k', 'q6_k']) cases.push({ type, n: bigN, k: bigK });
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
    const kernel = q8x ? 'integer, 8-bit x' : (config?.matvec ?? (integerPreferred(dev, n, k, type) ? 'int' : 'float')) === 'int' ? 'integer, x as 23-bit integers' : 'f32 decoder';
    const label = `${config ? ' (not the default)' : ''}: ${kernel}` + (q8x ? ' (quantizeActivations)' : '');
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
      const t = await timeHot(lb, () => [run(() => mm(x, qs[turn++ % copies]))], software ? 4 : 256, rounds, { software, warmMs });
      const moved = qBytes + k * 4 + n * 4;
      out.push(row(FAMILY, {
        name: `lb.matmul(x, q, { transB: true }) ${type} M = 1${label}`, key: `qmv-${type}-${n}x${k}${config ? `-${config.matvec}` : ''}${q8x ? '-q8x' : ''}`,
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
export async function quantMatmul(ctx) {
  const { lb, dev, software } = ctx;
  const { withQuantConfig } = await import(pathToFileURL(join(root, 'dist', 'ops', 'matmul-quant.js')).href);
  const [n, k] = software ? [256, 512] : [4096, 4096];
  const warmMs = software ? 0 : WARM_MS;
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
          const time = (fn) => timeHot(lb, () => [fn()], reps, rounds, { software, warmMs });
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
          if (m > 16) {
            // f16 a: the default (through an f16 weight where the GPU has subgroup matrices and M >= 128) vs the fused kernel.
            const fused = (fn) => withQuantConfig({ prefill: 'fused' }, fn);
            const half = dev.features.subgroupMatrix && dev.features.f16 && m >= 128;
            // The default is the dense f16 matmul on the f16 weight (w16 here) or the fused kernel: the same outputs.
            const h = await lb.matmul(a16, q, { transB: true }).data();
            const f = await (half ? lb.matmul(a16, w16, { transB: true }) : fused(() => lb.matmul(a16, q, { transB: true }))).data();
            for (let i = 0; i < h.length; i++) {
              if (!Object.is(h[i], f[i])) throw new Error(`${type} M ${m} f16 a: output ${i} is ${h[i]}, ${half ? 'the dense f16 matmul on the f16 weight' : 'the fused kernel'} gives ${f[i]}`);
            }
            const th = await time(() => lb.matmul(a16, q, { transB: true }));
            const tf = await time(() => fused(() => lb.matmul(a16, q, { transB: true })));
            out.push(row(FAMILY, {
              name: `lb.matmul(a16, q, { transB: true }) ${type} f16 a, M > 16 (default: ${half ? 'dequantize to f16, dense f16 matmul' : 'fused'}; vs the fused kernel)`,
              key: `qmm16-${type}-${m}`, size, metric: 'throughput', value: gf(th), unit: 'GFLOP/s',
              baseline: { name: 'fused kernel with f16 a (forced), same run', value: gf(tf) }, stats: th,
              note: `${us(th.ms)} per call (fused ${us(tf.ms)}), ${th.dispatchesPerCall} dispatches per call`,
            }));
          }
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
