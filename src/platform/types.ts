// What the runtime needs from its host (Node or a browser); one implementation each.

export interface GpuRequest {
  /** Dawn toggles to enable and disable (Node only; a browser ignores them). */
  enableToggles: readonly string[];
  disableToggles: readonly string[];
}

/** A small persistent key-value text store: a cache directory in Node, IndexedDB in a browser. */
export interface TextStore {
  load(key: string): Promise<string | null>;
  save(key: string, text: string): Promise<void>;
}

export interface Platform {
  readonly name: 'node' | 'browser';
  /** The GPU entry object. The caller must keep it reachable while any device made from it lives. */
  getGpu(request: GpuRequest): Promise<GPU | null>;
  /** Persistent store for pipeline-variant records and tuning results, or null when none exists. */
  openStore(cacheDir?: string): TextStore | null;
  /** What to tell the user when no adapter is found. */
  noAdapterHelp(): string;
}
