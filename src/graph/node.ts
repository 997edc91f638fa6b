// Lazy elementwise nodes. An elementwise op on GPU tensors records a node instead of a kernel;
// when its value is needed, the node and every unrealized elementwise node under it become one
// generated kernel (src/graph/fuse.ts). Nodes are reference-counted like storage.
import type { MetalStorage } from '../runtime/storage.js';
import type { GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';
import { sameArray } from '../tensor/shape.js';

/** An operand of a node: a strided view of realized storage, another node, or a scalar. */
export type NodeInput =
  | { kind: 'view'; storage: MetalStorage; dtype: DType; shape: readonly number[]; strides: readonly number[]; offset: number }
  | { kind: 'node'; node: LazyNode }
  | { kind: 'scalar'; value: number; dtype: DType };

export class LazyNode {
  private refs = 1;
  /** Set once the node's value has been computed into storage. */
  realized: MetalStorage | null = null;

  constructor(
    readonly dev: GpuDevice,
    /** Key into ELEMENTWISE_OPS. */
    readonly op: string,
    public inputs: readonly NodeInput[],
    readonly shape: readonly number[],
    /** Result dtype; the op itself computes in `computeDType` (inputs are converted to it). */
    readonly dtype: DType,
    readonly computeDType: DType = dtype,
  ) {}

  get released(): boolean {
    return this.refs <= 0;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    this.realized?.release();
    this.realized = null;
    this.dropInputs();
  }

  /** Once realized (or dead) a node no longer needs its operands: let their memory go. */
  dropInputs(): void {
    for (const input of this.inputs) {
      if (input.kind === 'view') input.storage.release();
      else if (input.kind === 'node') input.node.release();
    }
    this.inputs = [];
  }

  /**
   * Storage bindings a fused kernel for this node reads: distinct views (fuse() deduplicates
   * views reading the same elements: same storage, dtype, offset, shape and strides) plus one
   * per realized node. Memoized until the next realization anywhere, which can change it.
   */
  get leafCount(): number {
    return this.leafViews().length;
  }

  private leafMemo: { epoch: number; views: LeafView[] } | null = null;

  private leafViews(): LeafView[] {
    if (this.leafMemo?.epoch === realizeEpoch) return this.leafMemo.views;
    const views: LeafView[] = [];
    for (const i of this.inputs) {
      if (i.kind === 'view') addView(views, i);
      else if (i.kind === 'node' && i.node.realized) addView(views, { storage: i.node.realized, dtype: i.node.dtype, offset: 0, shape: i.node.shape, strides: null });
      else if (i.kind === 'node') for (const v of i.node.leafViews()) addView(views, v);
    }
    this.leafMemo = { epoch: realizeEpoch, views };
    return views;
  }

  /** Upper bound on the nodes a fused kernel for this node would hold (shared nodes count per use). */
  get weight(): number {
    let n = 1;
    for (const i of this.inputs) if (i.kind === 'node' && !i.node.realized) n += i.node.weightCache;
    return Math.min(n, 1 << 20);
  }

  private weightMemo = -1;
  private get weightCache(): number {
    if (this.weightMemo < 0) this.weightMemo = this.weight;
    return this.weightMemo;
  }
}

/** Bumped by every realization: a realized node reads as one view, so leaf counts change. */
let realizeEpoch = 0;
export function noteRealized(): void {
  realizeEpoch++;
}

interface LeafView {
  storage: object;
  dtype: string;
  offset: number;
  shape: readonly number[];
  /** null: contiguous. */
  strides: readonly number[] | null;
}


function addView(views: LeafView[], v: LeafView): void {
  for (const w of views) {
    if (w.storage === v.storage && w.dtype === v.dtype && w.offset === v.offset && sameArray(w.shape, v.shape) && sameArray(w.strides, v.strides)) return;
  }
  views.push(v);
}
