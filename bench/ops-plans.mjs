// Row-kernel plans measured on this device by GPU timestamps (lb.profile): threads per row and
// prefetching workgroups for softmax/layerNorm/rmsNorm, threads per row for row sum/max, at
// [R, D] = [8192, 4096] f32 and f16 (PROBE_R / PROBE_D change it); also rope, gather and concat
// GPU-only GB/s. Prints every plan and writes the best as ops-plans.json (in LBRX_BENCH_OUT or
// here); `node --import ./bench/ops-plans-apply.mjs bench/run.mjs ops` then benchmarks with it,
// and the defaults in src/ops/rows.ts (ROW_TUNING) are where a measured plan belongs.
// Usage: npm run build && node bench/ops-plans.mjs
import { writeFileSync } from 'node:fs';
import * as lb from '../dist/index.js';
import { ROW_TUNING } from '../dist/ops/rows.js';
await lb.init({ cacheDir: false });
const out = process.env.LBRX_BENCH_OUT ?? '.';
const R = Number(process.env.PROBE_R ?? 8192), D = Number(process.env.PROBE_D ?? 4096);
const gb = (bytes, ms) => bytes / (ms * 1e-3) / 1e9;
const clone = (o) => JSON.parse(JSON.stringify(o));
const base = clone(ROW_TUNING);

/** GPU ms per call of f (summed over its kernels: concat is one per input), after warmMs of it. */
async function gpuTime(f, warmMs = 300) {
  const t0 = performance.now();
  while (performance.now() - t0 < warmMs) {
    const o = [f().realize(), f().realize(), f().realize(), f().realize()];
    await lb.eval();
    o.forEach((t) => t.dispose());
  }
  const calls = 12;
  const rep = await lb.profile(async () => {
    const o = Array.from({ length: calls }, () => f().realize());
    await lb.eval();
    o.forEach((t) => t.dispose());
  }, { peaks: false });
  return rep.kernels.reduce((s, k) => s + k.gpuMs, 0) / calls;
}

const CACHED = [
  ['pt4', 4, false, 1024],
  ['pt8', 8, false, 1024],
  ['pt2', 2, false, 1024],
  ['pt4-pf528', 4, true, 528],
  ['pt4-pf1056', 4, true, 1056],
  ['pt8-pf1056', 8, true, 1056],
];
const STREAM = [['pt4', 4], ['pt8', 8], ['pt16', 16], ['pt32', 32]];
const best = clone(base);
const lines = [];
let first = true;
for (const dtype of ['f32', 'f16']) {
  const es = dtype === 'f16' ? 2 : 4;
  const B = R * D * es;
  const x = lb.randn([R, D], { dtype, seed: 1 }).realize();
  const w = lb.randn([D], { dtype, seed: 2 }).realize();
  const b = lb.randn([D], { dtype, seed: 3 }).realize();
  await lb.eval();
  const cached = { softmax: () => lb.softmax(x, -1), layerNorm: () => lb.layerNorm(x, w, b), rmsNorm: () => lb.rmsNorm(x, w) };
  let bestC = null;
  for (const [name, pt, pf, groups] of CACHED) {
    const plan = { perThread: { 4: pt, 2: pt }, prefetch: { 4: pf, 2: pf }, groups: { 4: groups, 2: groups } };
    ROW_TUNING.cached = plan;
    let total = 0;
    const parts = [];
    for (const [op, f] of Object.entries(cached)) {
      const ms = await gpuTime(f, first ? 2000 : 300);
      first = false;
      total += ms;
      parts.push(`${op} ${gb(2 * B, ms).toFixed(0)}`);
    }
    lines.push(`${dtype} cached ${name}: ${parts.join(', ')} GB/s (GPU timestamps)`);
    if (!bestC || total < bestC.total) bestC = { name, plan, total };
  }
  for (const k of ['perThread', 'prefetch', 'groups']) best.cached[k][es] = bestC.plan[k][es];
  lines.push(`${dtype} cached best: ${bestC.name}`);
  ROW_TUNING.cached = clone(base.cached);
  const stream = { sum: () => x.sum(-1), max: () => x.max(-1) };
  let bestS = null;
  for (const [name, pt] of STREAM) {
    ROW_TUNING.stream = { perThread: { 4: pt, 2: pt } };
    let total = 0;
    const parts = [];
    for (const [op, f] of Object.entries(stream)) {
      const ms = await gpuTime(f);
      total += ms;
      parts.push(`${op} ${gb(B, ms).toFixed(0)}`);
    }
    lines.push(`${dtype} stream ${name}: ${parts.join(', ')} GB/s`);
    if (!bestS || total < bestS.total) bestS = { name, pt, total };
  }
  best.stream.perThread[es] = bestS.pt;
  lines.push(`${dtype} stream best: ${bestS.name}`);
  ROW_TUNING.stream = clone(base.stream);
  // The others, GPU time only (end-to-end numbers are the bench's).
  const ids = lb.tensor(Array.from({ length: R / 2 }, (_, i) => (i * 7919) % R), [R / 2], { dtype: 'i32' });
  const xr = lb.tidy(() => x.reshape([R, D / 128, 128]).transpose([1, 0, 2]).contiguous()).realize();
  await lb.eval();
  const others = [
    ['rope half', () => lb.rope(xr), 2 * B],
    ['rope interleaved', () => lb.rope(xr, null, { layout: 'interleaved' }), 2 * B],
    ['gather', () => lb.gather(x, ids), B],
    ['concat', () => lb.tidy(() => lb.concat([x.slice([0, R / 2]), x.slice([R / 2, R])], 0)), 2 * B],
  ];
  for (const [name, f, bytes] of others) lines.push(`${dtype} ${name}: ${gb(bytes, await gpuTime(f)).toFixed(0)} GB/s GPU`);
  for (const t of [x, w, b, ids, xr]) t.dispose();
  console.log(lines.splice(0).join('\n'));
}

writeFileSync(`${out}/ops-plans.json`, JSON.stringify(best));
console.log(`tuning: ${JSON.stringify(best)}`);
process.exit(0);
