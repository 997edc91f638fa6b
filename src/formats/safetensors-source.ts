// Byte sources for the loaders: in-memory bytes, a file (positioned reads into one reusable
// buffer), or an HTTP body (streamed). Reads go forward only, so a stream needs no buffering
// beyond the range asked for.
import { FormatError } from '../errors.js';
import { platform } from '#platform';

export interface ByteReader {
  readonly name: string;
  /** Total bytes when known (not for a streamed body without Content-Length). */
  readonly size: number | undefined;
  /**
   * Exactly `length` bytes at `position` (at or after the end of the previous read). The view is
   * valid until the next read. A short source throws FormatError at `position` naming `what`.
   */
  read(position: number, length: number, what: string): Promise<Uint8Array>;
  /** Whether any byte exists at or after `position` (reads at most one more chunk). */
  hasBytesAt(position: number): Promise<boolean>;
  close(): Promise<void>;
}

function short(name: string, position: number, length: number, got: number, what: string): FormatError {
  return new FormatError(name, position, `expected ${length} bytes (${what}), but the file ends after ${got}`);
}

/** A reusable buffer that grows to the largest read. */
class Scratch {
  private buf = new Uint8Array(0);
  get(n: number): Uint8Array {
    if (this.buf.byteLength < n) this.buf = new Uint8Array(Math.max(n, Math.min(2 * this.buf.byteLength, n + (64 << 20))));
    return this.buf.subarray(0, n);
  }
}

export function bytesReader(name: string, bytes: Uint8Array): ByteReader {
  return {
    name,
    size: bytes.byteLength,
    async read(position, length, what) {
      if (position + length > bytes.byteLength) throw short(name, position, length, Math.max(0, bytes.byteLength - position), what);
      return bytes.subarray(position, position + length);
    },
    async hasBytesAt(position) {
      return position < bytes.byteLength;
    },
    async close() {},
  };
}

export async function fileReader(path: string): Promise<ByteReader> {
  const files = platform.files;
  if (!files) throw new FormatError(path, 0, 'file paths need Node; in a browser pass a URL, a Response or the bytes');
  const file = await files.openRead(path);
  const scratch = new Scratch();
  return {
    name: path,
    size: file.size,
    async read(position, length, what) {
      const into = scratch.get(length);
      const got = length ? await file.read(into, position) : 0;
      if (got < length) throw short(path, position, length, got, what);
      return into;
    },
    async hasBytesAt(position) {
      return position < file.size;
    },
    close: () => file.close(),
  };
}

/** Streams a response body; the size comes from Content-Length when the body is not encoded. */
export function streamReader(name: string, res: Response): ByteReader {
  if (!res.ok) throw new FormatError(name, 0, `HTTP ${res.status} ${res.statusText}; expected 200 with safetensors bytes`);
  const reader = res.body?.getReader();
  const len = res.headers.get('content-length');
  const encoded = res.headers.get('content-encoding');
  const size = len !== null && !encoded && /^\d+$/.test(len) ? Number(len) : undefined;
  const scratch = new Scratch();
  let chunk = new Uint8Array(0); // bytes not yet consumed, starting at `pos`
  let pos = 0;
  let done = !reader;
  const more = async (): Promise<boolean> => {
    while (!done && chunk.byteLength === 0) {
      const r = await reader!.read();
      if (r.done) done = true;
      else chunk = r.value;
    }
    return chunk.byteLength > 0;
  };
  const skipTo = async (position: number, length: number, what: string) => {
    while (pos < position) {
      if (!(await more())) throw short(name, position, length, 0, what);
      const n = Math.min(chunk.byteLength, position - pos);
      chunk = chunk.subarray(n);
      pos += n;
    }
  };
  return {
    name,
    size,
    async read(position, length, what) {
      await skipTo(position, length, what);
      if (chunk.byteLength >= length) {
        const view = chunk.subarray(0, length);
        chunk = chunk.subarray(length);
        pos += length;
        return view;
      }
      // Gathered as the bytes arrive, so a header that claims more than the body holds costs nothing.
      const parts: Uint8Array[] = [];
      let got = 0;
      while (got < length) {
        if (!(await more())) throw short(name, position, length, got, what);
        const n = Math.min(chunk.byteLength, length - got);
        parts.push(chunk.subarray(0, n));
        chunk = chunk.subarray(n);
        got += n;
        pos += n;
      }
      const into = scratch.get(length);
      let at = 0;
      for (const p of parts) {
        into.set(p, at);
        at += p.byteLength;
      }
      return into;
    },
    async hasBytesAt(position) {
      try {
        await skipTo(position, 1, 'probe');
      } catch {
        return false;
      }
      return more();
    },
    async close() {
      done = true;
      await reader?.cancel().catch(() => {});
    },
  };
}
