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

/** Parses text; `what` names the document in the error ("item", "backup"...). */
export function parseJson(text: string, what = 'document'): JsonValue {
  try {
    return parse(text, null, parseNumber) as JsonValue;
  } catch (err) {
    throw new JsonParseError(what, err);
  }
}

/** Serialises compactly, writing bigint and lossless numbers with all their digits. */
export function stringifyJson(value: unknown): string {
  const text = stringify(value as JsonValue);
  if (text === undefined) throw new Error('value cannot be serialised as JSON');
  return text;
}

export function isJsonObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}
