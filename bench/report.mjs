// Results: one JSON, one Markdown file and SVG charts per device and day, a section per family.
// `node bench/report.mjs --from <results.json>` renders the Markdown and charts again from a JSON
// (e.g. after the report format changed) without running anything.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { familyCharts, peakOf, RATE_UNITS } from './report-charts.mjs';

/** Fingerprint id -> file-name stem: [a-z0-9-] only. */
export function sanitizeId(id) {
  return String(id).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown-device';
}

/** Attaches PyTorch baseline rows (same family, key and size) to lbrx rows as `torch`; a row's `torchKey` overrides its key. */
export function attachTorch(rows, torchRows) {
  const byKey = new Map(torchRows.map((t) => [`${t.family}|${t.key}|${t.size}`, t]));
  for (const r of rows) {
    const k = r.torchKey ?? r.key;
    const t = k && byKey.get(`${r.family}|${k}|${r.size}`);
    if (!t || !(t.value > 0) || !(r.value > 0)) continue;
    const ratio = r.better === 'lower' ? t.value / r.value : r.value / t.value;
    r.torch = { name: t.name, value: t.value, unit: t.unit, ratio: Number(ratio.toPrecision(4)) };
  }
}

/**
 * Writes `<stem>.json`, `<stem>.md` and `<stem>-<family>-<n>.svg` into `dir`. Families not run
 * this time are kept from an existing file of the same name (same device, same day), marked with
 * when they ran.
 */
export async function writeReport(dir, result) {
  const stem = `${sanitizeId(result.device.id)}-${result.date}`;
  const jsonPath = join(dir, `${stem}.json`);
  await mkdir(dir, { recursive: true });
  const merged = await mergeEarlier(jsonPath, result);
  await writeFile(jsonPath, `${JSON.stringify(merged, null, 2)}\n`);
  const { mdPath, md, charts } = await render(merged, dir, stem);
  return { jsonPath, mdPath, md, charts };
}

/** Writes the Markdown and the charts of `result` as `<dir>/<stem>.md` and `<dir>/<stem>-*.svg`. */
export async function render(result, dir, stem) {
  // Charts of an earlier render of this stem go first: a family may now have fewer charts.
  for (const f of await readdir(dir)) if (f.startsWith(`${stem}-`) && f.endsWith('.svg') && /-\d+\.svg$/.test(f)) await unlink(join(dir, f));
  const charts = {};
  const files = [];
  for (const name of Object.keys(result.families)) {
    charts[name] = familyCharts(result, name).map((c, i) => ({ ...c, file: `${stem}-${name}-${i + 1}.svg` }));
    for (const c of charts[name]) {
      await writeFile(join(dir, c.file), `${c.svg}\n`);
      files.push(join(dir, c.file));
    }
  }
  const md = markdown(result, charts);
  const mdPath = join(dir, `${stem}.md`);
  await writeFile(mdPath, md);
  return { mdPath, md, charts: files };
}

async function mergeEarlier(path, result) {
  let old;
  try {
    old = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return result;
  }
  return carryFamilies(result, old);
}

/** `result` with the families it lacks (and their rows) taken from `old`, another run's result. */
function carryFamilies(result, old) {
  if (!old?.families || !Array.isArray(old.rows)) return result;
  const families = { ...result.families };
  const rows = [...result.rows];
  for (const [name, f] of Object.entries(old.families)) {
    if (families[name]) continue;
    families[name] = f;
    rows.push(...old.rows.filter((r) => r.family === name));
  }
  return { ...result, families, rows };
}

function fmt(v) {
  if (typeof v !== 'number') return String(v ?? '');
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0 || Number.isInteger(v)) return String(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

const cell = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const tflops = (g) => (g === undefined ? '-' : g >= 1000 ? `${fmt(g / 1000)} TFLOP/s` : `${fmt(g)} GFLOP/s`);
const backendOf = (platform) => ({ darwin: 'Metal', linux: 'Vulkan', win32: 'D3D12' })[platform] ?? '?';

function peaksLines(result) {
  const p = result.peaks;
  if (!p) return ['- peaks: none recorded for this run (percent-of-peak column left out)'];
  const one = (x) => `${fmt(x.bandwidthGBs)} GB/s, f32 ${tflops(x.f32Gflops)}, f16 ${tflops(x.f16Gflops)}`;
  const lines = [];
  if (p.table) lines.push(`- peak (GPU-family table): ${one(p.table)}: ${p.table.detail}`);
  if (p.calibrated) lines.push(`- peak (calibrated in this run, lb.peaks({ source: 'calibrate' })): ${one(p.calibrated)}; ${p.calibrated.detail}`);
  if (p.error) lines.push(`- peak calibration failed: ${p.error}`);
  const ref = p.table ?? p.calibrated;
  if (ref) lines.push(`- "% peak" column: GB/s against the ${ref === p.table ? 'table' : 'calibrated'} bandwidth, GFLOP/s against the f32 or f16 rate (f16 where the benchmark says f16, bf16 counts as f32); GPU-side rows only`);
  return lines;
}

export function markdown(result, charts = {}) {
  const d = result.device;
  const lines = [];
  const name = d.device || d.id;
  const info = d.adapterInfo ?? {};
  lines.push(`# lbrx benchmarks: ${name}${d.description && d.description !== name ? ` (${d.description})` : ''}`, '');
  lines.push(`- device: \`${d.id}\` (family ${d.family}, vendor ${d.vendor || '?'}, architecture ${d.architecture || '?'})`);
  const backend = result.host ? `; Dawn's ${backendOf(result.host.platform)} backend${result.webgpuVersion ? ` (npm webgpu ${result.webgpuVersion})` : ''}` : '';
  lines.push(`- driver / adapter description: ${info.description ?? d.description ?? '?'}${backend}`);
  lines.push(`- features: ${d.features.join(', ') || 'none'}`);
  if (d.subgroupMinSize !== undefined) lines.push(`- subgroup size: ${d.subgroupMinSize}–${d.subgroupMaxSize}`);
  lines.push(`- Dawn toggles: ${result.toggles.join(', ') || 'none'}; fast mode ${result.fast ? 'on' : 'off'}; large sizes ${result.large ? 'on' : 'off'}`);
  const host = result.host ? `; ${result.host.platform} ${result.host.arch} ${result.host.release}, CPU ${result.host.cpu} (${result.host.cpus} threads)` : '';
  lines.push(`- date: ${result.date}; Node ${result.node}; lbrx ${result.libraryVersion}${host}`);
  if (result.torch) lines.push(`- PyTorch baseline: ${result.torch.available ? `torch ${result.torch.version} on ${result.torch.device}` : `not measured (${result.torch.why})`}`);
  lines.push(...peaksLines(result));
  lines.push('- ratio: times faster than the baseline (> 1: lbrx is faster), whichever the unit; charts are SVG files next to this report', '');
  const ref = result.peaks ? (result.peaks.table ?? result.peaks.calibrated) : null;
  for (const [fname, f] of Object.entries(result.families)) {
    lines.push(`## ${fname}: ${f.title ?? ''}`, '');
    if (f.ranAt && result.ranAt !== f.ranAt) lines.push(`_From the run at ${f.ranAt}._`, '');
    if (f.baselines) lines.push(`Baseline: ${f.baselines}`, '');
    if (f.error) lines.push(`**Failed:** \`${cell(f.error)}\``, '');
    for (const c of charts[fname] ?? []) lines.push(`![${c.title}](${c.file})`, '', `_${c.caption}_`, '');
    const rows = result.rows.filter((r) => r.family === fname);
    if (rows.length === 0) continue;
    const torch = rows.some((r) => r.torch);
    const pct = ref && rows.some((r) => peakOf(r, ref));
    const head = ['benchmark', 'size', 'value', 'unit'];
    if (pct) head.push('% peak');
    head.push('baseline', 'ratio');
    if (torch) head.push('PyTorch', 'vs PyTorch');
    head.push('notes');
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`);
    for (const r of rows) {
      const cells = [r.name, r.size, fmt(r.value), r.unit];
      if (pct) {
        const p = peakOf(r, ref);
        cells.push(p ? `${fmt((100 * r.value * RATE_UNITS[r.unit]) / p.value)}% ${p.kind}` : '');
      }
      cells.push(r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit}` : '', r.ratio !== undefined ? `${fmt(r.ratio)}×` : '');
      if (torch) cells.push(r.torch ? `${fmt(r.torch.value)} ${r.torch.unit}` : '', r.torch ? `${fmt(r.torch.ratio)}×` : '');
      cells.push(r.note ?? '');
      lines.push(`| ${cells.map(cell).join(' | ')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Table peaks for a report written before runs recorded peaks (needs `npm run build`). */
async function tablePeaksFor(device) {
  try {
    const { tablePeaks } = await import(pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'runtime', 'peak-table.js')).href);
    const t = tablePeaks(device);
    return t && { bandwidthGBs: t.bandwidthGBs, f32Gflops: t.f32Gflops, f16Gflops: t.f16Gflops, source: 'table', detail: `${t.name}: ${t.source}`, device: device.id };
  } catch {
    return null;
  }
}

async function cli(args) {
  const i = args.indexOf('--from');
  if (i < 0 || !args[i + 1]) {
    console.error('usage: node bench/report.mjs --from <bench/results/DEVICE-DATE.json> [--carry <other-run.json> ...] [--out DIR]\n' +
      'Renders DEVICE-DATE.md and its SVG charts again from the JSON (into the JSON\'s folder, or DIR).\n' +
      '--carry: first adds the families the JSON lacks from another run of the same device (marked with\n' +
      'when they ran) and writes the merged JSON back.');
    return 2;
  }
  const jsonPath = resolve(args[i + 1]);
  const o = args.indexOf('--out');
  const dir = o >= 0 && args[o + 1] ? resolve(args[o + 1]) : dirname(jsonPath);
  let result = JSON.parse(await readFile(jsonPath, 'utf8'));
  const carried = args.flatMap((a, j) => (a === '--carry' && args[j + 1] ? [resolve(args[j + 1])] : []));
  for (const path of carried) {
    const old = JSON.parse(await readFile(path, 'utf8'));
    if (old.device?.id !== result.device?.id) {
      console.error(`--carry ${path}: device ${old.device?.id} is not ${result.device?.id}`);
      return 2;
    }
    result = carryFamilies(result, old);
  }
  if (carried.length) await writeFile(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  if (!result.peaks) {
    const table = await tablePeaksFor(result.device);
    if (table) result.peaks = { table, calibrated: null, note: 'table only: this run recorded no peaks' };
  }
  await mkdir(dir, { recursive: true });
  const { mdPath, charts } = await render(result, dir, basename(jsonPath, '.json'));
  console.log(`wrote ${mdPath}\n${charts.map((c) => `wrote ${c}`).join('\n')}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
