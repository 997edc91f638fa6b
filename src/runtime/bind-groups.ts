// Bind groups reused by content: kernel plus the exact buffers, offsets and sizes bound. Pooled
// buffers recur from batch to batch, so steady-state loops create almost no bind groups
// (creating one costs more than the rest of a dispatch's encoding).
import type { CompiledKernel } from '../kernels/cache.js';
import type { BufferBinding } from './stream.js';

const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: object): number => {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
};

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity = 16384,
  ) {}

  get(kernel: CompiledKernel, buffers: Readonly<Record<string, BufferBinding>>): GPUBindGroup {
    let key = String(idOf(kernel));
    for (const name in buffers) {
      const b = buffers[name];
      key += 'buffer' in b ? `|${name}:${idOf(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}` : `|${name}:${idOf(b)}`;
    }
    const hit = this.groups.get(key);
    if (hit) {
      // Refresh its place: the Map's order is the LRU order.
      this.groups.delete(key);
      this.groups.set(key, hit);
      this.hits++;
      return hit;
    }
    this.misses++;
    const group = kernel.bindGroup(this.device, buffers);
    this.groups.set(key, group);
    if (this.groups.size > this.capacity) this.groups.delete(this.groups.keys().next().value!);
    return group;
  }

  clear(): void {
    this.groups.clear();
  }
}
