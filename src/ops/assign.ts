// lb.assign: writes values into the elements a view covers, in place (e.g. new keys into a
// preallocated KV cache: lb.assign(cache.slice(null, null, [pos, pos + L]), k)). Every tensor that
// shares the storage sees the new values. GPU: the concat kernel (wgsl/concat.wgsl) writing
// equally spaced contiguous runs of the destination buffer, src read through the fused prologue.
//
// The write is recorded in order with the other GPU work: kernels recorded before it (attention
// reading the cache, say) read the old values. A lazy elementwise expression over dst that is not
// computed yet reads its leaves when it is computed, so after the write: call realize() on it
// first if it must see the old values.
import { DTypeError, GpuValidationError, ShapeError } from '../errors.js';
import { requireDevice } from '../runtime/context.js';
import type { CpuStorage, MetalStorage } from '../runtime/storage.js';
import { byteSize } from '../tensor/dtype.js';
import { encodeElements } from '../tensor/encode.js';
import { broadcastShapes, coalesce } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { readValues } from '../cpu/access.js';
import { cast } from './elementwise.js';
import { full } from './create.js';
import { lazyElementwise } from './gpu-elementwise.js';
import { nextBinding, withPrologue } from './prologue.js';
import { leafBuffers, valueDefines, valueParams } from '../graph/realize.js';
import { isHalf, storeType, storeValue } from './wgsl-types.js';

const OP = 'assign';

/** dst's elements as `blocks` runs of `len` contiguous elements, `stride` apart, from `start`. */
interface Runs { blocks: number; len: number; stride: number; start: number }

function runsOf(dst: Tensor): Runs {
  const { shape, strides } = coalesce(dst.shape, [dst.strides]);
  const st = strides[0];
  const why = `dst's elements must form equally spaced contiguous runs (e.g. a slice along one axis of a contiguous tensor); got shape [${dst.shape}] with strides [${dst.strides}]: assign through a slice of each run instead`;
  if (st.some((s, i) => s === 0 && shape[i] > 1)) {
    throw new ShapeError(OP, `dst is a broadcast (expanded) view of shape [${dst.shape}]: several of its elements are one memory location`, [dst.shape]);
  }
  if (shape.length === 1) return st[0] <= 1 ? { blocks: 1, len: shape[0], stride: shape[0], start: dst.offset } : { blocks: shape[0], len: 1, stride: st[0], start: dst.offset };
  if (shape.length === 2 && st[1] === 1 && st[0] > shape[1]) return { blocks: shape[0], len: shape[1], stride: st[0], start: dst.offset };
  throw new ShapeError(OP, why, [dst.shape]);
}

/**
 * Writes `src` (a tensor broadcast to dst's shape, or a number), cast to dst's dtype, into the
 * memory dst views. dst must be a view whose elements are equally spaced contiguous runs: a
 * contiguous tensor, or a slice of one along a single axis (leading axes may be kept whole).
 * Returns dst.
 */
export function assign(dst: Tensor, src: Tensor | number): Tensor {
  if (!(dst instanceof Tensor)) throw new DTypeError(OP, `dst must be a Tensor, got ${dst === null ? 'null' : typeof dst}`);
  if (!(src instanceof Tensor) && typeof src !== 'number') throw new DTypeError(OP, `src must be a Tensor or a number, got ${src === null ? 'null' : typeof src}`);
  if (dst.disposed) throw new GpuValidationError(`${OP}: dst (a ${dst.dtype} tensor of shape [${dst.shape}]) was used after dispose()`);
  if (src instanceof Tensor) {
    if (src.device !== dst.device) throw new GpuValidationError(`${OP}: src is on ${src.device} but dst is on ${dst.device}; move it with await src.to('${dst.device}')`);
    let ok = src.ndim <= dst.ndim;
    try {
      ok &&= broadcastShapes(OP, src.shape, dst.shape).every((d, i) => d === dst.shape[i]);
    } catch {
      ok = false;
    }
    if (!ok) throw new ShapeError(OP, `src of shape [${src.shape}] does not broadcast to dst's shape [${dst.shape}]`, [dst.shape, src.shape]);
  }
  if (dst.size === 0) return dst;
  const runs = runsOf(dst);
  // Owned temporaries: the value in dst's dtype and shape.
  const temps: Tensor[] = [];
  const own = (t: Tensor) => (temps.push(t), t);
  try {
    let value = typeof src === 'number' ? own(full(dst.shape, src, { dtype: dst.dtype, device: dst.device })) : src;
    if (value.dtype !== dst.dtype) value = own(cast(value, dst.dtype));
    if (value.ndim !== dst.ndim || value.shape.some((d, i) => d !== dst.shape[i])) value = own(value.expand(dst.shape));
    if (dst.device === 'cpu') writeCpu(dst, value, runs);
    else writeGpu(dst, value, runs);
  } finally {
    temps.forEach((t) => t.dispose());
  }
  return dst;
}

function writeCpu(dst: Tensor, value: Tensor, r: Runs): void {
  const bytes = (dst.storage as CpuStorage).bytes;
  const values = readValues(value);
  const size = byteSize(dst.dtype);
  for (let q = 0; q < r.blocks; q++) {
    bytes.set(encodeElements(values.subarray(q * r.len, (q + 1) * r.len), dst.dtype), (r.start + q * r.stride) * size);
  }
}

function writeGpu(dst: Tensor, valueIn: Tensor, r: Runs): void {
  const dev = requireDevice(OP);
  const out = dst.storage as MetalStorage;
  const half = isHalf(dst.dtype);
  let value = valueIn;
  let copy: Tensor | null = null;
  try {
    for (;;) {
      // A kernel may not read the buffer it writes (WebGPU refuses the binding; rows could race):
      // when src reads dst's storage, compute src into its own buffer first.
      const overlap = withPrologue(dev, value, 1, (body) => {
        if (body.leaves.some((l) => l.storage === out)) return true;
        const words = Math.floor(r.len / 2) + 1;
        const threads = half ? r.blocks * words : r.blocks * r.len;
        const { workgroups, gridX } = dev.stream.grid(Math.ceil(threads / 256));
        dev.stream.record({
          kind: 'dispatch',
          spec: {
            file: 'concat',
            label: OP,
            defines: {
              ...valueDefines(body),
              OUT_BINDING: nextBinding(body),
              OUT_HALF: half,
              OUT_STORE: storeType(dst.dtype),
              STORE: storeValue(dst.dtype, body.valueType),
            },
          },
          buffers: { ...leafBuffers(body), out: out.use() },
          params: valueParams(body, [threads, gridX * 256, r.len, r.stride, r.start, words]),
          workgroups,
          bytes: 2 * dst.size * byteSize(dst.dtype),
        });
        return false;
      });
      if (!overlap) return;
      if (copy) throw new Error('internal: assign copy still reads dst');
      copy = lazyElementwise(dev, 'copy', [value], value.shape, value.dtype).realize();
      value = copy;
    }
  } finally {
    copy?.dispose();
  }
}
