import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSpecJson } from '../../analytics/index.js';

describe('canonicalSpecJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalSpecJson({ b: 1, a: { d: [3, { z: null, y: 'é' }], c: true } })).toBe('{"a":{"c":true,"d":[3,{"y":"é","z":null}]},"b":1}');
  });

  it('writes bigints as decimal strings and omits undefined members', () => {
    expect(canonicalSpecJson({ max: 10n ** 20n, skip: undefined })).toBe('{"max":"100000000000000000000"}');
  });

  it('does not depend on key insertion order and is stable under re-parsing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalSpecJson(value);
        expect(canonicalSpecJson(JSON.parse(text))).toBe(text);
        const shuffled = JSON.parse(JSON.stringify(value, (_k, v: unknown) =>
          v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        )) as unknown;
        expect(canonicalSpecJson(shuffled)).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('refuses values without a faithful JSON form, naming the path', () => {
    expect(() => canonicalSpecJson({ a: [1, Number.NaN] })).toThrow(/spec\.a\[1\]/);
    expect(() => canonicalSpecJson({ when: new Date(0) })).toThrow(TypeError);
    expect(() => canonicalSpecJson([undefined])).toThrow(TypeError);
    expect(() => canonicalSpecJson(() => 1)).toThrow(TypeError);
  });
});
