// Runtime family: upload/readback bandwidth, per-op overhead inside one eval (one dispatch per op, and
// lazy chains fused into ≈ K/48 kernels), pipeline-cache cost.
import { MiB, bytesLabel, gbps, measure, median, progress, row } from './lib.mjs';

export const title = 'Runtime: transfers, dispatch overhead, pipeline cache';
export const baselines =
  'Transfers: CPU `Float32Array.prototype.set` between two preallocated arrays of the same size (memcpy-like), ' +
  'measured in the same run. Per-op overhead: the same chain of adds as a plain JS loop over Float32Arrays; ' +
  'PyTorch: the same adds eager on CUDA (one launch per op, so both the unfused and the fused rows compare to it). ' +
  'Unfused rows realize every op (one dispatch each); fused rows let the lazy chain fuse (≈ K/48 dispatches). ' +
  'Ratio > 1 means lbrx is faster than the baseline.';

const FAMILY = 'runtime';
const K = Number(process.env.LBRX_BENCH_K ?? 1000);
const TINY = 256;
/** Nodes one fused kernel holds at most (MAX_FUSED_NODES in src/ops/gpu-elementwise.ts). */
const MAX_FUSED = 48;

export async function run(ctx) {
  const rows = [];
  const sizes = [1, 16, 64].map((m) => m * MiB);
  if (ctx.large) sizes.push(256 * MiB);
  for (const bytes of sizes) rows.push(...(await transfers(ctx, bytes)));
  rows.push(...(await syncCost(ctx)));
  rows.push(...(await dispatchOverhead(ctx)));
  rows.push(...(await pipelineCache(ctx)));
  return rows;
}

async function transfers(ctx, bytes) {
  const { lb, dev } = ctx;
  const size = bytesLabel(bytes);
  const n = bytes / 4;
  const src = new Float32Array(n);
  for (let i = 0; i < n; i++) src[i] = i & 0xffff;
  const big = bytes >= 64 * MiB;
  const time = big ? 400 : 500;
  const out = [];

  progress(`  ${size}: cpu set`);
  const dst = new Float32Array(n);
  dst.set(src); // touch the pages once, so the baseline does not time page faults
  const cpu = await measure(`cpu set ${size}`, () => dst.set(src), { time: 200, iterations: 5, warmupIterations: 10 });
  const cpuGBs = gbps(bytes, cpu.median);
  const baseline = { name: 'CPU Float32Array.set', value: cpuGBs, unit: 'GB/s' };
  out.push(row(FAMILY, { name: 'cpu memcpy (Float32Array.set)', key: 'cpu-copy', size, metric: 'bandwidth', value: cpuGBs, unit: 'GB/s', stats: cpu }));

  // Pooled reuse: the size class is in the pool, so the upload is a queue.writeBuffer.
  progress(`  ${size}: upload (pooled)`);
  let t;
  const warm = lb.tensor(src);
  await lb.eval();
  warm.dispose();
  let m0 = lb.memory();
  let s0 = lb.streamStats();
  const pooledSync = [];
  const pooled = await measure(`upload pooled ${size}`, async () => {
    const a = performance.now();
    t = lb.tensor(src);
    pooledSync.push(performance.now() - a);
    await lb.eval();
  }, { time, iterations: big ? 6 : 10, afterEach: () => t.dispose() });
  let m1 = lb.memory();
  let s1 = lb.streamStats();
  const pooledRuns = (s1.submits - s0.submits) || 1;
  out.push(row(FAMILY, {
    name: 'upload into a pooled buffer + eval (staging ring from 256 KiB, else writeBuffer)', key: 'upload-pooled', size, metric: 'bandwidth',
    value: gbps(bytes, pooled.median), unit: 'GB/s', baseline, stats: pooled,
    note: `lb.tensor() itself ${median(pooledSync).toFixed(2)} ms of ${pooled.median.toFixed(2)}; ${m1.created - m0.created} buffers created in ${pooledRuns} uploads`,
    detail: { tensorCallMs: median(pooledSync), totalMs: pooled.median },
  }));

  // First time: empty the pool before each upload, so every one creates a buffer mapped at creation.
  progress(`  ${size}: upload (first time)`);
  const syncMs = [];
  dev.pool.trim(0);
  m0 = lb.memory();
  s0 = lb.streamStats();
  const fresh = await measure(`upload fresh ${size}`, async () => {
    const a = performance.now();
    t = lb.tensor(src);
    syncMs.push(performance.now() - a);
    await lb.eval();
  }, {
    time, iterations: big ? 4 : 8,
    beforeEach: () => dev.pool.trim(0),
    afterEach: () => t.dispose(),
  });
  m1 = lb.memory();
  s1 = lb.streamStats();
  const freshRuns = s1.submits - s0.submits;
  const createSync = median(syncMs);
  out.push(row(FAMILY, {
    name: 'upload into a new buffer + eval (staging ring from 256 KiB, else mapped at creation)', key: 'upload-fresh', size, metric: 'bandwidth',
    value: gbps(bytes, fresh.median), unit: 'GB/s', baseline, stats: fresh,
    note: `lb.tensor() itself ${createSync.toFixed(2)} ms of ${fresh.median.toFixed(2)}; ${m1.created - m0.created} buffers created in ${freshRuns} uploads`,
    detail: { tensorCallMs: createSync, totalMs: fresh.median },
  }));

  // Readback of a GPU tensor: copy to a pooled MAP_READ staging buffer, map, slice.
  progress(`  ${size}: readback`);
  const g = lb.tensor(src);
  await lb.eval();
  const check = await g.data();
  if (check.length !== n || check[n - 1] !== src[n - 1] || check[12345 % n] !== src[12345 % n]) {
    throw new Error(`readback ${size}: wrong data`);
  }
  m0 = lb.memory();
  const rb = await measure(`readback ${size}`, async () => {
    await g.data();
  }, { time, iterations: big ? 6 : 10 });
  m1 = lb.memory();
  g.dispose();
  out.push(row(FAMILY, {
    name: 'readback (await t.data())', key: 'readback', size, metric: 'bandwidth',
    value: gbps(bytes, rb.median), unit: 'GB/s', baseline, stats: rb,
    note: `${m1.created - m0.created} buffers created`,
  }));
  dev.pool.trim(0);
  return out;
}

/** A sync point with nothing recorded: one empty submit plus the wait. */
async function syncCost(ctx) {
  const { lb } = ctx;
  progress('  empty eval');
  await lb.eval();
  const s = await measure('empty eval', () => lb.eval(), { time: 200, iterations: 20, warmupIterations: 5 });
  return [row(FAMILY, {
    name: 'empty lb.eval() round trip', key: 'empty-eval', size: '-', metric: 'latency',
    value: s.median * 1e3, unit: 'µs', better: 'lower', stats: s,
  })];
}

/**
 * K tiny adds then one eval, in two forms. Unfused: `x = x.add(1).realize()` records one kernel per
 * op (the per-dispatch record + encode cost). Fused: `x = x.add(1)` builds a lazy chain that
 * `lb.eval(x)` turns into about K/48 kernels. Wall, record, encode and wait per op; counters.
 */
async function dispatchOverhead(ctx) {
  const { lb, dev } = ctx;
  const out = [];
  const rounds = 6;
  const size = `${TINY} f32`;

  // Baseline: the same chain as plain typed-array loops, what a CPU small-op path could cost.
  progress('  per-op overhead: cpu baselines');
  const plain = await measure('plain JS add', () => {
    let x = new Float32Array(TINY);
    for (let k = 0; k < K; k++) {
      const z = new Float32Array(TINY);
      for (let i = 0; i < TINY; i++) z[i] = x[i] + 1;
      x = z;
    }
    if (x[0] !== K) throw new Error('plain JS add: wrong result');
  }, { time: 200, iterations: 5, warmupIterations: 2 });
  const plainPerOp = (plain.median / K) * 1e3;
  const baseline = { name: 'plain JS loop over Float32Array', value: plainPerOp, unit: 'µs/op' };
  out.push(row(FAMILY, {
    name: `cpu: plain Float32Array loop z[i] = x[i] + 1 ×${K}`, key: 'op-cpu-plain', size, metric: 'time per op',
    value: plainPerOp, unit: 'µs/op', better: 'lower', stats: plain, note: 'baseline for the per-op rows',
  }));
  const refMs = [];
  {
    let x = lb.tensor(new Float32Array(TINY), undefined, { device: 'cpu' });
    for (let r = 0; r < 4; r++) {
      const a = performance.now();
      for (let i = 0; i < K; i++) {
        const z = x.add(1);
        x.dispose();
        x = z;
      }
      if (r > 0) refMs.push(performance.now() - a);
    }
    x.dispose();
  }
  out.push(row(FAMILY, {
    name: `cpu: lbrx CPU reference x.add(1) ×${K}`, key: 'op-cpu-reference', size, metric: 'time per op',
    value: (median(refMs) / K) * 1e3, unit: 'µs/op', better: 'lower', baseline,
    note: 'the test oracle (Float64, generic broadcasting), not a fast path',
  }));

  const fusedIdeal = Math.ceil(K / MAX_FUSED);
  const variants = [
    { name: `unfused: x = x.add(1).realize() ×${K}, lb.eval()`, key: 'op-add-scalar-unfused', torch: 'op-add-scalar', scalar: true, fused: false },
    { name: `unfused: x = x.add(y).realize() ×${K}, lb.eval()`, key: 'op-add-tensor-unfused', torch: 'op-add-tensor', scalar: false, fused: false },
    { name: `fused: x = x.add(1) ×${K}, lb.eval(x)`, key: 'op-add-scalar-fused', torch: 'op-add-scalar', scalar: true, fused: true },
    { name: `fused: x = x.add(y) ×${K}, lb.eval(x)`, key: 'op-add-tensor-fused', torch: 'op-add-tensor', scalar: false, fused: true },
  ];
  for (const v of variants) {
    progress(`  per-op overhead: ${v.name}`);
    let x = lb.tensor(new Float32Array(TINY));
    const y = lb.tensor(new Float32Array(TINY).fill(1));
    await lb.eval();
    const spy = spyQueue(dev);
    const res = [];
    try {
      for (let r = 0; r < rounds; r++) {
        const s0 = lb.streamStats();
        const m0 = lb.memory();
        if (spy.writes >= 0) spy.writes = 0;
        spy.submitAt = NaN;
        const a = performance.now();
        for (let i = 0; i < K; i++) {
          let z = v.scalar ? x.add(1) : x.add(y);
          if (!v.fused) z = z.realize();
          x.dispose();
          x = z;
        }
        const b = performance.now();
        const held = lb.memory();
        // Fused: eval(x) generates the last kernel(s) of the chain, then submits and waits.
        await lb.eval(x);
        const c = performance.now();
        const s1 = lb.streamStats();
        const m1 = lb.memory();
        res.push({
          record: b - a, total: c - a, evalMs: c - b, encode: spy.submitAt - b, wait: c - spy.submitAt,
          dispatches: s1.dispatches - s0.dispatches, submits: s1.submits - s0.submits,
          bindGroupHits: (s1.bindGroupHits ?? NaN) - (s0.bindGroupHits ?? NaN),
          bindGroupMisses: (s1.bindGroupMisses ?? NaN) - (s0.bindGroupMisses ?? NaN),
          created: m1.created - m0.created, writes: spy.writes,
          heldBytes: held.liveBytes + held.pendingBytes - (m0.liveBytes + m0.pendingBytes),
        });
      }
    } finally {
      spy.restore();
    }
    const data = await x.data();
    if (data[0] !== rounds * K) throw new Error(`${v.name}: expected ${rounds * K}, got ${data[0]}`);
    x.dispose();
    y.dispose();
    const steady = res.slice(1); // round 0 compiles the pipelines and fills the pool
    const perOp = (f) => (median(steady.map(f)) / K) * 1e3;
    const last = steady[steady.length - 1];
    const expected = v.fused ? `≈ ${fusedIdeal} (⌈${K}/${MAX_FUSED}⌉)` : `${K}`;
    const counters = `per eval: ${last.dispatches} dispatches (ideal ${expected}), ${last.submits} submit(s), ` +
      `${last.writes} queue.writeBuffer, ${last.created} buffers created (first round ${res[0].created}); ` +
      `${(last.heldBytes / 1024).toFixed(0)} KiB held by disposed intermediates until eval`;
    out.push(row(FAMILY, {
      name: `${v.name}: wall per op`, key: `${v.key}-wall`, torchKey: `${v.torch}-wall`, size, metric: 'time per op',
      value: perOp((r) => r.total), unit: 'µs/op', better: 'lower', baseline, note: counters,
      detail: { rounds: steady.length, ...last, firstRound: res[0] },
    }));
    out.push(row(FAMILY, {
      name: `${v.name}: record (CPU) per op`, key: `${v.key}-record`, torchKey: `${v.torch}-record`, size, metric: 'time per op',
      value: perOp((r) => r.record), unit: 'µs/op', better: 'lower',
      note: v.fused ? 'lazy nodes; a kernel is generated each time a chain passes 48 nodes' : 'fusion codegen + stream.record, one kernel per op',
    }));
    const split = Number.isFinite(last.encode);
    out.push(row(FAMILY, {
      name: `${v.name}: eval, encode until queue.submit, per op`, key: `${v.key}-encode`, size, metric: 'time per op',
      value: split ? perOp((r) => r.encode) : NaN, unit: 'µs/op', better: 'lower',
      note: v.fused ? 'realizing the chain\'s last kernel, pipeline lookups, bind groups, pass encoding' : 'pipeline lookups, bind groups, pass encoding',
    }));
    out.push(row(FAMILY, {
      name: `${v.name}: eval, submit to done, per op`, key: `${v.key}-wait`, size, metric: 'time per op',
      value: split ? perOp((r) => r.wait) : NaN, unit: 'µs/op', better: 'lower', note: 'driver and GPU execution',
    }));
    const dispatchOk = last.submits === 1 && (v.fused ? last.dispatches <= fusedIdeal : last.dispatches === K);
    out.push(row(FAMILY, {
      name: `${v.name}: dispatches per eval`, key: `${v.key}-dispatches`, size, metric: 'count',
      value: last.dispatches, unit: 'dispatches', better: 'lower',
      note: `${last.submits} submit(s); ideal ${expected} and 1${dispatchOk ? ' (as expected)' : v.fused && last.submits === 1 ? ' (more kernels than the ideal)' : ' (NOT as expected)'}`,
    }));
    out.push(row(FAMILY, {
      name: `${v.name}: bind-group cache hits per eval`, key: `${v.key}-bindgroups`, size, metric: 'count',
      value: last.bindGroupHits, unit: 'hits',
      note: `misses per eval: ${steady.map((r) => r.bindGroupMisses).join(', ')} (rounds 2–${rounds}); first round ${res[0].bindGroupHits} hits, ${res[0].bindGroupMisses} misses`,
    }));
  }
  return out;
}

/** Counts queue.writeBuffer calls and timestamps the last queue.submit (encoding ends there). */
function spyQueue(dev) {
  const queue = dev.device.queue;
  const spy = { writes: -1, submitAt: NaN, restore: () => {} };
  try {
    const { writeBuffer, submit } = queue;
    queue.writeBuffer = function (...args) {
      spy.writes++;
      return writeBuffer.apply(this, args);
    };
    queue.submit = function (...args) {
      spy.submitAt = performance.now();
      return submit.apply(this, args);
    };
    spy.writes = 0;
    spy.restore = () => {
      delete queue.writeBuffer;
      delete queue.submit;
      if (queue.writeBuffer !== writeBuffer) queue.writeBuffer = writeBuffer;
      if (queue.submit !== submit) queue.submit = submit;
    };
  } catch {
    // A native object may refuse own properties: counts stay -1 (unknown).
  }
  return spy;
}

async function pipelineCache(ctx) {
  const { lb, dev } = ctx;
  const out = [];
  const cache = dev.pipelines;
  const fillSpec = { file: 'fill', label: 'fill' };
  // The elementwise spec an `x.add(1)` records: caught on its way into the stream.
  const ewSpec = await captureSpec(lb, dev);
  await cache.get(fillSpec);
  await cache.get(ewSpec);
  const BATCH = 1000;
  const nDefines = Object.keys(ewSpec.defines ?? {}).length;
  for (const [label, spec] of [['fill (no defines)', fillSpec], [`elementwise add (${nDefines} defines)`, ewSpec]]) {
    progress(`  pipeline cache hit: ${label}`);
    const hits0 = cache.stats().hits;
    const s = await measure(`cache get ${label}`, async () => {
      for (let i = 0; i < BATCH; i++) await cache.get(spec);
    }, { time: 200, iterations: 10, warmupIterations: 3 });
    const hits = cache.stats().hits - hits0;
    out.push(row(FAMILY, {
      name: `pipelines.get() hit, ${label}`, key: `cache-hit-${spec.file}`, size: '-', metric: 'time per call',
      value: (s.median / BATCH) * 1e6, unit: 'ns', better: 'lower', stats: s,
      note: `awaited; ${hits} hits counted`,
    }));
    const p = await measure(`cache peek ${label}`, () => {
      for (let i = 0; i < BATCH; i++) cache.peek(spec);
    }, { time: 200, iterations: 10, warmupIterations: 3 });
    out.push(row(FAMILY, {
      name: `pipelines.peek() hit, ${label}`, key: `cache-peek-${spec.file}`, size: '-', metric: 'time per call',
      value: (p.median / BATCH) * 1e6, unit: 'ns', better: 'lower', stats: p, note: 'synchronous lookup',
    }));
  }
  // Misses: fresh elementwise variants (an extra statement in the fused body gives a new source).
  progress('  pipeline cache miss: fresh elementwise variants');
  if (typeof ewSpec.defines?.BODY !== 'string') throw new Error('pipeline cache: the elementwise spec has no BODY define to vary');
  const missMs = [];
  const tag = Date.now() % 100000;
  for (let i = 0; i < 4; i++) {
    const body = `${ewSpec.defines.BODY}\n  let bench_miss = ${tag * 8 + i + 1}u;`;
    const spec = { ...ewSpec, label: 'bench-miss', defines: { ...ewSpec.defines, BODY: body } };
    const m0 = cache.stats().misses;
    const a = performance.now();
    await cache.get(spec);
    missMs.push(performance.now() - a);
    if (cache.stats().misses !== m0 + 1) throw new Error('pipeline cache: expected a miss for a fresh variant');
  }
  out.push(row(FAMILY, {
    name: 'pipelines.get() miss: compile a fresh elementwise variant', key: 'cache-miss', size: '-', metric: 'time per call',
    value: median(missMs), unit: 'ms', better: 'lower', note: `median of ${missMs.length}: ${missMs.map((x) => x.toFixed(1)).join(', ')} ms`,
  }));
  const ps = lb.pipelineStats();
  out.push(row(FAMILY, {
    name: 'compile time per miss over the whole run (pipelineStats)', key: 'cache-miss-avg', size: '-', metric: 'time per call',
    value: ps.compileMs / Math.max(1, ps.misses), unit: 'ms', better: 'lower',
    note: `${ps.misses} misses, ${ps.compileMs.toFixed(0)} ms compiling, ${ps.hits} hits, ${ps.pipelines} pipelines`,
  }));
  return out;
}

async function captureSpec(lb, dev) {
  const stream = dev.stream;
  let spec = null;
  const orig = stream.record;
  stream.record = function (cmd) {
    if (cmd.kind === 'dispatch' && cmd.spec.file === 'elementwise') spec ??= cmd.spec;
    return orig.call(this, cmd);
  };
  let x, y;
  try {
    x = lb.tensor(new Float32Array(4));
    // Elementwise ops are lazy: realize() records the fused kernel into the current batch.
    y = x.add(1).realize();
  } finally {
    delete stream.record;
  }
  await lb.eval();
  x.dispose();
  y.dispose();
  if (!spec) throw new Error('could not capture the elementwise kernel spec of x.add(1)');
  return spec;
}
