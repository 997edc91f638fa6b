// A tiny SVG chart writer for the benchmark reports, no dependencies: a line chart (a value
// against size, one line per variant, dashed baselines, dotted reference lines such as the
// device's peaks) and a horizontal grouped bar chart (lbrx vs its baselines per benchmark).
// Linear or log axes with 1-2-5 ticks. Text widths are estimated (no font metrics in Node).

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
// Tableau 10: tells ten series apart, also in print.
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const GRID = '#e3e3e3';
const AXIS = '#555';
const MUTED = '#666';

export const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Rough width of `s` in px at `size` (DejaVu Sans averages ~0.6 em). */
export const textWidth = (s, size = 12) => String(s).length * size * 0.6;
const n2 = (x) => Math.round(x * 100) / 100;

function text(x, y, s, { size = 12, anchor = 'start', fill = '#222', weight, rotate, baseline, halo } = {}) {
  const attrs = [`x="${n2(x)}"`, `y="${n2(y)}"`, `font-size="${size}"`, `fill="${fill}"`];
  // A white outline under the glyphs keeps labels readable where they cross lines.
  if (halo) attrs.push('stroke="#fff" stroke-width="3" paint-order="stroke"');
  if (anchor !== 'start') attrs.push(`text-anchor="${anchor}"`);
  if (weight) attrs.push(`font-weight="${weight}"`);
  if (baseline) attrs.push(`dominant-baseline="${baseline}"`);
  if (rotate) attrs.push(`transform="rotate(${rotate} ${n2(x)} ${n2(y)})"`);
  return `<text ${attrs.join(' ')}>${esc(s)}</text>`;
}
const line = (x1, y1, x2, y2, stroke, width = 1, dash) =>
  `<line x1="${n2(x1)}" y1="${n2(y1)}" x2="${n2(x2)}" y2="${n2(y2)}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;

/** Short number: 1.23k, 45.6, 0.0123; `unit` appended with a space. */
export function fmtNum(v, unit = '') {
  const a = Math.abs(v);
  let s;
  if (a >= 1e6) s = `${+(v / 1e6).toPrecision(3)}M`;
  else if (a >= 1e4) s = `${+(v / 1e3).toPrecision(3)}k`;
  else if (a >= 100) s = v.toFixed(0);
  else if (a === 0) s = '0';
  else s = String(+v.toPrecision(3));
  return unit ? `${s} ${unit}` : s;
}

/** Axis scale over [lo, hi]: ticks and a map to [0, 1]. Log when asked and all values are > 0. */
export function scale(lo, hi, log) {
  if (log) {
    const a = Math.floor(Math.log10(lo) + 1e-9);
    const b = Math.ceil(Math.log10(hi) - 1e-9);
    const e0 = a, e1 = Math.max(b, a + 1);
    const span = e1 - e0;
    const steps = span <= 2 ? [1, 2, 5] : span <= 4 ? [1, 3] : [1];
    const ticks = [];
    for (let e = e0; e <= e1; e++) for (const m of steps) if (m * 10 ** e <= 10 ** e1 * 1.0001) ticks.push(m * 10 ** e);
    const l0 = e0, l1 = e1;
    return { ticks, map: (v) => (Math.log10(v) - l0) / (l1 - l0), lo: 10 ** e0, hi: 10 ** e1, log: true };
  }
  const lo0 = Math.min(0, lo);
  const raw = (hi - lo0) / 5 || 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const top = Math.ceil(hi / step - 1e-9) * step || step;
  const ticks = [];
  for (let v = lo0; v <= top + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return { ticks, map: (v) => (v - lo0) / (top - lo0), lo: lo0, hi: top, log: false };
}

/** Splits `s` into lines of at most `max` characters at spaces. */
export function wrap(s, max) {
  const out = [];
  let cur = '';
  for (const w of String(s).split(/\s+/)) {
    if (cur && (cur + ' ' + w).length > max) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  return out.flatMap((l) => (l.length > max ? [l.slice(0, max - 1) + '…'] : [l]));
}

function frame(width, height, title, subtitle, body) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(16, 24, title, { size: 15, weight: 'bold' }),
    subtitle ? text(16, 42, subtitle, { size: 11, fill: MUTED }) : '',
    ...body,
    '</svg>',
  ].join('\n');
}

/** Legend entries stacked at (x, y): swatch (line with dash or box) and wrapped label. */
function legend(x, y, items, maxChars) {
  const out = [];
  let cy = y;
  for (const it of items) {
    const lines = wrap(it.label, maxChars);
    if (it.kind === 'box') out.push(`<rect x="${x}" y="${cy - 9}" width="14" height="10" fill="${it.color}"/>`);
    else out.push(line(x, cy - 4, x + 22, cy - 4, it.color, it.width ?? 2.2, it.dash));
    if (it.marker) out.push(`<circle cx="${x + 11}" cy="${cy - 4}" r="3" fill="${it.color}"/>`);
    lines.forEach((l, i) => out.push(text(x + 28, cy + i * 14, l, { size: 11.5 })));
    cy += lines.length * 14 + 6;
  }
  return { svg: out, bottom: cy };
}

/**
 * Line chart: `categories` along x (evenly spaced, in order), one line per series
 * ({ label, values: (number|null)[], dash?, color? }), optional dotted `refs` ({ label, value }).
 */
export function lineChart({ title, subtitle, yLabel, xLabel, categories, series, refs = [], log = 'auto', width = 900, height = 470 }) {
  const vals = [...series.flatMap((s) => s.values), ...refs.map((r) => r.value)].filter((v) => v > 0);
  if (!vals.length || !categories.length) return null;
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const useLog = log === 'auto' ? hi / lo > 30 : !!log;
  const sc = scale(lo, hi, useLog);
  const legendW = 230;
  const rotate = categories.some((c) => textWidth(c, 11) > (width - 90 - legendW) / categories.length - 6);
  const bottom = rotate ? Math.min(130, 30 + Math.max(...categories.map((c) => textWidth(c, 11))) * 0.7) : 50;
  const L = 78, T = subtitle ? 60 : 44, R = width - legendW, B = height - bottom;
  const X = (i) => L + ((i + 0.5) * (R - L)) / categories.length;
  const Y = (v) => B - sc.map(v) * (B - T);
  const body = [];
  for (const t of sc.ticks) {
    body.push(line(L, Y(t), R, Y(t), GRID));
    body.push(text(L - 6, Y(t) + 4, fmtNum(t), { size: 11, anchor: 'end', fill: AXIS }));
  }
  body.push(line(L, T, L, B, AXIS), line(L, B, R, B, AXIS));
  categories.forEach((c, i) => {
    body.push(line(X(i), B, X(i), B + 4, AXIS));
    body.push(rotate ? text(X(i) + 3, B + 14, c, { size: 11, anchor: 'end', rotate: -35, fill: AXIS }) : text(X(i), B + 17, c, { size: 11, anchor: 'middle', fill: AXIS }));
  });
  if (xLabel) body.push(text((L + R) / 2, height - 8, xLabel, { size: 12, anchor: 'middle', fill: AXIS }));
  body.push(text(18, (T + B) / 2, `${yLabel}${useLog ? ' (log scale)' : ''}`, { size: 12, anchor: 'middle', fill: AXIS, rotate: -90 }));
  const items = [];
  refs.forEach((r) => {
    if (!(r.value > 0) || r.value < sc.lo || r.value > sc.hi) return;
    body.push(line(L, Y(r.value), R, Y(r.value), '#333', 1.2, '2 3'));
    body.push(text(R - 4, Y(r.value) - 4, r.label, { size: 10.5, anchor: 'end', fill: '#333', halo: true }));
  });
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const pts = s.values.map((v, i) => (v > 0 ? [X(i), Y(v)] : null));
    let d = '';
    pts.forEach((p, i) => { if (p) d += `${d && pts[i - 1] ? 'L' : 'M'}${n2(p[0])},${n2(p[1])}`; });
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of pts) if (p) body.push(`<circle cx="${n2(p[0])}" cy="${n2(p[1])}" r="3" fill="${color}"/>`);
    items.push({ label: s.label, color, dash: s.dash, marker: true });
  });
  if (refs.some((r) => r.value >= sc.lo && r.value <= sc.hi)) items.push({ label: 'device peak (dotted)', color: '#333', dash: '2 3', width: 1.2 });
  // Wrap legend labels to the room right of the plot (28 px of swatch, estimated glyph width).
  body.push(...legend(R + 18, T + 8, items, Math.floor((width - R - 18 - 28 - 8) / textWidth('x', 11.5))).svg);
  return frame(width, height, title, subtitle, body);
}

/**
 * Horizontal grouped bars: `groups` ({ label, bars: { series index: value } }) down the chart,
 * one bar per series ({ label, color? }) in each group; value labels at the bar ends.
 */
export function barChart({ title, subtitle, unit, groups, series, log = 'auto', refs = [], width = 900, note }) {
  const vals = [...groups.flatMap((g) => Object.values(g.bars)), ...refs.map((r) => r.value)].filter((v) => v > 0);
  if (!vals.length) return null;
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const useLog = log === 'auto' ? hi / lo > 50 : !!log;
  const sc = scale(useLog ? lo : 0, hi, useLog);
  const labelChars = 46;
  const labels = groups.map((g) => wrap(g.label, labelChars).slice(0, 3));
  const labelW = Math.min(textWidth('x'.repeat(labelChars), 11.5), Math.max(...labels.flat().map((l) => textWidth(l, 11.5)))) + 12;
  const barH = 13, gap = 12;
  const heights = groups.map((g, i) => Math.max(series.filter((_, k) => g.bars[k] > 0).length * barH, labels[i].length * 14));
  // Legend across the top, flowing into as many lines as it needs.
  const top = subtitle ? 60 : 44;
  const keys = [];
  let lx = 16, ly = top + 14;
  series.forEach((s, k) => {
    const w = 20 + textWidth(s.label, 11.5) + 26;
    if (lx > 16 && lx + w > width - 16) {
      lx = 16;
      ly += 18;
    }
    keys.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="10" fill="${s.color ?? PALETTE[k % PALETTE.length]}"/>`, text(lx + 20, ly, s.label, { size: 11.5 }));
    lx += w;
  });
  const T = ly + 22 + (refs.length ? 14 * refs.length : 0);
  const plotH = heights.reduce((a, h) => a + h + gap, 0);
  const height = T + plotH + 44 + (note ? 18 : 0);
  const L = 16 + labelW, R = width - 70, B = T + plotH;
  const X = (v) => L + (useLog ? sc.map(Math.max(v, sc.lo)) : sc.map(v)) * (R - L);
  const body = [...keys];
  for (const t of sc.ticks) {
    body.push(line(X(t), T - 4, X(t), B, GRID));
    body.push(text(X(t), B + 15, fmtNum(t), { size: 11, anchor: 'middle', fill: AXIS }));
  }
  body.push(text((L + R) / 2, B + 34, `${unit}${useLog ? ' (log scale)' : ''}`, { size: 12, anchor: 'middle', fill: AXIS }));
  let y = T;
  groups.forEach((g, i) => {
    const shown = series.map((s, k) => [k, g.bars[k]]).filter(([, v]) => v > 0);
    const h = heights[i];
    labels[i].forEach((l, j) => body.push(text(L - 8, y + h / 2 - (labels[i].length - 1) * 7 + j * 14 + 4, l, { size: 11.5, anchor: 'end' })));
    let by = y + (h - shown.length * barH) / 2;
    for (const [k, v] of shown) {
      const color = series[k].color ?? PALETTE[k % PALETTE.length];
      const w = Math.max(1, X(v) - L);
      body.push(`<rect x="${n2(L)}" y="${n2(by + 1)}" width="${n2(w)}" height="${barH - 2}" fill="${color}"/>`);
      body.push(text(L + w + 4, by + barH - 3, fmtNum(v), { size: 10.5, fill: '#333', halo: true }));
      by += barH;
    }
    y += h + gap;
    if (i < groups.length - 1) body.push(line(L - 4, y - gap / 2, R, y - gap / 2, '#f0f0f0'));
  });
  // Reference lines (device peaks) labelled above the plot, one label line each, kept inside.
  refs.forEach((r, i) => {
    if (!(r.value > 0)) return;
    const x = X(r.value);
    body.push(line(x, T - 14 * (refs.length - i) + 4, x, B, '#333', 1.2, '2 3'));
    const right = x + 4 + textWidth(r.label, 10.5) > width - 8;
    body.push(text(right ? x - 4 : x + 4, T - 14 * (refs.length - i) + 8, r.label, { size: 10.5, fill: '#333', anchor: right ? 'end' : 'start', halo: true }));
  });
  body.push(line(L, T - 4, L, B, AXIS));
  if (note) body.push(text(16, height - 8, note, { size: 11, fill: MUTED }));
  return frame(width, height, title, subtitle, body);
}
