// GPU elementwise dispatch: specializes wgsl/elementwise.wgsl for dtypes, rank and expression.
import { MetalStorage } from '../runtime/storage.js';
import type { GpuDevice } from '../runtime/device.js';
import { byteSize, isFloat, type DType } from '../tensor/dtype.js';
import { broadcastStrides, coalesce, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { computeType, enableDirectives, isHalf, loadExpr, storeExpr, storeType, type ComputeType } from './wgsl-types.js';

const MAX_DIMS = 8;

/**
 * out = expr(a[, b]) over `shape` (inputs broadcast to it). `expr` is WGSL over `a` and `b`
 * in the compute type; `ct` overrides the compute type (casts always go through f32).
 */
export function elementwise(
  dev: GpuDevice,
  name: string,
  expr: string,
  inputs: readonly Tensor[],
  shape: readonly number[],
  out: DType,
  ct: ComputeType = computeType(dev, inputs.map((t) => t.dtype), out),
): Tensor {
  const n = sizeOf(shape);
  const storage = MetalStorage.empty(dev, n * byteSize(out), out, name);
  const result = new Tensor(storage, [...shape], out);
  if (n === 0) return result;
  const merged = coalesce(shape, inputs.map((t) => broadcastStrides(t.shape, t.strides, shape)));
  const ndim = merged.shape.length;
  if (ndim > MAX_DIMS) throw new Error(`internal: ${name} over ${ndim} dimensions`);
  const [a, b] = inputs;
  const defines = {
    ENABLE: enableDirectives(ct),
    NDIM: ndim,
    BINARY: inputs.length === 2,
    CT: ct,
    A_STORE: storeType(a.dtype),
    B_STORE: b ? storeType(b.dtype) : 'u32',
    OUT_STORE: storeType(out),
    LOAD_A: operandExpr('a_buf', a.dtype, ct, out),
    LOAD_B: b ? operandExpr('b_buf', b.dtype, ct, out) : '0',
    OUT_HALF: isHalf(out),
    STORE: storeExpr(out, ct),
    EXPR: expr,
  };
  const perThread = isHalf(out) ? 2 : 1;
  const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / perThread / 256));
  // Params layout matches `struct Params` in elementwise.wgsl (u32 words).
  const params = new Uint32Array(4 + 3 * MAX_DIMS);
  params.set([n, gridX * 256, a.offset, b?.offset ?? 0]);
  params.set(merged.shape, 4);
  params.set(merged.strides[0], 4 + MAX_DIMS);
  if (b) params.set(merged.strides[1], 4 + 2 * MAX_DIMS);
  const buffers: Record<string, GPUBuffer> = { a_buf: (a.storage as MetalStorage).use(), out: storage.use() };
  if (b) buffers.b_buf = (b.storage as MetalStorage).use();
  dev.stream.record({
    kind: 'dispatch',
    spec: { file: 'elementwise', defines, label: name },
    buffers,
    params: params.buffer,
    workgroups,
  });
  return result;
}

/**
 * An operand as the op sees it: promotion casts it to the result dtype first, so an integer next
 * to an f16/bf16 result is rounded to that dtype before the f32 math (as the CPU reference does).
 */
function operandExpr(name: string, d: DType, ct: ComputeType, out: DType): string {
  const e = loadExpr(name, d, ct);
  if (isFloat(d) || ct !== 'f32' || !isHalf(out)) return e;
  return out === 'f16' ? `f16_to_f32(f32_to_f16(${e}))` : `bf16_to_f32(f32_to_bf16(${e}))`;
}
