// Bench runner: `node bench/run.mjs [family ...]`. Every `bench/<family>.bench.mjs` is a family;
// it exports `async function run(ctx)` returning rows (see lib.mjs `row`), and optionally
// `title` and `baselines` (text for the report). No family named = all of them.
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { arch, cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { attachTorch, writeReport } from './report.mjs';
import { clearProgress, log, progress, progressScope } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const LIMIT_KEYS = [
  'maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', 'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment',
];

async function discover() {
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.mjs')).sort();
  return new Map(files.map((f) => [f.slice(0, -'.bench.mjs'.length), join(here, f)]));
}

function usage(known) {
  return `usage: npm run bench [-- family ...]\nfamilies: ${[...known.keys()].join(', ')}\n` +
    'env: LBRX_BENCH_OUT (output dir), LBRX_BENCH_LARGE=1|0 (256 MiB transfers), LBRX_BENCH_FAST=1 (Dawn fast toggles), ' +
    'LBRX_BENCH_TORCH=1|0 (PyTorch baseline; default on for non-software devices), LBRX_BENCH_K (runtime ops per eval), ' +
    'LBRX_BENCH_EW_LOG2 (elementwise size 2^n), LBRX_BENCH_PEAKS=0 (no peak calibration), LBRX_BENCH_VERBOSE=1 (every progress line, also in logs)';
}

function deviceInfo(dev) {
  const fp = dev.fingerprint;
  const info = dev.adapter.info ?? {};
  const limits = {};
  for (const k of LIMIT_KEYS) if (dev.limits[k] !== undefined) limits[k] = dev.limits[k];
  const d = {
    id: fp.id, description: fp.description, family: fp.family, vendor: fp.vendor,
    architecture: fp.architecture, device: fp.device,
    adapterInfo: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' },
    features: [...dev.device.features].sort(), limits,
  };
  if (fp.sizeClass) d.sizeClass = fp.sizeClass;
  if (typeof info.subgroupMinSize === 'number') {
    d.subgroupMinSize = info.subgroupMinSize;
    d.subgroupMaxSize = info.subgroupMaxSize;
  }
  return d;
}

/** PyTorch (CUDA) numbers for the same keys, from bench/torch_baseline.py; never fails the run. */
function torchBaseline(families, large, software) {
  const script = join(here, 'torch_baseline.py');
  const want = process.env.LBRX_BENCH_TORCH;
  if (want === '0') return { info: { available: false, why: 'LBRX_BENCH_TORCH=0' }, rows: [] };
  if (software && want !== '1') return { info: { available: false, why: 'software adapter (set LBRX_BENCH_TORCH=1 to force)' }, rows: [] };
  progressScope('[torch] ');
  progress('python3 bench/torch_baseline.py');
  const args = [script, '--families', families.join(','), ...(large ? ['--large'] : [])];
  const r = spawnSync('python3', args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}`;
    log(`torch baseline skipped: ${why}`);
    return { info: { available: false, why }, rows: [] };
  }
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    return { info: { available: out.available, version: out.version, device: out.device, why: out.why }, rows: out.rows ?? [] };
  } catch (e) {
    return { info: { available: false, why: `unreadable output: ${e.message}` }, rows: [] };
  }
}

/** The device's peaks from the GPU-family table and from a calibration in this run (the "% peak" column). */
async function measurePeaks(lb) {
  progressScope('[peaks] ');
  const out = { table: await lb.peaks({ source: 'table' }), calibrated: null };
  if (process.env.LBRX_BENCH_PEAKS === '0') out.note = 'calibration off (LBRX_BENCH_PEAKS=0)';
  else {
    progress('calibrating: copy bandwidth, f32/f16 FMA and matrix rates');
    try {
      out.calibrated = await lb.peaks({ source: 'calibrate', cacheDir: false });
    } catch (e) {
      out.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
  const rate = (g) => (g === undefined ? '-' : g >= 1000 ? `${(g / 1e3).toPrecision(3)} TFLOP/s` : `${g.toPrecision(3)} GFLOP/s`);
  const one = (p) => `${p.bandwidthGBs.toPrecision(3)} GB/s, f32 ${rate(p.f32Gflops)}, f16 ${rate(p.f16Gflops)}`;
  log(`peaks: table ${out.table ? one(out.table) : 'does not know this GPU'}; calibrated ${out.calibrated ? one(out.calibrated) : out.error ?? out.note}`);
  return out;
}

async function readVersion(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8')).version;
  } catch {
    return undefined;
  }
}

async function main() {
  const known = await discover();
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h') || args.includes('--list')) {
    console.log(usage(known));
    return 0;
  }
  const unknown = args.filter((a) => !known.has(a));
  if (unknown.length) {
    console.error(`unknown bench famil${unknown.length > 1 ? 'ies' : 'y'}: ${unknown.join(', ')}\n${usage(known)}`);
    return 2;
  }
  const families = args.length ? [...new Set(args)] : [...known.keys()];

  if (process.platform === 'linux') process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const lb = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const fast = process.env.LBRX_BENCH_FAST === '1';
  // No persisted pipeline record: every run compiles from scratch, so miss costs are comparable.
  await lb.init({ cacheDir: false, fast });
  const dev = lb.device();
  const device = deviceInfo(dev);
  const software = device.family === 'software';
  const large = process.env.LBRX_BENCH_LARGE ? process.env.LBRX_BENCH_LARGE === '1' : !software;
  log(`device: ${device.description || device.id} (${device.id}); families: ${families.join(', ')}${large ? '; large sizes on' : ''}`);

  const ranAt = new Date().toISOString();
  const result = {
    device, date: ranAt.slice(0, 10), ranAt, node: process.version, libraryVersion: pkg.version,
    webgpuVersion: await readVersion(join(root, 'node_modules', 'webgpu', 'package.json')),
    host: { platform: process.platform, arch: arch(), release: release(), cpu: cpus()[0]?.model ?? '?', cpus: cpus().length },
    toggles: [...dev.toggles], fast, large, torch: null, peaks: await measurePeaks(lb), families: {}, rows: [],
  };
  let failed = 0;
  for (const name of families) {
    const mod = await import(pathToFileURL(known.get(name)).href);
    const entry = { title: mod.title ?? name, baselines: mod.baselines ?? '', ranAt };
    result.families[name] = entry;
    progressScope(`[${name}] `);
    progress('starting');
    const t0 = performance.now();
    try {
      // `dev` is read when a family starts: one that re-inits (matmul's fast mode) replaces the device.
      const rows = await mod.run({ lb, get dev() { return lb.device(); }, device, large, software, family: name });
      result.rows.push(...rows.map((r) => ({ ...r, family: name })));
    } catch (e) {
      failed++;
      entry.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`[${name}] failed: ${e instanceof Error ? e.stack : e}`);
    }
    entry.seconds = Number(((performance.now() - t0) / 1e3).toFixed(1));
    log(`[${name}] ${entry.seconds} s, ${result.rows.filter((r) => r.family === name).length} rows`);
  }
  await lb.shutdown();
  // PyTorch runs after lbrx is done with the GPU. Run first, it left the GPU idle for ~30 s
  // before the families, and an idle H100 drops its clocks (345 MHz) and ramps them back only
  // over a second or more of bursty work: early rows ran at half speed.
  const torch = torchBaseline(families, large, software);
  result.torch = torch.info;
  attachTorch(result.rows, torch.rows);

  const outDir = resolve(process.env.LBRX_BENCH_OUT || join(here, 'results'));
  progressScope('');
  progress('writing the report and charts');
  const { jsonPath, mdPath, md, charts } = await writeReport(outDir, result);
  clearProgress();
  process.stdout.write(md);
  log(`wrote ${jsonPath}\nwrote ${mdPath}\nwrote ${charts.length} charts (${outDir}/*.svg)`);
  return failed ? 1 : 0;
}

// A stray rejected promise inside the library (say, a second failed pipeline lookup of a batch
// whose eval already rejected) must not kill the run before the report is written: log it, fail.
const stray = [];
process.on('unhandledRejection', (e) => {
  stray.push(e);
  log(`unhandled rejection (a library bug): ${e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e)}`);
});
process.exitCode = await main();
if (stray.length) process.exitCode = 1;
