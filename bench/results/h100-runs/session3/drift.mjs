// H100 probe (session 3): does a kernel slow down as a process goes on, and do the GPU's clocks,
// power or temperature follow? The same three measurements repeated for ~2 minutes, with
// nvidia-smi sampled in the background (DRIFT_SMI=path of its CSV log).
import * as lb from '../../../../dist/index.js';
import { quantizedWeights, timeHot } from '../../../formats-gpu.mjs';
import { copyBandwidth } from '../../../gpu-timing.mjs';

await lb.init({ cacheDir: false });
const dev = lb.device();
const [n, k] = (process.env.SHAPE ?? '32000x4096').split('x').map(Number);
const iters = Number(process.env.ITERS ?? 25);
const copies = 3;
const qs = quantizedWeights(lb, 'q4_0', n, k, copies);
const qBytes = (n * k / 32) * 18;
const x = lb.tensor(Float32Array.from({ length: k }, (_, i) => Math.sin(i) * 0.5), [1, k]);
const t0 = performance.now();
for (let it = 0; it < iters; it++) {
  let turn = 0;
  const i8 = await timeHot(lb, dev, () => [lb.matmul(x, qs[turn++ % copies], { transB: true, quantizeActivations: true })], 256, 3, { warmMs: 300 });
  const ex = await timeHot(lb, dev, () => [lb.matmul(x, qs[turn++ % copies], { transB: true })], 256, 3, { warmMs: 300 });
  const rd = await copyBandwidth(dev, qBytes, 3, 'read', 300);
  const m = lb.memory();
  console.log(`t=${((performance.now() - t0) / 1000).toFixed(1)}s  8-bit ${(i8.ms * 1e3).toFixed(1)} us (min ${(i8.min * 1e3).toFixed(1)})  exact ${(ex.ms * 1e3).toFixed(1)} us  read-only ${(rd.ms * 1e3).toFixed(1)} us  buffers ${m.buffers} pooled ${(m.pooledBytes / 2 ** 20).toFixed(0)} MiB created ${m.created}`);
}
process.exit(0);
