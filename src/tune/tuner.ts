// lb.tune(): benchmarks the candidate matmul configs of this GPU family on the current device for
// a few shapes, keeps the fastest per shape class, and persists them (keyed by adapter
// fingerprint, shape class and library version). A later process loads them instead of tuning.
import { requireDevice } from '../runtime/context.js';
import { ttyProgressLine } from '../runtime/progress-line.js';
import type { GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../ops/create.js';
import { matmul } from '../ops/matmul.js';
import { lastPlan, withConfig, type PlanInfo } from '../ops/matmul-gpu.js';
import { familyTable, tileFits, type FamilyTable } from './table.js';
import { loadTuned, openTuneStore, recordKey, saveTuned, setTuned, tunedEntry, tuningLoaded, type TunedConfig } from './state.js';

export interface TuneShape {
  m: number;
  k: number;
  n: number;
  dtype?: 'f32' | 'f16' | 'bf16';
  /** a given as [K, M], read with transA. */
  transA?: boolean;
  /** b given as [N, K] (weights), read with transB. */
  transB?: boolean;
}

export interface TuneOptions {
  /** Shapes to tune; default: a few square and LLM-like shapes sized for this GPU family. */
  shapes?: readonly TuneShape[];
  /** Where results persist (Node: a directory); default the one lb.init() got; false: memory only. */
  cacheDir?: string | false;
  /** Tune again even when results for a shape class exist. */
  force?: boolean;
  /** Called with warnings (unreadable or stale records, candidates that failed); default console.warn. */
  warn?: (message: string) => void;
  /**
   * Called before each shape and after each timed candidate; default: one status line rewritten
   * in place when stderr is a terminal (Node), nothing otherwise; false: nothing.
   */
  onProgress?: ((p: TuneProgress) => void) | false;
}

export interface TuneProgress {
  /** 1-based shape number of `shapes`, and the shape. */
  shape: number;
  shapes: number;
  current: TuneShape;
  /** Candidates timed so far for this shape, of `candidates` (0 of 0 before they are known). */
  candidate: number;
  candidates: number;
  /**
   * Best median ms so far for this shape. One more report follows the last candidate's when the
   * fastest was not the table's config: both timed again in turn, the one kept and its time.
   */
  bestMs?: number;
}

function defaultProgress(): { report: (p: TuneProgress) => void; done: () => void } | null {
  const line = ttyProgressLine();
  if (!line) return null;
  return {
    report: (p) => {
      const s = p.current;
      const cand = p.candidates ? `, candidate ${p.candidate}/${p.candidates}${p.bestMs !== undefined ? `, best ${p.bestMs.toFixed(3)} ms` : ''}` : '';
      line.update(`lb.tune(): shape ${p.shape}/${p.shapes} ${s.m}x${s.k}x${s.n} ${s.dtype ?? 'f32'}${s.transA ? ' transA' : ''}${s.transB ? ' transB' : ''}${cand}`);
    },
    done: () => line.done(),
  };
}

export interface TuneReport {
  class: string;
  shape: TuneShape;
  config: TunedConfig;
  /** Median ms of the chosen config and of the family table's config (same run); 0 when reused. */
  ms: number;
  tableMs: number;
  candidates: number;
  /** Every candidate's median ms (this run only). */
  timings: { config: TunedConfig; ms: number }[];
  reused: boolean;
}

export interface TuneResult {
  device: string;
  /** The record's key in the store (a file name in Node), or null without a store. */
  record: string | null;
  entries: TuneReport[];
  tuned: number;
  reused: number;
}

function defaultShapes(table: FamilyTable, software: boolean): TuneShape[] {
  if (software) return [{ m: 64, k: 64, n: 64 }, { m: 1, k: 256, n: 256, transB: true }];
  void table;
  return [
    { m: 1024, k: 1024, n: 1024 },
    { m: 4096, k: 4096, n: 4096 },
    { m: 4096, k: 4096, n: 4096, dtype: 'f16' },
    { m: 512, k: 4096, n: 4096 },
    { m: 1, k: 4096, n: 4096, transB: true },
    { m: 1, k: 4096, n: 4096, transB: true, dtype: 'f16' },
    { m: 1, k: 4096, n: 4096 },
  ];
}

function randomTensor(shape: number[], dtype: DType, seed: number): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return tensor(data, shape, { dtype, device: 'gpu' });
}

/**
 * Median GPU ms per call of `run` (a matmul whose result is disposed): batches of calls are
 * recorded and submitted at once, CPU-side encoding excluded. Batches are pipelined: the next one
 * is recorded and submitted while the current one runs, so the GPU does not idle between them (an
 * idle H100 drops its SM clock to 345 MHz within a batch's recording time, which timed matvecs 2x
 * slow). A batch that was queued behind the previous one is timed from that one's completion to
 * its own; one that found the GPU idle, from its submit. Batches of about 5 ms; at least WARM_MS of
 * them and until the fastest of the last three is no more than 3% faster than the fastest of the
 * three before (at most 4 x WARM_MS), and at least `minMs`; the median of the last three.
 */
const WARM_MS = 100;
async function timeIt(dev: GpuDevice, run: () => Tensor, minMs = 0): Promise<number> {
  const queue = dev.device.queue;
  const submit = async (reps: number) => {
    for (let i = 0; i < reps; i++) run().dispose();
    await dev.stream.submit();
    const at = performance.now();
    return { at, done: queue.onSubmittedWorkDone().then(() => performance.now()) };
  };
  await (await submit(1)).done; // compiles
  const t1 = await submit(1);
  const one = (await t1.done) - t1.at;
  const reps = Math.max(2, Math.min(200, Math.round(5 / Math.max(one, 0.005))));
  const per: number[] = [];
  const t0 = performance.now();
  let prevDone = 0;
  let cur = await submit(reps);
  for (;;) {
    const next = await submit(reps); // recorded while `cur` runs
    const done = await cur.done;
    per.push((done - Math.max(cur.at, prevDone)) / reps);
    await dev.checkErrors();
    prevDone = done;
    cur = next;
    const elapsed = performance.now() - t0;
    const n = per.length;
    const steady = n >= 6 && Math.min(...per.slice(n - 3)) >= 0.97 * Math.min(...per.slice(n - 6, n - 3));
    if (elapsed >= Math.max(minMs, 4 * WARM_MS) || (elapsed >= Math.max(minMs, WARM_MS) && steady)) break;
  }
  await cur.done;
  return median(per.slice(-3));
}

/**
 * GPU warm-up before a shape's first timing: an idle H100 brings its SM clock back in steps of up
 * to 0.75 s, and the first candidate timed at 100-400 ms of batches ran up to 5x slow (1x4096x4096
 * f32: 0.144 ms against 0.029 in the bench). Software adapters have no clock to wait for.
 */
function heatMs(dev: GpuDevice): number {
  return dev.fingerprint.family === 'software' ? 0 : 1500;
}

/**
 * The winner against the table's config, timed again in turn (table, winner, table, winner): a
 * config is kept over the table's only if it is still faster when both run at the same clock.
 */
async function confirm(
  dev: GpuDevice, run: () => Tensor, table: TunedConfig, tableMs: number, best: { config: TunedConfig; ms: number },
): Promise<{ tableMs: number; best: { config: TunedConfig; ms: number } }> {
  const t: number[] = [tableMs];
  const b: number[] = [best.ms];
  for (let i = 0; i < 2; i++) {
    t.push(await timeIt(dev, () => withConfig(table, run)));
    b.push(await timeIt(dev, () => withConfig(best.config, run)));
  }
  const tMs = Math.min(...t);
  const bMs = Math.min(...b);
  return { tableMs: tMs, best: bMs < tMs ? { config: best.config, ms: bMs } : { config: table, ms: tMs } };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1];
}

function candidatesFor(dev: GpuDevice, table: FamilyTable, plan: PlanInfo, shape: TuneShape): TunedConfig[] {
  const maxThreads = dev.limits.maxComputeInvocationsPerWorkgroup;
  const maxBytes = dev.limits.maxComputeWorkgroupStorageSize;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const list: TunedConfig[] = [plan.table];
  const add = (c: TunedConfig) => {
    if (!list.some((x) => same(x, c))) list.push(c);
  };
  if (plan.kind === 'tile') {
    for (const tile of table.candidates.tile) if (tileFits(tile, maxThreads, maxBytes)) add({ kind: 'tile', tile });
  } else if (plan.kind === 'sgmat' && plan.sg) {
    const sg = plan.sg;
    for (const c of table.candidates.sgmat) {
      const bm = c.sgr * c.fm * sg.m;
      const bn = c.sgc * c.fn * sg.n;
      const bk = c.load === 'stage' || c.load === 'coop' ? (c.bk ?? 32) : sg.k;
      if (shape.m % bm === 0 && shape.n % bn === 0 && shape.k % bk === 0 && c.sgr * c.sgc * sg.size <= maxThreads) add({ kind: 'sgmat', sgmat: c });
    }
  } else {
    for (const matvec of table.candidates.matvec) add({ kind: plan.kind, matvec });
  }
  return list;
}

export async function tune(opts: TuneOptions = {}): Promise<TuneResult> {
  const dev = requireDevice('tune');
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const store = openTuneStore(dev, opts.cacheDir);
  await tuningLoaded(dev);
  await loadTuned(dev, store, warn);
  const table = familyTable(dev.fingerprint);
  const shapes = opts.shapes ?? defaultShapes(table, dev.fingerprint.family === 'software');
  const entries: TuneReport[] = [];
  let changed = false;
  const line = opts.onProgress === undefined ? defaultProgress() : null;
  const progress = opts.onProgress ? opts.onProgress : line?.report;
  try {
    for (const [i, shape] of shapes.entries()) {
      progress?.({ shape: i + 1, shapes: shapes.length, current: shape, candidate: 0, candidates: 0 });
      const dtype = shape.dtype ?? 'f32';
      const a = randomTensor(shape.transA ? [shape.k, shape.m] : [shape.m, shape.k], dtype, 1);
      const b = randomTensor(shape.transB ? [shape.n, shape.k] : [shape.k, shape.n], dtype, 2);
      try {
        const run = () => matmul(a, b, { transA: shape.transA, transB: shape.transB });
        run().dispose();
        const plan = lastPlan()!;
        const known = tunedEntry(dev, plan.cls);
        if (known && !opts.force) {
          entries.push({ class: plan.cls, shape, config: known.config, ms: 0, tableMs: 0, candidates: 0, timings: [], reused: true });
          continue;
        }
        let best: { config: TunedConfig; ms: number } | null = null;
        let tableMs = Infinity;
        const candidates = candidatesFor(dev, table, plan, shape);
        const timings: { config: TunedConfig; ms: number }[] = [];
        for (const [c, config] of candidates.entries()) {
          let ms: number;
          try {
            // The first candidate (the table's) also brings an idle GPU to its clock.
            ms = await timeIt(dev, () => withConfig(config, run), c === 0 ? heatMs(dev) : 0);
          } catch (e) {
            warn(`lbrx: tune: ${plan.cls}: config ${JSON.stringify(config)} failed (${e instanceof Error ? e.message : e})`);
            continue;
          }
          timings.push({ config, ms });
          if (config === candidates[0]) tableMs = ms;
          if (!best || ms < best.ms) best = { config, ms };
          progress?.({ shape: i + 1, shapes: shapes.length, current: shape, candidate: c + 1, candidates: candidates.length, bestMs: best.ms });
        }
        if (!best) continue;
        if (best.config !== candidates[0] && Number.isFinite(tableMs)) {
          const confirmed = await confirm(dev, run, candidates[0], tableMs, best);
          tableMs = confirmed.tableMs;
          best = confirmed.best;
          progress?.({ shape: i + 1, shapes: shapes.length, current: shape, candidate: candidates.length, candidates: candidates.length, bestMs: best.ms });
        }
        const entry = { config: best.config, ms: best.ms, tableMs, shape: { m: shape.m, k: shape.k, n: shape.n, batch: 1, dtypes: `${dtype}x${dtype}` }, at: new Date().toISOString() };
        setTuned(dev, plan.cls, entry);
        changed = true;
        entries.push({ class: plan.cls, shape, config: best.config, ms: best.ms, tableMs, candidates: candidates.length, timings, reused: false });
      } finally {
        a.dispose();
        b.dispose();
      }
    }
  } finally {
    line?.done();
  }
  if (changed && store) {
    try {
      await saveTuned(dev, store);
    } catch (e) {
      warn(`lbrx: tune: could not save the tuning record: ${e instanceof Error ? e.message : e}`);
    }
  }
  const tuned = entries.filter((e) => !e.reused).length;
  return { device: dev.fingerprint.id, record: store ? recordKey(dev) : null, entries, tuned, reused: entries.length - tuned };
}
