/**
 * Exact fractions for the samplers and the budget accounting (integer
 * square root and gcd are analytics/integer-math.ts's).
 *
 * @module
 */
import { gcd } from '../../analytics/index.js';

/** An exact non-negative rational `num/den` in lowest terms. */
export interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

/** `num/den` reduced; RangeError naming `what` on a zero denominator or negative value. */
export function fraction(num: bigint, den: bigint, what = 'value'): Fraction {
  if (den === 0n) throw new RangeError(`${what}: zero denominator`);
  if (den < 0n) [num, den] = [-num, -den];
  if (num < 0n) throw new RangeError(`${what}: must be non-negative, got ${num}/${den}`);
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

/** `"num/den"` text of a fraction (the exact form kept in release documents). */
export function formatFraction(f: Fraction): string {
  return `${f.num}/${f.den}`;
}

/** Parses `"num/den"` or an integer; RangeError naming `what` otherwise. */
export function parseFraction(text: string, what = 'value'): Fraction {
  const m = /^(0|[1-9][0-9]*)(?:\/([1-9][0-9]*))?$/.exec(text);
  if (m === null) throw new RangeError(`${what}: expected "num/den", got ${JSON.stringify(text)}`);
  return fraction(BigInt(m[1] as string), BigInt(m[2] ?? '1'), what);
}

/** Nearest double of a fraction (for display and float-only formulas, never for sampling). */
export function fractionToNumber(f: Fraction): number {
  return Number(f.num) / Number(f.den);
}
