// Generated kernel code is a pure function of a small config, but building it per call cost 6-55 µs
// of CPU (a subgroup-matrix tile's 11 KB of WGSL) on every matmul or attention dispatch recorded.

/** `fn` with its results kept by arguments (JSON); the oldest dropped past `limit` entries. */
export function memoCode<A extends unknown[], R>(fn: (...args: A) => R, limit = 256): (...args: A) => R {
  const cache = new Map<string, R>();
  return (...args: A): R => {
    const key = JSON.stringify(args);
    let hit = cache.get(key);
    if (hit === undefined) {
      hit = fn(...args);
      if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
      cache.set(key, hit);
    }
    return hit;
  };
}

const kept = new Map<string, unknown>();

/**
 * The object `build()` made the first time these key parts (JSON) were seen (at most `limit` kept,
 * oldest dropped). Ops key a kernel spec by the small inputs its defines come from: the pipeline
 * cache finds a kept spec by identity, skipping the defines and the id built and hashed from them
 * per dispatch.
 */
export function keptByKey<T>(parts: readonly unknown[], build: () => T, limit = 512): T {
  const key = JSON.stringify(parts);
  let hit = kept.get(key) as T | undefined;
  if (hit === undefined) {
    hit = build();
    if (kept.size >= limit) kept.delete(kept.keys().next().value as string);
    kept.set(key, hit);
  }
  return hit;
}
