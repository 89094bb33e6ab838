/** The one integer square root and gcd (analytics/integer-math.ts) used by the kinds and by disclosure control. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcd, isqrt } from '../../analytics/index.js';

describe('isqrt', () => {
  it('is the floor of the square root', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 200n }), (n) => {
        const r = isqrt(n);
        expect(r * r <= n && n < (r + 1n) * (r + 1n)).toBe(true);
      }),
    );
    expect([0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n].map(isqrt)).toEqual([0n, 1n, 1n, 1n, 2n, 3n, 4n, 4n]);
  });

  it('refuses negative numbers and non-bigints', () => {
    expect(() => isqrt(-1n)).toThrow(RangeError);
    expect(() => isqrt(4 as unknown as bigint)).toThrow(RangeError);
  });
});

describe('gcd', () => {
  it('is the greatest common divisor of the absolute values', () => {
    expect(gcd(12n, 18n)).toBe(6n);
    expect(gcd(-12n, 18n)).toBe(6n);
    expect(gcd(0n, -5n)).toBe(5n);
    expect(gcd(0n, 0n)).toBe(0n);
  });
});
