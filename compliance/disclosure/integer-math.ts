/**
 * Small exact integer helpers for the samplers and the budget accounting.
 *
 * @module
 */

/** ⌊√n⌋ for n >= 0 (Newton's method on bigints). */
export function isqrt(n: bigint): bigint {
  if (typeof n !== 'bigint' || n < 0n) throw new RangeError(`n: expected a non-negative bigint, got ${String(n)}`);
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Greatest common divisor of non-negative bigints. */
export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

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
