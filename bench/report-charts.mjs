// Which charts a family's rows make (bench/charts.mjs draws them):
// - a line chart per rate unit (GB/s, GFLOP/s, TFLOP/s) for variants measured at 3+ sizes,
//   PyTorch and in-run baselines dashed, the device's peaks dotted;
// - grouped bars per rate unit for the other rate rows: lbrx, its in-run baseline, PyTorch;
// - grouped bars (log scale) for time rows that have a baseline: GPU vs CPU reference, vs PyTorch.
import { barChart, lineChart, PALETTE } from './charts.mjs';

/** Rate units, as multiples of their base (GB/s, GFLOP/s). */
export const RATE_UNITS = { 'GB/s': 1, 'GFLOP/s': 1, 'TFLOP/s': 1000 };
const TIME_UNITS = new Set(['ns', 'µs', 'µs/op', 'ms', 's']);
const MAX_BARS = 12;

/**
 * The peak a row is measured against ({ kind, value } in GB/s or GFLOP/s), or null: only GPU-side
 * rates (host transfers, CPU rows and file loading have nothing to do with the GPU's peaks).
 */
export function peakOf(r, peaks) {
  if (!peaks || !(r.value > 0) || !(r.unit in RATE_UNITS) || r.family === 'runtime') return null;
  if (/\b(cpu|readfile|loadsafetensors|upload|readback)\b/i.test(r.name)) return null;
  if (r.unit === 'GB/s') return { kind: 'bw', value: peaks.bandwidthGBs };
  const f16 = /\bf16\b/.test(`${r.name} ${r.size}`); // 'bf16' does not match: it computes in f32
  const value = f16 ? (peaks.f16Gflops ?? peaks.f32Gflops) : peaks.f32Gflops;
  return { kind: f16 ? 'f16' : 'f32', value };
}

/** A number to order sizes by: the product of the numbers in it (2^n and KiB/MiB/GiB understood). */
export function sizeMeasure(size) {
  const s = String(size).replace(/(\d+)\^(\d+)/g, (_, b, e) => String(Number(b) ** Number(e)));
  let m = 1;
  let any = false;
  for (const [, num, unit] of s.matchAll(/(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB)?/g)) {
    any = true;
    m *= Number(num) * ({ KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[unit] ?? 1);
  }
  return any ? m : 0;
}

/** Axis label of a size: '4096³' for cubes. */
export const shortSize = (s) => String(s).replace(/^(\d+)x\1x\1$/, '$1³');

/** GFLOP/s in the tens of thousands read better as TFLOP/s: the factor and the unit to draw in. */
function display(unit, values) {
  return unit === 'GFLOP/s' && Math.max(...values.filter((v) => v > 0)) >= 1e4 ? { unit: 'TFLOP/s', k: 1e-3 } : { unit, k: 1 };
}

/** Labels without what every one of them repeats: a leading 'text: ' and a shared size (named in the title instead). */
function trimLabels(rows) {
  const names = rows.map((r) => r.name);
  let prefix = '';
  const m = /^[^:]{3,60}: /.exec(names[0] ?? '');
  if (m && rows.length > 1 && names.every((n) => n.startsWith(m[0]))) prefix = m[0];
  const sizes = new Set(rows.map((r) => r.size));
  const size = sizes.size === 1 && rows.length > 1 ? [...sizes][0] : null;
  const label = (r) => {
    const name = r.name.slice(prefix.length);
    return size || !r.size || r.size === '-' ? name : `${name} · ${shortSize(r.size)}`;
  };
  return { label, suffix: size && size !== '-' ? ` at ${shortSize(size)}` : '' };
}

const subtitleOf = (result) => {
  const d = result.device;
  return `${d.device || d.id} · ${result.date} · lbrx ${result.libraryVersion} · Dawn toggles: ${(result.toggles ?? []).join(', ') || 'none'}${result.fast ? ' (fast mode)' : ''}`;
};

function peakRefs(unit, rows, peaks) {
  if (!peaks || !rows.length || !rows.every((r) => peakOf(r, peaks))) return [];
  const k = RATE_UNITS[unit];
  const src = peaks.source === 'table' ? 'spec' : 'calibrated';
  const p3 = (x) => String(+x.toPrecision(3));
  if (unit === 'GB/s') return [{ label: `memory bandwidth ${p3(peaks.bandwidthGBs)} GB/s (${src})`, value: peaks.bandwidthGBs }];
  const refs = [];
  const kinds = new Set(rows.map((r) => peakOf(r, peaks).kind));
  const t = (g) => (g >= 1000 ? `${p3(g / 1000)} TFLOP/s` : `${p3(g)} GFLOP/s`);
  if (kinds.has('f32')) refs.push({ label: `f32 peak ${t(peaks.f32Gflops)} (${src})`, value: peaks.f32Gflops / k });
  if (kinds.has('f16') && peaks.f16Gflops) refs.push({ label: `f16 peak ${t(peaks.f16Gflops)} (${src})`, value: peaks.f16Gflops / k });
  return refs;
}

function sweepChart(result, family, unit, rows, peaks) {
  const byVariant = new Map();
  for (const r of rows) {
    const k = r.key ?? r.name;
    if (!byVariant.has(k)) byVariant.set(k, []);
    byVariant.get(k).push(r);
  }
  const sweeps = [...byVariant.values()].filter((rs) => new Set(rs.map((r) => r.size)).size >= 3);
  if (!sweeps.length) return { chart: null, used: new Set() };
  const used = new Set(sweeps.flat());
  const sizes = [...new Set(sweeps.flat().map((r) => r.size))].sort((a, b) => sizeMeasure(a) - sizeMeasure(b));
  const at = (rs, get) => sizes.map((s) => {
    const r = rs.find((x) => x.size === s);
    return r ? get(r) ?? null : null;
  });
  const shown = display(unit, sweeps.flat().flatMap((r) => [r.value, r.torch?.value ?? 0]));
  const scaled = (v) => (v > 0 ? v * shown.k : null);
  const series = sweeps.map((rs, i) => ({ label: `lbrx: ${rs[0].name}`, values: at(rs, (r) => scaled(r.value)), color: PALETTE[i % PALETTE.length] }));
  // Baselines are dashed in the color of the first lbrx line they belong to (one line per
  // baseline name: several variants may compare to the same PyTorch op).
  const extra = new Map();
  sweeps.forEach((rs, i) => {
    for (const [kind, get, dash] of [['PyTorch', (r) => r.torch, '6 4'], ['baseline', (r) => r.baseline, '2 4']]) {
      for (const r of rs) {
        const b = get(r);
        if (!b || b.unit !== unit || !(b.value > 0)) continue;
        const id = `${kind}|${b.name}`;
        if (!extra.has(id)) extra.set(id, { label: `${kind}: ${b.name}`, values: sizes.map(() => null), dash, color: PALETTE[i % PALETTE.length], users: new Set() });
        extra.get(id).values[sizes.indexOf(r.size)] = scaled(b.value);
        extra.get(id).users.add(i);
      }
    }
  });
  // A baseline several lbrx lines compare to is drawn gray; one that is an lbrx line itself (the
  // row measuring the baseline) is not drawn twice.
  const same = (a, b) => a.every((v, k) => v === b[k]);
  const baselines = [...extra.values()]
    .filter((e) => !series.some((s) => same(s.values, e.values)))
    .map(({ users, ...e }) => (users.size > 1 ? { ...e, color: '#777' } : e));
  const all = [...series, ...baselines];
  const refs = peakRefs(unit, sweeps.flat(), peaks).map((r) => ({ ...r, value: r.value * shown.k }));
  const svg = lineChart({
    title: `${family}: ${shown.unit} against size`, subtitle: subtitleOf(result), yLabel: shown.unit, xLabel: 'size',
    categories: sizes.map(shortSize), series: all, refs,
  });
  const caption = `${shown.unit} (higher is better) of each variant measured at 3 or more sizes` +
    `${baselines.length ? '; dashed: baselines measured in the same run, in the color of the lbrx line they compare to (gray: several)' : ''}${refs.length ? '; dotted: the device peak' : ''}.`;
  return { chart: svg && { title: `${family}: ${shown.unit} against size`, caption, svg }, used };
}

function groupedBars(result, title, caption, unit, rows, peaks, lower, self = 'lbrx') {
  const sameUnit = (x) => x && x.unit === unit && x.value > 0;
  const baseNames = new Set(rows.filter((r) => sameUnit(r.baseline)).map((r) => r.baseline.name));
  const shown = display(unit, rows.flatMap((r) => [r.value, sameUnit(r.baseline) ? r.baseline.value : 0, sameUnit(r.torch) ? r.torch.value : 0]));
  const { label, suffix } = trimLabels(rows);
  const series = [{ label: self }];
  const hasBase = baseNames.size > 0, hasTorch = rows.some((r) => sameUnit(r.torch));
  if (hasBase) series.push({ label: baseNames.size === 1 ? `baseline: ${[...baseNames][0]}` : 'in-run baseline (see the table)' });
  if (hasTorch) series.push({ label: 'PyTorch (same run)' });
  const charts = [];
  for (let i = 0; i < rows.length; i += MAX_BARS) {
    const part = rows.slice(i, i + MAX_BARS);
    const groups = part.map((r) => {
      const bars = { 0: r.value * shown.k };
      if (hasBase && sameUnit(r.baseline)) bars[1] = r.baseline.value * shown.k;
      if (hasTorch && sameUnit(r.torch)) bars[hasBase ? 2 : 1] = r.torch.value * shown.k;
      return { label: label(r), bars };
    });
    const t = `${title.replace('$UNIT', shown.unit)}${suffix}${rows.length > MAX_BARS ? ` (${i / MAX_BARS + 1}/${Math.ceil(rows.length / MAX_BARS)})` : ''}`;
    const svg = barChart({
      title: t, subtitle: subtitleOf(result), unit: `${shown.unit} (${lower ? 'lower' : 'higher'} is better)`, groups, series,
      refs: lower ? [] : peakRefs(unit, part, peaks).map((r) => ({ ...r, value: r.value * shown.k })),
    });
    if (svg) charts.push({ title: t, caption, svg });
  }
  return charts;
}

/** The charts of one family: [{ title, caption, svg }]. */
export function familyCharts(result, family) {
  const peaks = result.peaks ? (result.peaks.table ?? result.peaks.calibrated) : null;
  const rows = result.rows.filter((r) => r.family === family && r.value > 0);
  const charts = [];
  const rest = [];
  // Sweeps first (the headline: rate against size), then every other rate row as bars.
  for (const unit of Object.keys(RATE_UNITS)) {
    const rs = rows.filter((r) => r.unit === unit);
    if (!rs.length) continue;
    const { chart, used } = sweepChart(result, family, unit, rs, peaks);
    if (chart) charts.push(chart);
    rest.push([unit, rs.filter((r) => !used.has(r))]);
  }
  for (const [unit, rs] of rest) {
    if (!rs.length) continue;
    charts.push(...groupedBars(result, `${family}: $UNIT, lbrx against its baselines`,
      `${unit} per benchmark (higher is better): lbrx, the in-run baseline where the row has one, PyTorch where it ran; dotted: the device peak where it applies.`,
      unit, rs, peaks, false));
  }
  const timed = rows.filter((r) => TIME_UNITS.has(r.unit) && r.better === 'lower' && ((r.baseline?.unit === r.unit) || (r.torch?.unit === r.unit)));
  for (const unit of new Set(timed.map((r) => r.unit))) {
    const rs = timed.filter((r) => r.unit === unit);
    const cpu = rs.every((r) => /cpu/i.test(r.baseline?.name ?? ''));
    const title = cpu ? `${family}: GPU vs CPU reference, time per op` : `${family}: ${unit} against baselines`;
    charts.push(...groupedBars(result, title,
      `${unit}${unit.endsWith('/op') ? '' : ' per op'} (lower is better): lbrx${cpu ? ' on the GPU, the lbrx CPU reference' : ', its in-run baseline'}, and PyTorch where it ran.`,
      unit, rs, null, true, cpu ? 'lbrx on the GPU' : 'lbrx'));
  }
  return charts;
}
