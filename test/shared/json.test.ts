import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../src/shared/json.ts';

describe('lossless JSON', () => {
  it.each([
    ['a plain object', '{"a":1,"b":[true,null,"x"],"c":{"d":-2.5}}'],
    ['an int64 beyond 2^53', '{"generation":9007199254740993}'],
    ['uint64 max and int64 min', '[18446744073709551615,-9223372036854775808]'],
    ['a decimal a double cannot hold', '{"ratio":0.30000000000000004441}'],
    ['15-digit integers (the fast path)', '{"n":999999999999999}'],
    ['16 digits inside a string only', '{"uid":"1234567890123456789","n":1}'],
  ])('round-trips %s', (_what, text) => {
    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  it('gives bigint for unsafe integers and number for safe ones', () => {
    expect(parseJson('[9007199254740993, 9007199254740991, 3]')).toEqual([9007199254740993n, 9007199254740991, 3]);
  });

  it('names the document in a parse error', () => {
    expect(() => parseJson('{"a":', 'item')).toThrow(/^item is not valid JSON/);
    expect(() => parseJson('{"a":12345678901234567,', 'item')).toThrow(/^item is not valid JSON/);
  });

  it('writes numbers that were changed to bigint with all their digits', () => {
    expect(stringifyJson({ size: 2n ** 64n })).toBe('{"size":18446744073709551616}');
  });
});
