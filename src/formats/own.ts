// Records keyed by names from a file: a file may name a tensor or key '__proto__' (a plain
// assignment would set the record's prototype instead, losing the value) or 'constructor' (which
// the `in` operator finds on every object).

/** Sets `key` on `record` as an own, enumerable data property, whatever the key. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
