// The WGSL preprocessor: includes, conditionals, substitution, and every error it reports. No GPU.
import { describe, expect, it } from 'vitest';
import { preprocess, preprocessWithMap, isTruthy } from '../src/kernels/preprocess.js';

const files: Record<string, string> = {
  a: 'fn a() {}\n#include "b"',
  b: 'fn b() {}',
  loop1: '#include "loop2"',
  loop2: '#include "loop3"',
  loop3: '#include "loop1"',
  self: '#include "self"',
  diamond: '#include "a"\n#include "b"\nfn d() {}',
};
const include = (name: string): string => {
  if (!(name in files)) throw new Error(`no file ${name}`);
  return files[name];
};
const pp = (src: string, defines: Record<string, string | number | boolean> = {}): string =>
  preprocess(src, defines, include, 'k');

describe('preprocess', () => {
  it('passes plain WGSL through unchanged', () => {
    const src = 'fn f(x: f32) -> f32 {\n  return x * 2.0;\n}\n';
    expect(pp(src)).toBe(src);
  });

  it('substitutes $NAME tokens with strings, numbers and booleans', () => {
    const out = pp('var<storage> x: array<$T>;\nconst K = $K; const B = $FLAG; let s = $SCALE;', {
      T: 'f32',
      K: 128,
      FLAG: false,
      SCALE: '1.0f',
    });
    expect(out).toBe('var<storage> x: array<f32>;\nconst K = 128; const B = false; let s = 1.0f;');
  });

  it('only treats uppercase letters, digits and _ as part of a token', () => {
    expect(pp('let a = $N_2x;', { N_2: 7 })).toBe('let a = 7x;');
  });

  it('errors on an undefined $NAME, naming the token and the line', () => {
    expect(() => pp('fn f() {}\nlet a = $MISSING;')).toThrow(/k:2: undefined \$MISSING in: let a = \$MISSING;/);
  });

  it('ignores undefined tokens inside inactive branches', () => {
    expect(pp('#if X\nlet a = $MISSING;\n#endif\nlet b = 1;')).toBe('let b = 1;');
  });

  it('handles #if, #if !, #elif, #else, nested', () => {
    const src = [
      '#if A',
      'a',
      '#if !B',
      'a-notb',
      '#else',
      'a-b',
      '#endif',
      '#elif C',
      'c',
      '#else',
      'none',
      '#endif',
    ].join('\n');
    expect(pp(src, { A: true })).toBe('a\na-notb');
    expect(pp(src, { A: 1, B: 'yes' })).toBe('a\na-b');
    expect(pp(src, { C: true })).toBe('c');
    expect(pp(src, { A: 0, C: '' })).toBe('none');
    expect(pp(src, { A: true, C: true })).toBe('a\na-notb'); // first true branch only
  });

  it('takes the first true #elif and skips the rest', () => {
    const src = '#if A\na\n#elif B\nb\n#elif C\nc\n#endif';
    expect(pp(src, { B: 1, C: 1 })).toBe('b');
    expect(pp(src, { C: 1 })).toBe('c');
    expect(pp(src, {})).toBe('');
  });

  it('allows leading whitespace before directives and CRLF line ends', () => {
    expect(pp('  #if A\r\nx\r\n  #endif', { A: true })).toBe('x');
  });

  it('defines truthiness: defined and not false, 0 or empty', () => {
    expect(isTruthy({ a: true, b: 1, c: 'x', d: false, e: 0, f: '' }, 'a')).toBe(true);
    for (const k of ['b', 'c']) expect(isTruthy({ b: 1, c: 'x' }, k)).toBe(true);
    for (const k of ['d', 'e', 'f', 'missing', 'constructor']) {
      expect(isTruthy({ d: false, e: 0, f: '' }, k)).toBe(false);
    }
  });

  it('includes files recursively, and only once each', () => {
    expect(pp('#include "a"\nfn main() {}')).toBe('fn a() {}\nfn b() {}\nfn main() {}');
    expect(pp('#include "diamond"')).toBe('fn a() {}\nfn b() {}\nfn d() {}');
  });

  it('skips includes in inactive branches', () => {
    expect(pp('#if X\n#include "nope"\n#endif\nok')).toBe('ok');
  });

  it('reports an include cycle with the whole chain', () => {
    expect(() => pp('#include "loop1"')).toThrow('include cycle: k -> loop1 -> loop2 -> loop3 -> loop1');
    expect(() => preprocess(files.self, {}, include, 'self')).toThrow('include cycle: self -> self');
  });

  it('passes include resolution errors through', () => {
    expect(() => pp('#include "nope"')).toThrow('no file nope');
  });

  it('maps every output line to its file and line', () => {
    const { code, origins } = preprocessWithMap('#if A\nx\n#endif\n#include "a"\ny', { A: 1 }, include, 'k');
    expect(code.split('\n')).toEqual(['x', 'fn a() {}', 'fn b() {}', 'y']);
    expect(origins).toEqual([
      { file: 'k', line: 2 },
      { file: 'a', line: 1 },
      { file: 'b', line: 1 },
      { file: 'k', line: 5 },
    ]);
  });

  it.each([
    ['#endif', /k:1: #endif without #if/],
    ['#else', /k:1: #else without #if/],
    ['#elif A', /k:1: #elif without #if/],
    ['x\n#if A\ny', /k:2: #if is never closed/],
    ['#if A\n#if B\n#endif', /k:1: #if is never closed/],
    ['#if A\n#else\n#else\n#endif', /k:3: #else after #else \(the #if is at k:1\)/],
    ['#if A\n#else\n#elif B\n#endif', /k:3: #elif after #else/],
    ['#if A B\n#endif', /k:1: #if takes one NAME or !NAME/],
    ['#if\n#endif', /k:1: #if takes one NAME/],
    ['#if A\n#endif A', /k:2: unexpected text after #endif/],
    ['#if A\n#else junk\n#endif', /k:2: unexpected text after #else/],
    ['#include a', /k:1: #include takes a quoted name/],
    ['#define X 1', /k:1: unknown directive #define/],
  ])('rejects %j', (src, err) => {
    expect(() => pp(src)).toThrow(err);
  });

  it('reports errors inside an included file with that file name', () => {
    files.bad = 'ok\n#endif';
    expect(() => pp('#include "bad"')).toThrow(/bad:2: #endif without #if/);
  });
});
