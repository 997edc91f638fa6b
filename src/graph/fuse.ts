// Fusion codegen: turns a lazy node and the unrealized elementwise nodes under it into the
// body of one kernel. Every leaf (a strided view of storage) gets its own index, computed from
// the output's multi-index; each node becomes one `let`, so a shared node is computed once.
import { convertValue, loadValue, roundValue, scalarValue, scalarWord, storeType, valueType, type ValueType } from '../ops/wgsl-types.js';
import type { MetalStorage } from '../runtime/storage.js';
import type { DType } from '../tensor/dtype.js';
import { broadcastStrides, coalesce, contiguousStrides, sameArray } from '../tensor/shape.js';
import { opDef } from './ops.js';
import type { LazyNode, NodeInput } from './node.js';

export const MAX_DIMS = 8;

export interface FusedLeaf {
  storage: MetalStorage;
  dtype: DType;
  offset: number;
  /** Strides over the (coalesced) output shape. */
  strides: number[];
}

export interface FusedBody {
  leaves: FusedLeaf[];
  /** Scalar operands as u32 words (f32 bits for floats). */
  scalars: number[];
  shape: number[];
  /** WGSL declarations of the leaf bindings, starting at binding 1. */
  bindings: string;
  /** WGSL statements computing the value at output index `o` into `$RESULT`. */
  body: string;
  result: string;
  valueType: ValueType;
  usesF16: boolean;
}

/** How the root is read: over `shape`, with its strides (in its own dim order) mapped by `map`. */
export interface RootView {
  shape: readonly number[];
  map: (strides: readonly number[]) => number[];
}

export function inputShape(input: NodeInput): readonly number[] {
  return input.kind === 'node' ? input.node.shape : input.kind === 'view' ? input.shape : [];
}

/** Codegen for `root`, read over its own shape or through `view` (a permutation, say). */
export function fuse(root: NodeInput, f16: boolean, view?: RootView): FusedBody {
  const shape = view?.shape ?? inputShape(root);
  const leaves: { storage: MetalStorage; dtype: DType; offset: number; strides: number[] }[] = [];
  const scalars: number[] = [];
  const lines: string[] = [];
  const memo = new Map<string, string>();
  let usesF16 = false;

  // Emits the value of `input` seen broadcast into the output `shape`; returns its WGSL name.
  const emit = (input: NodeInput, inShape: readonly number[], stridesIn: (s: readonly number[]) => number[]): { name: string; dtype: DType } => {
    if (input.kind === 'scalar') {
      const k = scalars.length;
      scalars.push(scalarWord(input.value, input.dtype));
      const vt = valueType(input.dtype, f16);
      usesF16 ||= vt === 'f16';
      const name = `s${k}`;
      lines.push(`let ${name} = ${scalarValue(k, input.dtype, vt)};`);
      return { name, dtype: input.dtype };
    }
    if (input.kind === 'view' || input.node.realized) {
      const view = input.kind === 'view'
        ? input
        : { storage: input.node.realized!, dtype: input.node.dtype, shape: input.node.shape, strides: contiguousStrides(input.node.shape), offset: 0 };
      const strides = stridesIn(broadcastStrides(view.shape, view.strides, inShape));
      const key = `v:${leafKey(view.storage, view.offset, strides, view.dtype)}`;
      const hit = memo.get(key);
      if (hit) return { name: hit, dtype: view.dtype };
      let k = leaves.findIndex((l) => l.storage === view.storage && l.dtype === view.dtype && l.offset === view.offset && sameArray(l.strides, strides));
      if (k < 0) {
        k = leaves.length;
        leaves.push({ storage: view.storage, dtype: view.dtype, offset: view.offset, strides });
      }
      const name = `x${memo.size}`;
      const vt = valueType(view.dtype, f16);
      usesF16 ||= vt === 'f16';
      lines.push(`let ${name} = ${loadValue(`leaf${k}`, view.dtype, vt, `i${k}`)};`);
      memo.set(key, name);
      return { name, dtype: view.dtype };
    }
    const node = input.node;
    // A node's identity plus how it is broadcast decides its value at an output index.
    const mapStrides = (s: readonly number[]) => stridesIn(broadcastStrides(node.shape, s, inShape));
    const probe = mapStrides(contiguousStrides(node.shape)).join(',');
    const key = `n:${nodeId(node)}:${probe}`;
    const hit = memo.get(key);
    if (hit) return { name: hit, dtype: node.dtype };
    const def = opDef(node.op);
    const ct = valueType(node.computeDType, f16);
    const args = node.inputs.map((i) => {
      const v = emit(i, node.shape, mapStrides);
      // Promotion casts an operand to the compute dtype first: an integer next to an f16/bf16
      // result is rounded to that dtype before the math, as the CPU reference does.
      const converted = convertValue(valueType(v.dtype, f16), ct, v.name);
      return v.dtype === node.computeDType ? converted : roundValue(node.computeDType, ct, converted);
    });
    const vt = valueType(node.dtype, f16);
    usesF16 ||= vt === 'f16' || ct === 'f16';
    const name = `v${memo.size}`;
    const result = def.wgsl(args, ct);
    lines.push(`let ${name} = ${roundValue(node.dtype, vt, convertValue(def.bool ? 'u32' : ct, vt, result))};`);
    memo.set(key, name);
    return { name, dtype: node.dtype };
  };

  const top = emit(root, inputShape(root), view?.map ?? ((s) => [...s]));
  // Coalesce dimensions over all leaves, then renumber: the index loop walks fewer dims.
  const merged = coalesce(shape, leaves.map((l) => l.strides));
  leaves.forEach((l, k) => (l.strides = merged.strides[k]));
  const bindings = leaves
    .map((l, k) => `@group(0) @binding(${k + 1}) var<storage, read> leaf${k}: array<${storeType(l.dtype)}>;`)
    .join('\n');
  const vt = valueType(top.dtype, f16);
  return { leaves, scalars, shape: merged.shape, bindings, body: lines.join('\n  '), result: top.name, valueType: vt, usesF16 };
}

const ids = new WeakMap<LazyNode, number>();
let nextId = 0;
function nodeId(n: LazyNode): number {
  let id = ids.get(n);
  if (id === undefined) ids.set(n, (id = nextId++));
  return id;
}

const storageIds = new WeakMap<MetalStorage, number>();
function leafKey(s: MetalStorage, offset: number, strides: readonly number[], dtype: DType): string {
  let id = storageIds.get(s);
  if (id === undefined) storageIds.set(s, (id = nextId++));
  return `${id}:${dtype}:${offset}:${strides.join(',')}`;
}


