// GPU matmul: picks a kernel of wgsl/matmul.wgsl (matvec, subgroup-matrix, tiled, split-K) and a
// config (tuned result, else the family table), packs params and records the dispatches.
import { ShapeError } from '../errors.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, type DType } from '../tensor/dtype.js';
import { coalesce, sizeOf } from '../tensor/shape.js';
import { familyTable, tableTile, type MatvecConfig, type SgmatConfig, type TileConfig } from '../tune/table.js';
import { shapeClass, tunedConfig, type KernelKind, type TunedConfig } from '../tune/state.js';
import { commonDefines, matmulWork, type Activation, type OperandAccess } from './matmul-wgsl.js';
import { tileCode } from './matmul-tile.js';
import { keptByKey } from '../kernels/memo.js';
import type { KernelSpec } from '../kernels/cache.js';
import { sgmatDefines, sgmatShape } from './matmul-sgmat.js';
import { axpyDefines, axpyShape, dotLoop, dotShape, fixedSubgroup, matvecScratch } from './matmul-matvec.js';
import { allMod, dispatchZ, epilogueBuffers, epilogueOperands, layoutOf, MAX_BATCH_DIMS, mod4, packParams, type Layout } from './matmul-params.js';

/** A tensor as the kernel sees it: element offset, batch strides over the output batch, two matrix strides. */
export interface MatView {
  storage: MetalStorage;
  dtype: DType;
  offset: number;
  bstrides: number[];
  /** A: (m, k); B: (k, n); bias / residual: (m, n). */
  s0: number;
  s1: number;
}

export interface Problem {
  m: number;
  n: number;
  k: number;
  bshape: number[];
  a: MatView;
  b: MatView;
  bias?: MatView;
  residual?: MatView;
  act?: Activation;
  alpha: number;
  out: DType;
}

/** Forces a kernel and config (lb.tune() and tests); `splits` forces split-K for the tiled kernel. */
export interface ForcedConfig extends Partial<TunedConfig> {
  splits?: number;
  /** Tiled kernel: the epilogue's bias / residual read one element at a time even where 4-wide loads apply (probes). */
  scalarEpilogue?: boolean;
}

let forced: ForcedConfig | null = null;

/** Runs `fn` with every matmul it records using `cfg` (where the kernel can take it). */
export function withConfig<T>(cfg: ForcedConfig, fn: () => T): T {
  const prev = forced;
  forced = cfg;
  try {
    return fn();
  } finally {
    forced = prev;
  }
}

/** Merges batch dims (and folds a shared-B batch into M); at most 4 batch dims remain. */
export function normalize(p: Problem): Problem {
  const ops = [p.a, p.b, p.bias, p.residual].filter((v): v is MatView => !!v);
  const outStrides = contiguousBatchStrides(p.bshape, p.m * p.n);
  const merged = coalesce(p.bshape, [...ops.map((v) => v.bstrides), outStrides]);
  const q: Problem = { ...p, bshape: merged.shape };
  const views = ops.map((v, i) => ({ ...v, bstrides: merged.strides[i] }));
  [q.a, q.b] = views;
  let i = 2;
  if (p.bias) q.bias = views[i++];
  if (p.residual) q.residual = views[i++];
  const batch = sizeOf(q.bshape);
  // A batch that shares B (stride 0) becomes extra rows of A when every row operand allows it.
  if (batch > 1 && q.b.bstrides.every((s) => s === 0)) {
    const rowOps = [q.a, q.bias, q.residual].filter((v): v is MatView => !!v);
    const f = coalesce([...q.bshape, q.m], [...rowOps.map((v) => [...v.bstrides, v.s0]), [...contiguousBatchStrides(q.bshape, q.m * q.n), q.n]]);
    if (f.shape.length === 1) {
      rowOps.forEach((v, j) => (v.s0 = f.strides[j][0]));
      for (const v of [q.a, q.b, q.bias, q.residual]) if (v) v.bstrides = [0];
      q.m = f.shape[0];
      q.bshape = [1];
    }
  }
  if (q.bshape.length > MAX_BATCH_DIMS) {
    throw new ShapeError('matmul', `the batch dimensions cannot be merged into ${MAX_BATCH_DIMS} or fewer; make an operand contiguous first`, [p.bshape]);
  }
  return q;
}

function contiguousBatchStrides(shape: readonly number[], inner: number): number[] {
  const out = new Array<number>(shape.length);
  let s = inner;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/**
 * Whether the tiled kernel's epilogue reads bias and residual 4 columns per load: each present
 * view's rows contiguous (column stride 1) with every row start 4-aligned, and N % 4 = 0 (a
 * thread's 4 columns are all in or all out).
 */
function epilogueVec4(p: Problem): boolean {
  const ok = (v: MatView | undefined) => !v || (v.s1 === 1 && mod4(v.s0) && mod4(v.offset) && allMod(v.bstrides, 4));
  return (!!p.bias || !!p.residual) && mod4(p.n) && ok(p.bias) && ok(p.residual) && !forced?.scalarEpilogue;
}

const isHalf = (d: DType) => d === 'f16' || d === 'bf16';

/** Records the matmul of a normalized problem; returns storage holding [...batch, M, N] of `outDType`. */
export function recordMatmul(dev: GpuDevice, p: Problem): { storage: MetalStorage; dtype: DType } {
  const batch = sizeOf(p.bshape);
  // 16-bit results pack two columns per word: an odd N would share words across rows (and
  // workgroups), so such results are computed in f32 and converted by the caller.
  const outDType: DType = isHalf(p.out) && p.n % 2 !== 0 ? 'f32' : p.out;
  const count = batch * p.m * p.n;
  const storage = MetalStorage.empty(dev, count * byteSize(outDType), outDType, 'matmul');
  if (count === 0) return { storage, dtype: outDType };
  const table = familyTable(dev.fingerprint);
  // Tiled and subgroup-matrix classes also name a transposed operand (A with M contiguous, B with
  // K contiguous): the best config differs by layout (H100 f16: 'coop' 1.8x 'stage' with A transposed).
  const layout = p.k > 1 ? (p.m > 1 && p.a.s1 !== 1 ? ':aT' : '') + (p.n > 1 && p.b.s0 === 1 ? ':bT' : '') : '';
  const dtypes = `${p.a.dtype}x${p.b.dtype}`;
  const choose = (kind: KernelKind, fallback: TunedConfig): TunedConfig => {
    const cls = shapeClass(kind, kind === 'tile' || kind === 'sgmat' ? dtypes + layout : dtypes, p.m * batch, p.n, p.k);
    const cfg = forced?.kind === kind ? ({ ...fallback, ...forced } as TunedConfig) : forced ? fallback : (tunedConfig(dev, cls) ?? fallback);
    plan = { kind, cls, config: cfg, table: fallback };
    return cfg;
  };

  if (p.m === 1 && (!forced?.kind || forced.kind === 'dot' || forced.kind === 'axpy')) {
    const kind: KernelKind = p.b.s0 === 1 && p.b.s1 !== 1 && p.n > 1 ? 'dot' : 'axpy';
    const cfg = choose(kind, { kind, matvec: table.matvec }).matvec ?? table.matvec;
    recordMatvec(dev, p, kind, cfg, storage, outDType, table.fillWorkgroups);
    return { storage, dtype: outDType };
  }
  const sg = sgmatShape(dev, p, forced?.kind === 'sgmat' || !forced?.kind);
  if (sg) {
    const cfg = choose('sgmat', { kind: 'sgmat', sgmat: table.sgmat }).sgmat ?? table.sgmat;
    if (recordSgmat(dev, p, sg, cfg, storage, outDType)) {
      plan!.sg = sg;
      return { storage, dtype: outDType };
    }
  }
  const small = p.m < 128 || p.n < 128;
  const tile = tableTile(table, layout.replace(/:/g, ''), small, dev.limits);
  const cfg = choose('tile', { kind: 'tile', tile }).tile ?? tile;
  recordTiled(dev, p, cfg, storage, outDType, table.fillWorkgroups);
  return { storage, dtype: outDType };
}

/** What the last recorded matmul chose (lb.tune() reads it). */
export interface PlanInfo {
  kind: KernelKind;
  cls: string;
  config: TunedConfig;
  /** The family table's config for this kernel kind. */
  table: TunedConfig;
  sg?: { size: number; m: number; n: number; k: number };
}

let plan: PlanInfo | null = null;

export function lastPlan(): PlanInfo | null {
  return plan;
}

function recordTiled(dev: GpuDevice, p: Problem, cfg: TileConfig, out: MetalStorage, outDType: DType, fill: number): void {
  const batch = sizeOf(p.bshape);
  const la = layoutOf(p.a, true, p.m, p.k);
  const lb = layoutOf(p.b, false, p.n, p.k);
  const tilesM = Math.ceil(p.m / cfg.bm);
  const tilesN = Math.ceil(p.n / cfg.bn);
  const tiles = tilesM * tilesN * batch;
  let splits = forced?.splits ?? 1;
  if (forced?.splits === undefined && tiles * 2 <= fill && p.k >= 1024) {
    splits = Math.min(Math.ceil(fill / tiles), Math.floor(p.k / 256), 32);
  }
  const kchunk = splits > 1 ? Math.ceil(Math.ceil(p.k / splits) / cfg.bk) * cfg.bk : Math.max(p.k, 1);
  splits = splits > 1 ? Math.ceil(p.k / kchunk) : 1;
  const operands: OperandAccess[] = [
    { name: 'a', binding: 1, dtype: p.a.dtype, vec: la.vec },
    { name: 'b', binding: 2, dtype: p.b.dtype, vec: lb.vec },
  ];
  const split = splits > 1;
  const partial = split ? MetalStorage.empty(dev, splits * batch * p.m * p.n * 4, 'f32', 'matmul split-K') : null;
  const target = partial ?? out;
  const { workgroups, gridX } = dev.stream.grid(tilesM * tilesN);
  const epiVec = !split && epilogueVec4(p);
  const used = split ? operands : [...operands, ...epilogueOperands(p, epiVec)];
  const outForm = { dtype: split ? 'f32' as const : outDType, vec4: mod4(p.n) };
  const spec = keptByKey(['tile', used, outForm, p.act, cfg, la.kcont, lb.kcont, split, epiVec], (): KernelSpec => ({
    file: 'matmul',
    label: split ? 'matmul split-K' : 'matmul',
    defines: {
      ...commonDefines(used, outForm, p.act, ''), ...tileCode(cfg, la.kcont),
      A_KCONT: la.kcont, B_KCONT: lb.kcont, SPLIT: split, EPI_VEC4: epiVec,
    },
  }));
  const buffers = { a: p.a.storage.use(), b: p.b.storage.use(), out: target.use(), ...(split ? {} : epilogueBuffers(p)) };
  dispatchZ(dev, batch * splits, (z0, zc) => {
    dev.stream.record({
      kind: 'dispatch',
      spec,
      buffers,
      params: packParams(p, la, lb, { kchunk, tilesN, gridX, batch, z0, splits, count: batch * p.m * p.n }),
      workgroups: [workgroups[0], workgroups[1], zc], ...matmulWork(p, zc / (batch * splits)),
    });
  });
  if (partial) {
    recordReduce(dev, p, partial, splits, out, outDType, la, lb);
    partial.release();
  }
}

function recordReduce(dev: GpuDevice, p: Problem, partial: MetalStorage, splits: number, out: MetalStorage, outDType: DType, la: Layout, lb: Layout): void {
  const batch = sizeOf(p.bshape);
  const count = batch * p.m * p.n;
  const { workgroups, gridX } = dev.stream.grid(Math.ceil(count / 2 / 256));
  dev.stream.record({
    kind: 'dispatch',
    spec: keptByKey(['reduce', epilogueOperands(p), outDType, p.act], (): KernelSpec => ({
      file: 'matmul',
      label: 'matmul split-K reduce',
      defines: { ...commonDefines(epilogueOperands(p), { dtype: outDType, vec4: false }, p.act, ''), REDUCE: true },
    })),
    buffers: { part: partial.use(), out: out.use(), ...epilogueBuffers(p) },
    params: packParams(p, la, lb, { kchunk: 0, tilesN: 0, gridX, batch, z0: 0, splits, count }),
    workgroups,
  });
}

function recordMatvec(dev: GpuDevice, p: Problem, kind: 'dot' | 'axpy', cfg: MatvecConfig, out: MetalStorage, outDType: DType, fill: number): void {
  const batch = sizeOf(p.bshape);
  const maxThreads = dev.limits.maxComputeInvocationsPerWorkgroup;
  // A is one row: read it k-contiguously whatever its m stride.
  const la = layoutOf(p.a, true, 1, p.k, 'k');
  const lb = layoutOf(p.b, false, p.n, p.k, kind === 'dot' ? 'k' : 'outer');
  const operands: OperandAccess[] = [
    { name: 'a', binding: 1, dtype: p.a.dtype, vec: la.vec },
    { name: 'b', binding: 2, dtype: p.b.dtype, vec: lb.vec },
  ];
  const aligned8 = (v: MatView) => v.offset % 8 === 0 && allMod(v.bstrides, 8);
  if (kind === 'dot') {
    const s = dotShape(cfg, maxThreads, isHalf(outDType));
    const { workgroups, gridX } = dev.stream.grid(Math.ceil(p.n / s.rows));
    // 8 elements per load when both rows are contiguous and 8-aligned.
    const v8 = la.cs === 1 && lb.cs === 1 && p.k % 8 === 0 && aligned8(p.a) && aligned8(p.b) && (p.n === 1 || lb.rs % 8 === 0);
    if (v8) operands.forEach((o) => ((o.vec = false), (o.vec8 = true)));
    const used = [...operands, ...epilogueOperands(p)];
    const spec = keptByKey(['dot', used, outDType, p.act, s, v8], (): KernelSpec => ({
      file: 'matvec',
      label: 'matvec',
      defines: {
        ...commonDefines(used, { dtype: outDType, vec4: false }, p.act, ''),
        MATVEC: true, MATVEC_DOT: true, WG: s.wg, TPR: s.tpr, R: s.r, DOT_LOOP: dotLoop(s.r, s.u, v8),
      },
    }));
    const buffers = { a: p.a.storage.use(), b: p.b.storage.use(), out: out.use(), ...epilogueBuffers(p) };
    dispatchZ(dev, batch, (z0, zc) =>
      dev.stream.record({
        kind: 'dispatch',
        spec,
        buffers,
        params: packParams(p, la, lb, { kchunk: p.k, tilesN: 0, gridX, batch, z0, splits: 1, count: batch * p.n }),
        workgroups: [workgroups[0], workgroups[1], zc], ...matmulWork(p, zc / batch),
      }),
    );
    return;
  }
  // 8 columns per thread: B's rows contiguous and 8-aligned, N % 8 = 0.
  const v8 = lb.cs === 1 && p.n % 8 === 0 && lb.rs % 8 === 0 && aligned8(p.b);
  const s = axpyShape(cfg, maxThreads, v8, fixedSubgroup(dev));
  if (s.c === 8) operands[1] = { ...operands[1], vec: false, vec8: true };
  const kl = s.wg / s.ct;
  const blocks = Math.ceil(p.n / (s.ct * s.c));
  let splits = forced?.splits ?? Math.max(1, Math.min(Math.ceil(fill / (blocks * batch)), Math.floor(p.k / (kl * 16)), 64));
  const kchunk = Math.ceil(p.k / splits);
  splits = Math.max(1, Math.ceil(p.k / Math.max(kchunk, 1)));
  const split = splits > 1;
  // Fused: the partials go through persistent words and the last workgroup per block sums them.
  const fused = split && cfg.fuse ? matvecScratch(dev, splits * batch * p.n, batch * blocks) : null;
  const partial = split && !fused ? MetalStorage.empty(dev, splits * batch * p.n * 4, 'f32', 'matvec split-K') : null;
  const target = partial ?? out;
  const { workgroups, gridX } = dev.stream.grid(blocks);
  const withEpilogue = !partial;
  const used = withEpilogue ? [...operands, ...epilogueOperands(p)] : operands;
  const outForm = { dtype: partial ? 'f32' as const : outDType, vec4: mod4(p.n) };
  const spec = keptByKey(['axpy', used, outForm, p.act, s, !!partial, !!fused], (): KernelSpec => ({
    file: 'matvec',
    label: 'matvec',
    defines: {
      ...commonDefines(used, outForm, p.act, s.cts ? 'enable subgroups;' : ''),
      MATVEC: true, ...axpyDefines(s), SPLIT: !!partial, FUSE: !!fused,
    },
  }));
  const buffers = {
    a: p.a.storage.use(), b: p.b.storage.use(), out: target.use(), ...(withEpilogue ? epilogueBuffers(p) : {}),
    ...(fused ? { part: fused.part, ctr: fused.ctr } : {}),
  };
  dispatchZ(dev, batch * splits, (z0, zc) =>
    dev.stream.record({
      kind: 'dispatch',
      spec,
      buffers,
      params: packParams(p, la, lb, { kchunk: Math.max(kchunk, 1), tilesN: blocks, gridX, batch, z0, splits, count: batch * p.n }),
      workgroups: [workgroups[0], workgroups[1], zc], ...matmulWork(p, zc / (batch * splits)),
    }),
  );
  if (partial) {
    recordReduce(dev, p, partial, splits, out, outDType, la, lb);
    partial.release();
  }
}

function recordSgmat(dev: GpuDevice, p: Problem, sg: { size: number; m: number; n: number; k: number }, cfg: SgmatConfig, out: MetalStorage, outDType: DType): boolean {
  const bm = cfg.sgr * cfg.fm * sg.m;
  const bn = cfg.sgc * cfg.fn * sg.n;
  const threads = cfg.sgr * cfg.sgc * sg.size;
  const stage = cfg.load === 'stage' || cfg.load === 'coop';
  const words = cfg.load === 'stage';
  const bk = stage ? (cfg.bk ?? 32) : sg.k;
  if (p.m % bm || p.n % bn || p.k % bk || threads > dev.limits.maxComputeInvocationsPerWorkgroup) return false;
  const la = layoutOf(p.a, true, p.m, p.k);
  const lb = layoutOf(p.b, false, p.n, p.k);
  if (stage) {
    const bytes = 2 * (cfg.db ? 2 : 1) * ((la.kcont ? bm : bk) * ((la.kcont ? bk : bm) + 8) + (lb.kcont ? bn : bk) * ((lb.kcont ? bk : bn) + 8)) + 4 * cfg.sgr * cfg.sgc * sg.m * sg.n;
    if (bytes > dev.limits.maxComputeWorkgroupStorageSize || bk % 8 || bm % 8 || bn % 8) return false;
  }
  const batch = sizeOf(p.bshape);
  const tilesM = p.m / bm;
  const tilesN = p.n / bn;
  const { workgroups, gridX } = dev.stream.grid(tilesM * tilesN);
  const operands: OperandAccess[] = [
    { name: 'a', binding: 1, dtype: p.a.dtype, vec: false, raw: !words, words },
    { name: 'b', binding: 2, dtype: p.b.dtype, vec: false, raw: !words, words },
    ...epilogueOperands(p),
  ];
  const outForm = { dtype: outDType, vec4: mod4(p.n) };
  const spec = keptByKey(['sgmat', operands, outForm, p.act, cfg, la.kcont, lb.kcont, sg, p.a.dtype], (): KernelSpec => ({
    file: 'matmul', label: 'matmul subgroup-matrix', defines: sgmatDefines(operands, outForm, p.act, p.a.dtype, cfg, la.kcont, lb.kcont, sg),
  }));
  const buffers = { a: p.a.storage.use(), b: p.b.storage.use(), out: out.use(), ...epilogueBuffers(p) };
  dispatchZ(dev, batch, (z0, zc) =>
    dev.stream.record({
      kind: 'dispatch',
      spec,
      buffers,
      params: packParams(p, la, lb, { kchunk: p.k, tilesN, gridX, batch, z0, splits: 1, count: batch * p.m * p.n }),
      workgroups: [workgroups[0], workgroups[1], zc], ...matmulWork(p, zc / batch),
    }),
  );
  return true;
}
