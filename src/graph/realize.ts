// Realizing lazy nodes: one generated kernel per fused group, recorded into the stream.
import { isHalf, storeType, storeValue } from '../ops/wgsl-types.js';
import type { GpuDevice } from '../runtime/device.js';
import { MetalStorage } from '../runtime/storage.js';
import { byteSize } from '../tensor/dtype.js';
import { sizeOf } from '../tensor/shape.js';
import { fuse, inputShape, MAX_DIMS, type FusedBody } from './fuse.js';
import { noteRealized, type LazyNode, type NodeInput } from './node.js';

const HEADER_WORDS = 8;

/** Defines for wgsl/_value.wgsl from a fused body. */
export function valueDefines(body: FusedBody): Record<string, string | number | boolean> {
  const leaves = Math.max(body.leaves.length, 1);
  return {
    ENABLE: body.usesF16 ? 'enable f16;' : '',
    F16: body.usesF16,
    NDIM: body.shape.length,
    OFFSET_VEC4: Math.ceil(leaves / 4),
    STRIDE_VEC4: leaves * 2,
    SCALAR_VEC4: Math.max(1, Math.ceil(body.scalars.length / 4)),
    LEAF_BINDINGS: body.bindings,
    INDEX_INIT: body.leaves.map((_, k) => `var i${k} = params.offsets[${k >> 2}][${k & 3}];`).join('\n  '),
    INDEX_STEP: body.leaves.map((_, k) => `i${k} = i${k} + c * stride(${k}u, u32(d));`).join('\n    '),
    BODY: body.body,
    RESULT: body.result,
    VT: body.valueType,
  };
}

/** The params uniform for a fused body: 8 header words, then shape, offsets, strides, scalars. */
export function valueParams(body: FusedBody, header: readonly number[]): ArrayBuffer {
  const d = valueDefines(body);
  const words = HEADER_WORDS + 8 + 4 * (Number(d.OFFSET_VEC4) + Number(d.STRIDE_VEC4) + Number(d.SCALAR_VEC4));
  const p = new Uint32Array(words);
  p.set(header.slice(0, HEADER_WORDS));
  p.set(body.shape, HEADER_WORDS);
  let at = HEADER_WORDS + 8;
  body.leaves.forEach((l, k) => (p[at + k] = l.offset));
  at += 4 * Number(d.OFFSET_VEC4);
  body.leaves.forEach((l, k) => p.set(l.strides, at + k * MAX_DIMS));
  at += 4 * Number(d.STRIDE_VEC4);
  p.set(body.scalars, at);
  return p.buffer;
}

/** Bytes a kernel reads through a fused body over `n` logical elements: each leaf once (for the profiler). */
export function leafBytes(body: FusedBody, n: number): number {
  return body.leaves.reduce((s, l) => s + Math.min(l.storage.byteLength, n * byteSize(l.dtype)), 0);
}

/** Leaf buffers of a fused body as bind-group entries; marks them used by this batch. */
export function leafBuffers(body: FusedBody): Record<string, GPUBuffer> {
  const out: Record<string, GPUBuffer> = {};
  body.leaves.forEach((l, k) => (out[`leaf${k}`] = l.storage.use()));
  return out;
}

/** Evaluates `input` (row-major over its shape) into new storage with one fused kernel. */
export function evaluate(dev: GpuDevice, input: NodeInput, label: string): MetalStorage {
  const dtype = input.kind === 'node' ? input.node.dtype : input.dtype;
  const n = sizeOf(inputShape(input));
  const storage = MetalStorage.empty(dev, n * byteSize(dtype), dtype, label);
  if (n === 0) return storage;
  const body = fuse(input, dev.features.f16);
  if (body.shape.length > MAX_DIMS) throw new Error(`internal: ${label} over ${body.shape.length} dimensions`);
  const perThread = isHalf(dtype) ? 2 : 1;
  const { workgroups, gridX } = dev.stream.grid(Math.ceil(n / perThread / 256));
  dev.stream.record({
    kind: 'dispatch',
    spec: {
      file: 'elementwise',
      label,
      defines: {
        ELEMENT: 'value',
        ...valueDefines(body),
        OUT_BINDING: Math.max(body.leaves.length, 1) + 1,
        OUT_STORE: storeType(dtype),
        OUT_HALF: isHalf(dtype),
        STORE: storeValue(dtype, body.valueType),
      },
    },
    buffers: { ...leafBuffers(body), out: storage.use() },
    params: valueParams(body, [n, gridX * 256]),
    workgroups,
    // Declared traffic for the profiler: each leaf read once (at most n elements), the output written.
    bytes: n * byteSize(dtype) + leafBytes(body, n),
  });
  return storage;
}

/** Computes a lazy node's value (once) and frees what only it needed. */
export function realize(node: LazyNode): MetalStorage {
  if (node.realized) return node.realized;
  if (node.released) throw new Error('internal: realizing a released node');
  node.realized = evaluate(node.dev, { kind: 'node', node }, node.op);
  node.realized.claim(); // held by the node: not an orphan of a failed op
  noteRealized();
  node.dropInputs();
  return node.realized;
}
