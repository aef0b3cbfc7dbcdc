// Small helpers that read unstructured JSON the way KubeVirt's Go types see it after decoding:
// a missing or null pointer/map/slice is "nil", a missing, null or "" string is "", a missing or
// null number/bool is 0/false. Expansion must take the same decisions as the Go code, so every
// check goes through these instead of plain truthiness.

export type Obj = Record<string, unknown>;

/** Raised when an input has a shape KubeVirt could not even decode; reported as a conflict. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ShapeError';
  }
}

export function isObj(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Go: pointer / map / slice != nil. */
export function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Go: a string field's value. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Go: an unsigned integer field's value. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return 0;
}

/** Go: a non-pointer bool field's value. */
export function bool(v: unknown): boolean {
  return v === true;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!present(v)) return [];
  if (!Array.isArray(v)) throw new ShapeError(path, `${path} must be a list`);
  return v;
}

/** Reads an optional object; absent or null gives undefined, any other non-object is a shape error. */
export function optObj(v: unknown, path: string): Obj | undefined {
  if (!present(v)) return undefined;
  if (!isObj(v)) throw new ShapeError(path, `${path} must be an object`);
  return v;
}

/** Go's `if x == nil { x = &T{} }`: returns parent[key], creating an empty object when nil. */
export function ensureObj(parent: Obj, key: string, path: string): Obj {
  const v = parent[key];
  if (!present(v)) {
    const created: Obj = {};
    parent[key] = created;
    return created;
  }
  if (!isObj(v)) throw new ShapeError(`${path}.${key}`, `${path}.${key} must be an object`);
  return v;
}

/**
 * Deep copy of JSON data. Plain objects and arrays are copied; anything else (strings, numbers,
 * bigint, lossless numbers) is immutable and shared.
 */
export function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v)) out[k] = clone(v[k]);
    return out as T;
  }
  return v;
}
