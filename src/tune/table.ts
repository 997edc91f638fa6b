// Matmul tile configurations per GPU family: the starting point before (or without) lb.tune().
//
// Apple (M1-M4, every size class): SIMD groups are 32 wide, threadgroup memory is 32 KiB, and
// every generation has simdgroup matrices of 8x8 (f16 and f32; Dawn exposes them as
// chromium-experimental-subgroup-matrix with M = N = K = 8). So:
// - 256-thread workgroups (8 SIMD groups) keep enough groups resident per core; M1/M2 cores have
//   ~208 KiB of registers per core, so 8x8 accumulators per thread (64 f32) still allow 2-3
//   resident threadgroups, 8x4 on base chips keeps that at 3+.
// - A 128x128 tile with BK = 8 takes 2 x 128 x 8 x 4 B = 8 KiB of threadgroup memory (16 KiB at
//   BK = 16): well inside 32 KiB, leaving room for 2+ threadgroups per core.
// - simdgroup matrices are 8x8: a 32x32 tile per SIMD group is 4x4 fragments, 16 accumulator
//   matrices (2 KiB of registers per group); M3/M4's dynamic caching gives more occupancy at the
//   same register use, so they take the larger 64x64-per-workgroup tiles.
// - Size classes differ in core count (base 8-10, pro 14-20, max 30-40, ultra 60-80): that sets
//   how many workgroups fill the GPU, and so when split-K pays (fillWorkgroups).
// NVIDIA (Vulkan): warps of 32, 48 KiB of workgroup memory through Dawn, 255 registers per
// thread, cooperative matrices of 16x16x16 f16 -> f32. AMD: wave 32/64, 64 KiB LDS. Intel: SIMD
// 8-32, 64 KiB SLM. Software rasterizers (lavapipe, SwiftShader) run workgroups as CPU loops:
// small tiles, few threads.
import type { GpuFamily, GpuFingerprint, SizeClass } from '../runtime/family.js';

/** Register-blocked tile: BM x BN outputs per workgroup, BK-deep k steps, TM x TN per thread. */
export interface TileConfig {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  /** Two workgroup-memory buffers per tile: one barrier per k step instead of two. */
  db?: boolean;
  /** The BK steps of the inner product unrolled in the source (longer compile, free scheduling). */
  unroll?: boolean;
  /**
   * Threads along n in each 32-thread group (the rest along m): which fragments one warp reads
   * from workgroup memory. Default: a whole row of the thread grid, at most 32 (row-major).
   */
  lx?: number;
  /** Tiles indexed [buffer][k][m / 4] with the BK steps unrolled, so every k index is a constant. */
  ck?: boolean;
  /** A read along k kept as [m][k] rows in workgroup memory (no transposing stores); not with ck. */
  ar?: boolean;
  /**
   * Two workgroup buffers with the k loop unrolled by two: each half reads and stores its buffer
   * at constant offsets, one barrier per k step, next tiles fetched unconditionally (as db, which
   * alternates the offsets at run time; pl takes precedence).
   */
  pl?: boolean;
  /** With pl: the tile two k steps ahead is fetched into registers (a second register set), not the next. */
  p2?: boolean;
}

/**
 * Subgroup-matrix tile: an SGR x SGC grid of subgroups, each FM x FN fragments; fragments loaded
 * from storage each k step ('direct'), one step ahead ('prefetch'), or through BK-deep tiles in
 * workgroup memory ('stage': 16-byte loads, two-byte stores; 'coop': moved as fragments).
 */
export interface SgmatConfig {
  sgr: number;
  sgc: number;
  fm: number;
  fn: number;
  load?: 'direct' | 'prefetch' | 'stage' | 'coop';
  bk?: number;
  /** 'stage' / 'coop': two workgroup buffers, one barrier per k step, stores spread between multiplies. */
  db?: boolean;
}

/** M = 1 kernels: threads per output row (k-contiguous B) and column threads ([K, N] B). */
export interface MatvecConfig {
  tpr: number;
  ct: number;
  /** Threads per workgroup (default 256). */
  wg?: number;
  /** dot: consecutive rows per group of TPR threads, sharing x loads (default 1). */
  rows?: number;
  /** Loads in flight per thread: per row (dot) or k rows (axpy) (default 4). */
  unroll?: number;
  /** axpy: columns per thread, 4 or 8 (8: 16-byte loads of 16-bit B; needs N % 8 = 0) (default 4). */
  cols?: number;
  /** axpy split-K: the last workgroup of each column block sums the partials (no second pass). */
  fuse?: boolean;
  /**
   * axpy with cols 8 on a device with one subgroup size: column lanes per row in a subgroup (the
   * subgroup's other lanes on k rows, summed by shuffles); ct / sg subgroups side by side on columns.
   */
  sg?: number;
}

export interface FamilyTable {
  /** Large outputs. */
  tile: TileConfig;
  /** Large outputs with A read along m (aT), B read along k (bT) or both: where the best differs by layout. */
  tileBy?: Partial<Record<'aT' | 'bT' | 'aTbT', TileConfig>>;
  /** Outputs with M or N under 128 (or few tiles). */
  tileSmall: TileConfig;
  sgmat: SgmatConfig;
  matvec: MatvecConfig;
  /** Workgroups that keep the whole GPU busy; fewer tiles than half of this try split-K. */
  fillWorkgroups: number;
  /** What lb.tune() tries. */
  candidates: { tile: TileConfig[]; sgmat: SgmatConfig[]; matvec: MatvecConfig[] };
}

const t = (bm: number, bn: number, bk: number, tm: number, tn: number, db = false, unroll = false): TileConfig => ({
  bm, bn, bk, tm, tn, ...(db ? { db } : {}), ...(unroll ? { unroll } : {}),
});
const s = (sgr: number, sgc: number, fm: number, fn: number, load: SgmatConfig['load'] = 'stage', bk?: number, db = false): SgmatConfig => ({
  sgr, sgc, fm, fn, load, ...(bk ? { bk } : {}), ...(db ? { db } : {}),
});

const BIG_TILES = [
  t(128, 128, 8, 8, 8), t(128, 128, 16, 8, 8), t(128, 64, 16, 8, 4), t(64, 128, 16, 4, 8), t(64, 64, 16, 4, 4), t(128, 256, 8, 8, 16),
  t(128, 128, 8, 8, 8, true), t(128, 128, 16, 8, 8, true), t(128, 64, 16, 8, 4, true), t(64, 128, 16, 4, 8, true), t(128, 64, 8, 8, 4, true),
  t(64, 64, 16, 4, 4, true),
  t(128, 128, 8, 8, 8, true, true), t(128, 64, 16, 8, 4, true, true), t(128, 64, 8, 8, 4, true, true), t(64, 128, 16, 4, 8, true, true),
  t(128, 128, 16, 8, 8, true, true), t(128, 64, 16, 8, 4, false, true),
];
const SMALL_TILES = [t(64, 64, 16, 4, 4), t(32, 64, 16, 4, 4), t(32, 32, 16, 4, 4), t(64, 32, 16, 4, 4)];
// NVIDIA only: constant-k tiles (ck), A kept as rows (ar), two buffers at constant offsets (pl).
// H100 4096^3 f32, TFLOP/s (matmul-notes.md, session 5; cuBLAS 51.6): 128x128x16 / 8x8 lx 8 ck
// 45.4 (A transposed 42.4), with pl 43.4 (44.3); 64x128x8 / 8x8 lx 8 ck pl 42.7, flat-unrolled
// pl 41.4 (A transposed 45.6); 128x64x16 / 8x4 pl 40.4; the previous default 128x64x16 / 8x4 34.2.
const NVIDIA_TILES: TileConfig[] = [
  { ...t(128, 128, 8, 8, 8), lx: 8, ck: true }, { ...t(128, 128, 8, 8, 8), ck: true },
  { ...t(128, 64, 16, 8, 4), ck: true }, { ...t(64, 128, 8, 8, 8), lx: 8, ck: true },
  { ...t(128, 64, 16, 8, 4), ar: true }, { ...t(128, 64, 16, 8, 4, true), ar: true },
  { ...t(128, 128, 16, 8, 8), lx: 8, ck: true }, { ...t(128, 128, 16, 8, 8), lx: 8, ck: true, pl: true },
  { ...t(64, 128, 8, 8, 8), lx: 8, ck: true, pl: true }, { ...t(64, 128, 8, 8, 8, false, true), lx: 8, pl: true },
  { ...t(128, 128, 16, 8, 8, false, true), lx: 8, pl: true }, { ...t(128, 64, 16, 8, 4), pl: true },
  // Not measured yet: the small-output tile (64x64x16 / 4x4 db, run-time buffer offsets) with pl.
  { ...t(64, 64, 16, 4, 4), pl: true },
  // B transposed 4096^3 (session 5 part 3): 41.8 against 41.4 for the 64x128x8 default, one pair.
  { ...t(128, 128, 8, 8, 8, false, true), lx: 8, pl: true },
];
const SGMATS = [
  s(2, 2, 4, 4), s(2, 2, 4, 4, 'stage', 64), s(4, 2, 2, 4), s(2, 4, 4, 2), s(4, 2, 4, 2), s(2, 2, 2, 4), s(2, 2, 4, 2),
  s(4, 2, 4, 4), s(2, 4, 4, 4),
  s(2, 2, 4, 4, 'prefetch'), s(4, 2, 2, 4, 'prefetch'), s(2, 2, 4, 4, 'direct'), s(2, 2, 2, 2, 'direct'),
  // Double-buffered staging (one barrier per k step; 48 KiB of workgroup memory bounds BK to 16 at
  // 256 x 128): 188-198 vs 210 TFLOP/s on the H100. Tiles moved as fragments ('coop'): half the
  // speed on plain operands, 1.8x the staged kernel with A transposed (matmul-notes.md).
  s(4, 2, 4, 4, 'stage', 16, true), s(2, 4, 4, 4, 'stage', 16, true), s(4, 2, 4, 4, 'coop'), s(2, 4, 4, 4, 'coop'),
];
const MATVECS: MatvecConfig[] = [
  { tpr: 32, ct: 64 }, { tpr: 16, ct: 32 }, { tpr: 64, ct: 128 }, { tpr: 8, ct: 64 },
  { tpr: 64, ct: 16, cols: 8, fuse: true }, { tpr: 32, ct: 8, cols: 8, fuse: true }, { tpr: 64, ct: 32, rows: 2, unroll: 2, fuse: true },
];

// NVIDIA only: the axpy's subgroup variant (k lanes summed by shuffles) in the default's geometry.
// H100 f16 [K, N] 1x4096x4096 (matmul-notes.md, session 5 part 2): sg 16 18.8 us, sg 8 18.9, the
// default 19.4 in the same rounds; measured in a build whose fused sum had four splits per step.
const NVIDIA_MATVECS: MatvecConfig[] = [{ tpr: 64, ct: 16, cols: 8, fuse: true, sg: 16 }, { tpr: 64, ct: 16, cols: 8, fuse: true, sg: 8 }];

const BASE: FamilyTable = {
  tile: t(128, 128, 8, 8, 8),
  tileSmall: t(64, 64, 16, 4, 4),
  sgmat: s(2, 2, 4, 4),
  matvec: { tpr: 32, ct: 64 },
  fillWorkgroups: 256,
  candidates: { tile: [...BIG_TILES, ...SMALL_TILES], sgmat: SGMATS, matvec: MATVECS },
};

function apple(sizeClass: SizeClass | undefined, gen: number): FamilyTable {
  const cores = { base: 10, pro: 18, max: 38, ultra: 76 }[sizeClass ?? 'base'];
  return {
    ...BASE,
    // Base chips: 8x4 per thread keeps register use at 32 accumulators (more groups per core).
    tile: sizeClass === 'base' || sizeClass === undefined ? t(128, 64, 16, 8, 4) : t(128, 128, 16, 8, 8),
    tileSmall: t(64, 64, 16, 4, 4),
    // 8x8 simdgroup matrices: 4 x 4 fragments = 32 x 32 per SIMD group; 2 x 2 groups (M3/M4: 2 x 4).
    sgmat: gen >= 3 ? s(2, 4, 4, 4) : s(2, 2, 4, 4),
    matvec: { tpr: 32, ct: 64 },
    fillWorkgroups: cores * 4,
  };
}

export const FAMILY_TABLES: Readonly<Record<GpuFamily, (sizeClass?: SizeClass) => FamilyTable>> = {
  'apple-m1': (c) => apple(c, 1),
  'apple-m2': (c) => apple(c, 2),
  'apple-m3': (c) => apple(c, 3),
  'apple-m4': (c) => apple(c, 4),
  apple: (c) => apple(c, 1),
  // H100 (bench/results/matmul-notes.md, session 5): 128x128x16 tiles of 8x8 per thread with
  // constant k: 45.4 TFLOP/s at 4096^3 f32 (the previous 128x64x16 / 8x4: 34.2); with a transposed
  // operand two buffers at constant offsets (pl) do better: A transposed 45.6 with 64x128x8 flat
  // unrolled pl; B transposed the same tile (part 3): 41.4 at 4096^3 (128x128x16 ck pl 39.6), 39.3
  // at 512x4096x4096 with its 3 k splits (35.5), 37.0 at 512x4096x11008 (35.1). Subgroup matrices staged through
  // workgroup memory beat loading fragments from storage 2-3x. 132 SMs: fill with 528 workgroups.
  nvidia: () => ({
    ...BASE,
    tile: { ...t(128, 128, 16, 8, 8), lx: 8, ck: true },
    tileBy: {
      aT: { ...t(64, 128, 8, 8, 8, false, true), lx: 8, pl: true },
      bT: { ...t(64, 128, 8, 8, 8, false, true), lx: 8, pl: true },
      aTbT: { ...t(128, 128, 16, 8, 8), lx: 8, ck: true, pl: true },
    },
    tileSmall: t(64, 64, 16, 4, 4, true),
    sgmat: s(4, 2, 4, 4),
    // M = 1 (session 4 probe, matmul-notes.md): 64 threads per row; [K, N] with 16 column threads
    // of 8 columns (16-byte loads of f16) and the split-K partials summed in the same dispatch.
    matvec: { tpr: 64, ct: 16, cols: 8, fuse: true },
    fillWorkgroups: 528,
    candidates: { ...BASE.candidates, tile: [...BIG_TILES, ...NVIDIA_TILES, ...SMALL_TILES], matvec: [...MATVECS, ...NVIDIA_MATVECS] },
  }),
  amd: () => ({ ...BASE, tile: t(128, 128, 16, 8, 8), fillWorkgroups: 384 }),
  intel: () => ({ ...BASE, tile: t(64, 128, 16, 4, 8), tileSmall: t(32, 64, 16, 4, 4), fillWorkgroups: 192 }),
  qualcomm: () => ({ ...BASE, tile: t(64, 64, 16, 4, 4), tileSmall: t(32, 32, 16, 4, 4), fillWorkgroups: 64 }),
  arm: () => ({ ...BASE, tile: t(64, 64, 16, 4, 4), tileSmall: t(32, 32, 16, 4, 4), fillWorkgroups: 64 }),
  // Workgroups run as loops over lanes on 1-64 CPU threads: small tiles, little split-K.
  software: () => ({
    ...BASE,
    tile: t(32, 32, 16, 4, 4),
    tileSmall: t(32, 32, 16, 4, 4),
    matvec: { tpr: 8, ct: 64 },
    fillWorkgroups: 16,
    candidates: { tile: [t(32, 32, 16, 4, 4), t(64, 64, 16, 4, 4), t(32, 64, 8, 4, 4)], sgmat: SGMATS, matvec: MATVECS.slice(0, 2) },
  }),
  generic: () => ({ ...BASE, tile: t(64, 64, 16, 4, 4), tileSmall: t(32, 32, 16, 4, 4), fillWorkgroups: 128 }),
};

export function familyTable(fp: Pick<GpuFingerprint, 'family' | 'sizeClass'>): FamilyTable {
  return (FAMILY_TABLES[fp.family] ?? FAMILY_TABLES.generic)(fp.sizeClass);
}

/**
 * The table's tile for an output with M or N under 128 (`small`) or else for its layout ('', 'aT',
 * 'bT', 'aTbT'); where a large tile does not fit the device's `limits` (a per-layout tile takes up
 * to 32 KiB of workgroup memory), the small one.
 */
export function tableTile(
  table: FamilyTable, layout: string, small: boolean,
  limits?: { maxComputeInvocationsPerWorkgroup: number; maxComputeWorkgroupStorageSize: number },
): TileConfig {
  if (small) return table.tileSmall;
  const tile = table.tileBy?.[layout as 'aT' | 'bT' | 'aTbT'] ?? table.tile;
  if (limits && !tileFits(tile, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupStorageSize)) return table.tileSmall;
  return tile;
}

/** Threads a tile config runs per workgroup. */
export const tileThreads = (c: TileConfig): number => (c.bm / c.tm) * (c.bn / c.tn);

/** Threads along n in each 32-thread group of the tiled kernel (TileConfig.lx). */
export const tileLanes = (c: TileConfig): number => c.lx ?? Math.min(c.bn / c.tn, 32);

/** Whether the kernel can be built for `c` on a device with these limits. */
export function tileFits(c: TileConfig, maxThreads: number, maxWorkgroupBytes: number): boolean {
  const threads = tileThreads(c);
  const tx = c.bn / c.tn;
  const lx = tileLanes(c);
  // A non-default lx lays the grid out in groups of 32 threads, each (32 / lx) rows of lx.
  const laid = lx === Math.min(tx, 32) || (threads % 32 === 0 && 32 % lx === 0 && tx % lx === 0 && (c.bm / c.tm) % (32 / lx) === 0);
  return (
    c.tm % 4 === 0 && c.tn % 4 === 0 && c.bk % 4 === 0 && c.bm % c.tm === 0 && c.bn % c.tn === 0 &&
    (c.bm / c.tm) % 1 === 0 && threads <= maxThreads && threads >= 1 && laid && !(c.ar && c.ck) &&
    // ar: A's rows padded by one vec4 (the larger layout, whichever the operand's turns out to be).
    ((c.ar ? c.bm * (c.bk + 4) : c.bm * c.bk) + c.bn * c.bk) * 4 * (c.db || c.pl ? 2 : 1) <= maxWorkgroupBytes
  );
}

// ---- Attention (src/ops/attention*.ts, wgsl/attention*.wgsl) ----
// decode: L <= maxL. A workgroup of `wg` threads takes up to `rows` query rows of one (b, kv head)
// (GQA heads and queries packed together) over one key split; `dt` lanes share a key (8 elements
// of D each, subgroup shuffles reduce the dot), `ku` keys per lane group and step (loads in flight;
// fewer when rows x ku > `rowKeys`: registers), `prefetch`: the next step's keys load before the
// current step's math; `fuse`: split partials merged inside the decode dispatch (its last
// workgroup per block) while rows x splits <= fuse; `maxSplits`: most key splits (merging one
// row's splits is a chain of loads that grows with them). The fused merge has run on lavapipe and
// the H100 only: other families keep the combine pass (fuse 0) until measured there.
// tile: register-tiled prefill, BQ query rows x TK keys per step, TQ rows per thread, NJ threads
// per row group. sgmat: `sgs` subgroups of one fragment row each (BQ = sgs x fragment), TK keys per
// step. fill: workgroups that keep the GPU busy (fewer try split-K); minChunk: keys per split at least.
/** Decode kernel (L small): threads, lanes per key, keys per lane group and step, rows x keys budget, rows per workgroup, next-step prefetch, fused merge limit, most splits, largest L. */
export interface AttentionDecodeConfig { wg: number; dt: number; ku: number; rowKeys: number; rows: number; prefetch: boolean; fuse: number; maxSplits: number; maxL: number }
/** Register-tiled prefill kernel. */
export interface AttentionTileConfig { bq: number; tk: number; tq: number; nj: number }
/**
 * Subgroup-matrix prefill kernel: subgroups per workgroup, keys per step, row fragments per subgroup (default 1), K / V
 * double-buffered, Q fragments reloaded from workgroup memory each step, fragment rows of each subgroup's share of S and
 * of O, next tile prefetched into registers, contiguous keys per softmax lane (SgmatPlan in src/ops/attention-sgmat.ts).
 */
export interface AttentionSgmatConfig {
  sgs: number; tk: number; rf?: number; db?: boolean; qs?: boolean; sr?: number; or?: number; pf?: boolean; cl?: boolean;
  /** K a tile ahead of V (2 barriers per step, one buffer), fragment-row block arrays (constant fragment offsets), runtime K / V offsets (comparison only). */
  ka?: boolean; cf?: boolean; rk?: boolean;
}

export interface AttentionTable {
  decode: AttentionDecodeConfig;
  /** Tried in order; the first that fits the device's workgroup memory for D and the dtypes wins. */
  tiles: AttentionTileConfig[];
  /**
   * Subgroup-matrix prefill, or null: not chosen unless asked for (attentionTuning.sgmat). On
   * where it was checked on the device (NVIDIA: H100, Dawn / Vulkan, npm webgpu 0.6.2); it only
   * runs where the adapter has square f16 -> f32 fragments and one subgroup size.
   */
  sgmat: AttentionSgmatConfig | null;
  fill: number;
  minChunk: number;
}

const ATTENTION_BASE: AttentionTable = {
  decode: { wg: 128, dt: 16, ku: 2, rowKeys: 16, rows: 8, prefetch: false, fuse: 0, maxSplits: 1024, maxL: 4 },
  tiles: [
    { bq: 64, tk: 32, tq: 4, nj: 16 }, { bq: 32, tk: 32, tq: 4, nj: 8 }, { bq: 32, tk: 16, tq: 4, nj: 8 },
    { bq: 16, tk: 16, tq: 2, nj: 8 }, { bq: 16, tk: 8, tq: 2, nj: 8 }, { bq: 8, tk: 8, tq: 1, nj: 8 },
  ],
  sgmat: null,
  fill: 256,
  minChunk: 256,
};

/** What the subgroup-matrix kernel takes when asked for without a configuration. */
export const ATTENTION_SGMAT_DEFAULT: AttentionSgmatConfig = { sgs: 4, tk: 32 };

// H100 decode (bench/results/attention-notes.md): 16 lanes x 8 halves = one 256-byte key row of
// D = 128; 4 keys per lane group and step with one row per workgroup (2 with GQA's 4 rows), no
// prefetch (no gain at 4 keys, 20% slower with 4 rows), splits merged in the decode dispatch up to
// 32 rows x splits, at most 128 splits (one query over 32k keys: the merge's chain halves).
const NVIDIA_DECODE: AttentionDecodeConfig = { wg: 128, dt: 16, ku: 4, rowKeys: 8, rows: 8, prefetch: false, fuse: 32, maxSplits: 128, maxL: 4 };

const ATTENTION_TABLES: Partial<Record<GpuFamily, AttentionTable>> = {
  // 132 SMs: ~4 workgroups each. Decode: NVIDIA_DECODE.
  // sgmat (H100, causal 1x32x4096x4096x128 f16): 8 subgroups x 32 keys, Q staged in passes, next tile's loads held in
  // registers (pf): 87 TFLOP/s vs 80.5 without pf in the same run; 4 x 32 58. K a tile ahead of V (ka, 2 barriers
  // per step) in fragment-row block arrays (cf, no robustness branches on fragment accesses): attention-notes.md.
  nvidia: { ...ATTENTION_BASE, decode: NVIDIA_DECODE, sgmat: { sgs: 8, tk: 32, pf: true, ka: true, cf: true }, fill: 528, minChunk: 128 },
  // Apple: 8x8 simdgroup matrices (sgmat off: with 8x8 fragments it takes D <= 64 only, and it
  // has not run on an Apple GPU), 32 KiB of threadgroup memory, 8-40 cores.
  'apple-m1': { ...ATTENTION_BASE, fill: 64 },
  'apple-m2': { ...ATTENTION_BASE, fill: 64 },
  'apple-m3': { ...ATTENTION_BASE, fill: 128 },
  'apple-m4': { ...ATTENTION_BASE, fill: 128 },
  // CPU rasterizers: subgroups of 8 (lavapipe) or 4, 32 KiB of workgroup memory, few cores.
  software: {
    ...ATTENTION_BASE,
    decode: { wg: 64, dt: 8, ku: 2, rowKeys: 16, rows: 4, prefetch: true, fuse: 32, maxSplits: 1024, maxL: 4 },
    tiles: [{ bq: 32, tk: 16, tq: 4, nj: 8 }, { bq: 16, tk: 16, tq: 2, nj: 8 }, { bq: 16, tk: 8, tq: 2, nj: 8 }, { bq: 8, tk: 8, tq: 1, nj: 8 }],
    fill: 16,
    minChunk: 256,
  },
};

export function attentionTable(fp: Pick<GpuFingerprint, 'family'>): AttentionTable {
  return ATTENTION_TABLES[fp.family] ?? ATTENTION_BASE;
}
