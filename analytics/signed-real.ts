/**
 * Real and signed statistics in BFV slots. Slots hold non-negative integers,
 * so a signed total travels as two fields, its positive part and its negative
 * part (`name+`, `name-`), each summed separately and subtracted after
 * decryption: no offset to calibrate, no wrap-around. Reals are fixed point
 * with a binary scale: x is sent as round(x · 2^scaleBits), computed exactly
 * from the float's bits (no precision lost before rounding).
 */
import type { FieldSpec } from './query-definition.js';

/** Default binary scale for real-valued sums: 2^-40 ≈ 9.1e-13 resolution. */
export const REAL_SCALE_BITS = 40;

/** The two field specs carrying a signed total whose magnitude is at most `maxAbs`. */
export function signedFieldSpecs(name: string, maxAbs: bigint): FieldSpec[] {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
  if (typeof maxAbs !== 'bigint' || maxAbs < 0n) throw new RangeError('maxAbs must be a non-negative bigint');
  return [
    { name: `${name}+`, max: maxAbs },
    { name: `${name}-`, max: maxAbs },
  ];
}

/** Splits a signed integer into [positive part, negative part]. */
export function splitSigned(value: bigint): [bigint, bigint] {
  if (typeof value !== 'bigint') throw new TypeError('value must be a bigint');
  return value >= 0n ? [value, 0n] : [0n, -value];
}

/** Recombines a signed total from released totals; throws if either part is missing. */
export function joinSigned(totals: Readonly<Record<string, bigint>>, name: string): bigint {
  const pos = totals[`${name}+`];
  const neg = totals[`${name}-`];
  if (pos === undefined || neg === undefined) throw new RangeError(`totals lack ${name}+ or ${name}-`);
  return pos - neg;
}

/**
 * round(x · 2^scaleBits) exactly (ties away from zero), for any finite double.
 * Done on the float's mantissa and exponent, so no intermediate rounding.
 */
export function realToFixed(x: number, scaleBits = REAL_SCALE_BITS): bigint {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`x must be a finite number, got ${x}`);
  if (!Number.isInteger(scaleBits) || scaleBits < 0 || scaleBits > 1000) throw new RangeError('scaleBits must be an integer in [0, 1000]');
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const exponentBits = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (exponentBits === 0) {
    exponent = -1074; // subnormal
  } else {
    mantissa |= 1n << 52n;
    exponent = exponentBits - 1075;
  }
  // |x| = mantissa · 2^exponent; we want mantissa · 2^(exponent + scaleBits).
  const shift = exponent + scaleBits;
  if (shift >= 0) return sign * (mantissa << BigInt(shift));
  const down = BigInt(-shift);
  if (down > 60n) return 0n; // far below the resolution
  const q = mantissa >> down;
  const remainder = mantissa - (q << down);
  const half = 1n << (down - 1n);
  return sign * (remainder >= half ? q + 1n : q);
}

/** value / 2^scaleBits as the nearest double. */
export function fixedToReal(value: bigint, scaleBits = REAL_SCALE_BITS): number {
  if (typeof value !== 'bigint') throw new TypeError('value must be a bigint');
  // Split to keep precision for large values: integer part and fraction.
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs >> BigInt(scaleBits);
  const frac = abs - (whole << BigInt(scaleBits));
  const out = Number(whole) + Number(frac) / 2 ** scaleBits;
  return negative ? -out : out;
}
