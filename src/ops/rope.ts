// Rotary position embedding. GPU: wgsl/rope.wgsl (x read through the fused prologue);
// CPU: src/cpu/rope.ts. Both use the same inv_freq table, computed here in f32.
import { DTypeError, ShapeError } from '../errors.js';
import { leafBuffers, valueDefines, valueParams, leafBytes } from '../graph/realize.js';
import { requireDevice } from '../runtime/context.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize, isFloat } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import * as cpu from '../cpu/rope.js';
import { checkSameDevice } from './elementwise.js';
import { fuse } from '../graph/fuse.js';
import { f32Bits, nextBinding, plainView, prologueInput, releaseInput, withPrologue } from './prologue.js';
import { rowDefines, rowOutDefines, rowRead } from './rows.js';
import { convertValue, isHalf, storeType, storeValue } from './wgsl-types.js';

export interface RopeOptions {
  /** 'half': pairs (i, i + rotaryDim/2) (GPT-NeoX, Llama; default). 'interleaved': pairs (2i, 2i+1) (GPT-J). */
  layout?: 'half' | 'interleaved';
  /** Frequency base; default 10000. */
  base?: number;
  /** Added to every position (given or default); default 0. */
  offset?: number;
  /** Leading dims of D that rotate (even, <= D); the rest pass through. Default D. */
  rotaryDim?: number;
  /** Own inverse frequencies (rotaryDim/2 values, e.g. scaled for long context); replaces `base`. */
  invFreq?: ArrayLike<number>;
}

/** Most inverse frequencies the kernel takes (they travel in the uniform params). */
const MAX_FREQS = 4096;

/**
 * inv_freq[i] = 1 / base^(2i / rotaryDim) in f32 steps, as PyTorch computes
 * `1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))`: e = f32(2i / rotaryDim),
 * p = f32(f32(base)^e), inv = f32(1 / p).
 */
export function ropeInvFreq(rotaryDim: number, base = 10000): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(rotaryDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = f(1 / f(Math.pow(f(base), f((2 * i) / rotaryDim))));
  return out;
}

/**
 * Rotates x [..., L, D] by position: each pair (a, b) of the first rotaryDim dims becomes
 * (a cos t - b sin t, b cos t + a sin t), t = f32(positions[l] + offset) * inv_freq[i].
 * `positions`: i32/u32 [L]; omitted, positions are 0..L-1. Result: contiguous, x's dtype.
 */
export function rope(x: Tensor, positions?: Tensor | null, opts: RopeOptions = {}): Tensor {
  const op = 'rope';
  if (!(x instanceof Tensor)) throw new DTypeError(op, `x must be a Tensor, got ${typeof x}`);
  if (!isFloat(x.dtype)) throw new DTypeError(op, `x must be a float tensor (f32, f16, bf16), got ${x.dtype}`);
  if (x.ndim < 2) throw new ShapeError(op, 'x must have shape [..., L, D] (at least 2 dimensions)', [x.shape]);
  const [l, d] = x.shape.slice(-2);
  const layout = opts.layout ?? 'half';
  if (layout !== 'half' && layout !== 'interleaved') throw new DTypeError(op, `layout must be 'half' or 'interleaved', got ${String(layout)}`);
  const rot = opts.rotaryDim ?? d;
  if (!Number.isInteger(rot) || rot <= 0 || rot % 2 !== 0 || rot > d) {
    throw new ShapeError(op, `rotaryDim must be an even integer in [2, D = ${d}], got ${rot}`, [x.shape]);
  }
  if (rot / 2 > MAX_FREQS) throw new ShapeError(op, `rotaryDim ${rot} is over the supported ${2 * MAX_FREQS}`, [x.shape]);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || Math.abs(offset) > 2 ** 31 - 1) throw new DTypeError(op, `offset must be a 32-bit integer, got ${offset}`);
  const base = opts.base ?? 10000;
  if (typeof base !== 'number' || !(base > 0) || !Number.isFinite(base)) throw new DTypeError(op, `base must be a positive finite number, got ${String(base)}`);
  let invFreq: Float32Array;
  if (opts.invFreq !== undefined) {
    if (opts.invFreq.length !== rot / 2) throw new ShapeError(op, `invFreq needs rotaryDim / 2 = ${rot / 2} values, got ${opts.invFreq.length}`, [x.shape]);
    invFreq = Float32Array.from(opts.invFreq);
  } else {
    invFreq = ropeInvFreq(rot, base);
  }
  const pos = positions ?? null;
  if (pos !== null) {
    if (!(pos instanceof Tensor)) throw new DTypeError(op, `positions must be a Tensor or omitted, got ${typeof pos}`);
    checkSameDevice(op, x, pos);
    if (pos.dtype !== 'i32' && pos.dtype !== 'u32') throw new DTypeError(op, `positions must be i32 or u32, got ${pos.dtype}`);
    if (pos.ndim !== 1 || pos.shape[0] !== l) throw new ShapeError(op, `positions must have shape [L] = [${l}]`, [x.shape, pos.shape]);
  }
  const args = { half: layout === 'half', rot, offset, invFreq };
  if (x.device === 'cpu') return cpu.rope(x, pos, args);
  return gpuRope(requireDevice(op), x, pos, args);
}

interface RopeArgs {
  half: boolean;
  rot: number;
  offset: number;
  invFreq: Float32Array;
}

function gpuRope(dev: GpuDevice, x: Tensor, pos: Tensor | null, a: RopeArgs): Tensor {
  const n = x.size;
  const bytes = n * byteSize(x.dtype);
  dev.checkAllocatable(bytes);
  const out = MetalStorage.empty(dev, bytes, x.dtype, 'rope');
  if (n > 0) {
    const [l, d] = x.shape.slice(-2);
    const pv = pos && plainView(pos);
    if (d % 4 === 0 && a.rot % (a.half ? 8 : 4) === 0) {
      ropeQuads(dev, x, pv, pos?.dtype ?? 'i32', a, out);
      return new Tensor(out, [...x.shape], x.dtype);
    }
    withPrologue(dev, x, pv ? 2 : 1, (body) => {
      const freqBase = body.scalars.length;
      body.scalars.push(...Array.from(a.invFreq, f32Bits));
      const half = isHalf(x.dtype);
      const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / (half ? 2 : 1) / 256));
      const buffers: Record<string, GPUBuffer> = { ...leafBuffers(body), out: out.use() };
      if (pv) buffers.pos = pv.storage.use();
      dev.stream.record({
        kind: 'dispatch',
        bytes: leafBytes(body, n) + bytes,
        spec: {
          file: 'rope',
          label: 'rope',
          defines: {
            ELEMENT: 'rotated',
            ...valueDefines(body),
            OUT_BINDING: nextBinding(body),
            POS_BINDING: nextBinding(body, 1),
            HAS_POS: !!pv,
            POS_STORE: pos?.dtype ?? 'i32',
            HALF: a.half,
            FREQ_BASE: freqBase,
            OUT_HALF: half,
            OUT_STORE: storeType(x.dtype),
            STORE: storeValue(x.dtype, 'f32'),
            LOAD: convertValue(body.valueType, 'f32', 'value(i)'),
          },
        },
        buffers,
        params: valueParams(body, [n, gridX * 256, l, d, a.rot, pv?.offset ?? 0, pv?.stride ?? 0, a.offset >>> 0]),
        workgroups,
      });
    });
  }
  return new Tensor(out, [...x.shape], x.dtype);
}

/** Rows of D % 4 = 0: a thread per four pairs (or two, interleaved), quads loaded and stored whole. */
function ropeQuads(
  dev: GpuDevice, x: Tensor, pv: ReturnType<typeof plainView> | null, posDtype: string, a: RopeArgs, out: MetalStorage,
): void {
  const [l, d] = x.shape.slice(-2);
  const rows = x.size / d;
  const units = (a.half ? a.rot / 8 : a.rot / 4) + (d - a.rot) / 4;
  const tpr = Math.min(256, 2 ** Math.ceil(Math.log2(Math.max(1, units))));
  const plan = { tpr, rpw: 256 / tpr, items: 1, sg: 0, groups: Math.ceil(rows / (256 / tpr)), prefetch: false };
  const input = prologueInput(dev, x, pv ? 2 : 1);
  try {
    const read = rowRead(input, fuse(input, dev.features.f16), rows, d);
    const body = read.body;
    // The frequencies start at a multiple of 4 scalars: read four at a time.
    while (body.scalars.length % 4) body.scalars.push(0);
    const freqBase = body.scalars.length;
    body.scalars.push(...Array.from(a.invFreq, f32Bits));
    const { workgroups, gridX } = dev.stream.grid(plan.groups);
    const buffers: Record<string, GPUBuffer> = { ...leafBuffers(body), out: out.use() };
    if (pv) buffers.pos = pv.storage.use();
    dev.stream.record({
      kind: 'dispatch',
      bytes: leafBytes(body, x.size) + x.size * byteSize(x.dtype),
      spec: {
        file: 'rope',
        label: 'rope',
        defines: {
          ...rowDefines(dev, read, plan, 'f32'),
          ...rowOutDefines(x.dtype, d, nextBinding(body)),
          QUADS: true,
          POS_BINDING: nextBinding(body, 1),
          HAS_POS: !!pv,
          POS_STORE: posDtype,
          HALF: a.half,
          FREQ_BASE: freqBase,
          LOAD: convertValue(body.valueType, 'f32', 'value(i)'),
        },
      },
      buffers,
      params: valueParams(body, [rows, gridX, l, d, a.rot, pv?.offset ?? 0, pv?.stride ?? 0, a.offset >>> 0]),
      workgroups,
    });
  } finally {
    releaseInput(input);
  }
}
