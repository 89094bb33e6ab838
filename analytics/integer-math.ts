/**
 * Exact integer helpers on bigints, shared by the kinds (dominance bin
 * edges) and by disclosure control (samplers, budget accounting, the
 * linear audit), so that every party computes them the same way.
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

/** Greatest common divisor of the absolute values of two bigints (gcd(0, 0) = 0). */
export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
