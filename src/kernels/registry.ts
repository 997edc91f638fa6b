// WGSL kernel sources (inlined at build time from wgsl/*.wgsl) and their preprocessing.
import { WGSL_SOURCES } from './wgsl.gen.js';
import { preprocessWithMap, type Defines, type LineOrigin, type Preprocessed } from './preprocess.js';

export type { Defines, DefineValue } from './preprocess.js';

/** One compiled variant of a kernel file: what the pipeline cache is asked for. */
/** A kernel variant. Treat one as immutable once used: the pipeline cache remembers spec objects. */
export interface KernelSpec {
  /** Base name of a file in wgsl/, without `.wgsl`. */
  file: string;
  /** Preprocessor defines: `#if NAME` switches and `$NAME` substitutions. */
  defines?: Defines;
  /** Entry point; default 'main'. */
  entryPoint?: string;
  /** Values for WGSL `override` constants (e.g. tile sizes). */
  constants?: Readonly<Record<string, number>>;
  /** Name used in labels and error messages; default `file`. */
  label?: string;
}

/** Raw text of a kernel file; `sources` replaces the built-in table (tests). */
export function kernelSource(file: string, sources: Readonly<Record<string, string>> = WGSL_SOURCES): string {
  const name = baseName(file);
  if (!Object.hasOwn(sources, name)) {
    const known = Object.keys(sources).sort().join(', ') || '(none)';
    throw new Error(`unknown WGSL kernel '${file}'; known kernels: ${known}`);
  }
  return sources[name];
}

/** Final WGSL for a kernel file and defines, includes resolved from the same table. */
export function buildKernel(file: string, defines: Defines = {}, sources: Readonly<Record<string, string>> = WGSL_SOURCES): string {
  return buildKernelWithMap(file, defines, sources).code;
}

/** Like buildKernel, also returning where each output line came from. */
export function buildKernelWithMap(
  file: string,
  defines: Defines = {},
  sources: Readonly<Record<string, string>> = WGSL_SOURCES,
): Preprocessed {
  const include = (name: string): string => kernelSource(name, sources);
  return preprocessWithMap(kernelSource(file, sources), defines, include, baseName(file));
}

function baseName(file: string): string {
  return file.endsWith('.wgsl') ? file.slice(0, -'.wgsl'.length) : file;
}

/** A compiler message about the final WGSL (the fields of GPUCompilationMessage used here). */
export interface SourceMessage { readonly message: string; readonly lineNum: number; readonly linePos: number; readonly length: number }

const EXCERPT_CONTEXT = 3;
const EXCERPT_MAX_ERRORS = 5;

/** First error as `file:line:col: text`, and a numbered excerpt with a caret under each error. */
export function describeErrors(
  code: string,
  origins: readonly LineOrigin[],
  errors: readonly SourceMessage[],
): { message: string; excerpt: string } {
  const lines = code.split('\n');
  // Label lines by the .wgsl file and line they came from, not by their place in the final source.
  const where = (n: number): string => (origins[n - 1] ? `${origins[n - 1].file}:${origins[n - 1].line}` : `line ${n}`);
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : '';
  const message = (first.lineNum > 0 ? `${where(first.lineNum)}:${first.linePos}: ` : '') + first.message + more;
  const blocks = errors.slice(0, EXCERPT_MAX_ERRORS).filter((m) => m.lineNum > 0).map((m) => {
    const from = Math.max(1, m.lineNum - EXCERPT_CONTEXT);
    const to = Math.min(lines.length, m.lineNum + EXCERPT_CONTEXT);
    const labels: string[] = [];
    for (let n = from; n <= to; n++) labels.push(where(n));
    const width = Math.max(...labels.map((l) => l.length));
    const out = [`error: ${m.message}`];
    labels.forEach((label, i) => {
      const n = from + i;
      const text = lines[n - 1] ?? '';
      out.push(`${n === m.lineNum ? '>' : ' '} ${label.padStart(width)} | ${text}`);
      if (n !== m.lineNum) return;
      // Keep tabs so the caret lands under the same column.
      const pad = text.slice(0, Math.max(0, m.linePos - 1)).replace(/[^\t]/g, ' ');
      const len = Math.max(1, Math.min(m.length, text.length - m.linePos + 1));
      out.push(`  ${' '.repeat(width)} | ${pad}${'^'.repeat(len)}`);
    });
    return out.join('\n');
  });
  return { message, excerpt: blocks.join('\n\n') };
}
