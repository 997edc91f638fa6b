// The user guide's examples run: every ```js fence in docs/*.md is extracted and run against the
// library (src/) on this machine's adapter, in order, each as its own test. Snippets assert what
// they claim themselves (node:assert). A fence tagged `js browser` needs a browser (navigator.gpu,
// IndexedDB): it is listed as skipped, and counted, never silently dropped. Fixtures the guide
// names (model.safetensors, model.gguf) are written into a scratch working directory first.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lbrx from '../src/index.js';
import { quantizeQ8_0 } from '../src/cpu/quant.js';
import { GGUF_TYPE } from '../src/formats/gguf-header.js';
import { writeGguf } from '../src/formats/gguf-write.js';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
/** Fence tags a js snippet may carry: '' runs here; 'browser' is skipped (and counted). */
const TAGS = new Set(['', 'browser']);

interface Snippet { file: string; line: number; tag: string; code: string }

function extract(): Snippet[] {
  const out: Snippet[] = [];
  for (const file of readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort()) {
    const text = readFileSync(join(DOCS, file), 'utf8');
    for (const m of text.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```\s*$/gm)) {
      if (m[1] !== 'js') continue;
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ file, line, tag: m[2].trim(), code: m[3] });
    }
  }
  return out;
}

/** ES imports become awaited dynamic imports, so a snippet runs as the body of an async function. */
export function toFunctionBody(code: string): string {
  return code.replace(/^import\s+([\s\S]+?)\s+from\s+(['"][^'"]+['"]);?\s*$/gm, (_, what: string, mod: string) => {
    const ns = /^\*\s+as\s+(\w+)$/.exec(what);
    if (ns) return `const ${ns[1]} = await __import(${mod});`;
    const named = /^\{([\s\S]*)\}$/.exec(what);
    if (named) return `const {${named[1].replace(/\s+as\s+/g, ': ')}} = await __import(${mod});`;
    if (/^\w+$/.test(what)) return `const ${what} = (await __import(${mod})).default;`;
    throw new Error(`unsupported import in a docs snippet: import ${what} from ${mod}`);
  });
}

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>;
const importer = (mod: string) => (mod === 'lbrx' ? Promise.resolve(lbrx) : import(mod));

const snippets = extract();
const browserOnly = snippets.filter((s) => s.tag === 'browser');
let cwd = '';
let scratch = '';
const envBefore = process.env.LBRX_CACHE_DIR;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'lbrx-docs-'));
  // Persisted records (tuning, peaks, compiled variants) go to the scratch folder, not ~/.cache.
  process.env.LBRX_CACHE_DIR = join(scratch, 'cache');
  cwd = process.cwd();
  process.chdir(scratch);
  await writeFixtures();
});

afterAll(async () => {
  await lbrx.shutdown();
  process.chdir(cwd);
  if (envBefore === undefined) delete process.env.LBRX_CACHE_DIR;
  else process.env.LBRX_CACHE_DIR = envBefore;
  rmSync(scratch, { recursive: true, force: true });
});

/** model.safetensors (an f32 embedding and a weight) and model.gguf (f32 norm, Q8_0 weight). */
async function writeFixtures(): Promise<void> {
  const embed = lbrx.tensor(Float32Array.from({ length: 32 * 16 }, (_, i) => Math.sin(i)), [32, 16], { device: 'cpu' });
  const w = lbrx.tensor(Float32Array.from({ length: 16 * 16 }, (_, i) => Math.cos(i) / 4), [16, 16], { device: 'cpu' });
  await lbrx.saveSafetensors({ 'embed.weight': embed, 'layers.0.w': w }, join(scratch, 'model.safetensors'), { metadata: { format: 'pt' } });
  embed.dispose();
  w.dispose();
  const norm = Float32Array.from({ length: 64 }, () => 1);
  const q = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i) / 8);
  await writeFile(join(scratch, 'model.gguf'), writeGguf({
    kvs: [{ key: 'general.architecture', type: GGUF_TYPE.STRING, value: 'llama' }, { key: 'llama.embedding_length', type: GGUF_TYPE.UINT32, value: 64 }],
    tensors: [
      { name: 'output_norm.weight', type: 0, dims: [64], data: new Uint8Array(norm.buffer) },
      { name: 'blk.0.attn_q.weight', type: 8, dims: [64, 64], data: quantizeQ8_0(q) },
    ],
  }));
}

describe(`docs/*.md examples (${snippets.length} js snippets, ${browserOnly.length} browser-only, skipped)`, () => {
  it('every js fence has a known tag, and the guide has examples', () => {
    expect(snippets.length).toBeGreaterThan(10);
    for (const s of snippets) expect(TAGS.has(s.tag), `${s.file}:${s.line}: unknown fence tag 'js ${s.tag}'`).toBe(true);
  });

  for (const s of snippets) {
    const name = `${s.file}:${s.line}`;
    if (s.tag === 'browser') {
      it.skip(`browser-only: ${name}`, () => {});
      continue;
    }
    it(name, async () => {
      await new AsyncFunction('__import', toFunctionBody(s.code))(importer);
      // The guide's examples free what they make: nothing stays live on the device.
      const dev = lbrx.device();
      if (dev && !dev.lost) {
        await lbrx.eval();
        expect(lbrx.memory().liveBytes, `${name} left tensors alive`).toBe(0);
      }
    });
  }
});
