// Kernel sources: the generated module is fresh, lookups, builds with includes, error excerpts. No GPU.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WGSL_SOURCES } from '../src/kernels/wgsl.gen.js';
import { buildKernel, buildKernelWithMap, describeErrors, kernelSource } from '../src/kernels/registry.js';
import { hashString } from '../src/kernels/hash.js';
import { reflectEntry } from '../src/kernels/layout.js';
import { MAX_VARIANTS, mergeVariants, parseRecord, serializeRecord } from '../src/kernels/variants.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('generated WGSL module', () => {
  it('is fresh (run `npm run gen` if this fails)', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-wgsl.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has one sorted entry per wgsl/*.wgsl file', () => {
    const files = readdirSync(`${root}/wgsl`).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -5));
    expect(Object.keys(WGSL_SOURCES)).toEqual([...files].sort());
    expect(WGSL_SOURCES._selftest).toContain('fn main(');
  });
});

describe('registry', () => {
  it('returns raw sources, with or without the .wgsl suffix', () => {
    expect(kernelSource('_common')).toBe(WGSL_SOURCES._common);
    expect(kernelSource('_common.wgsl')).toBe(WGSL_SOURCES._common);
  });

  it('lists the known kernels when a name is unknown', () => {
    expect(() => kernelSource('nope', { b: '', a: '' })).toThrow("unknown WGSL kernel 'nope'; known kernels: a, b");
    expect(() => kernelSource('nope')).toThrow(/known kernels: .*_selftest/);
  });

  it('builds a kernel with its includes and defines', () => {
    const code = buildKernel('_selftest', { BIAS: '0.5', DOUBLE: true });
    expect(code).toContain('fn flat_index(');
    expect(code).toContain('+ 0.5;');
    expect(code).toContain('v = v * 2.0;');
    expect(code).not.toMatch(/^\s*#|\$[A-Z]/m);
    expect(buildKernel('_selftest', { BIAS: '0.0' })).not.toContain('v * 2.0');
  });

  it('reports a missing define with file and line', () => {
    expect(() => buildKernel('_selftest', {})).toThrow(/_selftest:\d+: undefined \$BIAS/);
  });

  it('resolves includes from the given table', () => {
    const sources = { main: '#include "lib"\nfn main() {}', lib: 'fn lib() {}' };
    expect(buildKernel('main', {}, sources)).toBe('fn lib() {}\nfn main() {}');
    expect(() => buildKernel('main', {}, { main: '#include "gone"' })).toThrow(/unknown WGSL kernel 'gone'/);
  });

  it('reflects the bindings and workgroup size of _selftest', () => {
    const code = buildKernel('_selftest', { BIAS: '0.0' });
    const main = reflectEntry(code, 'main');
    expect(main.bindings).toEqual([
      { group: 0, binding: 0, name: 'params', kind: 'uniform', minBytes: 8, dynamicOffset: true },
      { group: 0, binding: 1, name: 'x', kind: 'read-only-storage', minBytes: 4, dynamicOffset: false },
      { group: 0, binding: 2, name: 'y', kind: 'storage', minBytes: 4, dynamicOffset: false },
    ]);
    expect(main.workgroupSize).toEqual([64, 1, 1]);
    expect(reflectEntry(code, 'main', { WG: 32 }).workgroupSize).toEqual([32, 1, 1]);
    expect(reflectEntry(code, 'fill').bindings.map((b) => b.name)).toEqual(['params', 'y']);
    expect(() => reflectEntry(code, 'nope')).toThrow(/no @compute entry point 'nope'; compute entry points: main, fill/);
  });

  it('sizes runtime arrays in structs by their fixed prefix plus one element', () => {
    const code = [
      'struct H { n: u32, pad: u32, data: array<vec4<f32>> }',
      '@group(1) @binding(3) var<storage, read_write> h: H;',
      '@group(0) @binding(0) var<storage, read> fixed: array<f32, 16>;',
      '@compute @workgroup_size(8, 2) fn main() { h.data[0] = vec4<f32>(fixed[0]); }',
    ].join('\n');
    const { bindings, workgroupSize } = reflectEntry(code, 'main');
    expect(bindings).toEqual([
      { group: 0, binding: 0, name: 'fixed', kind: 'read-only-storage', minBytes: 64, dynamicOffset: false },
      { group: 1, binding: 3, name: 'h', kind: 'storage', minBytes: 32, dynamicOffset: false },
    ]);
    expect(workgroupSize).toEqual([8, 2, 1]);
  });

  it('describes compile errors with origin lines and a caret', () => {
    const built = buildKernelWithMap('main', {}, { main: '#include "lib"\nfn main() {\n  let a = bad;\n}', lib: 'fn lib() {}' });
    const { message, excerpt } = describeErrors(built.code, built.origins, [
      { message: "unresolved value 'bad'", lineNum: 3, linePos: 11, length: 3 },
      { message: 'second', lineNum: 1, linePos: 1, length: 2 },
    ]);
    expect(message).toBe("main:3:11: unresolved value 'bad' (and 1 more error(s))");
    const lines = excerpt.split('\n');
    expect(lines).toContain('> main:3 |   let a = bad;');
    expect(lines).toContain('         |           ^^^');
    expect(excerpt).toContain('  lib:1 | fn lib() {}');
    expect(excerpt).toContain('error: second');
  });
});

describe('hashString', () => {
  it('is stable, 16 hex digits, and sensitive to one character', () => {
    expect(hashString('abc')).toMatch(/^[0-9a-f]{16}$/);
    expect(hashString('abc')).toBe(hashString('abc'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
    expect(hashString('')).not.toBe(hashString(' '));
    const seen = new Set(Array.from({ length: 5000 }, (_, i) => hashString(`kernel-${i}`)));
    expect(seen.size).toBe(5000);
  });
});

describe('variant record', () => {
  const entry = (hash: string) => ({ file: 'k', defines: {}, entryPoint: 'main', constants: {}, hash });

  it('merges by hash, newest last, and keeps only the newest `cap`', () => {
    const merged = mergeVariants([entry('a'), entry('b'), entry('c')], [entry('b'), entry('d')], 3);
    expect(merged.map((v) => v.hash)).toEqual(['c', 'b', 'd']);
    const many = Array.from({ length: MAX_VARIANTS + 10 }, (_, i) => entry(String(i)));
    const capped = mergeVariants([], many);
    expect(capped).toHaveLength(MAX_VARIANTS);
    expect(capped[0].hash).toBe('10');
  });

  it('round-trips through serializeRecord and parseRecord', () => {
    const text = serializeRecord('1.2.3', [{ ...entry('h'), defines: { A: 1, B: 'x', C: true }, constants: { WG: 64 } }]);
    const parsed = parseRecord(text, '1.2.3');
    expect(parsed).toEqual({ ok: true, record: JSON.parse(text) });
    expect(parseRecord(text, '1.2.4')).toMatchObject({ ok: false, why: expect.stringContaining('version') });
    const badDefine = text.replace('"x"', '{"nested":1}');
    expect(parseRecord(badDefine, '1.2.3')).toEqual({ ok: false, why: 'variant 0 is malformed' });
  });
});
