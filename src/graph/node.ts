// Lazy elementwise nodes. An elementwise op on GPU tensors records a node instead of a kernel;
// when its value is needed, the node and every unrealized elementwise node under it become one
// generated kernel (src/graph/fuse.ts). Nodes are reference-counted like storage.
import type { MetalStorage } from '../runtime/storage.js';
import type { GpuDevice } from '../runtime/device.js';
import type { DType } from '../tensor/dtype.js';

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
   * Storage bindings a fused kernel for this node reads (upper bound): views are counted once
   * each as fuse() deduplicates them (same storage, dtype, offset, shape and strides read the same
   * elements at every output index, since broadcasting aligns trailing dims), shared nodes once.
   */
  get leafCount(): number {
    const views = new Set<string>();
    const seen = new Set<LazyNode>();
    const visit = (node: LazyNode): void => {
      if (seen.has(node)) return;
      seen.add(node);
      for (const i of node.inputs) {
        if (i.kind === 'view') views.add(`${objectId(i.storage)}:${i.dtype}:${i.offset}:${i.shape}:${i.strides}`);
        else if (i.kind === 'node' && i.node.realized) views.add(`${objectId(i.node.realized)}`);
        else if (i.kind === 'node') visit(i.node);
      }
    };
    visit(this);
    return views.size;
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

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}
