// Node host: Dawn's bindings (npm `webgpu`), a cache directory on disk.
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FileAccess, GpuRequest, Platform, TextStore } from './types.js';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: DawnModule | null = null;

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    dawn = (await import('webgpu')) as unknown as DawnModule;
    // GPUBufferUsage, GPUMapMode, ... are globals in a browser; Dawn hands them to us instead.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  return dawn;
}

function fileStore(dir: string): TextStore {
  const path = (key: string) => join(dir, key.replace(/[^A-Za-z0-9._-]/g, '_'));
  return {
    async load(key) {
      try {
        return await readFile(path(key), 'utf8');
      } catch {
        return null;
      }
    },
    async save(key, text) {
      await mkdir(dir, { recursive: true });
      // Write then rename, so a crash never leaves a half-written record.
      const tmp = `${path(key)}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, path(key));
    },
  };
}

const files: FileAccess = {
  async openRead(path) {
    const fh = await open(path, 'r');
    const { size } = await fh.stat().catch(async (e: unknown) => {
      await fh.close();
      throw e;
    });
    return {
      size,
      async read(into, position) {
        let done = 0;
        while (done < into.byteLength) {
          const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      },
      close: () => fh.close(),
    };
  },
  async openWrite(path) {
    const fh = await open(path, 'w');
    return {
      async write(bytes) {
        let done = 0;
        while (done < bytes.byteLength) done += (await fh.write(bytes, done, bytes.byteLength - done)).bytesWritten;
      },
      close: () => fh.close(),
    };
  },
  readText: (path) => readFile(path, 'utf8'),
};

export const platform: Platform = {
  name: 'node',
  async getGpu(request: GpuRequest) {
    const { create } = await loadDawn();
    const flags: string[] = [];
    if (request.enableToggles.length) flags.push(`enable-dawn-features=${request.enableToggles.join(',')}`);
    if (request.disableToggles.length) flags.push(`disable-dawn-features=${request.disableToggles.join(',')}`);
    return create(flags);
  },
  openStore(cacheDir) {
    const dir = cacheDir ?? process.env.LBRX_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lbrx');
    return fileStore(dir);
  },
  noAdapterHelp() {
    if (process.platform === 'linux') {
      return (
        'Dawn found no Vulkan adapter. On Linux without a GPU install Mesa >= 24 lavapipe ' +
        '(Debian bookworm: add bookworm-backports, then `apt-get install -t bookworm-backports mesa-vulkan-drivers`; ' +
        'or run `node scripts/ensure-webgpu.mjs` as root), and set XDG_RUNTIME_DIR (e.g. /tmp).'
      );
    }
    if (process.platform === 'darwin') return 'Dawn found no Metal adapter; lbrx needs macOS 13+ on Apple Silicon or a Metal GPU.';
    return 'Dawn found no GPU adapter; install a current GPU driver (D3D12 or Vulkan).';
  },
  files,
};
