// A one-line progress display for long library calls (lb.tune()): rewritten in place when stderr
// is a terminal in Node; nothing anywhere else (logs, CI, browsers), so it never fills a log.

export interface ProgressLine {
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

interface TtyStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

/** A status line on stderr when it is a TTY, else null. */
export function ttyProgressLine(): ProgressLine | null {
  const err = (globalThis as { process?: { stderr?: TtyStream } }).process?.stderr;
  if (!err?.isTTY) return null;
  let shown = false;
  return {
    update(text) {
      const cols = (err.columns || 100) - 1;
      err.write(`\r\x1b[2K${text.length > cols ? `${text.slice(0, cols - 1)}…` : text}`);
      shown = true;
    },
    done() {
      if (shown) err.write('\r\x1b[2K');
      shown = false;
    },
  };
}
