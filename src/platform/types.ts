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

/** A file opened for positioned reads (Node). */
export interface ReadableFile {
  readonly size: number;
  /** Reads into `into` from `position`; returns the bytes read (fewer only at the end of the file). */
  read(into: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** A file opened for sequential writes (Node). */
export interface WritableFile {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** File access by path: Node only; a browser has none. */
export interface FileAccess {
  openRead(path: string): Promise<ReadableFile>;
  openWrite(path: string): Promise<WritableFile>;
  readText(path: string): Promise<string>;
}

export interface Platform {
  readonly name: 'node' | 'browser';
  /** The GPU entry object. The caller must keep it reachable while any device made from it lives. */
  getGpu(request: GpuRequest): Promise<GPU | null>;
  /** Persistent store for pipeline-variant records and tuning results, or null when none exists. */
  openStore(cacheDir?: string): TextStore | null;
  /** What to tell the user when no adapter is found. */
  noAdapterHelp(): string;
  /** File access by path, or null where there is none (browsers). */
  readonly files: FileAccess | null;
}
