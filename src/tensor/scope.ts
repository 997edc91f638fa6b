// Memory scopes: lb.tidy() disposes what a function created and did not return; a
// FinalizationRegistry releases storage of tensors that were forgotten, as a backstop.
export interface Releasable {
  release(): void;
}

interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const scopes: Set<Disposable>[] = [];

const backstop = new FinalizationRegistry<Releasable>((source) => source.release());

/** Called for every new tensor: joins the innermost tidy scope and the GC backstop. */
export function track(t: Disposable, source: Releasable): void {
  scopes[scopes.length - 1]?.add(t);
  backstop.register(t, source, source);
}

export function untrack(source: Releasable): void {
  backstop.unregister(source);
}

/** Keeps `t` alive past the innermost tidy scope. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if ('dispose' in value && 'disposed' in value) {
    out.add(value);
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collect(v, out, depth + 1);
}

/**
 * Runs `fn`, then disposes every tensor created inside it except those it returns (a tensor,
 * or arrays/objects of them). `fn` must be synchronous: awaiting inside would let other code's
 * tensors land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // What fn made before it threw is disposed too: nothing of a failed scope stays alive.
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('lb.tidy(fn): fn returned a Promise; tidy takes synchronous functions (dispose async results yourself)');
  }
  const kept = new Set<unknown>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}
