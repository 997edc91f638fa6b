// Ops family: the memory-bound kernels of a transformer step besides matmul and attention
// (softmax, layerNorm, rmsNorm, rope, row reductions, gather, concat) in GB/s against the device
// copy bandwidth measured in the same run, in f32 and (where the adapter has shader-f16) f16.
import { deviceCopy, timeBatches, WARM_MS } from './gpu-timing.mjs';
import { gbps, progress, row } from './lib.mjs';

export const title = 'Ops: softmax, norms, rope, reductions, gather, concat vs device copy bandwidth';
export const baselines =
  'Each row: GB/s counting every input read once and the output written once; baseline = the device copy bandwidth ' +
  '(read + write; the better of `copyBufferToBuffer` and a WGSL vec4 copy kernel) over the input\'s byte size, measured ' +
  'in the same run, so the ratio is the fraction of copy speed reached. GPU time = submit to done of K evaluations ' +
  'recorded into one batch, divided by K, after 1 s of the same work untimed. Each op is first checked against the ' +
  'lbrx CPU reference on 16 rows of the same width. PyTorch: the same op eager on CUDA by CUDA events (`torch.softmax`, ' +
  '`F.layer_norm`, `F.rms_norm`, rope as `cat(x1·cos − x2·sin, x2·cos + x1·sin)` with cos/sin precomputed, ' +
  '`sum`/`amax`, `index_select`, `cat`).';

const FAMILY = 'ops';
const HEAD = 128;

export async function run(ctx) {
  const { lb, dev, software } = ctx;
  const R = software ? 256 : 8192;
  const D = software ? 1024 : 4096;
  const dtypes = dev.device.features.has('shader-f16') ? ['f32', 'f16'] : ['f32'];
  const rounds = software ? 3 : 8;
  const warmMs = software ? 0 : WARM_MS;
  const rows = [];
  for (const dtype of dtypes) {
    const es = dtype === 'f16' ? 2 : 4;
    const B = R * D * es;
    const size = `[${R}, ${D}] ${dtype}`;
    progress(`  ${size}: device copy`);
    const copy = await deviceCopy(dev, B, rounds, warmMs);
    const baseline = { name: `device copy (${copy.name}), ${B / 2 ** 20} MiB`, value: copy.gbs, unit: 'GB/s' };
    rows.push(row(FAMILY, {
      name: `device copy (${copy.name}; read + write)`, key: 'copy', size, metric: 'bandwidth', value: copy.gbs, unit: 'GB/s',
      note: Object.entries(copy.all).map(([n, s]) => `${n}: ${gbps(2 * B, s.ms).toFixed(1)} GB/s`).join('; '),
    }));
    const x = lb.randn([R, D], { dtype, seed: 11 }).realize();
    const w = lb.randn([D], { dtype, seed: 12 }).realize();
    const b = lb.randn([D], { dtype, seed: 13 }).realize();
    const nIds = R / 2;
    // The same weights on the CPU device, for the checks against the CPU reference.
    const cw = lb.tensor(await w.data(), [D], { dtype, device: 'cpu' });
    const cb = lb.tensor(await b.data(), [D], { dtype, device: 'cpu' });
    const on = (t) => (t.device === 'cpu' ? { w: cw, b: cb } : { w, b });
    const ids = lb.tensor(Array.from({ length: nIds }, (_, i) => (i * 7919) % R), [nIds], { dtype: 'i32' });
    const heads = D / HEAD;
    const headMajor = (t) => t.reshape([t.shape[0], heads, HEAD]).transpose([1, 0, 2]).contiguous();
    const ops = [
      { name: 'softmax over the last axis', key: 'softmax', bytes: 2 * B, f: (t) => lb.softmax(t, -1) },
      { name: 'layerNorm with weight and bias', key: 'layernorm', bytes: 2 * B + 2 * D * es, f: (t) => lb.layerNorm(t, on(t).w, on(t).b) },
      { name: 'rmsNorm with weight', key: 'rmsnorm', bytes: 2 * B + D * es, f: (t) => lb.rmsNorm(t, on(t).w) },
      // The timed rope reads an already head-major tensor (prep), so only rope itself is timed.
      { name: `rope (half layout) on [${heads}, rows, ${HEAD}]`, key: 'rope', bytes: 2 * B, f: (t) => lb.rope(headMajor(t)), prep: headMajor, g: (t) => lb.rope(t) },
      { name: 'sum over the last axis', key: 'sum', bytes: B + R * es, f: (t) => t.sum(-1) },
      { name: 'max over the last axis', key: 'max', bytes: B + R * es, f: (t) => t.max(-1) },
      { name: `gather ${nIds} rows of the table`, key: 'gather', bytes: 2 * nIds * D * es, f: null, g: () => lb.gather(x, ids) },
      { name: 'concat of two halves along axis 0', key: 'concat', bytes: 2 * B, f: null, g: () => lb.concat([x.slice([0, R / 2]), x.slice([R / 2, R])], 0) },
    ];
    try {
      for (const op of ops) {
        progress(`  ${size}: ${op.name}: check`);
        if (op.f) await check(lb, op.f, D, dtype);
        const input = op.prep ? op.prep(x).realize() : x;
        const k = Math.max(2, Math.min(16, Math.floor(2 ** 30 / B)));
        const record = () => [(op.g ?? op.f)(input).realize()];
        progress(`  ${size}: ${op.name}`);
        let t;
        try {
          t = await timeBatches(lb, record, k, rounds, warmMs);
        } finally {
          if (input !== x) input.dispose();
        }
        const value = gbps(op.bytes, t.ms);
        rows.push(row(FAMILY, {
          name: op.name, key: op.key, size, metric: 'bandwidth', value, unit: 'GB/s', baseline, stats: t,
          note: `${(t.ms * 1e3).toFixed(1)} µs per op, ${t.dispatchesPerEval} dispatch(es); ${(op.bytes / 2 ** 20).toFixed(0)} MiB moved`,
        }));
      }
    } finally {
      for (const t of [x, w, b, cw, cb, ids]) t.dispose();
    }
  }
  return rows;
}

/** The op on 16 rows of width D, GPU against the CPU reference (relative tolerance by dtype). */
async function check(lb, f, D, dtype) {
  const n = 16 * D;
  const vals = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3);
  const g = lb.tensor(vals, [16, D], { dtype });
  const c = lb.tensor(vals, [16, D], { dtype, device: 'cpu' });
  const [gy, cy] = [f(g), f(c)];
  try {
    const [a, e] = [await gy.data(), await cy.data()];
    const tol = dtype === 'f16' ? 2e-2 : 1e-4;
    for (let i = 0; i < a.length; i++) {
      if (!(Math.abs(a[i] - e[i]) <= tol * Math.max(1, Math.abs(e[i])))) {
        throw new Error(`ops bench check: element ${i} is ${a[i]} on the GPU, ${e[i]} on the CPU reference (${dtype})`);
      }
    }
  } finally {
    for (const t of [g, c, gy, cy]) t.dispose();
  }
}
