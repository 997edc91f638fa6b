// Where a decode's time goes (issue 5, L = 1). For each decode shape and plan variant (interleaved
// rounds: the machine's timings drift): the time per decode as bench/attention.bench.mjs takes it
// (32 recorded, lb.eval() to done, / 32, median of 5 after a warm-up), split at queue.submit into
// lbrx's encode and the GPU wait, and per-dispatch GPU timestamps (lb.profile); the fused merge's
// results against the combine pass's over many dispatches; same-run references: the device copy,
// a plain WGSL read-only reduction over the same bytes, a tiny dependent dispatch, and the cost
// of a pipeline-cache lookup per spec. Variants marked `memo` memoize pipeline lookups by spec
// object (what a cache that remembers spec objects would save). Output: bench/results/h100-runs/decode/.
// Usage: npm run build && node bench/decode-probe.mjs   (PROBE_QUICK=1: fewer variants)
import * as lb from '../dist/index.js';
import { attentionPlan, attentionTuning } from '../dist/ops/attention.js';
import { deviceCopy } from './gpu-timing.mjs';

const dev = await lb.init({ cacheDir: false });
const device = dev.device;
const software = dev.fingerprint.family === 'software';
const quick = process.env.PROBE_QUICK === '1' || software;
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const us = (ms) => (ms * 1000).toFixed(1);
const gbs = (bytes, ms) => bytes / (ms * 1e-3) / 1e9;
const log = (...a) => console.log(...a);

// queue.submit timestamps: eval start -> submit is lbrx's encode of the batch.
const queue = device.queue;
const submit0 = queue.submit.bind(queue);
let tSubmit = 0;
queue.submit = (cbs) => { tSubmit = performance.now(); return submit0(cbs); };

// The attention specs recorded (for the lookup-cost line at the end).
const record0 = dev.stream.record.bind(dev.stream);
const lastSpecs = [];
dev.stream.record = (cmd) => {
  if (cmd.kind === 'dispatch' && cmd.spec.label?.startsWith('attention')) lastSpecs.push(cmd.spec);
  record0(cmd);
};

/** K per batch, after warmMs of the same: per-item total, encode and wait (medians). */
async function timeIt(fn, k, rounds = 5, warmMs = 300) {
  const w0 = performance.now();
  do {
    const o = Array.from({ length: k }, fn);
    await lb.eval();
    o.forEach((t) => t.dispose());
  } while (performance.now() - w0 < warmMs);
  const tot = [], enc = [], wait = [];
  for (let r = 0; r < rounds; r++) {
    const o = Array.from({ length: k }, fn);
    const a = performance.now();
    await lb.eval();
    const e = performance.now();
    tot.push((e - a) / k); enc.push((tSubmit - a) / k); wait.push((e - tSubmit) / k);
    o.forEach((t) => t.dispose());
  }
  return { tot: med(tot), enc: med(enc), wait: med(wait) };
}

/** Per-dispatch GPU ms by kernel label (median, min), and the median gap between consecutive dispatches. */
async function profileIt(fn, k) {
  // A few ms of GPU work submitted first keeps the clocks up while the profiled batch is encoded.
  const heat = heater ? [heater(), heater()] : [];
  const rep = await lb.profile(async () => {
    const o = Array.from({ length: k }, fn);
    await lb.eval();
    o.forEach((t) => t.dispose());
  }, { peaks: false });
  heat.forEach((t) => t.dispose());
  const by = {};
  for (const r of rep.kernels) if (r.name.startsWith('attention')) (by[r.name] ??= []).push(r);
  const out = {};
  for (const [n, rs] of Object.entries(by)) {
    out[n] = { gpu: med(rs.map((r) => r.gpuMs)), min: Math.min(...rs.map((r) => r.gpuMs)), enc: med(rs.map((r) => r.cpuEncodeMs)), wg: rs[0].workgroups.join('x') };
  }
  const ks = rep.kernels.filter((r) => r.name.startsWith('attention'));
  const gaps = [];
  for (let i = 1; i < ks.length; i++) gaps.push(ks[i].startMs - (ks[i - 1].startMs + ks[i - 1].gpuMs));
  out.gap = gaps.length ? med(gaps) : 0;
  return out;
}
let heater = null;

async function withTuning(over, fn) {
  const saved = { ...attentionTuning };
  Object.assign(attentionTuning, over);
  try { return await fn(); } finally {
    for (const key of Object.keys(attentionTuning)) delete attentionTuning[key];
    Object.assign(attentionTuning, saved);
  }
}

// ---- raw WGSL references ----
const STORAGE = 0x80, COPY_DST = 0x8;
function rawKernel(code, bindings) {
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bindings.map((b, i) => ({ binding: i, resource: { buffer: b } })) });
  return { pipeline, group };
}
/** k dispatches in one pass (Dawn puts a barrier between dispatches writing the same buffer), submit to done / k. */
async function timeRaw(kern, wgs, k = 32, rounds = 7, warmMs = 300) {
  const per = [];
  const w0 = performance.now();
  for (let r = -1; r < rounds; r++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(kern.pipeline);
    pass.setBindGroup(0, kern.group);
    for (let i = 0; i < k; i++) pass.dispatchWorkgroups(wgs);
    pass.end();
    const cb = enc.finish();
    const a = performance.now();
    queue.submit([cb]);
    await queue.onSubmittedWorkDone();
    if (r < 0 && performance.now() - w0 < warmMs) r--;
    else if (r >= 0) per.push((performance.now() - a) / k);
  }
  return med(per);
}
function reduceCode(n, unroll) {
  const loads = Array.from({ length: unroll }, (_, u) => `a[i + ${u}u * st]`).join(' ^ ');
  return `@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let st = nw.x * 256u;
  var acc = vec4<u32>(0u);
  var i = g.x;
  for (; i + ${unroll - 1}u * st < ${n}u; i = i + ${unroll}u * st) { acc = acc ^ ${loads}; }
  for (; i < ${n}u; i = i + st) { acc = acc ^ a[i]; }
  let r = acc.x ^ acc.y ^ acc.z ^ acc.w;
  if (r == 0x9e3779b9u) { o[g.x & 1023u] = r; }
}`;
}

log(`device: ${dev.fingerprint.family} ${dev.adapter.info?.description ?? ''} ${dev.adapter.info?.device ?? ''}; subgroups ${dev.features.subgroups} (${dev.adapter.info?.subgroupMinSize}-${dev.adapter.info?.subgroupMaxSize}), timestamps ${dev.features.timestamps}`);

// heat the GPU ~1 s
{
  const n = software ? 64 : 4096;
  const x = lb.randn([n, n], { seed: 9 });
  const t0 = performance.now();
  while (performance.now() - t0 < (software ? 0 : 1200)) { const y = lb.matmul(x, x).realize(); await lb.eval(); y.dispose(); }
  heater = () => lb.matmul(x, x).realize();
}

const MiB = 2 ** 20;
const refSizes = software ? [4 * MiB] : [128 * MiB, 32 * MiB, 16 * MiB];
const copy = await deviceCopy(dev, refSizes[0], software ? 3 : 8, software ? 0 : 500);
log(`copy ${refSizes[0] / MiB} MiB: ${copy.gbs.toFixed(0)} GB/s (${copy.name}); ${Object.entries(copy.all).map(([n, t]) => `${n} ${gbs(2 * refSizes[0], t.ms).toFixed(0)}`).join(', ')}`);
const sink = device.createBuffer({ size: 4096, usage: STORAGE | COPY_DST });
for (const bytes of refSizes) {
  const src = device.createBuffer({ size: bytes, usage: STORAGE | COPY_DST });
  const n = bytes / 16;
  const parts = [];
  for (const unroll of [1]) {
    const kern = rawKernel(reduceCode(n, unroll), [src, sink]);
    for (const wgs of [132 * 8, Math.ceil(n / 256 / unroll)]) {
      const ms = await timeRaw(kern, Math.min(wgs, 65535));
      parts.push(`u${unroll} wg${wgs}: ${gbs(bytes, ms).toFixed(0)} GB/s ${us(ms)} µs`);
    }
  }
  log(`read-only reduction ${bytes / MiB} MiB: ${parts.join('; ')}`);
  src.destroy();
}
{
  const kern = rawKernel(`@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(128) fn main(@builtin(local_invocation_index) l: u32, @builtin(workgroup_id) w: vec3<u32>) { if (l == 0u) { o[w.x & 1023u] = w.x; } }`, [sink]);
  const parts = [];
  for (const wgs of [1, 544]) parts.push(`${wgs} wg: ${us(await timeRaw(kern, wgs, 64))} µs`);
  log(`tiny kernel, 64 dependent dispatches per pass, per dispatch: ${parts.join('; ')}`);
}

// ---- decode shapes ----
const D = 128;
const dtype = dev.device.features.has('shader-f16') ? 'f16' : 'f32';
const es = dtype === 'f16' ? 2 : 4;
const shapes = software
  ? [{ key: 'mha', Hq: 4, Hkv: 4, S: 2048 }, { key: '32k', Hq: 1, Hkv: 1, S: 4096 }]
  : [{ key: 'mha', Hq: 32, Hkv: 32, S: 8192 }, { key: 'gqa', Hq: 32, Hkv: 8, S: 8192 }, { key: '32k', Hq: 1, Hkv: 1, S: 32768 }];
// Per shape: plan variants, timed in interleaved rounds (the machine's timings drift); `memo`
// times the plan with pipeline lookups memoized by spec object (what a pipeline cache that
// remembers spec objects would save: lbrx's attention specs are reused objects).
const VARIANTS = quick
  ? { mha: [{}, { decode: { fuse: 0 } }], '32k': [{}, { decode: { fuse: 4096 } }] }
  : {
    mha: [{}, { decode: { ku: 4 } }, { decode: { ku: 4, prefetch: false } }, { decode: { ku: 4, fuse: 0 } }, { decode: { ku: 4 }, memo: true },
      { memo: true }, { decode: { ku: 4, fuse: 0 }, memo: true }],
    gqa: [{}, { decode: { prefetch: false } }, { decode: { ku: 4 } }, { decode: { ku: 4, prefetch: false } }, { decode: { rows: 1, prefetch: false } },
      { decode: { prefetch: false }, memo: true }],
    '32k': [{}, { decode: { ku: 4 } }, { fill: 132 }, { decode: { ku: 4 }, fill: 264 }, { memo: true }, { decode: { fuse: 4096 } }],
  };
const ROUNDS = quick ? 1 : 3;
const K = software ? 4 : 32;
const memoOn = () => {
  const memo = new WeakMap();
  const peek0 = dev.pipelines.peek;
  dev.pipelines.peek = (sp) => { let k = memo.get(sp); if (!k) { k = peek0.call(dev.pipelines, sp); if (k) memo.set(sp, k); } return k; };
  return () => { dev.pipelines.peek = peek0; };
};
for (const s of shapes) {
  const bytes = 2 * s.Hkv * s.S * D * es;
  const q = lb.randn([1, s.Hq, 1, D], { dtype, seed: 4 });
  const k = lb.randn([1, s.Hkv, s.S, D], { dtype, seed: 5 });
  const v = lb.randn([1, s.Hkv, s.S, D], { dtype, seed: 6 });
  await lb.eval();
  const fn = () => lb.attention(q, k, v, { causal: true }).realize();
  log(`\n== ${s.key}: Hq=${s.Hq} Hkv=${s.Hkv} S=${s.S} D=${D} ${dtype}, K+V ${(bytes / MiB).toFixed(0)} MiB`);
  // Fused results against the combine pass, over many dispatches (a partial read before its
  // store landed would show as a large error).
  {
    const ref = await withTuning({ decode: { fuse: 0 } }, async () => { const r = fn(); const d = await r.cast('f32').data(); r.dispose(); return d; });
    for (const over of [{ decode: { fuse: 4096 } }, { decode: { fuse: 4096, rows: 1 } }]) {
      await withTuning(over, async () => {
        const p = attentionPlan(dev, { B: 1, Hq: s.Hq, Hkv: s.Hkv, L: 1, S: s.S, D }, [dtype, dtype, dtype]);
        let worst = 0;
        let n = 0;
        for (let batch = 0; batch < (quick ? 2 : 8); batch++) {
          const outs = Array.from({ length: K }, () => fn().cast('f32').realize());
          await lb.eval();
          for (const o of outs) {
            const d = await o.data();
            for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - ref[i]) || (d[i] === ref[i] ? 0 : Infinity));
            o.dispose();
            n++;
          }
        }
        log(`fused check ${JSON.stringify(over)} (rows ${p.cfg.r} x splits ${p.splits}): ${n} decodes, max |fused - combine pass| = ${worst.toExponential(2)}${worst > 2e-2 ? '  <-- WRONG' : ''}`);
      });
    }
  }
  const res = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const v0 of VARIANTS[s.key] ?? []) {
      const { memo, ...over } = v0;
      const off = memo ? memoOn() : () => {};
      try {
        await withTuning(over, async () => {
          const p = attentionPlan(dev, { B: 1, Hq: s.Hq, Hkv: s.Hkv, L: 1, S: s.S, D }, [dtype, dtype, dtype]);
          const fusedPlan = p.splits > 1 && p.cfg.r * p.splits <= p.cfg.fuse;
          const desc = `${JSON.stringify(v0)} -> wg${p.cfg.wg} ku${p.cfg.ku} r${p.cfg.r} pf${p.cfg.pf ? 1 : 0} rblocks${p.rblocks} splits${p.splits} chunk${p.chunk} (${p.rblocks * s.Hkv * p.splits} wgs)${fusedPlan ? ' fused' : ''}`;
          const t = await timeIt(fn, K, 5, 400);
          const pr = await profileIt(fn, K);
          const kern = Object.entries(pr).filter(([n]) => n !== 'gap').map(([n, r]) => `${n.replace('attention ', '')} ${us(r.gpu)}`).join(' + ');
          const line = `${us(t.tot)} µs = ${gbs(bytes, t.tot).toFixed(0)} GB/s (${((gbs(bytes, t.tot) / copy.gbs) * 100).toFixed(0)}%): encode ${us(t.enc)} + wait ${us(t.wait)}; GPU ${kern} µs`;
          res.set(desc, [...(res.get(desc) ?? []), line]);
        });
      } finally {
        off();
      }
    }
  }
  for (const [desc, lines] of res) log(`${desc}\n   ${lines.join('\n   ')}`);
  for (const t of [q, k, v]) t.dispose();
}

// CPU cost of a pipeline lookup for the decode and combine specs (the encode path's prepare()).
{
  const seen = new Map();
  for (const sp of lastSpecs) seen.set(sp.label, sp);
  for (const [label, sp] of seen) {
    const n = 20000;
    const a = performance.now();
    for (let i = 0; i < n; i++) dev.pipelines.peek(sp);
    const t = (performance.now() - a) / n;
    const len = Object.values(sp.defines).reduce((s, x) => s + String(x).length, 0);
    log(`pipelines.peek(${label}): ${us(t)} µs per lookup; defines ${len} chars`);
  }
}
sink.destroy();
await lb.shutdown?.();
