// Tiny WGSL preprocessor: #include, #if/#elif/#else/#endif on defines, $NAME substitution.
// Kept small on purpose: tile sizes and other numbers belong in WGSL `override` constants.

export type DefineValue = string | number | boolean;
export type Defines = Readonly<Record<string, DefineValue>>;
/** Where an output line came from (file and 1-based line), for compile error excerpts. */
export interface LineOrigin { readonly file: string; readonly line: number }
export interface Preprocessed { readonly code: string; readonly origins: readonly LineOrigin[] }

const DIRECTIVE = /^\s*#([A-Za-z_]\w*)\s*(.*?)\s*$/;
const CONDITION = /^(!?)\s*([A-Za-z_]\w*)$/;
const INCLUDE = /^"([^"]+)"$/;
const TOKEN = /\$([A-Z0-9_]+)/g;

interface Frame { parentActive: boolean; active: boolean; taken: boolean; sawElse: boolean; line: number }

/** Defined and not false, 0 or ''. */
export function isTruthy(defines: Defines, name: string): boolean {
  const v = Object.hasOwn(defines, name) ? defines[name] : undefined;
  return v !== undefined && v !== false && v !== 0 && v !== '';
}

/** Expands `source`; `include(name)` returns an included file's text. Errors name file:line. */
export function preprocess(source: string, defines: Defines, include: (name: string) => string, file = 'kernel'): string {
  return preprocessWithMap(source, defines, include, file).code;
}

export function preprocessWithMap(source: string, defines: Defines, include: (name: string) => string, file = 'kernel'): Preprocessed {
  const out: string[] = [];
  const origins: LineOrigin[] = [];
  // Includes are include-once: WGSL has no guards, and a diamond would redefine functions.
  const included = new Set<string>([file]);

  const expand = (text: string, name: string, chain: readonly string[]): void => {
    const stack: Frame[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const at = `${name}:${i + 1}`;
      const active = stack.length === 0 || stack[stack.length - 1].active;
      const m = DIRECTIVE.exec(line);
      if (!m) {
        if (!active) continue;
        out.push(line.replace(TOKEN, (tok, key: string) => {
          if (!Object.hasOwn(defines, key)) throw new Error(`${at}: undefined ${tok} in: ${line.trim()}`);
          return String(defines[key]);
        }));
        origins.push({ file: name, line: i + 1 });
        continue;
      }
      const [, directive, arg] = m;
      const top = stack[stack.length - 1];
      const cond = (): boolean => {
        const c = CONDITION.exec(arg);
        if (!c) throw new Error(`${at}: #${directive} takes one NAME or !NAME, got '${arg}'`);
        return isTruthy(defines, c[2]) !== (c[1] === '!');
      };
      if ((directive === 'else' || directive === 'endif') && arg) {
        throw new Error(`${at}: unexpected text after #${directive}: '${arg}'`);
      }
      if (directive === 'if') {
        const c = cond();
        stack.push({ parentActive: active, active: active && c, taken: c, sawElse: false, line: i + 1 });
      } else if (directive === 'elif' || directive === 'else') {
        if (!top) throw new Error(`${at}: #${directive} without #if`);
        if (top.sawElse) throw new Error(`${at}: #${directive} after #else (the #if is at ${name}:${top.line})`);
        const c = directive === 'else' || cond();
        top.active = top.parentActive && !top.taken && c;
        top.taken ||= c;
        top.sawElse = directive === 'else';
      } else if (directive === 'endif') {
        if (!stack.pop()) throw new Error(`${at}: #endif without #if`);
      } else if (directive === 'include') {
        const inc = INCLUDE.exec(arg);
        if (!inc) throw new Error(`${at}: #include takes a quoted name, got '${arg}'`);
        if (!active) continue;
        const target = inc[1];
        if (chain.includes(target)) throw new Error(`${at}: include cycle: ${[...chain, target].join(' -> ')}`);
        if (included.has(target)) continue;
        included.add(target);
        expand(include(target), target, [...chain, target]);
      } else {
        throw new Error(`${at}: unknown directive #${directive}`);
      }
    }
    if (stack.length) throw new Error(`${name}:${stack[stack.length - 1].line}: #if is never closed with #endif`);
  };

  expand(source, file, [file]);
  return { code: out.join('\n'), origins };
}
