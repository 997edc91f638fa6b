// Shared helpers for bench families: timing through tinybench, units, row building.
import { Bench } from 'tinybench';

export const MiB = 1024 * 1024;

/** '1 MiB', '256 MiB', '512 B'. */
export function bytesLabel(bytes) {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Decimal GB/s (1e9 bytes per second) for `bytes` moved in `ms`. */
export const gbps = (bytes, ms) => bytes / (ms * 1e-3) / 1e9;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` (sync or async) with tinybench; hooks run outside the timed window. Runs until
 * both `time` ms and `iterations` samples are reached. Returns latency stats in ms.
 */
export async function measure(name, fn, opts = {}) {
  const { time = 300, iterations = 5, warmupIterations = 1, warmupTime = 0, beforeEach, afterEach } = opts;
  const bench = new Bench({ name, time, iterations, warmupIterations, warmupTime, throws: true });
  bench.add(name, fn, { beforeEach, afterEach });
  await bench.run();
  const r = bench.tasks[0].result;
  if (!r.latency) throw new Error(`${name}: tinybench gave no statistics (state ${r.state})`);
  const l = r.latency;
  return { median: l.p50, mean: l.mean, min: l.min, max: l.max, rme: l.rme, samples: l.samplesCount };
}

/**
 * A result row. `better` says which direction is faster; `ratio` is always "times faster than
 * the baseline" (> 1: lbrx is faster), whatever the unit. The PyTorch column comes from the
 * torch row with the same family, size and `torchKey` (default: `key`).
 */
export function row(family, fields) {
  const { name, size, metric, value, unit, better = 'higher', baseline, key, torchKey, stats, note, detail } = fields;
  const r = { family, name, size: String(size), metric, value: round(value), unit, better };
  if (key) r.key = key;
  // Several lbrx rows may share one PyTorch number (eager PyTorch has no fused/unfused split).
  if (torchKey) r.torchKey = torchKey;
  if (baseline) {
    r.baseline = { name: baseline.name, value: round(baseline.value), unit: baseline.unit ?? unit };
    r.ratio = round(better === 'higher' ? value / baseline.value : baseline.value / value);
  }
  if (stats) r.stats = { samples: stats.samples, rmePct: round(stats.rme), minMs: round(stats.min), maxMs: round(stats.max) };
  if (note) r.note = note;
  if (detail) r.detail = detail;
  return r;
}

/** Four significant digits: enough for timings, short in JSON. */
export function round(x) {
  if (typeof x !== 'number' || !Number.isFinite(x) || x === 0) return x;
  const d = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(d, 12)));
}

// Progress: on a terminal one status line rewritten in place (what runs now, with the family and
// elapsed time); in a log (stderr not a TTY) nothing, so CI logs hold only the lines from log().
// LBRX_BENCH_VERBOSE=1 prints every status line instead.
const verbose = process.env.LBRX_BENCH_VERBOSE === '1';
let status = { prefix: '', t0: performance.now(), shown: false };

/** Sets what the status line starts with (the family) and restarts its clock. */
export function progressScope(prefix) {
  status = { prefix, t0: performance.now(), shown: status.shown };
}

/** A transient status: rewrites the terminal's last line; nothing when stderr is not a TTY. */
export function progress(...parts) {
  const text = parts.join(' ').replace(/\s+/g, ' ').trim();
  if (verbose) {
    process.stderr.write(`${status.prefix}${text}\n`);
    return;
  }
  if (!process.stderr.isTTY) return;
  const secs = ((performance.now() - status.t0) / 1e3).toFixed(0);
  const line = `${status.prefix}${text} (${secs} s)`;
  const cols = (process.stderr.columns || 100) - 1;
  process.stderr.write(`\r\x1b[2K${line.length > cols ? `${line.slice(0, cols - 1)}…` : line}`);
  status.shown = true;
}

/** Clears the status line (before output that must stay, or at the end). */
export function clearProgress() {
  if (status.shown && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  status.shown = false;
}

/** A line that stays, in logs too: results, failures, files written. */
export function log(...parts) {
  clearProgress();
  process.stderr.write(`${parts.join(' ')}\n`);
}
