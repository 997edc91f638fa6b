// The built package as a browser bundler sees it (runs in Node, on dist/ from `npm run build`):
// resolve package.json `exports` and `imports` with the browser condition, follow every static
// and dynamic import through dist/ and into dependencies, and require that nothing reached is a
// Node built-in, the Dawn package, or code that touches Node globals; WGSL comes inlined.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BROWSER = ['browser', 'import', 'module', 'default'];
const NODE = ['node', 'import', 'default'];

/** Node's conditional-exports resolution: the first key, in object order, that is an active condition. */
function pick(target: unknown, conditions: readonly string[]): string | null {
  if (typeof target === 'string') return target;
  if (target && typeof target === 'object') {
    for (const [k, v] of Object.entries(target)) if (conditions.includes(k)) return pick(v, conditions);
  }
  return null;
}

const NODE_ONLY = new Set([...builtinModules, 'webgpu']);
const NODE_GLOBALS = /\bprocess\.(env|platform|pid|versions|exit|cwd|argv|on)\b|\bBuffer\.(from|alloc|concat|isBuffer)\b|\brequire\(\s*['"]|\b__dirname\b|\b__filename\b/;
const IMPORTS = /\b(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module the browser entry reaches: file -> the specifiers it imports. */
function browserGraph(): Map<string, string[]> {
  const entry = pick(pkg.exports['.'], BROWSER);
  if (!entry) throw new Error('package.json exports["."] has no browser/import/default target');
  const graph = new Map<string, string[]>();
  const todo = [join(root, entry)];
  while (todo.length) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(root, file)} does not exist: run npm run build`);
    const specs = [...readFileSync(file, 'utf8').matchAll(IMPORTS)].map((m) => m[1] ?? m[2]);
    graph.set(file, specs);
    for (const s of specs) {
      if (s.startsWith('node:') || NODE_ONLY.has(s.split('/')[0])) continue; // reported by the test
      if (s.startsWith('.')) todo.push(join(dirname(file), s));
      else if (s.startsWith('#')) {
        const target = pick(pkg.imports?.[s], BROWSER);
        if (!target) throw new Error(`${relative(root, file)} imports ${s}, which package.json imports does not map for browsers`);
        todo.push(join(root, target));
      } else todo.push(createRequire(file).resolve(s)); // a dependency, by its file path (no exports maps here)
    }
  }
  return graph;
}

describe('the browser entry (dist/)', () => {
  const graph = browserGraph();
  const files = [...graph.keys()].map((f) => relative(root, f));

  it('reaches the browser platform and the inlined WGSL, never the Node platform', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/platform/browser.js');
    expect(files).toContain('dist/kernels/wgsl.gen.js');
    expect(files).not.toContain('dist/platform/node.js');
    expect(files.length).toBeGreaterThan(40);
  });

  it('imports no Node built-in (node:*, fs, path ...) and not Dawn', () => {
    const bad = [...graph].flatMap(([f, specs]) => specs.filter((s) => s.startsWith('node:') || NODE_ONLY.has(s.split('/')[0])).map((s) => `${relative(root, f)}: ${s}`));
    expect(bad).toEqual([]);
  });

  it('touches no Node global (process, Buffer, require, __dirname)', () => {
    const bad = [...graph.keys()].filter((f) => NODE_GLOBALS.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(bad).toEqual([]);
  });

  it('carries every wgsl/*.wgsl inlined in wgsl.gen.js (no file reads, no fetches of kernels)', async () => {
    const { WGSL_SOURCES } = (await import(join(root, 'dist/kernels/wgsl.gen.js'))) as { WGSL_SOURCES: Record<string, string> };
    const onDisk = readdirSync(join(root, 'wgsl')).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -5)).sort();
    expect(Object.keys(WGSL_SOURCES).sort()).toEqual(onDisk);
    for (const name of onDisk) expect(WGSL_SOURCES[name]).toBe(readFileSync(join(root, 'wgsl', `${name}.wgsl`), 'utf8'));
  });

  it('the check itself sees Node imports: the node condition reaches node.js and node:fs', () => {
    expect(pick(pkg.imports['#platform'], NODE)).toBe('./dist/platform/node.js');
    const nodeSpecs = [...readFileSync(join(root, 'dist/platform/node.js'), 'utf8').matchAll(IMPORTS)].map((m) => m[1] ?? m[2]);
    expect(nodeSpecs).toContain('node:fs/promises');
    expect(nodeSpecs).toContain('webgpu');
  });

  it('package.json: ESM with types, a browser condition for the entry and #platform', () => {
    expect(pkg.type).toBe('module');
    expect(pick(pkg.exports['.'], ['types'])).toBe('./dist/index.d.ts');
    expect(existsSync(join(root, 'dist/index.d.ts'))).toBe(true);
    expect(pkg.exports['.'].browser).toBe('./dist/index.js');
    expect(pkg.imports['#platform'].browser).toBe('./dist/platform/browser.js');
  });
});
