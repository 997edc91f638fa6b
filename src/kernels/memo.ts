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
