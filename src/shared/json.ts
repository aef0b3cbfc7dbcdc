// JSON helpers shared by every layer (host, kube, kubevirt, inspect), so they sit below all of them.
//
// Lossless JSON for Kubernetes objects. Kubernetes int64 fields (resource quantities in bytes,
// generations, observed sizes) can exceed 2^53; JSON.parse would round them and the item Velero
// stores would silently differ from the cluster's. Integers that fit a double become numbers (so
// domain code stays natural); larger integers become bigint; a non-integer that a double cannot hold
// exactly is kept as its original digits.
import { isInteger, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';
import type { JsonValue } from '../velero/types.ts';

function parseNumber(digits: string): number | bigint | LosslessNumber {
  if (isSafeNumber(digits)) return Number(digits);
  if (isInteger(digits)) return BigInt(digits);
  return new LosslessNumber(digits);
}

export class JsonParseError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'JsonParseError';
  }
}

/**
 * A double holds every integer of up to 15 digits and round-trips every decimal of up to 15
 * significant digits. Text without a run of 16 digits therefore has no number JSON.parse could
 * change, and takes the native parser (about 20 times faster); anything else takes the lossless one.
 * Digit runs inside strings only cost a slower parse, never a wrong one.
 */
const MAYBE_UNSAFE_NUMBER = /\d{16}/;

/** Parses text; `what` names the document in the error ("item", "backup"...). */
export function parseJson(text: string, what = 'document'): JsonValue {
  try {
    if (!MAYBE_UNSAFE_NUMBER.test(text)) return JSON.parse(text) as JsonValue;
    return parse(text, null, parseNumber) as JsonValue;
  } catch (err) {
    throw new JsonParseError(what, err);
  }
}

/**
 * Serialises compactly, writing bigint and lossless numbers with all their digits. The native
 * stringify goes first: it throws on a bigint, and writes a LosslessNumber as an object with an
 * `isLosslessNumber` key, which is cheap to spot in its output. Either sends us to the lossless one.
 */
export function stringifyJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  if (text !== undefined && !text.includes('"isLosslessNumber":true')) return text;
  text = stringify(value as JsonValue);
  if (text === undefined) throw new Error('value cannot be serialised as JSON');
  return text;
}

export function isJsonObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}

/**
 * Freezes a parsed JSON value and everything in it, so that one parsed object can be shared between
 * calls (a per-backup cache, the Backup Velero sends with every call): a caller that tried to change
 * it would throw instead of changing what the next caller reads.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
