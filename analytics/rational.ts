/**
 * Exact BigInt ratio to the nearest double. Finalisation keeps totals exact
 * until the very last step ("divide late"), so the only rounding in a
 * released mean or variance is this one correctly rounded conversion.
 *
 * @module
 */

/**
 * `num / den` rounded to the nearest double (ties to even).
 *
 * Method: scale so the integer quotient has at least 66 significant bits,
 * fold any remainder into a sticky low bit, and let `Number(bigint)` (which
 * rounds to nearest) do the single rounding; the power-of-two rescale is
 * exact for all magnitudes that statistics here can reach.
 */
export function ratioToNumber(num: bigint, den: bigint): number {
  if (den === 0n) throw new RangeError('den: division by zero');
  if (num === 0n) return 0;
  const negative = num < 0n !== den < 0n;
  const n = num < 0n ? -num : num;
  const d = den < 0n ? -den : den;
  const shift = Math.max(0, 66 - (bitLength(n) - bitLength(d)));
  const scaled = n << BigInt(shift);
  let q = scaled / d;
  if (scaled % d !== 0n) q |= 1n;
  const magnitude = Number(q) * 2 ** -shift;
  return negative ? -magnitude : magnitude;
}

function bitLength(v: bigint): number {
  return v.toString(2).length;
}
