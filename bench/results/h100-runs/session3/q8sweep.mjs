// H100 probe (session 3): configs of the 8-bit-activation matvec (rounding pass + QMV8) against the
// exact kernel and a read-only kernel over the same bytes, same process. VARIANTS='[[name, i8
// config or null for the exact kernel], ...]' replaces the first rows; SWEEP the swept configs.
// Run from the repo root with dist built: node bench/results/h100-runs/session3/q8sweep.mjs
import * as lb from '../../../../dist/index.js';
import { withQuantConfig } from '../../../../dist/ops/matmul-quant.js';
import { QUANT, quantizedWeights, timeHot } from '../../../formats-gpu.mjs';
import { copyBandwidth, deviceCopy } from '../../../gpu-timing.mjs';

await lb.init({ cacheDir: false });
const dev = lb.device();
const MiB = 2 ** 20;
const rounds = Number(process.env.ROUNDS ?? 5);
const warmMs = Number(process.env.WARM ?? 500);
const copyMiB = Number(process.env.COPY_MIB ?? 1024);
const copy = await deviceCopy(dev, copyMiB * MiB, rounds, 1000);
console.log(`device copy ${copy.name} ${copy.gbs.toFixed(0)} GB/s`);
const shapes = (process.env.SHAPES ?? '32000x4096,11008x4096,4096x11008,4096x4096').split(',').map((s) => s.split('x').map(Number));
const sweep = JSON.parse(process.env.SWEEP ?? JSON.stringify([
  { wg: 128, rows: 16, group: 4 }, { wg: 128, rows: 16, group: 8 }, { wg: 128, rows: 8, group: 8 }, { wg: 128, rows: 8, group: 2 },
  { wg: 128, rows: 4, group: 4 }, { wg: 64, rows: 8, group: 4 }, { wg: 64, rows: 16, group: 4 }, { wg: 256, rows: 8, group: 4 },
  { wg: 32, rows: 8, group: 4 },
]));
for (const [n, k] of shapes) for (const type of ['q8_0', 'q4_0', 'q4_k']) {
  const qBytes = Math.ceil((n * k) / QUANT[type].block) * QUANT[type].bytes;
  const copies = Math.max(1, Math.ceil(160e6 / qBytes));
  const qs = quantizedWeights(lb, type, n, k, copies);
  const x = lb.tensor(Float32Array.from({ length: k }, (_, i) => Math.sin(i) * 0.5), [1, k]);
  const read = await copyBandwidth(dev, qBytes, rounds, 'read', warmMs);
  const readGbs = qBytes / read.ms / 1e6;
  const moved = qBytes + k * 4 + n * 4;
  const w = lb.dequantize(qs[0]);
  const want = await lb.matmul(x, w, { transB: true }).data();
  const bound = await lb.matmul(lb.ones([1, k]), lb.abs(w), { transB: true }).data();
  w.dispose();
  const variants = process.env.VARIANTS ? JSON.parse(process.env.VARIANTS) : [['exact', null], ['8-bit x default', {}]];
  if (shapes.length < 3 || n * k >= 11008 * 4096) if (type !== 'q8_0' || n === 32000) for (const s of sweep) variants.push([`8-bit x ${JSON.stringify(s)}`, s]);
  variants.push(['8-bit x default (again)', {}]);
  const lines = [`${type} ${n}x${k}: ${(qBytes / MiB).toFixed(1)} MiB, read-only ${readGbs.toFixed(0)} GB/s (${((readGbs / copy.gbs) * 100).toFixed(0)}% of copy)`];
  for (const [name, cfg] of variants) {
    const q8 = cfg !== null;
    const mm = (q) => (q8 ? withQuantConfig({ i8: cfg }, () => lb.matmul(x, q, { transB: true, quantizeActivations: true })) : lb.matmul(x, q, { transB: true }));
    try {
      const g = await mm(qs[0]).data();
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const tol = 1e-3 * (1 + Math.abs(want[i])) + (q8 ? (0.5 / 127) * bound[i] : 0);
        worst = Math.max(worst, Math.abs(g[i] - want[i]) / tol);
      }
      let turn = 0;
      const t = await timeHot(lb, dev, () => [mm(qs[turn++ % copies])], 256, rounds, { warmMs });
      const gbs = moved / t.ms / 1e6;
      lines.push(`  ${name.padEnd(70)} ${(t.ms * 1e3).toFixed(1).padStart(6)} us ${gbs.toFixed(0).padStart(5)} GB/s ${((gbs / copy.gbs) * 100).toFixed(0).padStart(3)}% copy ${((gbs / readGbs) * 100).toFixed(0).padStart(3)}% read  ts ${t.profMs === null ? '-' : (t.profMs * 1e3).toFixed(1)} us  err/tol ${worst.toFixed(2)}${worst > 1 ? ' WRONG' : ''}`);
    } catch (e) {
      lines.push(`  ${name} failed: ${String(e.message).slice(0, 300)}`);
    }
  }
  console.log(lines.join('\n'));
  x.dispose();
  for (const q of qs) q.dispose();
}
const c2 = await deviceCopy(dev, copyMiB * MiB, rounds, 500);
console.log(`device copy (end) ${c2.name} ${c2.gbs.toFixed(0)} GB/s`);
process.exit(0);
