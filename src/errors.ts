// Typed errors: each says what went wrong and what the user can change.

export class LbrxError extends Error {
  override name = 'LbrxError';
}

/** An op got shapes it cannot combine. */
export class ShapeError extends LbrxError {
  override name = 'ShapeError';
  constructor(readonly op: string, message: string, readonly shapes: readonly (readonly number[])[] = []) {
    super(`${op}: ${message}${shapes.length ? ` (shapes ${shapes.map(fmtShape).join(', ')})` : ''}`);
  }
}

/** An op got a dtype it does not take, or dtypes it cannot combine. */
export class DTypeError extends LbrxError {
  override name = 'DTypeError';
  constructor(readonly op: string, message: string) {
    super(`${op}: ${message}`);
  }
}

/** A WGSL kernel failed to compile; the message has a line-numbered excerpt. */
export class ShaderCompileError extends LbrxError {
  override name = 'ShaderCompileError';
  constructor(readonly kernel: string, message: string, readonly excerpt = '') {
    super(`kernel '${kernel}' failed to compile: ${message}${excerpt ? `\n${excerpt}` : ''}`);
  }
}

/** The GPU could not give the memory asked for, even after the pool was trimmed. */
export class GpuOutOfMemoryError extends LbrxError {
  override name = 'GpuOutOfMemoryError';
  constructor(
    readonly requestedBytes: number,
    readonly liveBytes: number,
    readonly pooledBytes: number,
    reason = '',
  ) {
    super(
      `out of GPU memory: asked for ${fmtBytes(requestedBytes)} with ${fmtBytes(liveBytes)} live and ` +
        `${fmtBytes(pooledBytes)} pooled${reason ? ` (${reason})` : ''}. ` +
        `Dispose tensors you no longer need (dispose(), lb.tidy()) or use smaller batches.`,
    );
  }
}

/** The GPU device was lost (driver reset, destroy(), out of memory in the driver). */
export class DeviceLostError extends LbrxError {
  override name = 'DeviceLostError';
  /** What happened, without the advice (the driver's message, or what lbrx was doing). */
  readonly detail: string;
  constructor(readonly reason: string, message: string, hint = 'Call lb.init() again to get a new device.') {
    const detail = (message || 'no message').trim().replace(/\.+$/, '');
    super(`GPU device lost (${reason}): ${detail}. ${hint}`);
    this.detail = detail;
  }
}

/** A file or byte buffer is not what its format says it is. */
export class FormatError extends LbrxError {
  override name = 'FormatError';
  constructor(readonly file: string, readonly byteOffset: number, message: string) {
    super(`${file}: at byte ${byteOffset}: ${message}`);
  }
}

/** No WebGPU adapter could be found. */
export class NoAdapterError extends LbrxError {
  override name = 'NoAdapterError';
}

/** A WebGPU validation error or misuse of the API (wrong buffers for a kernel, use after dispose). */
export class GpuValidationError extends LbrxError {
  override name = 'GpuValidationError';
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
