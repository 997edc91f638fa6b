// Compute pipelines cached by content: the final WGSL, entry point and override constants.
// Never keyed by kernel name, so two variants can never share a pipeline by mistake.
import { ShaderCompileError } from '../errors.js';
import { WGSL_SOURCES } from './wgsl.gen.js';
import { buildKernelWithMap, describeErrors, type KernelSpec } from './registry.js';
import type { LineOrigin } from './preprocess.js';
import { hashString } from './hash.js';
import { reflectEntry, createLayouts, createBindGroup, type BindingInfo, type BufferBinding } from './layout.js';
import { parseRecord, serializeRecord, mergeVariants, type VariantEntry } from './variants.js';

export type { BindingInfo, BufferBinding } from './layout.js';
export type { KernelSpec } from './registry.js';

export interface CompiledKernel {
  readonly name: string;
  /** The full cache key (final source, entry point, sorted constants). */
  readonly key: string;
  readonly hash: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindings: readonly BindingInfo[];
  readonly bindGroupLayouts: readonly GPUBindGroupLayout[];
  /** Workgroup size with the constants applied, when reflection can tell. */
  readonly workgroupSize: readonly [number, number, number] | null;
  /** Bind group 0 from named buffers; GpuValidationError names the kernel and binding on misuse. */
  bindGroup(device: GPUDevice, buffers: Readonly<Record<string, BufferBinding>>): GPUBindGroup;
}

export interface CacheStats { hits: number; misses: number; compileMs: number; pipelines: number; inFlight: number }

/** Where the record of used variants lives between runs (a file in Node, storage in a browser). */
export interface VariantStore { load(): Promise<string | null>; save(text: string): Promise<void> }

export interface PipelineCacheOptions {
  store?: VariantStore;
  /** Library version; a record written by another version is ignored. */
  version?: string;
  warn?: (msg: string) => void;
  /** Replaces the built-in WGSL table (tests). */
  sources?: Readonly<Record<string, string>>;
}

interface Prepared {
  readonly key: string;
  readonly hash: string;
  readonly code: string;
  readonly origins: readonly LineOrigin[];
  readonly variant: VariantEntry;
}

const SAVE_DELAY_MS = 200;

export class PipelineCache {
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly pending = new Map<string, Promise<CompiledKernel>>();
  // Spec (canonical JSON, label excluded) -> prepared source, so repeat lookups skip the preprocessor.
  private readonly prepared = new Map<string, Prepared>();
  // Spec object -> prepared: ops that keep their specs (attention) skip building and hashing the
  // id (~17 us per dispatch for a generated kernel on the H100's host). Specs are never mutated.
  private readonly bySpec = new WeakMap<KernelSpec, Prepared>();
  private readonly used = new Map<string, VariantEntry>();
  // Every variant compiled here, by hash (`used` holds only those to persist).
  private readonly compiled = new Map<string, VariantEntry>();
  private readonly counts = { hits: 0, misses: 0, compileMs: 0 };
  private readonly store: VariantStore | undefined;
  private readonly version: string;
  private readonly warn: (msg: string) => void;
  private readonly sources: Readonly<Record<string, string>>;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(readonly device: GPUDevice, options: PipelineCacheOptions = {}) {
    this.store = options.store;
    this.version = options.version ?? 'unversioned';
    this.warn = options.warn ?? ((msg) => console.warn(msg));
    this.sources = options.sources ?? WGSL_SOURCES;
  }

  /** The compiled kernel for `spec`; concurrent calls for one key share one compile. */
  async get(spec: KernelSpec): Promise<CompiledKernel> {
    const p = this.prepare(spec);
    const hit = this.kernels.get(p.key) ?? this.pending.get(p.key);
    if (hit) {
      this.counts.hits++;
      return hit;
    }
    return this.compile(p, spec.label ?? spec.file);
  }

  /** Synchronous lookup; undefined (and no stats change) when not compiled yet. */
  peek(spec: KernelSpec): CompiledKernel | undefined {
    const k = this.kernels.get(this.prepare(spec).key);
    if (k) this.counts.hits++;
    return k;
  }

  stats(): CacheStats {
    return { ...this.counts, pipelines: this.kernels.size, inFlight: this.pending.size };
  }

  /** Compiles, all at once, the variants earlier runs recorded; never throws. */
  async warmup(): Promise<{ compiled: number; skipped: number }> {
    const none = { compiled: 0, skipped: 0 };
    if (!this.store) return none;
    let text: string | null;
    try {
      text = await this.store.load();
    } catch (e) {
      this.warn(`lbrx: ignoring pipeline variant record: could not load it (${errorText(e)})`);
      return none;
    }
    if (text === null) return none;
    const parsed = parseRecord(text, this.version);
    if (!parsed.ok) {
      this.warn(`lbrx: ignoring pipeline variant record: ${parsed.why}`);
      return none;
    }
    let stale = 0;
    let skipped = 0;
    const jobs: Promise<CompiledKernel>[] = [];
    for (const v of parsed.record.variants) {
      const p = this.current(v);
      if (!p) stale++;
      else if (this.kernels.has(p.key) || this.pending.has(p.key)) skipped++;
      else jobs.push(this.compile(p, v.file));
    }
    if (stale) this.warn(`lbrx: skipped ${stale} stale pipeline variant(s) from an earlier run (their WGSL changed)`);
    const failed = await settle(jobs, 'recorded', this.warn);
    return { compiled: jobs.length - failed, skipped: stale + skipped + failed };
  }

  /** The variants compiled by this cache (its key list), e.g. to rebuild them on a new device. */
  variants(): VariantEntry[] {
    return [...this.compiled.values()];
  }

  /**
   * Compiles, all at once, `variants` from another cache (a lost device's); never throws.
   * Variants whose source no longer hashes the same are skipped.
   */
  async rebuild(variants: readonly VariantEntry[]): Promise<{ compiled: number; skipped: number }> {
    const jobs: Promise<CompiledKernel>[] = [];
    let skipped = 0;
    for (const v of variants) {
      const p = this.current(v);
      if (!p || this.kernels.has(p.key) || this.pending.has(p.key)) skipped++;
      else jobs.push(this.compile(p, v.file));
    }
    const failed = await settle(jobs, 'rebuilt', this.warn);
    return { compiled: jobs.length - failed, skipped: skipped + failed };
  }

  /** Persists the used variants now, merged with what the store holds; never throws. */
  flushRecord(): Promise<void> {
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.store || !this.dirty) return this.saving;
    this.dirty = false;
    const store = this.store;
    // Chained so that two saves never interleave their load and save.
    this.saving = this.saving.then(async () => {
      try {
        const text = await store.load();
        const old = text === null ? null : parseRecord(text, this.version);
        const kept = old?.ok ? old.record.variants.filter((v) => this.current(v)) : [];
        await store.save(serializeRecord(this.version, mergeVariants(kept, [...this.used.values()])));
      } catch (e) {
        this.warn(`lbrx: could not save pipeline variant record: ${errorText(e)}`);
      }
    });
    return this.saving;
  }

  private prepare(spec: KernelSpec): Prepared {
    const known = this.bySpec.get(spec);
    if (known) return known;
    const p = this.prepareById(spec);
    this.bySpec.set(spec, p);
    return p;
  }

  private prepareById(spec: KernelSpec): Prepared {
    const entryPoint = spec.entryPoint ?? 'main';
    // The memo id needs no canonical order: two orders of one spec only cost one extra
    // preprocess, since the real key below is the final source. Skipping the sort keeps hits cheap.
    const id = specId(spec.file, spec.defines, entryPoint, spec.constants);
    const memo = this.prepared.get(id);
    if (memo) return memo;
    const defines = sorted(spec.defines ?? {});
    const constants = sorted(spec.constants ?? {});
    let built;
    try {
      built = buildKernelWithMap(spec.file, spec.defines ?? {}, this.sources);
    } catch (e) {
      throw new ShaderCompileError(spec.label ?? spec.file, errorText(e));
    }
    // The layout is derived from (code, entryPoint), so it needs no place of its own in the key.
    const key = JSON.stringify([built.code, entryPoint, constants]);
    const hash = hashString(key);
    const variant: VariantEntry = {
      file: spec.file,
      defines: Object.fromEntries(defines),
      entryPoint,
      constants: Object.fromEntries(constants),
      hash,
    };
    const p: Prepared = { key, hash, code: built.code, origins: built.origins, variant };
    this.prepared.set(id, p);
    return p;
  }

  /** The prepared variant if the current sources still produce the recorded hash. */
  private current(v: VariantEntry): Prepared | null {
    try {
      const p = this.prepare({ file: v.file, defines: v.defines, entryPoint: v.entryPoint, constants: v.constants });
      return p.hash === v.hash ? p : null;
    } catch {
      return null;
    }
  }

  private compile(p: Prepared, name: string): Promise<CompiledKernel> {
    this.counts.misses++;
    const t0 = performance.now();
    const job = this.createKernel(p, name)
      .then((k) => {
        this.kernels.set(p.key, k);
        this.compiled.set(p.hash, p.variant);
        if (this.store) {
          this.used.set(p.hash, p.variant);
          this.dirty = true;
          this.scheduleSave();
        }
        return k;
      })
      .finally(() => {
        this.counts.compileMs += performance.now() - t0;
        this.pending.delete(p.key);
      });
    this.pending.set(p.key, job);
    return job;
  }

  private async createKernel(p: Prepared, name: string): Promise<CompiledKernel> {
    const device = this.device;
    const { entryPoint, constants } = p.variant;
    // Error scopes are a per-device stack: each push/pop pair wraps only synchronous calls,
    // so concurrent compiles cannot catch each other's errors.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: name, code: p.code });
    const moduleError = device.popErrorScope();
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      const { message, excerpt } = describeErrors(p.code, p.origins, errors);
      throw new ShaderCompileError(name, message, excerpt);
    }
    const scopeError = await moduleError;
    if (scopeError) throw new ShaderCompileError(name, scopeError.message);

    let layout;
    try {
      layout = reflectEntry(p.code, entryPoint, constants);
    } catch (e) {
      throw new ShaderCompileError(name, `cannot reflect bindings: ${errorText(e)}`);
    }
    device.pushErrorScope('validation');
    const layouts = createLayouts(device, layout.bindings, name);
    const pipelineJob = device.createComputePipelineAsync({
      label: name,
      layout: layouts.pipelineLayout,
      compute: { module, entryPoint, constants },
    });
    const creationError = device.popErrorScope();
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await pipelineJob;
    } catch (e) {
      throw new ShaderCompileError(name, `pipeline creation failed: ${errorText(e)}`);
    }
    const scoped = await creationError;
    if (scoped) throw new ShaderCompileError(name, `pipeline creation failed: ${scoped.message}`);

    const { bindings, workgroupSize } = layout;
    const { bindGroupLayouts } = layouts;
    return {
      name,
      key: p.key,
      hash: p.hash,
      pipeline,
      bindings,
      bindGroupLayouts,
      workgroupSize,
      bindGroup: (dev, buffers) => createBindGroup(dev, name, bindings, bindGroupLayouts[0], buffers),
    };
  }

  private scheduleSave(): void {
    if (!this.store || this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.flushRecord();
    }, SAVE_DELAY_MS);
    // In Node, a pending save must not keep the process alive.
    (this.saveTimer as { unref?: () => void }).unref?.();
  }
}

/** Waits for every compile job; warns once with the first failure. Returns how many failed. */
async function settle(jobs: Promise<CompiledKernel>[], what: string, warn: (msg: string) => void): Promise<number> {
  const results = await Promise.allSettled(jobs);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) warn(`lbrx: ${failed.length} ${what} pipeline variant(s) failed to compile; first: ${errorText(failed[0].reason)}`);
  return failed.length;
}

function sorted<T>(record: Readonly<Record<string, T>>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).trim();
}

/**
 * A length-prefixed encoding of the spec: unambiguous like JSON, but with no escaping pass over
 * the (long, generated) define values, which made JSON.stringify the bulk of a cache hit.
 */
function specId(
  file: string,
  defines: Readonly<Record<string, unknown>> | undefined,
  entryPoint: string,
  constants: Readonly<Record<string, number>> | undefined,
): string {
  let id = `${file.length}:${file}${entryPoint.length}:${entryPoint}`;
  for (const k in defines) {
    const v = String(defines[k]);
    id += `${k.length}:${k}${typeof defines[k] === 'string' ? 's' : 'v'}${v.length}:${v}`;
  }
  id += '|';
  for (const k in constants) id += `${k.length}:${k}=${constants[k]};`;
  return id;
}
