// What the matmul kernels of wgsl/matmul.wgsl and wgsl/matmul_quant.wgsl share on the host side:
// how an operand view is read (layout), the Params uniform, the epilogue's operands and buffers,
// and dispatches chunked over z. Used by the dense (matmul-gpu.ts) and quantized (matmul-quant.ts) paths.
import type { GpuDevice } from '../runtime/device.js';
import type { MatView, Problem } from './matmul-gpu.js';
import type { OperandAccess } from './matmul-wgsl.js';

export const MAX_BATCH_DIMS = 4;
const GROUP = 8;

export const mod4 = (x: number) => x % 4 === 0;
export const allMod = (xs: readonly number[], q: number) => xs.every((x) => x % q === 0);

/** The Params words that depend on the kernel and dispatch rather than on the problem. */
export interface ParamsExtra {
  kchunk: number;
  tilesN: number;
  gridX: number;
  batch: number;
  z0: number;
  splits: number;
  /** Outputs in all (batch x M x N). */
  count: number;
}

export interface Layout {
  /** A: k contiguous (else m); B: k contiguous (else n). */
  kcont: boolean;
  vec: boolean;
  /** Loader strides: rows and columns of the contiguous orientation. */
  rs: number;
  cs: number;
}

/** How A (m x k) or B (k x n) is read: along k or along its other dimension; vec4 when aligned. */
export function layoutOf(v: MatView, isA: boolean, outer: number, k: number, force?: 'k' | 'outer'): Layout {
  // A: s0 = m stride, s1 = k stride. B: s0 = k stride, s1 = n stride.
  const kStride = isA ? v.s1 : v.s0;
  const oStride = isA ? v.s0 : v.s1;
  const aligned = mod4(v.offset) && allMod(v.bstrides, 4);
  // A prefers k-contiguous and B n-contiguous; each takes the other orientation when only it is contiguous.
  const kcont = force ? force === 'k' : isA ? kStride === 1 || oStride !== 1 : kStride === 1 && oStride !== 1;
  if (kcont) {
    const vec = aligned && kStride === 1 && mod4(k) && (outer === 1 || mod4(oStride));
    return { kcont, vec, rs: oStride, cs: kStride };
  }
  const vec = aligned && oStride === 1 && mod4(outer) && (k === 1 || mod4(kStride));
  return { kcont, vec, rs: kStride, cs: oStride };
}

/** Params uniform: 24 words then bshape and four batch-stride vectors (see wgsl/matmul.wgsl). */
export function packParams(p: Problem, la: Layout, lb: Layout, extra: ParamsExtra): ArrayBuffer {
  const w = new Uint32Array(44);
  const f = new Float32Array(w.buffer);
  const pad = (xs: readonly number[]) => [...new Array(MAX_BATCH_DIMS - xs.length).fill(0), ...xs];
  const e0 = p.bias;
  const e1 = p.residual;
  w.set([p.m, p.n, p.k, extra.kchunk, la.rs, la.cs, lb.rs, lb.cs, p.a.offset, p.b.offset, extra.tilesN, extra.gridX]);
  w.set([e0?.s0 ?? 0, e0?.s1 ?? 0, e1?.s0 ?? 0, e1?.s1 ?? 0, e0?.offset ?? 0, e1?.offset ?? 0, extra.batch, extra.z0], 12);
  f[20] = p.alpha;
  w.set([extra.splits, GROUP, extra.count], 21);
  const bshape = [...new Array(MAX_BATCH_DIMS - p.bshape.length).fill(1), ...p.bshape];
  w.set(bshape, 24);
  w.set(pad(p.a.bstrides), 28);
  w.set(pad(p.b.bstrides), 32);
  w.set(pad(e0?.bstrides ?? []), 36);
  w.set(pad(e1?.bstrides ?? []), 40);
  return w.buffer;
}

/** `vec4`: bound for 4-wide loads (load4_X; see epilogueVec4). */
export function epilogueOperands(p: Problem, vec4 = false): OperandAccess[] {
  const ops: OperandAccess[] = [];
  if (p.bias) ops.push({ name: 'e0', binding: 3, dtype: p.bias.dtype, vec: vec4 });
  if (p.residual) ops.push({ name: 'e1', binding: 4, dtype: p.residual.dtype, vec: vec4 });
  return ops;
}

export function epilogueBuffers(p: Problem): Record<string, GPUBuffer> {
  const out: Record<string, GPUBuffer> = {};
  if (p.bias) out.e0 = p.bias.storage.use();
  if (p.residual) out.e1 = p.residual.storage.use();
  return out;
}

/** Dispatches over z in chunks of the per-dimension limit: `record` records one chunk. */
export function dispatchZ(dev: GpuDevice, total: number, record: (z0: number, zCount: number) => void): void {
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  for (let z0 = 0; z0 < total; z0 += max) record(z0, Math.min(max, total - z0));
}
