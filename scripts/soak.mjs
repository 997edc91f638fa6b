// Soak: a transformer-style step run N times; proves no GPUBuffer churn and no live-byte growth
// after warm-up, and that Dawn's GC crash workaround holds with a major GC every 500 steps.
//   npm run --silent build && node scripts/soak.mjs [--steps 10000] [--size small|medium]
// Exit 1: new GPUBuffers created or live bytes grew after warm-up, or a non-finite result.
// Exit 2: an exception (a crash of the process itself shows as a signal).
import v8 from 'node:v8';
import vm from 'node:vm';
import * as lb from '../dist/index.js';

const SIZES = {
  small: { B: 1, L: 16, D: 64, Hq: 4, Hkv: 2, Dh: 16, F: 128 },
  medium: { B: 2, L: 256, D: 1024, Hq: 16, Hkv: 4, Dh: 64, F: 2816 },
};

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const steps = Number(arg('steps', '10000'));
const sizeName = arg('size', 'small');
const cfg = SIZES[sizeName];
if (!cfg || !Number.isInteger(steps) || steps < 200) {
  console.error('usage: node scripts/soak.mjs [--steps N>=200] [--size small|medium]');
  process.exit(2);
}
const WARMUP = 100;
const GC_EVERY = 500;
const CHECK_EVERY = 100;
const REPORT_EVERY = 1000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** Weights, made once: norms and q/k/v/o and SwiGLU projections, scaled ~1/sqrt(fan-in). */
export function makeWeights(lbx, c) {
  return lbx.tidy(() => {
    let seed = 1;
    const w = (r, k) => lbx.randn([r, k], { seed: seed++ }).mul(1 / Math.sqrt(r));
    return {
      n1: lbx.ones([c.D]), n2: lbx.ones([c.D]),
      wq: w(c.D, c.Hq * c.Dh), wk: w(c.D, c.Hkv * c.Dh), wv: w(c.D, c.Hkv * c.Dh), wo: w(c.Hq * c.Dh, c.D),
      w1: w(c.D, c.F), w3: w(c.D, c.F), w2: w(c.F, c.D),
    };
  });
}

/** One pre-norm decoder block on x [B·L, D]; returns a new tensor of the same shape. */
export function block(lbx, W, x, c) {
  return lbx.tidy(() => {
    const { B, L, Hq, Hkv, Dh } = c;
    const heads = (t, H) => t.reshape([B, L, H, Dh]).transpose([0, 2, 1, 3]); // [B, H, L, Dh]
    const h = lbx.rmsNorm(x, W.n1);
    const q = lbx.rope(heads(h.matmul(W.wq), Hq));
    const k = lbx.rope(heads(h.matmul(W.wk), Hkv));
    const v = heads(h.matmul(W.wv), Hkv);
    const a = lbx.attention(q, k, v, { causal: true }); // GQA: Hq heads over Hkv
    const x1 = x.add(a.transpose([0, 2, 1, 3]).reshape([B * L, Hq * Dh]).matmul(W.wo));
    const h2 = lbx.rmsNorm(x1, W.n2);
    const mlp = h2.matmul(W.w1).silu().mul(h2.matmul(W.w3)).matmul(W.w2);
    return x1.add(mlp);
  });
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

async function main() {
  await lb.init({ cacheDir: false });
  const fp = lb.device()?.fingerprint;
  console.log(`device: ${fp ? `${fp.description || fp.device} (${fp.id})` : 'unknown'}`);
  console.log(`size: ${sizeName} ${JSON.stringify(cfg)}, steps: ${steps}, major GC every ${GC_EVERY}`);
  const W = makeWeights(lb, cfg);
  let x = lb.randn([cfg.B * cfg.L, cfg.D], { seed: 99 });
  const rows = [];
  let warm = null;
  let tMark = performance.now();
  let sMark = 0;
  let gcs = 0;
  let nonFinite = 0;
  console.log('step\tliveBytes\tpooledBytes\tcreated\tRSS MiB\tms/step');
  for (let s = 1; s <= steps; s++) {
    const out = block(lb, W, x, cfg);
    x.dispose();
    x = out;
    await lb.eval(x);
    if (s % CHECK_EVERY === 0) {
      const t = lb.tidy(() => x.abs().max());
      const [m] = await t.data();
      t.dispose();
      if (!Number.isFinite(m)) {
        nonFinite++;
        console.error(`step ${s}: max |x| = ${m}`);
      }
    }
    if (s % GC_EVERY === 0) {
      gc();
      gcs++;
    }
    if (s === WARMUP || s % REPORT_EVERY === 0 || s === steps) {
      const now = performance.now();
      const m = lb.memory();
      const row = {
        step: s, liveBytes: m.liveBytes, pooledBytes: m.pooledBytes, created: m.created,
        rss: rssMiB(), msPerStep: (now - tMark) / (s - sMark),
      };
      if (s === WARMUP) warm = row;
      if (rows.at(-1)?.step !== s) rows.push(row);
      console.log(`${s}\t${m.liveBytes}\t${m.pooledBytes}\t${m.created}\t${row.rss.toFixed(1)}\t${row.msPerStep.toFixed(2)}`);
      tMark = now;
      sMark = s;
    }
  }
  const last = rows.at(-1);
  const createdAfter = last.created - warm.created;
  const liveGrowth = last.liveBytes - warm.liveBytes;
  const rssGrowth = last.rss - warm.rss;
  console.log(`GPUBuffers created after warm-up (step ${WARMUP}): ${createdAfter}`);
  console.log(`live-bytes growth after warm-up: ${liveGrowth}`);
  console.log(`RSS growth after warm-up: ${rssGrowth.toFixed(1)} MiB (${warm.rss.toFixed(1)} -> ${last.rss.toFixed(1)})`);
  console.log(`major GCs: ${gcs}, non-finite checks: ${nonFinite}`);
  x.dispose();
  for (const t of Object.values(W)) t.dispose();
  const leftLive = lb.memory().liveBytes;
  console.log(`live bytes after disposing everything: ${leftLive}`);
  await lb.shutdown();
  gc();
  const ok = createdAfter === 0 && liveGrowth === 0 && nonFinite === 0 && leftLive === 0;
  console.log(ok ? 'PASS' : 'FAIL');
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
