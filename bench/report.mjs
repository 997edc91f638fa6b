// Results: one JSON and one Markdown file per device and day, with a table per family.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
 * Writes `<stem>.json` and `<stem>.md` into `dir`. Families not run this time are kept from an
 * existing file of the same name (same device, same day), marked with when they ran.
 */
export async function writeReport(dir, result) {
  const stem = `${sanitizeId(result.device.id)}-${result.date}`;
  const jsonPath = join(dir, `${stem}.json`);
  const mdPath = join(dir, `${stem}.md`);
  await mkdir(dir, { recursive: true });
  const merged = await mergeEarlier(jsonPath, result);
  const md = markdown(merged);
  await writeFile(jsonPath, `${JSON.stringify(merged, null, 2)}\n`);
  await writeFile(mdPath, md);
  return { jsonPath, mdPath, md };
}

async function mergeEarlier(path, result) {
  let old;
  try {
    old = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return result;
  }
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

export function markdown(result) {
  const d = result.device;
  const lines = [];
  const name = d.device || d.id;
  lines.push(`# lbrx benchmarks: ${name}${d.description && d.description !== name ? ` (${d.description})` : ''}`, '');
  lines.push(`- device: \`${d.id}\` (family ${d.family}, vendor ${d.vendor || '?'}, architecture ${d.architecture || '?'})`);
  lines.push(`- features: ${d.features.join(', ') || 'none'}`);
  if (d.subgroupMinSize !== undefined) lines.push(`- subgroup size: ${d.subgroupMinSize}–${d.subgroupMaxSize}`);
  lines.push(`- date: ${result.date}; Node ${result.node}; lbrx ${result.libraryVersion}; Dawn toggles: ${result.toggles.join(', ') || 'none'}`);
  if (result.torch) lines.push(`- PyTorch baseline: ${result.torch.available ? `torch ${result.torch.version} on ${result.torch.device}` : `not measured (${result.torch.why})`}`);
  lines.push('- ratio: times faster than the baseline (> 1: lbrx is faster), whichever the unit', '');
  for (const [name, f] of Object.entries(result.families)) {
    lines.push(`## ${name}: ${f.title ?? ''}`, '');
    if (f.ranAt && f.ranAt.slice(0, 10) === result.date && result.ranAt !== f.ranAt) lines.push(`_From an earlier run at ${f.ranAt}._`, '');
    if (f.baselines) lines.push(`Baseline: ${f.baselines}`, '');
    if (f.error) lines.push(`**Failed:** \`${cell(f.error)}\``, '');
    const rows = result.rows.filter((r) => r.family === name);
    if (rows.length === 0) continue;
    const torch = rows.some((r) => r.torch);
    const head = ['benchmark', 'size', 'value', 'unit', 'baseline', 'ratio'];
    if (torch) head.push('PyTorch', 'vs PyTorch');
    head.push('notes');
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`);
    for (const r of rows) {
      const cells = [
        r.name, r.size, fmt(r.value), r.unit,
        r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit}` : '', r.ratio !== undefined ? `${fmt(r.ratio)}×` : '',
      ];
      if (torch) cells.push(r.torch ? `${fmt(r.torch.value)} ${r.torch.unit}` : '', r.torch ? `${fmt(r.torch.ratio)}×` : '');
      cells.push(r.note ?? '');
      lines.push(`| ${cells.map(cell).join(' | ')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
