import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ratioToNumber } from '../../analytics/rational.js';

describe('ratioToNumber', () => {
  it('equals IEEE division when both operands are exact doubles', () => {
    const safe = fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(safe, safe.filter((d) => d !== 0), (n, d) => {
        expect(Object.is(ratioToNumber(BigInt(n), BigInt(d)), n / d === 0 ? 0 : n / d)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('rounds huge ratios correctly', () => {
    // (2^60 + 1) / 1 is not a double; the nearest is 2^60.
    expect(ratioToNumber(2n ** 60n + 1n, 1n)).toBe(2 ** 60);
    // 1/3 with operands far beyond 2^53.
    expect(ratioToNumber(10n ** 40n, 3n * 10n ** 40n)).toBe(1 / 3);
    expect(ratioToNumber(2n * 10n ** 30n + 1n, 10n ** 30n)).toBe(2);
  });

  it('refuses a zero denominator', () => {
    expect(() => ratioToNumber(1n, 0n)).toThrow(RangeError);
  });
});
