// The tiled matmul kernel's parameters against the CPU reference: thread tiles, k depths, double
// buffers (run-time or constant offsets: pl), unrolled k steps, constant-k (CK) tiles, A kept as rows (ar) and warp layouts (lx), each on shapes with
// partial tiles in M, N and K, a batch, both transposes (A and B read along k: the transposing
// stores) and an epilogue. Integer-valued data keeps the f32 sums exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lb from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { lastPlan, withConfig } from '../src/ops/matmul-gpu.js';
import { tileCode } from '../src/ops/matmul-tile.js';
import { operandWgsl } from '../src/ops/matmul-wgsl.js';
import { FAMILY_TABLES, tileFits, tileLanes, type TileConfig } from '../src/tune/table.js';
import { checkOp, type InputSpec } from './helpers.js';

let dev: NonNullable<ReturnType<typeof lb.device>>;

beforeAll(async () => {
  dev = await lb.init({ cacheDir: false });
});
afterAll(async () => {
  await lb.shutdown();
});

const spec = (shape: number[], dtype: DType = 'f32'): InputSpec => ({ dtype, shape, gen: { ints: 3 } });

async function run(tile: TileConfig, inputs: InputSpec[], opts: lb.MatmulOptions = {}, tol: Parameters<typeof checkOp>[2] = {}) {
  const op = (a: Tensor, b: Tensor, ...rest: Tensor[]) => {
    const extra: lb.MatmulOptions = { ...opts };
    let i = 0;
    if (opts.bias) extra.bias = rest[i++];
    if (opts.residual) extra.residual = rest[i++];
    return withConfig({ kind: 'tile', tile }, () => lb.matmul(a, b, extra));
  };
  await checkOp(op, inputs, tol);
  expect(lastPlan()?.config.tile).toEqual(tile);
}

const present = {} as Tensor;
const t = (bm: number, bn: number, bk: number, tm: number, tn: number, more: Partial<TileConfig> = {}): TileConfig => ({ bm, bn, bk, tm, tn, ...more });

// Each parameter at least once (the table configs, flat tiles with and without double buffers and
// unrolling, run in matmul.test.ts): 256- and 128-thread groups, 8x8 / 8x4 per thread, BK 8 / 16,
// lx 4 / 8 / default, CK tiles single and double buffered, A kept as rows (ar; ignored where A is
// read along m) looped and unrolled. (Few: unrolled kernels compile slowly on CPU drivers.)
const CONFIGS = [
  t(128, 64, 16, 8, 4, { lx: 8 }),
  t(128, 128, 8, 8, 8, { lx: 8, ck: true }),
  t(64, 128, 8, 8, 8, { ck: true }),
  t(128, 64, 16, 8, 4, { lx: 4, ck: true, db: true }),
  t(128, 64, 16, 8, 4, { ar: true }),
  t(64, 128, 8, 8, 8, { ar: true, db: true, unroll: true }),
  // pl: two buffers, the k loop unrolled by two (constant buffer offsets); flat, CK and ar tiles.
  t(128, 64, 16, 8, 4, { pl: true }),
  t(128, 128, 8, 8, 8, { lx: 8, ck: true, pl: true }),
  t(64, 128, 8, 8, 8, { ar: true, pl: true }),
  t(128, 64, 16, 8, 4, { pl: true, p2: true, lx: 8 }),
];

describe('tiled matmul kernel parameters', () => {
  for (const tile of CONFIGS) {
    it(JSON.stringify(tile), async () => {
      const L = dev.limits;
      expect(tileFits(tile, L.maxComputeInvocationsPerWorkgroup, L.maxComputeWorkgroupStorageSize)).toBe(true);
      // Partial tiles in M, N and K (K not a multiple of BK), two batches.
      await run(tile, [spec([2, 133, 45]), spec([2, 45, 70])]);
      // Both operands read along k (transposing stores), with bias, relu and residual.
      await run(tile, [spec([133, 45]), spec([70, 45]), spec([70]), spec([133, 70])], { transB: true, bias: present, residual: present, activation: 'relu', alpha: 2 });
      // A along m, B along k.
      await run(tile, [spec([37, 66]), spec([150, 37])], { transA: true, transB: true });
    });
  }
  // pl ends after either half of its unrolled step, p2 fetches two tiles ahead: K of 1 to 5 tiles
  // (partial last tile), split-K chunks of 2 and 3 tiles.
  for (const tile of [t(64, 64, 16, 4, 4, { pl: true }), t(64, 64, 16, 4, 4, { pl: true, p2: true })]) {
    it(`k tile counts: ${JSON.stringify(tile)}`, async () => {
      for (const k of [5, 16, 32, 48, 67]) await run(tile, [spec([70, k]), spec([k, 66])]);
      for (const splits of [2, 3]) {
        const op = (a: Tensor, b: Tensor) => withConfig({ kind: 'tile', tile, splits }, () => lb.matmul(a, b));
        await checkOp(op, [spec([65, 150]), spec([150, 70])]);
      }
      expect(tileCode(tile).K_LOOP).toContain('const ao = ASTEP;');
    });
  }
  // The epilogue reads bias and residual 4 columns per load where their rows are contiguous and
  // 4-aligned and N % 4 = 0; otherwise (a transposed or offset view, N % 4 != 0) one element at a time.
  for (const tile of [t(64, 64, 16, 4, 4, { ck: true }), t(64, 64, 16, 4, 4, { db: true })]) {
    it(`epilogue loads, 4-wide and scalar: ${JSON.stringify(tile)}`, async () => {
      const gelu: lb.MatmulOptions = { bias: present, residual: present, activation: 'gelu' };
      const tol = { rtol: 2e-6, atol: 1e-6, zeroSign: false }; // gelu / silu: the GPU's exp / erfc
      // Batched, residual per batch; then the residual broadcast over the batch, 16-bit bias / residual.
      await run(tile, [spec([2, 70, 45]), spec([2, 45, 68]), spec([68]), spec([2, 70, 68])], gelu, tol);
      await run(tile, [spec([2, 70, 45]), spec([45, 68]), spec([68], 'bf16'), spec([70, 68], 'f16')], { ...gelu, transB: false, alpha: 0.5 }, tol);
      await run(tile, [spec([70, 45]), spec([68, 45]), spec([68]), spec([70, 68])], { ...gelu, transB: true }, tol);
      // Scalar paths: transposed residual, a bias at an odd offset, N % 4 != 0; then bias alone, residual alone.
      await run(tile, [spec([70, 45]), spec([45, 68]), spec([68]), { ...spec([68, 70]), view: (x) => x.transpose() }], gelu, tol);
      await run(tile, [spec([70, 45]), spec([45, 68]), { ...spec([69]), view: (x) => x.slice([1, 69]) }, spec([70, 68])], gelu, tol);
      await run(tile, [spec([70, 45]), spec([45, 66]), spec([66]), spec([70, 66])], { ...gelu, activation: 'silu' }, tol);
      await run(tile, [spec([70, 45]), spec([45, 68]), spec([68])], { bias: present, activation: 'relu' }, tol);
      await run(tile, [spec([70, 45]), spec([45, 68]), spec([70, 68])], { residual: present }, tol);
    });
  }
  it('epilogue operands bound 4-wide get a 4-element loader', () => {
    expect(operandWgsl({ name: 'e1', binding: 4, dtype: 'f32', vec: true })).toContain('fn load4_e1(i: u32) -> vec4<f32> { return e1[i >> 2u]; }');
    expect(operandWgsl({ name: 'e0', binding: 3, dtype: 'bf16', vec: true })).toContain('fn load4_e0(');
    expect(operandWgsl({ name: 'e0', binding: 3, dtype: 'f32', vec: false })).not.toContain('load4_');
  });
  it('CK tiles are indexed with constant k; lx lays threads out in groups of 32', () => {
    const ck = tileCode(t(128, 128, 8, 8, 8, { ck: true }));
    expect(ck.MAC_LOOP).toContain('As[ao][7u][1u * TY + ty]');
    expect(ck.MAC_LOOP).not.toContain('kk');
    expect(ck.THREAD_XY).toBe('let tx = lid % TX;\n  let ty = lid / TX;');
    expect(tileCode(t(128, 128, 8, 8, 8, { lx: 16 })).THREAD_XY).toBe(ck.THREAD_XY); // 16 is the default here
    expect(tileCode(t(128, 128, 8, 8, 8, { lx: 8 })).THREAD_XY).toContain('(lid / 32u)');
    expect(tileCode(t(128, 128, 8, 8, 8)).MAC_LOOP).toContain('for (var kk');
  });
  it('ar reads A as rows only where A is read along k', () => {
    const tile = t(128, 64, 16, 8, 4, { ar: true });
    expect(tileCode(tile, true).AR).toBe(true);
    expect(tileCode(tile, true).MAC_LOOP).toContain('* PK + k4]');
    expect(tileCode(tile, false).AR).toBe(false);
    expect(tileCode(tile, false).MAC_LOOP).toBe(tileCode(t(128, 64, 16, 8, 4)).MAC_LOOP);
    expect(tileFits({ ...tile, ck: true }, 256, 49152)).toBe(false);
  });
  it('warp layouts: default lanes and the configs that cannot be laid out', () => {
    expect(tileLanes(t(128, 64, 16, 8, 4))).toBe(16);
    expect(tileLanes(t(128, 256, 8, 4, 4))).toBe(32);
    expect(tileFits(t(128, 128, 8, 8, 8, { lx: 8 }), 256, 49152)).toBe(true);
    expect(tileFits(t(128, 128, 8, 8, 8, { lx: 3 }), 256, 49152)).toBe(false); // 32 % 3
    expect(tileFits(t(32, 128, 8, 8, 8, { lx: 4 }), 256, 49152)).toBe(false); // 4 rows of threads, 8 per group
    expect(tileFits(t(32, 32, 16, 4, 4, { lx: 4 }), 256, 49152)).toBe(true);
  });
  it('every table config lays out', () => {
    for (const make of Object.values(FAMILY_TABLES)) {
      const table = make();
      for (const tile of [table.tile, table.tileSmall, ...Object.values(table.tileBy ?? {}), ...table.candidates.tile]) expect(tileFits(tile, 1024, 65536), JSON.stringify(tile)).toBe(true);
    }
  });
});
